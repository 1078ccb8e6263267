// SPDX-License-Identifier: Apache-2.0
//
// `umk run`: boot a system on the Linux backend. Until manifests land, it runs the built-in
// example system (Servers/Examples/HelloSystem.swift).

import ArgumentParser
import Servers
import UMKernel

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Boot and run a system (the built-in example until manifests are supported)."
    )

    @Option(name: .customLong("ram-mib"), help: "RAM size in MiB.")
    var ramMiB: UInt64 = 256

    func validate() throws {
        guard ramMiB >= 4 && ramMiB <= 65536 else { throw ValidationError("--ram-mib must be between 4 and 65536") }
    }

    func run() throws {
        let hal = try LinuxHAL(ramSize: ramMiB << 20)
        let kernel = Kernel(hal: hal)
        let result = try kernel.runGuests(root: HelloSystem.root)
        kernel.hal.release()
        if let failure = result.hostFailure {
            print("umk: stopped on a host failure: \(failure)")
            throw ExitCode(2)
        }
        if !result.halted {
            print("umk: no thread can run any more and nothing halted the system")
            throw ExitCode(1)
        }
    }
}
