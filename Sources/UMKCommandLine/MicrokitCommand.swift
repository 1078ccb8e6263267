// SPDX-License-Identifier: Apache-2.0
//
// `umk microkit`: Microkit's tool for the umk board, with its command line (the SDK's
// bin/microkit runs it), so a Microkit Makefile's last step works unchanged. It checks the
// system as `umk check` does, with every image as `umk run` will load it, and writes the
// loader image (which names the system for `umk run`) and the report.

import ArgumentParser
import Foundation
import UMKManifest
import UMKernel

struct MicrokitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "microkit",
        abstract: "Microkit's tool for the umk board: microkit SYSTEM --board umk --config debug [--search-path DIR ...] [-o IMAGE] [-r REPORT].",
        discussion: """
            Checks a Microkit system (its SDF and program images, every problem as \
            file:line:column, exit 2) and writes IMAGE, which `umk run IMAGE` runs (or run the \
            file itself), and REPORT: where each PD's image and regions lie and the caps it \
            holds. `umk sdk DIR` writes DIR/bin/microkit, which runs this. --image-type and \
            --viper-output are accepted as Microkit's tool accepts them; the image is umk's own.
            """)

    @Argument(help: "The System Description File.")
    var system: String

    @Option(help: "The board: umk.")
    var board: String

    @Option(help: "The configuration: debug.")
    var config: String

    @Option(name: .customLong("search-path"), parsing: .upToNextOption,
            help: "Directories to look for program images in (default: the SDF's directory).")
    var searchPaths: [String] = []

    @Option(name: [.short, .long], help: "The loader image to write.")
    var output = "loader.img"

    @Option(name: [.short, .long], help: "The report to write.")
    var report = "report.txt"

    @Option(name: .customLong("image-type"), help: "binary, elf or uimage (accepted; umk writes its own image).")
    var imageType: String?

    @Option(name: .customLong("viper-output"), help: "Accepted as Microkit's tool accepts it; umk writes nothing there.")
    var viperOutput: String?

    func validate() throws {
        guard board == "umk" else { throw ValidationError("argument --board: unknown parameter '\(board)' (this SDK has the board umk)") }
        guard config == "debug" else {
            throw ValidationError("argument --config: invalid choice '\(config)' (choose from: debug)")
        }
        if let imageType, !["binary", "elf", "uimage"].contains(imageType) {
            throw ValidationError("argument --image-type: unknown parameter '\(imageType)'")
        }
    }

    func run() throws {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        func absolute(_ path: String) -> String { URL(fileURLWithPath: path, relativeTo: cwd).standardizedFileURL.path }
        let sdf = absolute(system)
        let paths = searchPaths.map(absolute)
        let description: SystemDescription
        let compiled: CompiledSystem
        do {
            (description, compiled) = try MicrokitSystem.compile(sdf: sdf, searchPaths: paths)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }
        let umk = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let image = MicrokitImage(system: sdf, searchPaths: paths.isEmpty ? [URL(fileURLWithPath: sdf).deletingLastPathComponent().path] : paths)
        do {
            try image.encoded(umk: umk).write(toFile: output, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: output)
            try description.report(compiled, taskAddressRange: LinuxSystem.taskAddressRange)
                .write(toFile: report, atomically: true, encoding: .utf8)
        } catch {
            FileHandle.standardError.write(Data("microkit: \(error.localizedDescription)\n".utf8))
            throw ExitCode(1)
        }
        let n = description.protectionDomains.count
        print("microkit: \(system): \(n) protection domain\(n == 1 ? "" : "s"); wrote \(output) "
              + "(run it: umk run \(output)) and \(report)")
    }
}
