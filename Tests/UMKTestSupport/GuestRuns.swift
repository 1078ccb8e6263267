// SPDX-License-Identifier: Apache-2.0
//
// What the test targets that run real guests share: booting a system on the Linux machine
// with a test's program as its root task, and the guest side's failure report. A run
// waits for any other in the process to end (Kernel.runGuests holds the one CPU), so
// tests in different targets may call these at the same time.

import UMKGuest
import UMKernel

/// Boots a system with `root` as the root task and runs it to the end: the run and the
/// debug output.
public func runSystem(ramMiB: UInt64 = 64, _ root: ThreadEntry) throws -> (result: LinuxRunResult, output: String) {
    let k = Kernel(hal: try LinuxHAL(ramSize: ramMiB << 20, echo: false))
    defer { k.hal.release() }
    let r = try k.runGuests(root: root)
    return (r, k.hal.outputText)
}

/// Guest-side failure report: print and halt (the test then sees "FAIL").
public func guestCheck(_ ok: Bool, _ what: String) {
    if !ok {
        debugPrint("FAIL: \(what)\n")
        seL4.debugHalt()
    }
}
