/* SPDX-License-Identifier: Apache-2.0 */
/* A Microkit PD that notifies its server, then calls it by protected procedure. */
#include <microkit.h>

#define NOTIFY 0
#define CALL 1

void init(void) {
    microkit_dbg_puts(microkit_name);
    microkit_dbg_puts(": init, notifying the server\n");
    microkit_notify(NOTIFY);
    microkit_mr_set(0, 41);
    microkit_msginfo reply = microkit_ppcall(CALL, microkit_msginfo_new(7, 1));
    microkit_dbg_puts(microkit_name);
    microkit_dbg_puts(": the server answered ");
    microkit_dbg_put32((seL4_Uint32)microkit_mr_get(0));
    microkit_dbg_puts(" in ");
    microkit_dbg_put32((seL4_Uint32)microkit_msginfo_get_count(reply));
    microkit_dbg_puts(" word\n");
}

void notified(microkit_channel ch) {
    (void)ch;
}
