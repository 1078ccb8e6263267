/* SPDX-License-Identifier: Apache-2.0 */
/* The smallest Microkit system: one PD that greets from its init() and then waits. */
#include <microkit.h>

void init(void) {
    microkit_dbg_puts("hello, world from ");
    microkit_dbg_puts(microkit_name);
    microkit_dbg_puts("\n");
}

void notified(microkit_channel ch) { (void)ch; }
