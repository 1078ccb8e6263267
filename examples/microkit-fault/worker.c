/* SPDX-License-Identifier: Apache-2.0 */
/* A child PD that writes through a null pointer in its init. A restart runs init again;
 * its memory is kept, so it counts its runs. */
#include <microkit.h>

static seL4_Uint32 runs;

void init(void) {
    runs++;
    microkit_dbg_puts(microkit_name);
    microkit_dbg_puts(": run ");
    microkit_dbg_put32(runs);
    microkit_dbg_puts(", writing through a null pointer\n");
    *(volatile int *)0 = 1;
    microkit_dbg_puts(microkit_name);
    microkit_dbg_puts(": still running (should not be)\n");
}

void notified(microkit_channel ch) { (void)ch; }
