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

    @Argument(help: "The system's manifest (YAML; see docs/manifest.md), or a Microkit SDF (XML).")
    var file: String

    @Option(name: .customLong("search-path"), help: "A Microkit SDF: a directory to look for program images in (repeatable; default: the SDF's directory).")
    var searchPaths: [String] = []

    func run() throws {
        if let data = FileManager.default.contents(atPath: file), file.hasSuffix(".system")
            || SystemDescription.looksLikeSDF(String(decoding: data.prefix(256), as: UTF8.self)) {
            return try checkSDF()
        }
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

    /// A Microkit system: the SDF checked as Microkit's tool checks it.
    func checkSDF() throws {
        do {
            let sdf = try SystemDescription.load(path: file, searchPaths: searchPaths)
            let children = sdf.protectionDomains.filter { $0.parent != nil }.count
            func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
            print("\(file): ok: Microkit system, \(count(sdf.protectionDomains.count, "protection domain"))"
                  + (children > 0 ? " (\(children) of them children)" : "")
                  + ", \(count(sdf.channels.count, "channel")), \(count(sdf.memoryRegions.count, "memory region"))")
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }
    }
}
