// SPDX-License-Identifier: Apache-2.0
//
// `umk run`: boot a system on the Linux backend. Until manifests land, it runs one of the
// built-in example systems: `hello` (two tasks exchanging calls, a signal and a cap) or
// `shell` (console driver, timer server and a shell on the console).

import ArgumentParser
import Foundation
import Servers
import UMKernel

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Boot and run a system (a built-in example until manifests are supported).",
        discussion: """
            Clocks: by default time is virtual (it advances per kernel entry and jumps to the
            next deadline when idle; nothing is preempted asynchronously), so a run repeats
            exactly; --record keeps the console input it took, --replay feeds it back.
            --realtime runs on host time with timer signals and preemption.
            """
    )

    enum Example: String, ExpressibleByArgument, CaseIterable {
        case hello, shell
    }

    @Option(help: "The built-in system to run (\(Example.allCases.map(\.rawValue).joined(separator: ", "))).")
    var system: Example = .hello

    @Option(name: .customLong("ram-mib"), help: "RAM size in MiB.")
    var ramMiB: UInt64 = 256

    @Flag(help: "Run on host time (timer signals, preemption) instead of virtual time.")
    var realtime = false

    @Option(help: "Virtual time: record the console input taken to FILE.")
    var record: String?

    @Option(help: "Virtual time: replay the console input recorded in FILE (the host console is not read).")
    var replay: String?

    @Option(help: "The console's host side: terminal, pty, none, or unix:PATH (a socket umk listens on).")
    var console: String = "terminal"

    func validate() throws {
        guard ramMiB >= 4 && ramMiB <= 65536 else { throw ValidationError("--ram-mib must be between 4 and 65536") }
        if realtime && (record != nil || replay != nil) {
            throw ValidationError("--record and --replay need virtual time (drop --realtime)")
        }
        if record != nil && replay != nil { throw ValidationError("--record and --replay cannot be combined") }
        _ = try binding()
    }

    func binding() throws -> ConsoleBinding {
        switch console {
        case "terminal": return .terminal
        case "pty": return .pseudoTerminal
        case "none": return .none
        case let s where s.hasPrefix("unix:") && s.count > 5: return .unixSocket(path: String(s.dropFirst(5)))
        default: throw ValidationError("--console must be terminal, pty, none or unix:PATH (got \"\(console)\")")
        }
    }

    func run() throws {
        var options = MachineOptions(clock: realtime ? .realtime : .deterministic, console: try binding())
        options.recordPath = record
        if let replay {
            guard let text = try? String(contentsOfFile: replay, encoding: .utf8) else {
                throw ValidationError("cannot read the recording \(replay)")
            }
            do {
                options.replay = try RecordedInput.parse(text)
            } catch {
                throw ValidationError("\(replay):\(error.line): not a recorded event")
            }
        }
        let hal = try LinuxHAL(ramSize: ramMiB << 20, options: options)
        if !hal.consoleName.isEmpty { FileHandle.standardError.write(Data("umk: console on \(hal.consoleName)\n".utf8)) }
        let kernel = Kernel(hal: hal)
        let result = try kernel.runGuests(root: system == .shell ? ShellSystem.root : HelloSystem.root)
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
