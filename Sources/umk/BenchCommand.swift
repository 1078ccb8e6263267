// SPDX-License-Identifier: Apache-2.0
//
// `umk bench`: measurements in TSC cycles (medians).

import ArgumentParser
import CShims
import Foundation
import Glibc
import Servers
import UMKernel

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure kernel costs in TSC cycles (medians).",
        discussion: """
            kernel-ipc: one Call and one ReplyRecv through the kernel state machine alone
            (fastpath and slowpath), without a context switch or any host call.
            guest-ipc: Call round trips (Call + the server's ReplyRecv) between a client
            and a server in different address spaces on the Linux backend, timed by the
            client with the TSC.
            vmfault: a first touch of a fresh heap page: VMFault → user-level pager (another
            thread) → frame retyped and mapped → reply → the instruction restarts.
            irq: a host thread sends SIGUSR1 (IRQ 5) to the thread running guests; the
            latency is from the send to the driver thread running (real time), with the
            CPU idle (the kernel waits in the host) and busy (a guest computing); then
            the driver's IRQHandler_Ack.
            idle: CPU the process uses per second of wall time while a console driver and
            a timer server wait for interrupts (real time).
            """
    )

    @Option(help: "Round trips measured per path.")
    var samples: Int = 10_000

    @Option(help: "Run only the rows whose name contains this (kernel-ipc, guest-ipc, vmfault, irq, idle).")
    var filter: String?

    func selected(_ row: String) -> Bool { filter.map { row.contains($0) } ?? true }

    func validate() throws {
        guard samples > 0 else { throw ValidationError("--samples must be positive") }
    }

    func run() throws {
        // A line at a time, so progress shows when the output is a pipe.
        umk_line_buffer_stdout()
        if selected("kernel-ipc") {
            let r = KernelBench.ipc(samples: samples)
            print("kernel-ipc (state machine only, \(r.samples) round trips, median TSC cycles)")
            print("  path       Call   ReplyRecv")
            print("  fastpath  \(pad(r.fastCall)) \(pad(r.fastReplyRecv))")
            print("  slowpath  \(pad(r.slowCall)) \(pad(r.slowReplyRecv))")
        }
        for length in [0, 10] as [UInt64] where selected("guest-ipc") {
            IPCBenchSystem.rounds = samples
            IPCBenchSystem.length = length
            IPCBenchSystem.samples = []
            let kernel = Kernel(hal: try LinuxHAL(ramSize: 64 << 20, echo: false))
            _ = try kernel.runGuests(root: IPCBenchSystem.root)
            kernel.hal.release()
            var s = IPCBenchSystem.samples.sorted()
            guard !s.isEmpty else { throw ValidationError("guest-ipc: the benchmark system did not finish") }
            let median = s[s.count / 2], p10 = s[s.count / 10], p90 = s[s.count * 9 / 10]
            s.removeAll()
            print("guest-ipc (different address spaces, \(samples) round trips, length \(length), \(length <= 4 ? "fastpath" : "slowpath"))")
            print("  Call round trip: median \(median) cycles (p10 \(p10), p90 \(p90)); one way ~\(median / 2)")
        }
        let hz = Double(tscHz())
        if selected("vmfault") {
            PagerSystem.heapPages = UInt64(min(samples, 16384))
            PagerSystem.samples = []
            let kernel = Kernel(hal: try LinuxHAL(ramSize: 256 << 20, echo: false))
            _ = try kernel.runGuests(root: PagerSystem.root)
            kernel.hal.release()
            let faults = PagerSystem.samples.sorted()
            guard !faults.isEmpty else { throw ValidationError("vmfault: the pager system did not finish") }
            let median = faults[faults.count / 2]
            print("vmfault (fault → pager → mapped → resumed, \(faults.count) pages)")
            print("  median \(median) cycles (p10 \(faults[faults.count / 10]), p90 \(faults[faults.count * 9 / 10])) ≈ \(Int(Double(median) / hz * 1e9)) ns at \(Int(hz / 1e6)) MHz")
        }
        for busy in [false, true] where selected("irq") {
            let (latency, ack) = try interruptLatency(busy: busy, rounds: min(samples, 2_000))
            let l = latency.sorted(), a = ack.sorted()
            print("irq (SIGUSR1 → driver thread running, \(l.count) interrupts, \(busy ? "busy CPU: a guest computing" : "idle CPU: kernel waiting in the host"))")
            print("  median \(l[l.count / 2]) cycles ≈ \(Int(Double(l[l.count / 2]) / hz * 1e9)) ns (p10 \(l[l.count / 10]), p90 \(l[l.count * 9 / 10]), p99 \(l[l.count * 99 / 100]))")
            print("  IRQHandler_Ack: median \(a[a.count / 2]) cycles")
        }
        guard selected("idle") else { return }
        let idle = try idleCPU(seconds: 1)
        print("idle (console driver + timer server waiting, real time, \(String(format: "%.2f", idle.wall)) s)")
        print("  CPU used: \(String(format: "%.3f", idle.cpu * 1000)) ms (\(String(format: "%.3f", idle.cpu / idle.wall * 100)) % of one CPU)")
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

    /// The TSC rate, measured against the monotonic clock over 50 ms.
    private func tscHz() -> UInt64 {
        var start = timespec(), now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        let c0 = umk_cycles()
        repeat { clock_gettime(CLOCK_MONOTONIC, &now) } while (now.tv_sec - start.tv_sec) * 1_000_000_000 + (now.tv_nsec - start.tv_nsec) < 50_000_000
        let ns = UInt64((now.tv_sec - start.tv_sec) * 1_000_000_000 + (now.tv_nsec - start.tv_nsec))
        return (umk_cycles() - c0) * 1_000_000_000 / ns
    }

    private func pad(_ v: UInt64) -> String {
        let s = String(v)
        return String(repeating: " ", count: max(0, 6 - s.count)) + s
    }
}
