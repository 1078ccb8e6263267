// SPDX-License-Identifier: Apache-2.0
//
// The `umk` command-line tool: argument parsing only; the kernel lives in UMKernel.

import ArgumentParser
import CShims
import UMKernel

@main
struct UMK: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "umk",
        abstract: "An seL4-style microkernel that runs as one ordinary Linux process.",
        discussion: """
            umk runs guest servers and drivers written against seL4's API as contexts of a
            single host process. The kernel core implements seL4's non-MCS objects,
            capabilities, IPC and scheduling. `umk run` boots a system, `umk fuzz` fuzzes the
            syscall interface with the kernel's invariants checked after every call, and
            `umk bench` measures IPC, faults and interrupts.
            """,
        version: version,
        subcommands: [RunCommand.self, CheckCommand.self, FuzzCommand.self, BenchCommand.self]
    )

    /// The host's monotonic time when main started (`umk run --stats` counts from it).
    nonisolated(unsafe) static var started: UInt64 = 0

    static func main() {
        started = umk_monotonic_ns()
        main(nil)
    }
}
