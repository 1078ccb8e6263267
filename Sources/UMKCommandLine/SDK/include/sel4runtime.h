/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime of a C program on umk, as seL4's sel4runtime is: it receives the start
 * information, sets up the IPC buffer and TLS, calls main(argc, argv) and ends the task
 * with main's return value.
 */
#ifndef SEL4RUNTIME_H
#define SEL4RUNTIME_H

#include <sel4/sel4.h>

/* The BootInfo of a root task; NULL for a task init started (it has start information). */
const seL4_BootInfo *sel4runtime_bootinfo(void);
/* umk: the start information of a task init started (count, then its words); NULL for a root task. */
const seL4_Word *umk_start_info(void);
/* umk: the first and end address of the task's own address range (its window). */
seL4_Word umk_address_range_start(void);
seL4_Word umk_address_range_end(void);

#endif
