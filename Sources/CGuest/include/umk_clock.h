// SPDX-License-Identifier: Apache-2.0
//
// The time-stamp counter, for `umk bench` and trace timestamps.
#ifndef UMK_CLOCK_H
#define UMK_CLOCK_H

#include <stdint.h>

#if defined(__x86_64__)
/// Reads the TSC after every earlier instruction has completed (lfence; rdtsc), the same
/// read the Linux baselines and the counter-overhead measurement use. Inline, so a sample
/// costs no call.
static inline uint64_t umk_cycles(void) {
    uint32_t lo, hi;
    __asm__ __volatile__("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
    return ((uint64_t)hi << 32) | lo;
}
#else
/// A monotonic nanosecond count (no TSC on this architecture).
uint64_t umk_cycles(void);
#endif

/// Host monotonic time in nanoseconds.
uint64_t umk_monotonic_ns(void);

#endif
