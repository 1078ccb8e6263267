/* SPDX-License-Identifier: Apache-2.0 */
/* A parent PD: its child's faults come to fault(); it restarts the child twice, then
 * stops it. */
#include <microkit.h>

seL4_Word worker_id; /* the child's id (setvar_id) */
static unsigned int restarts;

void init(void) {
    microkit_dbg_puts(microkit_name);
    microkit_dbg_puts(": watching child ");
    microkit_dbg_put32((seL4_Uint32)worker_id);
    microkit_dbg_puts("\n");
}

void notified(microkit_channel ch) { (void)ch; }

seL4_Bool fault(microkit_child child, microkit_msginfo msginfo, microkit_msginfo *reply_msginfo) {
    (void)reply_msginfo;
    microkit_dbg_puts(microkit_name);
    microkit_dbg_puts(": child ");
    microkit_dbg_put32(child);
    if (microkit_msginfo_get_label(msginfo) == seL4_Fault_VMFault) {
        microkit_dbg_puts(" took a VM fault at a ");
        microkit_dbg_puts(microkit_mr_get(seL4_VMFault_FSR) & 2 ? "write" : "read");
    } else {
        microkit_dbg_puts(" faulted");
    }
    if (restarts < 2) {
        restarts++;
        microkit_dbg_puts("; restarting it\n");
        /* The child's entry point, where Microkit links a PD's _start. */
        microkit_pd_restart(child, 0x200000);
    } else {
        microkit_dbg_puts("; stopping it\n");
        microkit_pd_stop(child);
    }
    /* The child was restarted or stopped: no reply to its fault. */
    return seL4_False;
}
