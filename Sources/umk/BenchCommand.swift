// SPDX-License-Identifier: Apache-2.0
//
// `umk bench`: measurements in TSC cycles (medians).

import ArgumentParser
import UMKernel

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure kernel costs in TSC cycles (medians).",
        discussion: """
            kernel-ipc: one Call and one ReplyRecv through the kernel state machine alone
            (fastpath and slowpath), without a context switch or any host call. Guest
            round trips with Linux baselines side by side come with the Linux backend.
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
    }

    private func pad(_ v: UInt64) -> String {
        let s = String(v)
        return String(repeating: " ", count: max(0, 6 - s.count)) + s
    }
}
