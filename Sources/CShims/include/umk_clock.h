// SPDX-License-Identifier: Apache-2.0
//
// The time-stamp counter, for `umk bench` and trace timestamps.
#ifndef UMK_CLOCK_H
#define UMK_CLOCK_H

#include <stdint.h>

/// Reads the TSC (rdtsc); on other architectures, a monotonic nanosecond count.
uint64_t umk_cycles(void);

#endif
