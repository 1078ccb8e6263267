// SPDX-License-Identifier: Apache-2.0
//
// The `umk` command line (run, check, fuzz, bench) as a library: the `umk` executable is
// this with the example programs registered, and a user's own executable is this with its
// own programs registered (see examples/user-package). Argument parsing only; the kernel
// lives in UMKernel.

import ArgumentParser
import CShims
import Foundation
import UMKManifest
import UMKernel

/// The umk command line.
public struct UMK: ParsableCommand {
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "umk",
        abstract: "An seL4-style microkernel that runs as one ordinary Linux process.",
        discussion: """
            umk runs guest servers and drivers written against seL4's API as contexts of a \
            single host process. The kernel core implements seL4's non-MCS objects, \
            capabilities, IPC and scheduling. `umk run` boots a system, `umk fuzz` fuzzes the \
            syscall interface with the kernel's invariants checked after every call, and \
            `umk bench` measures IPC, faults and interrupts.
            """,
        version: version,
        subcommands: [RunCommand.self, CheckCommand.self, CCCommand.self, SDKCommand.self, MicrokitCommand.self, GDBCommand.self, FuzzCommand.self,
                      BenchCommand.self]
    )

    /// The host's monotonic time when main started (`umk run --stats` counts from it).
    nonisolated(unsafe) static var started: UInt64 = 0

    public init() {}

    /// Runs the command line on the process's arguments and exits with its status. Register
    /// programs (`ProgramRegistry.register`) first: manifests name them.
    public static func main() {
        started = umk_monotonic_ns()
        suggestCommand(Array(CommandLine.arguments.dropFirst()))
        main(nil)
    }

    /// A first argument that is no command but close to one (`umk rnu`): say which was
    /// meant, and stop with the usage error status.
    static func suggestCommand(_ arguments: [String]) {
        guard let first = arguments.first, !first.hasPrefix("-") else { return }
        let names = configuration.subcommands.map { $0._commandName } + ["help"]
        guard !names.contains(first),
              let near = names.min(by: { distance($0, first) < distance($1, first) }), distance(near, first) <= 2 else { return }
        FileHandle.standardError.write(Data("umk: '\(first)' is not a command; did you mean '\(near)'? (umk --help lists them)\n".utf8))
        Foundation.exit(64)
    }
}
