// SPDX-License-Identifier: Apache-2.0
//
// The `umk` executable: the command line (UMKCommandLine) with the example systems'
// programs registered, so the manifests in examples/ run.

import ExamplePrograms
import UMKCommandLine

ExamplePrograms.register()
UMK.main()
