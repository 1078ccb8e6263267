// SPDX-License-Identifier: Apache-2.0
//
// `umk run FILE`: check and compile a manifest, boot its system on the Linux backend
// (init builds it from the boot plan) and end with the system's exit status or the
// manifest's expectation. Without FILE, one of the built-in demo systems runs.

import ArgumentParser
import CShims
import Foundation
import Servers
import UMKABI
import UMKManifest
import UMKernel

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Boot and run a system from its manifest (or a built-in demo system).",
        discussion: """
            Exit status: a bad manifest exits 2 with every problem as file:line:column before
            anything starts. Otherwise the system's own status (init halts it when every task
            that is not a service has ended, or when a task asks it to), or with an `expect`
            section 0 when the expectation is met and 1 when it is not; 1 when no thread can
            run any more and nothing halted the system; 130 on Ctrl-C.

            Clocks: by default time is virtual (it advances per kernel entry and jumps to the
            next deadline when idle; nothing is preempted asynchronously), so a run repeats
            exactly; --record keeps the console input it took, --replay feeds it back, --seed
            picks another reproducible interleaving. --realtime runs on host time with timer
            signals and preemption.

            Sandbox: once the system is built, umk confines its own process with a seccomp
            allow-list (libseccomp.so.2): a guest's host syscall off the list does not run
            and is an UnknownSyscall fault with the host's number for its fault handler.
            """
    )

    enum Example: String, ExpressibleByArgument, CaseIterable {
        case hello, shell
    }

    @Argument(help: "The system's manifest (YAML; see docs/manifest.md), a Microkit SDF (FILE.system), or the loader image the umk board's microkit tool wrote.")
    var file: String?

    @Option(name: .customLong("search-path"), help: "A Microkit SDF: a directory to look for program images in (repeatable; default: the SDF's directory, or the loader image's search path).")
    var searchPaths: [String] = []

    @Option(help: ArgumentHelp("Run a program image (an ELF built with umk cc) as the root task instead of init, with seL4's root-task environment.",
                               valueName: "image"))
    var root: String?

    @Option(help: "Without FILE: the built-in demo system to run (\(Example.allCases.map(\.rawValue).joined(separator: ", "))).")
    var system: Example?

    @Option(name: .customLong("ram-mib"), help: "RAM size in MiB (default: the manifest's, or 256).")
    var ramMiB: UInt64?

    @Flag(help: "Run on host time (timer signals, preemption) instead of virtual time.")
    var realtime = false

    @Option(help: "Virtual time: start the clock at an offset derived from N (another reproducible interleaving).")
    var seed: UInt64?

    @Option(help: "Virtual time: record the console input taken to FILE.")
    var record: String?

    @Option(help: "Virtual time: replay the console input recorded in FILE (the host console is not read).")
    var replay: String?

    @Option(help: "The console's host side: terminal, pty, none, or unix:PATH (default: the manifest's, or terminal).")
    var console: String?

    @Flag(help: "At the end, report boot time (until every task has run) and the run's kernel entries.")
    var stats = false

    @Flag(name: .customLong("populate-ram"),
          help: "Allocate all of RAM in the host before the run, as a machine's RAM is there (about 0.3 ms per MiB at start).")
    var populateRAM = false

    @Option(help: ArgumentHelp("Confine umk's process once the system is built: on (a guest's host syscall off umk's list is "
                               + "refused and becomes a fault), audit (allowed, and logged by the host kernel's audit log), off.",
                               valueName: "on|audit|off"))
    var sandbox: SandboxMode = .on

    @Option(help: ArgumentHelp("Write what the kernel did to FILE in the Chrome trace format (open it in ui.perfetto.dev): a track per thread, when each ran, its syscalls, errors, faults and preemptions, an arrow per message from sender to receiver, interrupts on the kernel's track.", valueName: "FILE"))
    var trace: String?

    @Option(name: .customLong("trace-limit-mib"), help: "The most a trace may take, in MiB (events past it are dropped, and the trace says so).")
    var traceLimitMiB: Int = 256

    @Option(name: .customLong("cap-graph"), help: ArgumentHelp("Write the system's capabilities to FILE as Graphviz DOT at the end of the run, and at every seL4_DebugSnapshot before it (one digraph each; dot -Tsvg -O FILE draws them).", valueName: "FILE"))
    var capGraph: String?

    @Flag(help: "While a guest runs, keep kernel RAM and every other task's memory inaccessible: a stray write there is a VMFault for its fault handler instead of silent corruption (host protection calls on every switch; the cost is printed at the end).")
    var strict = false

    @Flag(name: .customLong("no-sandbox"),
          help: "The same as --sandbox off: for tools that live in the process (valgrind, sanitizers, gdb's call of a function).")
    var noSandbox = false

    func validate() throws {
        if let ramMiB, !(4...65536).contains(ramMiB) { throw ValidationError("--ram-mib must be between 4 and 65536") }
        if !(1...65536).contains(traceLimitMiB) { throw ValidationError("--trace-limit-mib must be between 1 and 65536") }
        if realtime && (record != nil || replay != nil || seed != nil) {
            throw ValidationError("--record, --replay and --seed need virtual time (drop --realtime)")
        }
        if record != nil && replay != nil { throw ValidationError("--record and --replay cannot be combined") }
        if [file != nil, system != nil, root != nil].filter({ $0 }).count > 1 {
            throw ValidationError("give one of a manifest, --root or --system")
        }
        if let console { _ = try Self.binding(console) }
    }

    static func binding(_ text: String) throws -> ConsoleBinding {
        switch text {
        case "terminal": return .terminal
        case "pty": return .pseudoTerminal
        case "none": return .none
        case let s where s.hasPrefix("unix:") && s.count > 5: return .unixSocket(path: String(s.dropFirst(5)))
        default: throw ValidationError("--console must be terminal, pty, none or unix:PATH (got \"\(text)\")")
        }
    }

    func run() throws {
        do {
            try runChecked()
        } catch let failure as HostError {
            // What the host refused before or while a system ran (a console socket that
            // cannot be bound, a recording that cannot be written): the documented status.
            FileHandle.standardError.write(Data("umk: host failure: \(failure)\n".utf8))
            throw ExitCode(4)
        }
    }

    private func runChecked() throws {
        umk_line_buffer_stdout()
        if let root { return try runRoot(root) }
        guard let file else { return try runDemo() }
        let compiled: CompiledSystem
        var microkit = false
        do {
            if let (sdf, paths) = try MicrokitSystem.locate(file, searchPaths: searchPaths) {
                // A Microkit SDF (or the board's image naming one): checked as `umk check`
                // does, then built into a plan.
                microkit = true
                compiled = try MicrokitSystem.compile(sdf: sdf, searchPaths: paths).1
            } else {
                compiled = try Manifest.load(path: file, programs: ProgramRegistry.names, addressSpaces: LinuxSystem.addressSpaces,
                                               taskAddressRange: LinuxSystem.taskAddressRange)
            }
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }
        var options = try machineOptions(clock: compiled.clock == .realtime ? .realtime : .deterministic,
                                         console: compiled.console)
        options.expectOutput = compiled.expectation?.output.map { Array($0.value.utf8) }
        var config = LinuxSystem.rootConfig
        config.addExtraBootInfo(id: bootPlanChunkID, words: compiled.plan.encoded())
        for (i, image) in compiled.images.enumerated() {
            config.addExtraBootInfo(id: imageChunkID, words: imageChunk(index: UInt64(i), bytes: image.bytes))
        }
        let ram = ramMiB.map { $0 << 20 } ?? compiled.ram
        if ram < compiled.ramNeeded {
            FileHandle.standardError.write(Data("umk: --ram-mib \(ram >> 20) is too small for \(file) (it needs \(compiled.ramNeeded >> 20) MiB or more)\n".utf8))
            throw ExitCode(2)
        }
        // For a debugger: each task's image and where it will be loaded.
        for (i, task) in compiled.plan.tasks.enumerated() {
            guard let index = task.image else { continue }
            let image = compiled.images[Int(index)]
            Self.publishImage(image.file, task: task.name,
                              bias: image.elf.bias(rangeStart: LinuxSystem.taskAddressRange(i).lowerBound))
        }
        if let root = compiled.rootImage {
            Self.publishImage(root.file, task: "rootserver",
                              bias: root.elf.bias(rangeStart: LinuxSystem.taskAddressRange(-1).lowerBound))
        }
        umk_debug_images_ready()
        let timeLimit = compiled.expectation?.timeout?.value
        let checked = umk_monotonic_ns()
        let rootProgram: RootProgram = compiled.rootImage.map { .image(.init(file: $0.bytes, elf: $0.elf)) } ?? .guest(Init.root)
        let (result, machine) = try boot(root: rootProgram, config: compiled.rootImage == nil ? config : LinuxSystem.rootConfig,
                                         ram: ram, options: options, timeLimit: timeLimit.map { UInt64($0 * 1e9) } ?? 0,
                                         devices: compiled.devices)
        if stats { report(machine, tasks: compiled.plan.tasks.map(\.name), checked: checked) }
        if microkit && result.idle && result.hostFailure == nil {
            // A Microkit system runs for ever; with every PD waiting and nothing that could
            // wake one (no IRQs), it has done all it will.
            FileHandle.standardError.write(Data("umk: every protection domain waits and nothing can wake one; the run ends\n".utf8))
            throw ExitCode(0)
        }
        throw ExitCode(verdict(result, expectation: compiled.expectation))
    }

    /// What the machine did in a run, for --stats.
    struct MachineStats {
        var threadStarts: [LinuxHAL.ThreadStart]
        var entries: UInt64
        var hostMappingCalls: Int
        var ended: UInt64
        var ramPopulated: Bool
        /// on, audit, off, or unavailable (asked for, and the host could not).
        var sandbox: String
    }

    /// --stats: boot time (from main to the first run of the last task init started) and
    /// the run's totals, on stderr.
    func report(_ m: MachineStats, tasks: [String], checked: UInt64) {
        func ms(_ t: UInt64) -> String { String(format: "%.1f ms", Double(t &- UMK.started) / 1e6) }
        var lines: [String] = []
        let firsts = tasks.map { name in m.threadStarts.first { $0.name == name } }
        let never = zip(tasks, firsts).filter { $0.1 == nil }.map(\.0)
        let initRan = m.threadStarts.first.map { " init first ran at \(ms($0.nanoseconds));" } ?? ""
        let ran = firsts.compactMap { $0 }.sorted { $0.nanoseconds < $1.nanoseconds }
        if let first = ran.first, let last = ran.last, never.isEmpty {
            lines.append("boot: all \(tasks.count) tasks running \(ms(last.nanoseconds)) after umk started (manifest checked at "
                         + "\(ms(checked));\(initRan) the tasks first ran from \(ms(first.nanoseconds)) (\(first.name)) to "
                         + "\(ms(last.nanoseconds)) (\(last.name)))")
        } else {
            lines.append("boot: \(tasks.count - never.count) of \(tasks.count) tasks ran; never: \(never.joined(separator: ", "))")
        }
        lines.append("run: ended \(ms(m.ended)) after umk started; \(m.entries) kernel entries, \(m.hostMappingCalls) host mapping calls, "
                     + "\(m.threadStarts.count) threads" + (m.ramPopulated ? "; RAM allocated up front" : "") + "; sandbox \(m.sandbox)")
        FileHandle.standardError.write(Data(lines.map { "umk: \($0)\n" }.joined().utf8))
    }

    /// The exit status of a run, with the reason printed when it is not the system's own.
    func verdict(_ r: LinuxRunResult, expectation: Manifest.Expectation?) -> Int32 {
        func say(_ text: String) { FileHandle.standardError.write(Data("umk: \(text)\n".utf8)) }
        if let failure = r.hostFailure {
            say("stopped on a host failure: \(failure)")
            return 4
        }
        switch r.stopReason {
        case .interrupted?:
            say("interrupted")
            return 130
        case .timeLimit?:
            say("time limit of \(expectation?.timeout.map { "\($0.value) s" } ?? "?") reached" +
                (expectation?.output.map { " before \"\($0.value)\" appeared" } ?? ""))
            return 1
        case .expectedOutput?:
            say("expected output \"\(expectation?.output?.value ?? "")\" appeared")
            return 0
        case nil:
            break
        }
        guard r.halted else {
            say("no thread can run any more and nothing halted the system"
                + (r.waiting.isEmpty ? "" : "; the threads that wait:\n" + r.waiting.map { "umk:   \($0)" }.joined(separator: "\n")))
            return 1
        }
        let status = Int32(truncatingIfNeeded: r.haltStatus & 0xFF)
        if let output = expectation?.output {
            say("the system ended (status \(status)) before \"\(output.value)\" appeared")
            return 1
        }
        if let exit = expectation?.exit {
            guard exit.value == Int(status) else {
                say("the system exited with status \(status); the manifest expects \(exit.value)")
                return 1
            }
            return 0
        }
        return status
    }

    func machineOptions(clock: ClockMode, console manifestConsole: String) throws -> MachineOptions {
        var options = MachineOptions(clock: realtime ? .realtime : clock, console: try Self.binding(console ?? manifestConsole))
        if options.clock == .realtime && (record != nil || replay != nil || seed != nil) {
            throw ValidationError("--record, --replay and --seed need virtual time (the manifest asks for realtime)")
        }
        options.recordPath = record
        options.populateRAM = populateRAM
        options.sandbox = noSandbox ? .off : sandbox
        options.strict = strict
        options.capabilityGraphPath = capGraph
        options.tracePath = trace
        options.traceLimit = traceLimitMiB << 20
        if let seed { options.clockOffset = (seed &* 0x9E37_79B9_7F4A_7C15) >> 8 }
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
        return options
    }

    /// What runs as the root task: a Swift guest (init, a demo) or a program image.
    enum RootProgram {
        case guest(GuestEntry)
        case image(BootConfig.RootImage)
    }

    /// Boots `root` on a fresh Linux machine and runs it to the end.
    func boot(root: RootProgram, config: BootConfig, ram: UInt64, options: MachineOptions,
              timeLimit: UInt64, devices: [DeviceMemory] = []) throws -> (LinuxRunResult, MachineStats) {
        if options.clock == .deterministic { FixedHostLayout.ensure() }
        var hal = try LinuxHAL(ramSize: ram, options: options)
        if !hal.consoleName.isEmpty { FileHandle.standardError.write(Data("umk: console on \(hal.consoleName)\n".utf8)) }
        // Device memory: each region's host side, named for the program that plays the device.
        var config = config
        for d in devices {
            let path = try hal.attachDeviceMemory(name: d.name, paddr: d.paddr, size: d.size, backing: d.backing)
            config.deviceRegions.append((d.paddr, d.size))
            FileHandle.standardError.write(Data("umk: device memory '\(d.name)' at \(hex(d.paddr)) (\(d.size >> 10) KiB): \(path)\n".utf8))
        }
        guard umk_stop_install(timeLimit) == 0 else { throw ValidationError("cannot install the stop handler") }
        defer { umk_stop_uninstall() }
        let kernel = Kernel(hal: hal)
        if options.tracePath != nil { kernel.startTrace(limitBytes: options.traceLimit) }
        let result: LinuxRunResult
        switch root {
        case .guest(let entry): result = try kernel.runGuests(root: entry, config: config)
        case .image(let image): result = try kernel.runGuests(rootImage: image, config: config)
        }
        if options.strict { reportStrict(kernel.hal.strictCost) }
        kernel.finishTrace()
        if kernel.trace.truncated {
            FileHandle.standardError.write(Data("umk: the trace reached --trace-limit-mib \(options.traceLimit >> 20); later events are not in it\n".utf8))
        }
        if options.capabilityGraphPath != nil { kernel.hal.writeCapabilityGraph(kernel.capabilityGraph()) }
        let stats = MachineStats(threadStarts: kernel.hal.threadStarts, entries: kernel.hal.entries,
                                 hostMappingCalls: kernel.hal.hostMappingCalls, ended: umk_monotonic_ns(),
                                 ramPopulated: kernel.hal.ramPopulated,
                                 sandbox: options.sandbox == .off ? "off" : umk_sandbox_installed() != 0 ? options.sandbox.rawValue : "unavailable")
        kernel.hal.release()
        return (result, stats)
    }

    /// --strict: what keeping memory closed cost, on stderr.
    func reportStrict(_ c: StrictCost) {
        let ms = Double(c.nanoseconds) / 1e6
        let perEntry = c.guestEntries == 0 ? 0 : ms * 1e3 / Double(c.guestEntries)
        FileHandle.standardError.write(Data(("umk: strict: kernel RAM closed for \(c.guestEntries) guest entries, "
            + "\(c.windowSwitches) switches between address spaces, \(c.calls) host protection calls, "
            + String(format: "%.1f ms (%.1f µs per guest entry)\n", ms, perEntry)).utf8))
    }

    /// The built-in demo systems (no manifest).
    func runDemo() throws {
        let options = try machineOptions(clock: .deterministic, console: "terminal")
        let (result, _) = try boot(root: .guest(system == .shell ? ShellSystem.root : HelloSystem.root), config: LinuxSystem.rootConfig,
                                   ram: (ramMiB ?? 256) << 20, options: options, timeLimit: 0)
        throw ExitCode(verdict(result, expectation: nil))
    }

    /// Tells a debugger (scripts/umk-gdb.py) that `task` runs the image at `path`, moved by `bias`.
    static func publishImage(_ path: String, task: String, bias: UInt64) {
        umk_debug_add_image(URL(fileURLWithPath: path).standardizedFileURL.path, task, bias)
    }

    /// --root IMAGE: the image, checked as a manifest's `root` is, runs as the root task.
    func runRoot(_ path: String) throws {
        func refuse(_ reason: String) -> ExitCode {
            FileHandle.standardError.write(Data("umk: \(path): \(reason)\n".utf8))
            return ExitCode(2)
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw refuse("cannot read the file") }
        let bytes = [UInt8](data)
        let elf: ELFImage
        do { elf = try ELFImage(bytes: bytes) } catch { throw refuse(error.reason) }
        let range = LinuxSystem.taskAddressRange(-1)
        guard elf.fits(bias: elf.bias(rangeStart: range.lowerBound), in: range) else {
            throw refuse("linked at fixed addresses \(hex(elf.span.lowerBound))-\(hex(elf.span.upperBound)), outside the root's usable "
                         + "range \(hex(range.lowerBound + TaskLayout.reservedEnd))-\(hex(range.upperBound)): link it as a static PIE")
        }
        let ram = ramMiB.map { $0 << 20 } ?? 256 << 20
        let needed = ManifestCompiler.ramNeeded(root: elf)
        if ram < needed { throw refuse("--ram-mib \(ram >> 20) is too small (it needs \(needed >> 20) MiB or more)") }
        let options = try machineOptions(clock: .deterministic, console: "terminal")
        Self.publishImage(path, task: "rootserver", bias: elf.bias(rangeStart: range.lowerBound))
        umk_debug_images_ready()
        let (result, machine) = try boot(root: .image(.init(file: bytes, elf: elf)), config: LinuxSystem.rootConfig,
                                         ram: ram, options: options, timeLimit: 0)
        if stats { report(machine, tasks: [], checked: umk_monotonic_ns()) }
        throw ExitCode(verdict(result, expectation: nil))
    }
}

extension SandboxMode: ExpressibleByArgument {}
