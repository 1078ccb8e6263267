// SPDX-License-Identifier: Apache-2.0
//
// What a guest program links to reach the kernel (libsel4's place for umk's direct-call
// ABI): the syscall block a guest fills, the entry it calls, and where its IPC buffer is.
// The entry's body, umk_syscall in CShims/context_x86_64.S, is the kernel's side (as
// seL4's trap entry is): it saves the guest's context and runs the kernel. The two
// variables are the kernel's to set on every switch and the running guest's to read
// (defined in CShims/context.c, beside the switch's other state).
#ifndef UMK_GUEST_H
#define UMK_GUEST_H

#include <stddef.h>
#include <stdint.h>

/// A syscall as a guest makes it: inputs, then outputs written back in place.
typedef struct umk_syscall_io {
    int64_t number;      // seL4 syscall number (negative)
    uint64_t cptr;       // in: CPtr; out: badge
    uint64_t info;       // in/out: message info
    uint64_t mr[4];      // in/out: MR0...MR3
} umk_syscall_io_t;

/// Enters the kernel with a syscall; returns when this thread is resumed.
void umk_syscall(umk_syscall_io_t *io);

/// The address umk_syscall has: a guest blocked in a syscall reports it as its IP.
static inline uint64_t umk_syscall_address(void) { return (uint64_t)&umk_syscall; }

/// Where the program that holds a Swift guest's code is loaded (umk's, or a user's own
/// executable): a crash report gives a Swift guest's IP as an offset into it, which
/// `addr2line -f -e PROGRAM OFFSET` turns into a function and line.
static inline uint64_t umk_program_base(void) {
    extern const char __ehdr_start[] __attribute__((visibility("hidden")));
    return (uint64_t)(uintptr_t)__ehdr_start;
}

/// A place for a debugger's breakpoint (umk gdb stops there): init calls it once it has
/// reported a crashed task, a fault nothing else will answer; the task's thread stays
/// stopped where it faulted. `task` is its name, `report` what init printed.
void umk_debug_task_crashed(const char *task, const char *report);

/// The size of the program's file (the one umk_program_base is the start of), or -1.
int64_t umk_program_file_size(void);
/// Reads `size` bytes of the program's file from `offset`; 0, or -1.
int umk_program_file_read(uint64_t offset, void *buffer, uint64_t size);
/// A Swift symbol's name demangled into `out` (cut to `size` bytes); 0, or -1 if it is not
/// a Swift name.
int umk_demangle(const char *name, char *out, size_t size);

/// The running guest's IPC buffer (its TCB's IPC buffer address, a guest address being the
/// host address), or 0.
extern uint64_t umk_current_ipc_buffer;

/// The running guest's IPC buffer address (0 if none). Inline, so a syscall wrapper reads
/// it with a load, not a call.
static inline uint64_t umk_ipc_buffer(void) { return umk_current_ipc_buffer; }

#endif
