// SPDX-License-Identifier: Apache-2.0
//
// CGuest: the C a guest program links (the guest runtime UMKGuest imports only this): the
// direct-call syscall ABI and IPC buffer accessor, clocks, and deliberate exceptions for
// fault tests. Every symbol is umk_*.
#ifndef UMK_CGUEST_H
#define UMK_CGUEST_H

#include "umk_guest.h"
#include "umk_clock.h"
#include "umk_traps.h"

#endif
