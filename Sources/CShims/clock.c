// SPDX-License-Identifier: Apache-2.0
//
// Cycle counter for benchmarks and traces where there is no TSC (x86_64 reads it inline,
// in umk_clock.h).
#include "CShims.h"
#include <time.h>

#if !defined(__x86_64__)
uint64_t umk_cycles(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
#endif
