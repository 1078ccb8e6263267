// SPDX-License-Identifier: Apache-2.0
//
// Linux's own mechanisms, measured the way `umk bench` measures umk: TSC cycles per
// sample, one way (from one host thread's stamp before it hands over to the other thread
// running), both threads on the calling thread's CPU as umk's guests share one.
#ifndef UMK_BASELINES_H
#define UMK_BASELINES_H

#include <stdint.h>

/// Ping-pong transports between two host threads.
enum umk_baseline_kind {
    UMK_BASELINE_PIPE = 0,
    UMK_BASELINE_EVENTFD = 1,
    UMK_BASELINE_FUTEX = 2,
    UMK_BASELINE_UNIX_SOCKET = 3,
};

/// Fills `out` with `samples` one-way latencies (after as many warm-up rounds) of
/// ping-pong over `kind`. Returns 0 or -errno.
int umk_baseline_pingpong(int kind, uint64_t *out, int samples);
/// sched_yield() between two threads on one CPU: from one's yield to the other running.
int umk_baseline_yield(uint64_t *out, int samples);
/// A signal sent to the calling thread and handled (tgkill → handler → return).
int umk_baseline_signal(uint64_t *out, int samples);
/// A processor exception handled by a signal handler that resumes the thread after the
/// instruction: int3 (SIGTRAP) when `ud2` is 0, ud2 (SIGILL) otherwise, per round trip.
int umk_baseline_trap(int ud2, uint64_t *out, int samples);
/// A `syscall` instruction trapped by Syscall User Dispatch: SIGSYS, a handler, sigreturn
/// (the round trip the trap ABI starts from). -errno if the host has no dispatch.
int umk_baseline_sigsys(uint64_t *out, int samples);
/// userfaultfd paging: a fault → the handler thread → UFFDIO_COPY of `ahead` pages (1 to
/// 16) from the faulting one → the faulting thread resumed; out[i] is the cycles of the
/// first touch of page i (faulting or not). Returns -errno where the host does not allow
/// userfaultfd.
int umk_baseline_userfaultfd(uint64_t *out, int samples, int ahead);
/// Two TSC reads back to back (the counter's own cost, subtracted from every sample).
int umk_baseline_counter(uint64_t *out, int samples);

#endif
