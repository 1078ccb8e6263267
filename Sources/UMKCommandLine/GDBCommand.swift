// SPDX-License-Identifier: Apache-2.0
//
// `umk gdb -- umk run ...`: the host's gdb with umk's extension loaded (SDK/gdb/umk-gdb.py,
// also scripts/umk-gdb.py): guest threads, image symbols, umk's own signals passed.

import ArgumentParser
import Foundation
import Glibc

struct GDBCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gdb",
        abstract: "Debug a system with gdb, umk's extension loaded: umk gdb [GDB-OPTIONS] -- umk run [--no-sandbox] system.yaml",
        discussion: """
            Runs gdb -x umk-gdb.py GDB-OPTIONS --args COMMAND. A leading `umk` in COMMAND is this umk. The \
            extension adds `info umk-threads` and `umk-thread N|NAME`, loads each program \
            image's symbols where it is loaded (so `break file.c:42` works in a C or Microkit \
            guest), and lets the signals umk takes in its work pass.
            """)

    @Argument(parsing: .captureForPassthrough, help: "The command to debug (after --).")
    var command: [String] = []

    func run() throws {
        // gdb's own options before --, the command to debug after it.
        var options: [String] = [], args = command
        if let split = command.firstIndex(of: "--") {
            options = Array(command[..<split])
            args = Array(command[(split + 1)...])
        }
        guard !args.isEmpty else { throw ValidationError("give the command to debug: umk gdb -- umk run system.yaml") }
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        if args[0] == "umk" { args[0] = me }
        guard let script = Bundle.module.url(forResource: "SDK/gdb/umk-gdb", withExtension: "py")?.path
                ?? Bundle.module.url(forResource: "umk-gdb", withExtension: "py", subdirectory: "SDK/gdb")?.path else {
            throw ValidationError("umk's gdb extension is missing from its resources")
        }
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
        guard let gdb = path.map({ "\($0)/gdb" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ValidationError("no gdb on PATH (Debian: apt install gdb)")
        }
        let argv = [gdb, "-q", "-x", script] + options + ["--args"] + args
        var cArgs = argv.map { strdup($0) } + [nil]
        execv(gdb, &cArgs)
        throw ValidationError("cannot run \(gdb): errno \(errno)")
    }
}
