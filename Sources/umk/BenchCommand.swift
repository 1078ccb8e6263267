// SPDX-License-Identifier: Apache-2.0
//
// `umk bench`: measurements in TSC cycles (medians).

import ArgumentParser
import CShims
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
            """
    )

    @Option(help: "Round trips measured per path.")
    var samples: Int = 10_000

    func validate() throws {
        guard samples > 0 else { throw ValidationError("--samples must be positive") }
    }

    func run() throws {
        let r = KernelBench.ipc(samples: samples)
        print("kernel-ipc (state machine only, \(r.samples) round trips, median TSC cycles)")
        print("  path       Call   ReplyRecv")
        print("  fastpath  \(pad(r.fastCall)) \(pad(r.fastReplyRecv))")
        print("  slowpath  \(pad(r.slowCall)) \(pad(r.slowReplyRecv))")
        for length in [0, 10] as [UInt64] {
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
        PagerSystem.heapPages = UInt64(min(samples, 16384))
        PagerSystem.samples = []
        let kernel = Kernel(hal: try LinuxHAL(ramSize: 256 << 20, echo: false))
        _ = try kernel.runGuests(root: PagerSystem.root)
        kernel.hal.release()
        let faults = PagerSystem.samples.sorted()
        guard !faults.isEmpty else { throw ValidationError("vmfault: the pager system did not finish") }
        let hz = Double(tscHz())
        let median = faults[faults.count / 2]
        print("vmfault (fault → pager → mapped → resumed, \(faults.count) pages)")
        print("  median \(median) cycles (p10 \(faults[faults.count / 10]), p90 \(faults[faults.count * 9 / 10])) ≈ \(Int(Double(median) / hz * 1e9)) ns at \(Int(hz / 1e6)) MHz")
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
