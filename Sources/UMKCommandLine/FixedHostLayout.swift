// SPDX-License-Identifier: Apache-2.0
//
// A virtual-time run repeats byte for byte, addresses included. Guest memory lies in
// windows at fixed host addresses already, but Swift programs linked into umk run from
// its text, and their neighbours (libraries, the host heap) sit where Linux's
// address-space randomisation put them: a crash report's IP would differ from run to run.
// So a virtual-time run makes sure the process runs without that randomisation, as a
// debugger does: if it is on, umk turns it off for itself (personality ADDR_NO_RANDOMIZE)
// and executes itself again with the same arguments. Where the host refuses, the run goes
// on, randomised, and says so.

import CShims
import Foundation
import Glibc

enum FixedHostLayout {
    /// Returns if the process already runs without randomisation (or cannot be made to);
    /// otherwise replaces it with itself, unrandomised.
    static func ensure() {
        guard umk_address_randomisation() == 1 else { return }
        func warn(_ why: String) {
            FileHandle.standardError.write(Data("umk: \(why); addresses in host code may differ between runs\n".utf8))
        }
        let e = umk_disable_address_randomisation()
        guard e == 0 else { return warn("the host keeps address randomisation on (errno \(-e))") }
        FileHandle.standardOutput.synchronizeFile()
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        warn("cannot execute umk again without address randomisation (errno \(errno))")
    }
}
