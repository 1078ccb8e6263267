// SPDX-License-Identifier: Apache-2.0
//
// UMKGuest: the guest runtime, umk's libsel4. Guests see the kernel only through UMKABI's
// contract; this module grows the typed syscall wrappers on top of it.

@_exported import UMKABI
