/* SPDX-License-Identifier: Apache-2.0 */
/* Prints what the writer left in the shared region (mapped read-only here, at another
 * address) when it is notified. */
#include <microkit.h>

#define WRITER 0

uintptr_t shared;

void init(void) {}

void notified(microkit_channel ch) {
    if (ch != WRITER) return;
    microkit_dbg_puts(microkit_name);
    microkit_dbg_puts(": the writer says \"");
    microkit_dbg_puts((const char *)shared);
    microkit_dbg_puts("\"\n");
}
