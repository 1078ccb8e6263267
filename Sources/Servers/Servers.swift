// SPDX-License-Identifier: Apache-2.0
//
// Servers: the guest tasks that hold umk's policy (init, pager, name service, drivers).
// They are ordinary guests and depend only on UMKGuest.

import UMKGuest
