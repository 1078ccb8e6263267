/* SPDX-License-Identifier: Apache-2.0 */
/* A Microkit PD that serves protected procedure calls (channel 1) and takes
 * notifications (channel 0) from its client. */
#include <microkit.h>

#define NOTIFY 0
#define CALL 1

void init(void) {
    microkit_dbg_puts(microkit_name);
    microkit_dbg_puts(": init\n");
}

void notified(microkit_channel ch) {
    microkit_dbg_puts(microkit_name);
    microkit_dbg_puts(": notified on channel ");
    microkit_dbg_put32(ch);
    microkit_dbg_puts("\n");
}

microkit_msginfo protected(microkit_channel ch, microkit_msginfo msginfo) {
    seL4_Word value = microkit_mr_get(0);
    microkit_dbg_puts(microkit_name);
    microkit_dbg_puts(": protected call on channel ");
    microkit_dbg_put32(ch);
    microkit_dbg_puts(" with ");
    microkit_dbg_put32((seL4_Uint32)value);
    microkit_dbg_puts(", label ");
    microkit_dbg_put32((seL4_Uint32)microkit_msginfo_get_label(msginfo));
    microkit_dbg_puts("\n");
    microkit_mr_set(0, value + 1);
    return microkit_msginfo_new(0, 1);
}
