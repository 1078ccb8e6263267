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
        abstract: "Check a manifest or a Microkit System Description File: every problem as file:line:column, exit 2 if there is one.")

    @Argument(help: "The system's manifest (YAML; see docs/manifest.md), a Microkit SDF (XML), or the loader image the umk board's microkit tool wrote.")
    var file: String

    @Option(name: .customLong("search-path"), help: "A Microkit SDF: a directory to look for program images in (repeatable; default: the SDF's directory).")
    var searchPaths: [String] = []

    func run() throws {
        do {
            if let (sdf, paths) = try MicrokitSystem.locate(file, searchPaths: searchPaths) {
                return try checkSDF(sdf, searchPaths: paths)
            }
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

    /// A Microkit system: the SDF checked as Microkit's tool checks it, and its images as
    /// umk run would load them.
    func checkSDF(_ sdf: String, searchPaths: [String]) throws(ManifestError) {
        let (description, compiled) = try MicrokitSystem.compile(sdf: sdf, searchPaths: searchPaths)
        let children = description.protectionDomains.filter { $0.parent != nil }.count
        func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
        print("\(file): ok: Microkit system, \(count(description.protectionDomains.count, "protection domain"))"
              + (children > 0 ? " (\(children) of them children)" : "")
              + ", \(count(description.channels.count, "channel")), \(count(description.memoryRegions.count, "memory region"))"
              + "; needs \(compiled.ramNeeded >> 20) MiB of RAM")
    }
}
