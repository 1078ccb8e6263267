/* SPDX-License-Identifier: Apache-2.0 */
/* Writes a message into the shared region (its address and size patched in by the
 * system: setvar_vaddr, setvar_size) and notifies the reader. */
#include <microkit.h>

#define READER 0

uintptr_t shared;
seL4_Word shared_size;

void init(void) {
    static const char text[] = "hello through shared memory";
    char *buffer = (char *)shared;
    for (unsigned i = 0; i < sizeof text && i < shared_size; i++) buffer[i] = text[i];
    microkit_dbg_puts(microkit_name);
    microkit_dbg_puts(": wrote the message, notifying the reader\n");
    microkit_notify(READER);
}

void notified(microkit_channel ch) { (void)ch; }
