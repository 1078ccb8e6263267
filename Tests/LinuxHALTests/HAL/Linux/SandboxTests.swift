// SPDX-License-Identifier: Apache-2.0
//
// The sandbox as umk's own process meets it, in child processes (a filter is for good):
// a host syscall off the list made by umk itself is reported by name and umk stops with
// status 70; umk's own exit and abort still end the process as they should. (A guest's
// refused syscall becoming a fault is tested end to end with examples/sandbox.)

import Foundation
import Testing
import CShims
import Glibc

@Suite("Sandbox")
struct SandboxTests {
    @Test("SANDBOX0001 a host syscall off the list made by umk itself (not a guest): reported by name and number, then exit 70")
    func refusedInUmk() async {
        let result = await #expect(processExitsWith: .exitCode(70), observing: [\.standardErrorContent]) {
            _ = umk_faults_install({ _ in nil })
            var error = [CChar](repeating: 0, count: 256)
            guard umk_sandbox_install(0, -1, &error, 256) == 0 else { exit(9) }
            _ = getuid()
            exit(8)
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("umk: the sandbox refused host syscall getuid (102) made by umk itself at 0x"), "\(stderr)")
        #expect(stderr.contains("a gap in umk's allow-list"), "\(stderr)")
    }

    @Test("SANDBOX0002 umk's own exit passes the sandbox with its status (glibc's exit_group lacks the cookie; the handler exits with it)")
    func exitPasses() async {
        await #expect(processExitsWith: .exitCode(3)) {
            _ = umk_faults_install({ _ in nil })
            var error = [CChar](repeating: 0, count: 256)
            guard umk_sandbox_install(0, -1, &error, 256) == 0 else { exit(9) }
            exit(3)
        }
    }

    @Test("SANDBOX0003 umk's own abort under the sandbox: said so, status 134")
    func abortReported() async {
        let result = await #expect(processExitsWith: .exitCode(134), observing: [\.standardErrorContent]) {
            _ = umk_faults_install({ _ in nil })
            var error = [CChar](repeating: 0, count: 256)
            guard umk_sandbox_install(0, -1, &error, 256) == 0 else { exit(9) }
            abort()
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("umk: umk itself aborted"), "\(stderr)")
    }

    @Test("SANDBOX0004 no executable mapping but of RAM: an anonymous PROT_EXEC mmap is refused, a PROT_READ one and the RAM fd's executable one are not")
    func executableMappings() async {
        await #expect(processExitsWith: .exitCode(70)) {
            _ = umk_faults_install({ _ in nil })
            let fd = umk_memfd_create("ram", 1 << 16)
            guard fd >= 0 else { exit(9) }
            var error = [CChar](repeating: 0, count: 256)
            guard umk_sandbox_install(0, fd, &error, 256) == 0 else { exit(9) }
            guard mmap(nil, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED,
                  mmap(nil, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0) != MAP_FAILED else { exit(8) }
            _ = mmap(nil, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            exit(7)
        }
    }
}
