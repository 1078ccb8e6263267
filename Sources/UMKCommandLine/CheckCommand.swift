// SPDX-License-Identifier: Apache-2.0
//
// `umk check FILE`: validate a manifest without running it.

import ArgumentParser
import Foundation
import Servers
import UMKManifest
import UMKernel

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a manifest: every problem as file:line:column, exit 2 if there is one.")

    @Argument(help: "The system's manifest (YAML; see docs/manifest.md).")
    var file: String

    func run() throws {
        do {
            let system = try Manifest.load(path: file, programs: ProgramRegistry.names, addressSpaces: LinuxSystem.addressSpaces,
                                           taskAddressRange: LinuxSystem.taskAddressRange)
            let plan = system.plan
            if let root = system.rootImage {
                print("\(file): ok: system '\(plan.name)', root task image '\(root.path)' (\(root.elf.memoryBytes >> 10) KiB loaded); "
                      + "needs \(system.ramNeeded >> 20) MiB of \(system.ram >> 20) MiB RAM")
            } else {
                print("\(file): ok: system '\(plan.name)', \(plan.tasks.count) tasks, \(plan.channels.count) channels, "
                      + "\(plan.regions.count) regions; needs \(system.ramNeeded >> 20) MiB of \(system.ram >> 20) MiB RAM")
            }
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }
    }
}
