// SPDX-License-Identifier: Apache-2.0
//
// Deliberate processor exceptions, for fault tests and fault demos: Swift itself would trap
// (ud2) before dividing by zero, so the real instructions come from here.
#ifndef UMK_TRAPS_H
#define UMK_TRAPS_H

#include <stdint.h>
#include "umk_guest.h"

/// Executes ud2 (#UD, SIGILL); a handler resumes it 2 bytes on.
void umk_trap_ud2(void);
/// Executes int3 (#BP, SIGTRAP).
void umk_trap_int3(void);
/// Divides with idiv (#DE, SIGFPE when `divisor` is 0).
int64_t umk_trap_divide(int64_t dividend, int64_t divisor);
/// umk_syscall(io) with the callee-saved rbx, rbp, r12, r13 and r14 holding
/// 0x0B0B_0000_0000_0001 ... 0x0B0B_0000_0000_0005 while the thread is in the kernel.
void umk_trap_syscall_marked(umk_syscall_io_t *io);
/// A thread's first instruction: reads the word at its FS base (a VMFault there if its TLS
/// base is not mapped), then ud2. Never called: its address is a thread's IP.
void umk_trap_read_fs(void);
/// Loads distinct values into every general register, xmm0 and ymm1's upper half (AVX2),
/// executes ud2, and after
/// being resumed (at the next instruction) returns a bit mask of the registers that do not
/// hold their values any more (0 = all restored).
uint64_t umk_trap_check_registers(void);

/// What umk_trap_probe_registers saw at its first instruction: rax, rbx, rcx, rdx, rsi, rdi,
/// rbp, r8...r15, rsp and rflags.
extern uint64_t umk_probe_area[17];
/// Clears umk_probe_area; reads its word `i` (accessors: Swift sees the array as shared
/// mutable state).
void umk_probe_reset(void);
uint64_t umk_probe_word(int i);
/// A thread started here saves every register into umk_probe_area at its first
/// instruction, then executes ud2 (#UD). Never called: its address is a thread's IP.
void umk_trap_probe_registers(void);

/// The trap-call benchmark (seL4's syscall instruction): the two threads' code, from
/// umk_trap_bench_client to umk_trap_bench_end, position-independent, to copy into a task's
/// page; each thread starts with a umk_trap_bench_t's address in rdi. The client Calls
/// `endpoint` `rounds` times, stamping just before each, keeps the reply's one-way time in
/// `samples`, then signals `done`; the server keeps each Call's one-way time and replies.
typedef struct {
    uint64_t endpoint;
    uint64_t done;
    uint64_t rounds;
    volatile uint64_t *stamp;
    uint64_t *samples;
} umk_trap_bench_t;
void umk_trap_bench_client(umk_trap_bench_t *bench);
void umk_trap_bench_server(umk_trap_bench_t *bench);
void umk_trap_bench_end(void);
static inline uint64_t umk_trap_bench_address(int which) {
    return which == 0 ? (uint64_t)&umk_trap_bench_client : which == 1 ? (uint64_t)&umk_trap_bench_server
                                                                      : (uint64_t)&umk_trap_bench_end;
}

#endif
