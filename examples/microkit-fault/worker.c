/* SPDX-License-Identifier: Apache-2.0 */
/* A child PD that writes through a null pointer in its init. */
#include <microkit.h>

void init(void) {
    microkit_dbg_puts(microkit_name);
    microkit_dbg_puts(": writing through a null pointer\n");
    *(volatile int *)0 = 1;
    microkit_dbg_puts(microkit_name);
    microkit_dbg_puts(": still running (should not be)\n");
}

void notified(microkit_channel ch) { (void)ch; }
