/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libmicrokit on umk: the PD's main (the runtime calls it), which runs init() and then the
 * event loop: wait on the input endpoint (its notification is bound to the PD's TCB);
 * a badge with bit 63 is a protected procedure call on channel badge & 0x3f, answered with
 * protected()'s reply; bit 62 a child's fault, handed to fault() and answered if it says
 * so; otherwise each set bit is a notification on that channel, passed to notified() in
 * channel order. A deferred signal is sent before the PD waits again. umk cc links this
 * from an archive, so it is part of a program only if the program has no main of its own.
 */
#include <microkit.h>
#include <stdio.h>

#define BADGE_FAULT_BIT 62
#define BADGE_ENDPOINT_BIT 63
#define CHANNEL_MASK 0x3f

char microkit_name[MICROKIT_PD_NAME_LENGTH] = "pd";
seL4_Bool microkit_passive;
seL4_Word microkit_irqs;
seL4_Word microkit_notifications;
seL4_Word microkit_pps;
seL4_Word microkit_ioports;
seL4_Bool microkit_have_signal = seL4_False;
seL4_CPtr microkit_signal_cap;
seL4_MessageInfo_t microkit_signal_msg;
seL4_Word microkit_child_entry_offset[MICROKIT_MAX_CHANNELS];

void microkit_dbg_putc(int c) { seL4_DebugPutChar((char)c); }
void microkit_dbg_puts(const char *s) { while (*s) seL4_DebugPutChar(*s++); }
void microkit_dbg_put8(seL4_Uint8 x) {
    char text[4];
    snprintf(text, sizeof text, "%u", (unsigned)x);
    microkit_dbg_puts(text);
}
void microkit_dbg_put32(seL4_Uint32 x) {
    char text[12];
    snprintf(text, sizeof text, "%u", (unsigned)x);
    microkit_dbg_puts(text);
}

void microkit_internal_crash(seL4_Error err) {
    /* A fault the PD's parent (or init) sees, with the error in a register to read. */
    __asm__ volatile("ud2" : : "a"((seL4_Word)err));
}

__attribute__((weak)) microkit_msginfo protected(microkit_channel ch, microkit_msginfo msginfo) {
    (void)ch;
    (void)msginfo;
    microkit_dbg_puts(microkit_name);
    microkit_dbg_puts(" is missing the 'protected' entry point\n");
    microkit_internal_crash(seL4_IllegalOperation);
    return seL4_MessageInfo_new(0, 0, 0, 0);
}

__attribute__((weak)) seL4_Bool fault(microkit_child child, microkit_msginfo msginfo, microkit_msginfo *reply_msginfo) {
    (void)child;
    (void)msginfo;
    (void)reply_msginfo;
    microkit_dbg_puts(microkit_name);
    microkit_dbg_puts(" is missing the 'fault' entry point\n");
    microkit_internal_crash(seL4_IllegalOperation);
    return seL4_False;
}

static void deferred_flush(void) {
    if (microkit_have_signal) {
        seL4_Send(microkit_signal_cap, microkit_signal_msg);
        microkit_have_signal = seL4_False;
    }
}

static _Noreturn void handler_loop(void) {
    /* The IRQs start acknowledged, so the first interrupt can come. */
    for (unsigned int id = 0; id <= MICROKIT_MAX_CHANNEL_ID; id++) {
        if (microkit_irqs & (1ull << id)) microkit_irq_ack(id);
    }
    seL4_Bool have_reply = seL4_False;
    seL4_MessageInfo_t reply_tag = seL4_MessageInfo_new(0, 0, 0, 0);
    for (;;) {
        seL4_Word badge;
        seL4_MessageInfo_t tag;
        deferred_flush();
        if (have_reply) {
            tag = seL4_ReplyRecv(INPUT_CAP, reply_tag, &badge);
        } else {
            tag = seL4_Recv(INPUT_CAP, &badge);
        }
        have_reply = seL4_False;
        if (badge & (1ull << BADGE_FAULT_BIT)) {
            have_reply = fault((microkit_child)(badge & CHANNEL_MASK), tag, &reply_tag);
        } else if (badge & (1ull << BADGE_ENDPOINT_BIT)) {
            reply_tag = protected((microkit_channel)(badge & CHANNEL_MASK), tag);
            have_reply = seL4_True;
        } else {
            for (unsigned int ch = 0; badge != 0; ch++, badge >>= 1) {
                if (badge & 1) notified(ch);
            }
        }
    }
}

int main(void) {
    init();
    handler_loop();
}
