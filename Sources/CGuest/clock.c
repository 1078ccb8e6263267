// SPDX-License-Identifier: Apache-2.0
//
// Clocks guests and the kernel read alike: host monotonic time, and a cycle counter where
// there is no TSC (x86_64 reads it inline, in umk_clock.h).
#include "CGuest.h"
#include <time.h>

uint64_t umk_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#if !defined(__x86_64__)
uint64_t umk_cycles(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
#endif
