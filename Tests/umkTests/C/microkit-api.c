// SPDX-License-Identifier: Apache-2.0
//
// A protection domain written against Microkit's API (every libmicrokit name a PD uses),
// as a Microkit user writes one: it must compile and link against umk's SDK unchanged.

#include <microkit.h>

#define CLIENT 0
#define DEVICE_IRQ 1
#define WORKER 2
#define UART 0

static seL4_Word calls;

void init(void) {
    microkit_dbg_puts(microkit_name);
    microkit_dbg_puts(": init\n");
    microkit_dbg_put8(7);
    microkit_dbg_put32(42);
    microkit_dbg_putc('\n');
    microkit_x86_ioport_write_8(UART, 0x3f8 + 7, 0x5a);
    (void)microkit_x86_ioport_read_8(UART, 0x3f8 + 7);
    microkit_x86_ioport_write_16(UART, 0x3f8, 0);
    (void)microkit_x86_ioport_read_16(UART, 0x3f8);
    microkit_x86_ioport_write_32(UART, 0x3f8, 0);
    (void)microkit_x86_ioport_read_32(UART, 0x3f8);
}

void notified(microkit_channel ch) {
    switch (ch) {
    case DEVICE_IRQ:
        microkit_deferred_irq_ack(ch);
        break;
    case CLIENT:
        microkit_notify(CLIENT);
        microkit_deferred_notify(CLIENT);
        break;
    default:
        microkit_irq_ack(ch);
    }
}

microkit_msginfo protected(microkit_channel ch, microkit_msginfo msginfo) {
    calls += ch + microkit_msginfo_get_label(msginfo) + microkit_msginfo_get_count(msginfo);
    microkit_mr_set(0, microkit_mr_get(0) + 1);
    microkit_msginfo reply = microkit_ppcall(WORKER, microkit_msginfo_new(3, 1));
    return microkit_msginfo_new(microkit_msginfo_get_label(reply), 1);
}

seL4_Bool fault(microkit_child child, microkit_msginfo msginfo, microkit_msginfo *reply_msginfo) {
    (void)msginfo;
    *reply_msginfo = microkit_msginfo_new(0, 0);
    if (child == 1) {
        microkit_pd_stop(child);
        microkit_pd_restart(child, 0x1000);
        microkit_pd_resume(child);
        return seL4_False;
    }
    (void)microkit_cspace_root_slot_to_cptr(INPUT_CAP);
    return seL4_True;
}
