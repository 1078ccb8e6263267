// SPDX-License-Identifier: Apache-2.0
//
// CShims: the host side's C and assembly (CGuest holds what guests link, CBaselines the
// bench's Linux measurements). Every symbol is umk_*; functions return 0 or
// -errno and never leave errno for Swift to read. _GNU_SOURCE must come first so glibc
// exposes the names the signal and context code needs.
#ifndef UMK_CSHIMS_H
#define UMK_CSHIMS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "CGuest.h"
#include "umk_context.h"
#include "umk_interrupts.h"
#include "umk_memory.h"

#endif
