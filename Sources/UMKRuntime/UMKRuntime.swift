// SPDX-License-Identifier: Apache-2.0
//
// What a user's own package imports to run its programs on umk: the guest runtime and the
// servers (register programs by name with ProgramRegistry, write them against UMKGuest's
// seL4 API) and the command line (UMK.main()). One import, one product (UMKRuntime).

@_exported import Servers
@_exported import UMKABI
@_exported import UMKCommandLine
@_exported import UMKGuest
