// SPDX-License-Identifier: Apache-2.0
//
// The executable of a package of one's own: its programs are registered by the names its
// manifest uses, then the umk command line runs (`greeter-system run system.yaml`,
// `greeter-system check system.yaml`, ...).

import UMKRuntime

ProgramRegistry.register("greeter", Greeter.main)
ProgramRegistry.register("counter", Counter.main)
UMK.main()
