// SPDX-License-Identifier: Apache-2.0
//
// `umk bench`: measurements in TSC cycles (medians).

import ArgumentParser
import CBaselines
import CShims
import Foundation
import Glibc
import Servers
import UMKABI
import UMKBench
import UMKernel

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure kernel costs in TSC cycles, one way, beside Linux's own mechanisms.",
        discussion: """
            Rows (medians, means, p90, p99 and max; the counter's cost subtracted; every read \
            lfence; rdtsc, for umk and Linux alike):
            kernel-*: Call and ReplyRecv through the kernel state machine alone (fastpath and \
            slowpath), without a context switch or any host call; means over batches of 16.
            ipc-*, signal, poll, yield, send-higher: real guests on the Linux backend, one way \
            as sel4bench measures it (the sender stamps before its syscall, the receiver after \
            its own returns): fastpath Call and ReplyRecv in one and in two address spaces, 10 \
            message registers, a cap transfer, a four-level CSpace, 1,000 and 10,000 more \
            threads alive; Signal to a higher-priority waiter; Poll; Yield; slowpath Send.
            user-exception(-ud2): int3 (ud2) → fault handler thread → resumed, beside a Linux \
            SIGTRAP (SIGILL) handler that resumes the thread. thread-create: Retype + \
            Configure + SetPriority + WriteRegisters(resume).
            vmfault: a first touch of a fresh heap page: VMFault → user-level pager (another \
            thread) → a frame (retyped 16 at a time ahead of need) mapped → reply → the \
            instruction restarts. \
            vmfault-cold: the same on RAM the host allocates on first touch. \
            vmfault-ahead-16: the pager maps 16 pages a fault (a heap's fault_ahead: 16), \
            the cost per page, beside userfaultfd copying 16 pages a fault.
            irq: a host thread sends SIGUSR1 (IRQ 5) to the thread running guests; the \
            latency is from the send to the driver thread running (real time), with the \
            CPU idle (the kernel waits in the host) and busy (a guest computing); then \
            the driver's IRQHandler_Ack.
            idle: CPU the process uses per second of wall time while a console driver and \
            a timer server wait for interrupts (real time).
            *-trace: Call in one and two address spaces with umk run --trace recording (to \
            /dev/null; tracing takes the slowpath).
            *-strict: Call in one and two address spaces with umk run --strict's protection \
            changes (up to 1,000 samples).
            *-sandbox: the fastpath, Signal and trap rows again, in a child process confined \
            by umk run's seccomp filter (the sandbox costs nothing on paths without host syscalls).
            Linux rows: the same one-way sampling in C on host threads, both pinned to one CPU \
            as umk's guests share one; the ratio is umk / Linux.
            Where the TSC advances in steps the table says so: one sample is then rounded to \
            a step and the mean resolves below it.
            """
    )

    @Option(help: "Round trips measured per path.")
    var samples: Int = 10_000

    @Option(help: "Run only the rows whose name contains this (kernel, ipc, signal, poll, yield, send, exception, thread, vmfault, irq, idle).")
    var filter: String?

    func selected(_ row: String) -> Bool { filter.map { row.contains($0) } ?? true }

    /// Linux mechanisms the host refused, with why.
    nonisolated(unsafe) static var unavailableStore: [String: String] = [:]
    var unavailable: [String: String] {
        get { Self.unavailableStore }
        nonmutating set { Self.unavailableStore = newValue }
    }

    func validate() throws {
        guard samples > 0 else { throw ValidationError("--samples must be positive") }
    }

    @Flag(help: "Print the rows as JSON instead of a table.")
    var json = false

    /// The child that measures the guest paths with the sandbox on (a filter is for the
    /// rest of a process's life): prints the samples as JSON, nothing else.
    @Flag(name: .customLong("sandboxed-samples"), help: .hidden)
    var sandboxedSamples = false

    /// Rows measured again with --strict: the row and its sample key.
    static let strictRows = [("ipc-call-same", "call-same"), ("ipc-call-different", "call-different")]

    /// Rows measured again with the sandbox on: the row and its sample key.
    static let sandboxRows = [("ipc-call-same", "call-same"), ("ipc-replyrecv-same", "replyrecv-same"),
                              ("ipc-call-different", "call-different"), ("ipc-replyrecv-different", "replyrecv-different"),
                              ("signal", "signal"), ("trap-call", "trap-call")]

    func progress(_ what: String) {
        FileHandle.standardError.write(Data("bench: \(what)...\n".utf8))
    }

    func run() throws {
        umk_line_buffer_stdout()
        if sandboxedSamples { return try printSandboxedSamples() }
        #if DEBUG
        FileHandle.standardError.write(Data(("umk bench: this is a debug build: its figures are not meaningful "
            + "(build with swift build -c release)\n").utf8))
        #endif
        let hz = Double(tscHz())
        var counter = [UInt64](repeating: 0, count: 10_000)
        _ = umk_baseline_counter(&counter, Int32(counter.count))
        let overhead = counter.sorted()[counter.count / 2]
        let tscStep = Self.tscStep()
        func stats(_ v: [UInt64]) -> BenchStats? { BenchStats(v, overhead: overhead, hz: hz) }
        var linuxCache: [String: BenchStats?] = [:]
        func linux(_ name: String) -> BenchStats? {
            if let cached = linuxCache[name] { return cached }
            progress("linux \(name)")
            var out = [UInt64](repeating: 0, count: samples)
            // userfaultfd: up to 10,000 pages, copied 1 (or, for -16, 16) a fault.
            let ahead = name == "userfaultfd-16" ? 16 : 1, pages = min(samples, 10_000) / ahead * ahead
            let r: Int32 = switch name {
            case "pipe": umk_baseline_pingpong(Int32(UMK_BASELINE_PIPE.rawValue), &out, Int32(samples))
            case "eventfd": umk_baseline_pingpong(Int32(UMK_BASELINE_EVENTFD.rawValue), &out, Int32(samples))
            case "futex": umk_baseline_pingpong(Int32(UMK_BASELINE_FUTEX.rawValue), &out, Int32(samples))
            case "unix socket": umk_baseline_pingpong(Int32(UMK_BASELINE_UNIX_SOCKET.rawValue), &out, Int32(samples))
            case "sched_yield": umk_baseline_yield(&out, Int32(samples))
            case "signal": umk_baseline_signal(&out, Int32(samples))
            case "sigtrap": umk_baseline_trap(0, &out, Int32(samples))
            case "sigill": umk_baseline_trap(1, &out, Int32(samples))
            case "sigsys": umk_baseline_sigsys(&out, Int32(samples))
            default: umk_baseline_userfaultfd(&out, Int32(pages), Int32(ahead))
            }
            if name.hasPrefix("userfaultfd") { out = Self.perPage(Array(out.prefix(pages)), ahead) }
            let s = r == 0 ? stats(out) : nil
            if r != 0 { unavailable[name] = "errno \(-r)" }
            linuxCache[name] = s
            return s
        }
        var rows: [BenchRow] = []
        func add(_ name: String, _ what: String, _ umk: BenchStats?, linux linuxName: String? = nil, sel4: String? = nil,
                 note: String? = nil) {
            guard selected(name) else { return }
            var row = BenchRow(name: name, what: what, umk: umk, linuxName: linuxName, linux: linuxName.flatMap(linux),
                               sel4: sel4, note: note)
            if let l = linuxName, let why = unavailable[l] { row.note = (row.note.map { $0 + "; " } ?? "") + "\(l) not available here (\(why))" }
            rows.append(row)
        }

        if selected("kernel") {
            progress("kernel state machine")
            let r = KernelBench.ipc(samples: samples)
            let one = { (v: UInt64) in stats([v + overhead]) }
            add("kernel-call-fastpath", "Call through the state machine alone", one(r.fastCall), note: "no switch, no host call")
            add("kernel-replyrecv-fastpath", "ReplyRecv through the state machine alone", one(r.fastReplyRecv))
            add("kernel-call-slowpath", "Call, slowpath, state machine alone", one(r.slowCall))
            add("kernel-replyrecv-slowpath", "ReplyRecv, slowpath, state machine alone", one(r.slowReplyRecv))
        }
        let pathRows = ["ipc-call-same", "ipc-replyrecv-same", "ipc-call-different", "ipc-replyrecv-different",
                        "ipc-call-10", "ipc-replyrecv-10", "trap-call", "trap-replyrecv", "signal", "poll", "yield", "send-higher", "ipc-call-cap",
                        "user-exception", "user-exception-ud2", "thread-create", "ipc-call-4level", "ipc-call-threads-1000", "ipc-call-threads-10000"]
        if pathRows.contains(where: selected) {
            progress("guest paths")
            let (r, out) = try pathSamples(Self.pathOptions, rounds: samples)
            guard r["yield"] != nil else { throw ValidationError("the path benchmark system did not finish: \(out)") }
            add("ipc-call-same", "Call, fastpath, same address space", stats(r["call-same"]!), linux: "futex", sel4: "718-775")
            add("ipc-replyrecv-same", "ReplyRecv, fastpath, same address space", stats(r["replyrecv-same"]!), linux: "futex", sel4: "576-646")
            add("ipc-call-different", "Call, fastpath, different address spaces", stats(r["call-different"]!), linux: "pipe", sel4: "718-775")
            add("ipc-replyrecv-different", "ReplyRecv, fastpath, different address spaces", stats(r["replyrecv-different"]!),
                linux: "pipe", sel4: "576-646")
            add("ipc-call-10", "Call with 10 MRs (slowpath)", stats(r["call-slow"]!), linux: "unix socket")
            add("ipc-replyrecv-10", "ReplyRecv with 10 MRs (slowpath)", stats(r["replyrecv-slow"]!), linux: "unix socket")
            add("trap-call", "Call, fastpath, by the syscall instruction (trapped: SIGSYS)", stats(r["trap-call"] ?? []),
                linux: "sigsys", note: r["trap-call"] == nil ? "no Syscall User Dispatch on this host" : nil)
            add("trap-replyrecv", "ReplyRecv, fastpath, by the syscall instruction (trapped: SIGSYS)",
                stats(r["trap-replyrecv"] ?? []), linux: "sigsys")
            add("signal", "Signal to a waiting higher-priority thread, other address space", stats(r["signal"]!),
                linux: "eventfd", sel4: "753-1485")
            add("poll", "Poll of an idle notification", stats(r["poll"]!))
            add("yield", "Yield to a thread of equal priority", stats(r["yield"]!), linux: "sched_yield")
            add("send-higher", "Send (slowpath) to a waiting higher-priority thread", stats(r["send-higher"] ?? []), linux: "pipe")
            add("ipc-call-cap", "Call transferring a capability (with Grant)", stats(r["call-cap"] ?? []), linux: "unix socket")
            add("user-exception", "UserException (int3) → handler → resumed (round trip)", stats(r["user-exception"] ?? []),
                linux: "sigtrap")
            add("user-exception-ud2", "UserException (ud2) → handler → resumed (round trip)", stats(r["user-exception-ud2"] ?? []),
                linux: "sigill", note: "the hypervisor may intercept #UD (KVM does): a VM exit in both columns")
            add("thread-create", "Retype + Configure + SetPriority + WriteRegisters(resume)", stats(r["thread-create"] ?? []))
            add("ipc-call-4level", "Call, endpoint through a four-level CSpace", stats(r["call-4level"] ?? []), linux: "pipe")
            for n in PathBenchSystem.scaling {
                add("ipc-call-threads-\(n)", "Call across address spaces with \(n) more threads alive",
                    stats(r["call-threads-\(n)"] ?? []), linux: "pipe")
            }
            // Rows measured again another way: each beside its base row's Linux figure.
            func again(_ which: [(String, String)], _ suffix: String, _ how: String, _ samples: [String: [UInt64]]) {
                for (row, key) in which where selected(row) {
                    guard let base = rows.first(where: { $0.name == row }) else { continue }
                    add(row + suffix, base.what + how, stats(samples[key] ?? []), linux: base.linuxName,
                        note: samples[key] == nil ? "not measured" : nil)
                }
            }
            if Self.strictRows.contains(where: { selected($0.0) }) {
                progress("guest paths traced (--trace)")
                var traced = MachineOptions()
                traced.tracePath = "/dev/null"
                again(Self.strictRows, "-trace", ", traced (--trace, the slowpath)",
                      try pathSamples(traced, ramMiB: 64, rounds: samples, scaling: false).samples)
                // Up to 1,000 rounds: each guest entry costs host protection calls.
                progress("guest paths with --strict")
                var strict = MachineOptions()
                strict.strict = true
                again(Self.strictRows, "-strict", ", --strict (memory closed on every switch)",
                      try pathSamples(strict, ramMiB: 64, rounds: min(samples, 1_000), scaling: false).samples)
            }
            if Self.sandboxRows.contains(where: { selected($0.0) }) {
                progress("guest paths with the sandbox on (a child process)")
                again(Self.sandboxRows, "-sandbox", ", sandbox on", try sandboxedPathSamples())
            }
        }
        // A fault on RAM the host has supplied already (as a machine's RAM is, and as a long
        // run's is), then on RAM the host still has to allocate and clear on first touch.
        for (name, populate, ahead) in [("vmfault", true, 1), ("vmfault-cold", false, 1), ("vmfault-ahead-16", true, 16)]
        where selected(name) {
            progress(name)
            PagerSystem.heapPages = UInt64(max(min(samples, 16384) / 16 * 16, 16))
            PagerSystem.faultAhead = UInt64(ahead)
            PagerSystem.samples = []
            var options = MachineOptions()
            options.populateRAM = populate
            let kernel = Kernel(hal: try LinuxHAL(ramSize: 256 << 20, echo: false, options: options))
            _ = try kernel.runGuests(root: PagerSystem.root)
            let populated = kernel.hal.ramPopulated
            kernel.hal.release()
            guard !PagerSystem.samples.isEmpty else { throw ValidationError("\(name): the pager system did not finish") }
            let what = ahead > 1 ? "the same, the pager mapping \(ahead) pages a fault (per page)"
                : populate ? "VMFault → user pager → mapped → resumed" : "the same, the host allocating RAM on first touch"
            add(name, what, stats(ahead > 1 ? Self.perPage(PagerSystem.samples, ahead) : PagerSystem.samples),
                linux: ahead > 1 ? "userfaultfd-16" : "userfaultfd",
                note: populate && !populated ? "the host would not allocate RAM up front: pages came on first touch" : nil)
        }
        if selected("irq") {
            for busy in [false, true] {
                progress("interrupts, \(busy ? "busy" : "idle") CPU")
                let (latency, ack) = try interruptLatency(busy: busy, rounds: min(samples, 2_000))
                add(busy ? "irq-busy" : "irq-idle", "SIGUSR1 → driver thread running, \(busy ? "a guest computing" : "CPU idle")",
                    stats(latency), linux: "signal")
                if busy { add("irq-ack", "IRQHandler_Ack", stats(ack)) }
            }
        }
        var idleLine: String? = nil
        if selected("idle") {
            progress("idle CPU")
            let idle = try idleCPU(seconds: 1)
            idleLine = "idle: console driver + timer server waiting \(String(format: "%.2f", idle.wall)) s used \(String(format: "%.3f", idle.cpu * 1000)) ms of CPU (\(String(format: "%.3f", idle.cpu / idle.wall * 100)) %)"
        }
        if rows.isEmpty && idleLine == nil, let filter {
            throw ValidationError("--filter '\(filter)' matches no row (rows are named kernel-*, ipc-*, trap-*, signal, poll, "
                + "yield, send-higher, user-exception*, thread-create, vmfault*, irq-*, idle)")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
        } else {
            print(BenchTable.render(rows, hz: hz, tscStep: tscStep), terminator: "")
            if let idleLine { print(idleLine) }
            if rows.contains(where: { $0.name.hasPrefix("ipc-call-threads") }) {
                print("kernel memory per thread: \(1 << ObjectSize.tcbBits) bytes (the TCB object; its caps take 32-byte slots)")
            }
        }
    }

    /// RAM the host has allocated, as a machine's is: thread creation measures the kernel's
    /// work, not the host supplying fresh pages.
    static var pathOptions: MachineOptions {
        var options = MachineOptions()
        options.populateRAM = true
        return options
    }

    /// The guest-path system run once on a machine with `options` (traced to its trace
    /// path if it has one), `rounds` per path, the scaling rows only if `scaling`: its
    /// samples and debug output.
    private func pathSamples(_ options: MachineOptions, ramMiB: UInt64 = 256, rounds: Int,
                             scaling: Bool = true) throws -> (samples: [String: [UInt64]], output: String) {
        let savedScaling = PathBenchSystem.scaling
        defer { PathBenchSystem.scaling = savedScaling }
        PathBenchSystem.rounds = rounds
        if !scaling { PathBenchSystem.scaling = [] }
        PathBenchSystem.results = [:]
        let kernel = Kernel(hal: try LinuxHAL(ramSize: ramMiB << 20, echo: false, options: options))
        if options.tracePath != nil { kernel.startTrace() }
        _ = try kernel.runGuests(root: PathBenchSystem.root)
        kernel.finishTrace()
        let output = kernel.hal.outputText
        kernel.hal.release()
        return (PathBenchSystem.results, output)
    }

    /// The guest path samples from a child `umk bench --sandboxed-samples`.
    private func sandboxedPathSamples() throws -> [String: [UInt64]] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        p.arguments = ["bench", "--sandboxed-samples", "--samples", "\(samples)"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ValidationError("the sandboxed bench child failed (status \(p.terminationStatus))") }
        return try JSONDecoder().decode([String: [UInt64]].self, from: data)
    }

    /// The child's part: the guest paths on a machine with the sandbox on, the samples as JSON.
    private func printSandboxedSamples() throws {
        var options = Self.pathOptions
        options.sandbox = .on
        let results = try pathSamples(options, rounds: samples).samples
        guard umk_sandbox_installed() != 0 else { throw ValidationError("the sandbox could not be installed here") }
        let keys = Set(Self.sandboxRows.map(\.1))
        let wanted = results.filter { keys.contains($0.key) }
        print(String(decoding: try JSONEncoder().encode(wanted), as: UTF8.self))
    }

    /// Runs the interrupt latency system once; the host side is a thread sending SIGUSR1
    /// whenever the driver is about to wait.
    private func interruptLatency(busy: Bool, rounds: Int) throws -> ([UInt64], [UInt64]) {
        IRQBenchSystem.rounds = rounds
        IRQBenchSystem.busy = busy
        IRQBenchSystem.latencies = []
        IRQBenchSystem.waitingFor.store(0, ordering: .sequentiallyConsistent)
        IRQBenchSystem.finished.store(false, ordering: .sequentiallyConsistent)
        let tid = umk_gettid()
        let sender = Thread {
            var sent = 0
            while !IRQBenchSystem.finished.load(ordering: .sequentiallyConsistent) {
                let next = IRQBenchSystem.waitingFor.load(ordering: .sequentiallyConsistent)
                if next > sent {
                    // Let the driver reach its Wait, then interrupt.
                    usleep(200)
                    IRQBenchSystem.sentAt.store(umk_cycles(), ordering: .sequentiallyConsistent)
                    _ = umk_signal_thread(tid, SIGUSR1)
                    sent = next
                } else {
                    usleep(10)
                }
            }
        }
        sender.start()
        let kernel = Kernel(hal: try LinuxHAL(ramSize: 64 << 20, echo: false, options: MachineOptions(clock: .realtime)))
        defer { kernel.hal.release() }
        _ = try kernel.runGuests(root: IRQBenchSystem.latencyRoot)
        IRQBenchSystem.finished.store(true, ordering: .sequentiallyConsistent)
        guard IRQBenchSystem.latencies.count == rounds else {
            throw ValidationError("irq: the benchmark system did not finish: \(kernel.hal.outputText)")
        }
        return (IRQBenchSystem.latencies, IRQBenchSystem.acks)
    }

    /// CPU time the process uses while an idle system waits for `seconds`.
    private func idleCPU(seconds: Double) throws -> (cpu: Double, wall: Double) {
        IRQBenchSystem.waitingFor.store(0, ordering: .sequentiallyConsistent)
        let tid = umk_gettid()
        nonisolated(unsafe) var measured = (cpu: 0.0, wall: 0.0)
        let sender = Thread {
            while IRQBenchSystem.waitingFor.load(ordering: .sequentiallyConsistent) == 0 { usleep(100) }
            var r0 = rusage(), r1 = rusage()
            getrusage(RUSAGE_SELF.rawValue, &r0)
            let t0 = umk_monotonic_ns()
            usleep(UInt32(seconds * 1e6))
            getrusage(RUSAGE_SELF.rawValue, &r1)
            let t1 = umk_monotonic_ns()
            func secs(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
            measured = (secs(r1.ru_utime) + secs(r1.ru_stime) - secs(r0.ru_utime) - secs(r0.ru_stime), Double(t1 - t0) / 1e9)
            _ = umk_signal_thread(tid, SIGUSR2)
        }
        sender.start()
        let kernel = Kernel(hal: try LinuxHAL(ramSize: 64 << 20, echo: false, options: MachineOptions(clock: .realtime)))
        defer { kernel.hal.release() }
        let result = try kernel.runGuests(root: IRQBenchSystem.idleRoot)
        guard result.halted, measured.wall > 0 else { throw ValidationError("idle: the system did not finish: \(kernel.hal.outputText)") }
        return measured
    }

    /// Per-page costs of first touches made `group` pages at a time (one fault, then
    /// `group - 1` pages mapped ahead): each group's total divided by its pages.
    static func perPage(_ touches: [UInt64], _ group: Int) -> [UInt64] {
        stride(from: 0, to: touches.count - group + 1, by: group).map { touches[$0..<$0 + group].reduce(0, &+) / UInt64(group) }
    }

    /// The TSC's step: 1 on a counter that advances every cycle, larger where it is
    /// updated in increments (some AMD parts, some hypervisors). Differences between reads
    /// a varying time apart are then all near multiples of the step; the largest step that
    /// fits 95 % of them (within one cycle) is the one.
    static func tscStep() -> UInt64 {
        var deltas: [UInt64] = []
        deltas.reserveCapacity(4_000)
        for i in 0..<4_000 {
            let t0 = umk_cycles()
            for _ in 0..<(i % 7) { _ = umk_cycles() }
            deltas.append(umk_cycles() &- t0)
        }
        for step in stride(from: UInt64(64), through: 4, by: -1) {
            let near = deltas.filter { let r = $0 % step; return r <= 1 || r == step - 1 }.count
            if near * 100 >= deltas.count * 95 { return step }
        }
        return 1
    }

    /// The TSC rate, measured against the monotonic clock over 50 ms.
    private func tscHz() -> UInt64 {
        var start = timespec(), now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        let c0 = umk_cycles()
        repeat { clock_gettime(CLOCK_MONOTONIC, &now) } while (now.tv_sec - start.tv_sec) * 1_000_000_000 + (now.tv_nsec - start.tv_nsec) < 50_000_000
        let ns = UInt64((now.tv_sec - start.tv_sec) * 1_000_000_000 + (now.tv_nsec - start.tv_nsec))
        return (umk_cycles() - c0) * 1_000_000_000 / ns
    }
}
