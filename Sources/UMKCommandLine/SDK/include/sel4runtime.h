/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime of a C program on umk, as seL4's sel4runtime is: it receives the start
 * information, sets up the IPC buffer and TLS, calls main(argc, argv) and ends the task
 * with main's return value.
 */
#ifndef SEL4RUNTIME_H
#define SEL4RUNTIME_H

#include <sel4/sel4.h>
#include <stddef.h>
#include <stdint.h>

/* The BootInfo of a root task; NULL for a task init started (it has start information). */
const seL4_BootInfo *sel4runtime_bootinfo(void);
/* argv[0]: "rootserver" for the root task, the task's name for a task. */
const char *sel4runtime_process_name(void);
/* Ends the program with `status` (main's return does the same). */
_Noreturn void sel4runtime_exit(int status);

/* Thread-local storage (x86_64 variant II: the TLS base is the thread pointer, which holds
 * its own address). A new thread's block: sel4runtime_get_tls_size() bytes of memory,
 * initialised by sel4runtime_write_tls_image, which returns the base to give the thread
 * (seL4_TCB_SetTLSBase, or seL4_SetTLSBase for the caller). */
size_t sel4runtime_get_tls_size(void);
int sel4runtime_initial_tls_enabled(void);
uintptr_t sel4runtime_write_tls_image(void *tls_memory);
uintptr_t sel4runtime_move_initial_tls(void *tls_memory);
/* The calling thread's TLS base. */
static inline uintptr_t sel4runtime_get_tls_base(void) {
    uintptr_t tp;
    __asm__ volatile("movq %%fs:0, %0" : "=r"(tp));
    return tp;
}
/* Sets the thread-local `variable` of the thread whose TLS base is `tls_base` (another
 * thread's, before it runs); 0 on success. */
#define sel4runtime_set_tls_variable(tls_base, variable, value) \
    ({ \
        __typeof__(variable) *umk_variable_ = \
            (__typeof__(variable) *)((char *)&(variable) - sel4runtime_get_tls_base() + (uintptr_t)(tls_base)); \
        *umk_variable_ = (value); \
        0; \
    })
/* umk: the start information of a task init started (count, then its words); NULL for a root task. */
const seL4_Word *umk_start_info(void);
/* umk: the first and end address of the task's own address range (its window). */
seL4_Word umk_address_range_start(void);
seL4_Word umk_address_range_end(void);

#endif
