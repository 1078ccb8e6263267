// SPDX-License-Identifier: Apache-2.0
//
// The guest-visible state the kernel sets on every switch (see umk_guest.h).
#include "CGuest.h"

uint64_t umk_current_window;
uint64_t umk_current_ipc_buffer;
