// SPDX-License-Identifier: Apache-2.0
//
// The machine's sandbox (SandboxMode): installed once the system is built, before its
// first guest runs. Where the host cannot (no libseccomp.so.2, no seccomp), the run goes
// on unconfined and says so.

import CShims

extension LinuxHAL {
    mutating func installSandbox() {
        var error = [CChar](repeating: 0, count: 256)
        let result = unsafe error.withUnsafeMutableBufferPointer { buffer in
            unsafe umk_sandbox_install(options.sandbox == .audit ? 1 : 0, ramFD, buffer.baseAddress, UInt(buffer.count))
        }
        if result != 0 {
            let reason = unsafe error.withUnsafeBufferPointer { unsafe String(cString: $0.baseAddress!) }
            debugPrint("umk: no sandbox: \(reason); the system runs unconfined (--no-sandbox runs without asking)\n")
        }
    }
}
