// SPDX-License-Identifier: Apache-2.0
//
// `umk fuzz`: a seeded, structure-aware, coverage-guided fuzzer of the syscall interface on
// the deterministic backend, with the kernel's invariants checked after every call. The
// campaign runs in a child process so that a kernel trap (a crash) is caught too: before
// each execution the child leaves the input in memory shared with the parent, which
// minimises a crashing input by running candidates in children of their own. An oracle
// failure is minimised in the child itself. Either way the input is written to a file and
// printed as a readable program; `umk fuzz --replay FILE` runs one input with its trace.

import ArgumentParser
import CShims
import Foundation
import Glibc
import UMKFuzz
import UMKernel

struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Fuzz the syscall interface with the kernel's invariants checked after every call.",
        discussion: """
            Inputs are syscall programs (see Sources/UMKFuzz/SyscallProgram.swift):
            calls by three threads in two CSpaces and VSpaces, on caps they hold. Oracles:
            the invariant checker, seL4's error codes, reference decisions for simple cases,
            object overlap, and a revoke of every untyped returning to the boot state.
            An input that runs longer than --timeout seconds is a hang: the campaign is
            stopped and the input minimised like a crash. A campaign that dies of a signal a
            kernel trap cannot raise (killed from outside) is reported as such.
            Exit status: 0 no failure, 1 a failure (written to --artifacts as crash-*,
            hang-* or failure-*, minimised), 64 bad usage.
            """
    )

    @Option(help: "Seed of the campaign (the same seed repeats the same campaign).")
    var seed: UInt64 = 1

    @Option(help: "Programs to run (0: no limit).")
    var runs: Int = 100_000

    @Option(name: .customLong("max-time"), help: "Stop after this many seconds (0: no limit).")
    var maxTime: Double = 0

    @Option(help: "Corpus directory: inputs are read from it and new coverage is written to it.")
    var corpus: String?

    @Option(help: "Seed directory: inputs are read from it, never written (a tracked seed corpus such as fuzz/seeds).")
    var seeds: String?

    @Option(help: "Where a failing input is written.")
    var artifacts: String = "."

    @Option(help: "Run this one input, print its program and trace, and exit.")
    var replay: String?

    @Flag(name: .customLong("no-fork"), help: "Run the campaign in this process (a kernel trap then ends it unminimised).")
    var noFork = false

    @Flag(help: "Check invariants only at the end of each program, not after every call.")
    var fast = false

    @Option(help: "Seconds one input may run before it counts as a hang.")
    var timeout: Double = 10

    func validate() throws {
        guard runs >= 0, maxTime >= 0 else { throw ValidationError("--runs and --max-time must not be negative") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        if runs == 0 && maxTime == 0 && replay == nil { throw ValidationError("give --runs or --max-time (or both)") }
    }

    func run() throws {
        umk_line_buffer_stdout()
        if let replay {
            guard let data = FileManager.default.contents(atPath: replay) else { throw ValidationError("cannot read \(replay)") }
            throw ExitCode(replayInput([UInt8](data)))
        }
        if noFork {
            throw ExitCode(campaign(shared: nil))
        }
        throw ExitCode(try supervise())
    }

    // MARK: Replay

    func replayInput(_ bytes: [UInt8]) -> Int32 {
        let program = SyscallProgram(decoding: bytes)
        print("program (\(program.calls.count) calls, \(bytes.count) bytes):")
        print(program)
        let world = FuzzWorld()
        print("trace:")
        do {
            // Each line as it is made, so a kernel trap still leaves the trace up to it.
            _ = try world.run(program, trace: true, onTrace: { line in
                print("  " + line)
                fflush(nil)
            })
            print("ok: every oracle held")
            return 0
        } catch {
            print("FAILED: \(error)")
            return 1
        }
    }

    // MARK: Campaign

    /// Shared memory between the supervisor and the campaign child: the input being run and
    /// when it started.
    struct Shared {
        static let capacity = 1 << 16
        static let header = 16
        let base: UnsafeMutableRawPointer
        func store(_ bytes: [UInt8]) {
            let n = min(bytes.count, Self.capacity - Self.header)
            base.storeBytes(of: UInt64(n), as: UInt64.self)
            bytes.withUnsafeBytes { (base + Self.header).copyMemory(from: $0.baseAddress!, byteCount: n) }
        }
        func load() -> [UInt8] {
            let n = Int(base.load(as: UInt64.self))
            return [UInt8](UnsafeRawBufferPointer(start: base + Self.header, count: min(n, Self.capacity - Self.header)))
        }
        /// When the input in the buffer started to run (host monotonic ns); 0 between inputs.
        var started: UInt64 {
            get { base.load(fromByteOffset: 8, as: UInt64.self) }
            nonmutating set { base.storeBytes(of: newValue, toByteOffset: 8, as: UInt64.self) }
        }
    }

    /// How a child ended.
    enum ChildEnd: Equatable {
        case exited(Int32)
        /// A signal a kernel trap raises (precondition, bad access, ...).
        case trapped(Int32)
        /// Any other signal: killed from outside.
        case killed(Int32)
        /// An input ran past --timeout (the child was killed for it).
        case hung

        static let trapSignals: Set<Int32> = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE]
    }

    /// Waits for `pid`; kills it as hung once an input has run longer than --timeout (the
    /// input's start from `shared`, else the child's own start).
    func awaitChild(_ pid: pid_t, shared: Shared?) -> ChildEnd {
        let limit = UInt64(timeout * 1e9), forked = umk_monotonic_ns()
        while true {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                let signal = status & 0x7F
                if signal == 0 { return .exited((status >> 8) & 0xFF) }
                return ChildEnd.trapSignals.contains(signal) ? .trapped(signal) : .killed(signal)
            }
            if r < 0 && errno != EINTR { return .exited(1) }
            let started = shared.map(\.started) ?? forked
            if started != 0 && umk_monotonic_ns() &- started > limit {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                return .hung
            }
            usleep(10_000)
        }
    }

    func supervise() throws -> Int32 {
        let raw = mmap(nil, Shared.capacity, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
        guard let raw, raw != MAP_FAILED else { throw ValidationError("mmap failed") }
        let shared = Shared(base: raw)
        fflush(nil)
        let pid = fork()
        if pid == 0 {
            let status = campaign(shared: shared)
            fflush(nil)
            Glibc._exit(status)
        }
        guard pid > 0 else { throw ValidationError("fork failed") }
        let end = awaitChild(pid, shared: shared)
        let kind: String
        switch end {
        case .exited(let status):
            return status
        case .killed(let signal):
            print("\nthe campaign was killed by signal \(signal), which no kernel trap raises: not minimised")
            return 1
        case .trapped(let signal):
            print("\ncrash: the campaign died with signal \(signal)")
            kind = "crash"
        case .hung:
            print("\nhang: an input ran longer than \(timeout) s")
            kind = "hang"
        }
        // Minimise by running candidates in children, each judged the same way.
        let original = SyscallProgram(decoding: shared.load())
        let fails = { (p: SyscallProgram) -> Bool in
            let e = self.outcome(p)
            return end == .hung ? e == .hung : { if case .trapped = e { true } else { false } }()
        }
        guard fails(original) else {
            // The child may have died elsewhere (while minimising, or killed from outside).
            print("the last input run does not reproduce it alone:")
            print(original)
            return 1
        }
        let program = minimize(original, fails)
        let path = writeArtifact(kind, program.encoded)
        print("minimised to \(program.calls.count) calls, written to \(path):")
        print(program)
        print("reproduce: umk fuzz --replay \(path)")
        return 1
    }

    /// How running `program` alone in a child ends.
    func outcome(_ program: SyscallProgram) -> ChildEnd {
        fflush(nil)
        let pid = fork()
        if pid == 0 {
            // Quiet: the child's output would repeat the trap report for every candidate.
            let null = open("/dev/null", O_WRONLY)
            dup2(null, 1)
            dup2(null, 2)
            _ = try? FuzzWorld().run(program)
            Glibc._exit(0)
        }
        return awaitChild(pid, shared: nil)
    }

    /// Removes calls while `fails` still holds (halving chunks).
    func minimize(_ program: SyscallProgram, _ fails: (SyscallProgram) -> Bool) -> SyscallProgram {
        var best = program
        var chunk = max(1, best.calls.count / 2)
        while chunk >= 1 {
            var i = 0, removed = false
            while i < best.calls.count {
                var candidate = best
                candidate.calls.removeSubrange(i..<min(i + chunk, candidate.calls.count))
                if fails(candidate) { best = candidate; removed = true } else { i += chunk }
            }
            if !removed { chunk /= 2 }
        }
        return best
    }

    func campaign(shared: Shared?) -> Int32 {
        var campaign = FuzzCampaign(seed: seed)
        campaign.world.checkEveryCall = !fast
        let start = umk_monotonic_ns()
        var lastReport = start
        var seeds: [SyscallProgram] = []
        if let corpus { try? FileManager.default.createDirectory(atPath: corpus, withIntermediateDirectories: true) }
        for directory in [self.seeds, corpus].compactMap({ $0 }) {
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted() {
                if let data = FileManager.default.contents(atPath: directory + "/" + name) {
                    seeds.append(SyscallProgram(decoding: [UInt8](data)))
                }
            }
        }
        var executed = 0
        while true {
            if runs > 0 && executed >= runs { break }
            let now = umk_monotonic_ns()
            if maxTime > 0 && Double(now - start) / 1e9 >= maxTime { break }
            let program = executed < seeds.count ? seeds[executed] : campaign.nextProgram()
            executed += 1
            shared?.store(program.encoded)
            shared?.started = umk_monotonic_ns()
            if executed == 1, let fault = ProcessInfo.processInfo.environment["UMK_FUZZ_CHILD_FAULT"] {
                injectFault(fault)
            }
            let before = campaign.corpus.count
            let failure = campaign.execute(program)
            shared?.started = 0
            if let failure {
                print("\nfailure: \(failure)")
                let minimal = campaign.minimize(program, failure: failure)
                let path = writeArtifact("failure", minimal.encoded)
                print("minimised to \(minimal.calls.count) calls, written to \(path):")
                print(minimal)
                print("reproduce: umk fuzz --replay \(path)")
                return 1
            }
            if campaign.corpus.count > before, executed > seeds.count, let corpus {
                let bytes = program.encoded
                try? Data(bytes).write(to: URL(fileURLWithPath: corpus + "/" + hexName(bytes)))
            }
            if now - lastReport > 1_000_000_000 {
                lastReport = now
                report(campaign, start: start, final: false)
            }
        }
        report(campaign, start: start, final: true)
        print("done: \(campaign.executions) programs, no failure")
        return 0
    }

    /// The supervisor's self-test (UMK_FUZZ_CHILD_FAULT, read by the campaign child before
    /// its first input; a test sets it): "hang" never finishes the input, "trap" aborts as a
    /// failed precondition in the kernel would, "kill" dies of SIGKILL as if killed from
    /// outside (the OOM killer). It makes the ends no kernel bug can be asked for testable.
    func injectFault(_ fault: String) {
        switch fault {
        case "hang": while true { pause() }
        case "trap": abort()
        case "kill": raise(SIGKILL)
        default: break
        }
    }

    func report(_ c: FuzzCampaign, start: UInt64, final: Bool) {
        let seconds = max(Double(umk_monotonic_ns() - start) / 1e9, 1e-9)
        let line = "runs \(c.executions)  \(Int(Double(c.executions) / seconds)) exec/s  \(Int(Double(c.syscalls) / seconds)) syscalls/s  coverage \(c.coverage.count)  corpus \(c.corpus.count)  \(String(format: "%.1f", seconds)) s"
        print(line)
    }

    func hexName(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return String(h, radix: 16)
    }

    func writeArtifact(_ kind: String, _ bytes: [UInt8]) -> String {
        try? FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let path = artifacts + "/\(kind)-" + hexName(bytes)
        try? Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}
