// SPDX-License-Identifier: Apache-2.0
//
// CGuest's own code is its headers' inline functions and the files beside this one. The
// guest-visible variables umk_guest.h declares (the running guest's window and IPC
// buffer) are defined in CShims/context.c, beside the rest of the switch's state, so a
// switch writes one cache line; a guest only ever runs inside a umk that links CShims.
#include "CGuest.h"
