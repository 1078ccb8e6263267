// SPDX-License-Identifier: Apache-2.0
//
// A microbenchmark of the kernel state machine alone: Call and ReplyRecv between two
// threads through `handleSyscall`, fastpath and slowpath, on the simulated backend. It
// measures the kernel's own work per syscall (no context switch, no host call), in TSC
// cycles, which is the part of the IPC budget the kernel code controls.

import CShims
import UMKABI
import UMKernel

/// Medians in TSC cycles of one kernel entry (each sample the mean over a batch of 16),
/// timer overhead subtracted.
public struct KernelIPCCost: Sendable {
    public var fastCall: UInt64
    public var fastReplyRecv: UInt64
    public var slowCall: UInt64
    public var slowReplyRecv: UInt64
    /// How many round trips were measured per path.
    public var samples: Int
}

/// Kernel-only benchmarks.
public enum KernelBench {
    /// Measures Call and ReplyRecv through the fastpath and the slowpath.
    public static func ipc(samples: Int = 10_000) -> KernelIPCCost {
        let k = Kernel(hal: SimulatedHAL(ramSize: 8 << 20))
        let boot = k.boot()
        let driver = SimulatedGuest(kernel: k, boot: boot)
        let (client, server, ep) = driver.pingPongPair()
        var overhead = [UInt64]()
        for _ in 0..<1000 {
            let t0 = umk_cycles()
            overhead.append(umk_cycles() - t0)
        }
        // The counter's mean cost (the batches are means too): on a stepped TSC most
        // back-to-back reads see one step and some see none, so its median overstates it.
        // Reads an interrupt stretched (beyond twice the median) are left out.
        let cut = 2 * median(&overhead)
        let kept = overhead.filter { $0 <= cut }
        let baseTotal = kept.reduce(0, +)
        let baseCount = UInt64(max(kept.count, 1))
        // One sample is the mean over a batch of round trips: a kernel entry takes less than
        // one step of a coarse TSC, which a single reading would round to 0 or a step.
        let batch = 16
        func measure(slow: Bool) -> (UInt64, UInt64) {
            func enter(_ number: Int64) {
                if slow { k.simulatedSyscallSlowpath(number) } else { k.simulatedSyscall(number) }
            }
            var calls = [UInt64](), replies = [UInt64]()
            calls.reserveCapacity(samples / batch)
            replies.reserveCapacity(samples / batch)
            for _ in 0..<max(1, samples / batch) {
                var callSum: UInt64 = 0, replySum: UInt64 = 0
                for _ in 0..<batch {
                    precondition(k.currentThread == client, "bench: client should run")
                    driver.load(client, cptr: ep, info: MessageInfo(label: 1, length: 2))
                    let t0 = umk_cycles()
                    enter(Syscall.call.rawValue)
                    callSum &+= umk_cycles() &- t0
                    precondition(k.currentThread == server, "bench: server should run")
                    driver.load(server, cptr: ep, info: MessageInfo(label: 0, length: 2))
                    let t1 = umk_cycles()
                    enter(Syscall.replyRecv.rawValue)
                    replySum &+= umk_cycles() &- t1
                }
                // (sum − n × mean overhead) / n, in integers.
                let n = UInt64(batch)
                func net(_ sum: UInt64) -> UInt64 {
                    let scaled = sum * baseCount, cost = n * baseTotal
                    return scaled > cost ? (scaled - cost + n * baseCount / 2) / (n * baseCount) : 0
                }
                calls.append(net(callSum))
                replies.append(net(replySum))
            }
            return (median(&calls), median(&replies))
        }
        _ = measure(slow: false)
        let fast = measure(slow: false)
        let slow = measure(slow: true)
        return KernelIPCCost(fastCall: fast.0, fastReplyRecv: fast.1, slowCall: slow.0, slowReplyRecv: slow.1,
                             samples: samples)
    }

    static func median(_ values: inout [UInt64]) -> UInt64 {
        values.sort()
        return values[values.count / 2]
    }
}
