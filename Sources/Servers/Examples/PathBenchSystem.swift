// SPDX-License-Identifier: Apache-2.0
//
// The kernel paths `umk bench` measures on real guests, sel4bench's way: hot cache, one
// way, the sender reading the TSC just before its syscall and the receiver just after
// its own returns (timestamps meet in host memory both guests can see). Phases:
// - Call and ReplyRecv, length 0 (fastpath), client and server in different address spaces
//   and in the same one; Call and ReplyRecv with 10 message registers (slowpath);
// - Signal to a waiting higher-priority thread in another address space; Poll;
// - Yield between two threads of equal priority.

import CShims
import UMKGuest

/// The path benchmarks' programs and results.
public enum PathBenchSystem {
    /// Samples per row (after as many warm-up rounds).
    nonisolated(unsafe) public static var rounds = 10_000
    /// Cycles per sample, by row name.
    nonisolated(unsafe) public static var results: [String: [UInt64]] = [:]

    nonisolated(unsafe) static var stamp: UInt64 = 0
    nonisolated(unsafe) static var samplesA: [UInt64] = []
    nonisolated(unsafe) static var samplesB: [UInt64] = []
    nonisolated(unsafe) static var length: UInt64 = 0

    /// Slots in the benchmark tasks' CSpaces.
    enum Slot {
        static let endpoint: CPtr = 1
        static let done: CPtr = 2
        static let notification: CPtr = 3
    }

    public static let root: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let done = alloc.make(.notification) else { return halt("setup") }
        // Call/ReplyRecv across address spaces, fastpath and slowpath.
        for (name, len) in [("different", UInt64(0)), ("slow", UInt64(10))] {
            guard let ep = alloc.make(.endpoint),
                  let server = alloc.makeTask(priority: 100, base: 0x1000_0000 + (len << 28)),
                  let client = alloc.makeTask(priority: 100, base: 0x2000_0000 + (len << 28)) else { return halt("ipc tasks") }
            for t in [server, client] {
                guard alloc.give(t, ep, at: Slot.endpoint) == .noError, alloc.give(t, done, at: Slot.done) == .noError else {
                    return halt("caps")
                }
            }
            run(server, serverLoop, client, clientLoop, length: len)
            _ = seL4.wait(done)
            _ = TCB.suspend(server.tcb)
            _ = TCB.suspend(client.tcb)
            results["call-\(name)"] = samplesA
            results["replyrecv-\(name)"] = samplesB
        }
        // The same address space: both threads in one task.
        guard let ep = alloc.make(.endpoint), let task = alloc.makeTask(priority: 100, base: 0x4000_0000),
              let second = alloc.addThread(to: task, priority: 100, base: 0x4000_0000 + 0x20_0000),
              alloc.give(task, ep, at: Slot.endpoint) == .noError, alloc.give(task, done, at: Slot.done) == .noError else {
            return halt("same-space task")
        }
        length = 0
        samplesA = []; samplesB = []
        guard startThread(second.tcb, entry: serverLoop, stackTop: second.stackTop) == .noError,
              startThread(task.tcb, entry: clientLoop, stackTop: task.stackTop) == .noError else { return halt("start") }
        _ = seL4.wait(done)
        _ = TCB.suspend(second.tcb)
        _ = TCB.suspend(task.tcb)
        results["call-same"] = samplesA
        results["replyrecv-same"] = samplesB
        // Signal to a higher-priority waiter in another address space.
        guard let ntfn = alloc.make(.notification),
              let waiter = alloc.makeTask(priority: 200, base: 0x5000_0000),
              let signaller = alloc.makeTask(priority: 100, base: 0x6000_0000) else { return halt("signal tasks") }
        for t in [waiter, signaller] {
            guard alloc.give(t, ntfn, at: Slot.notification) == .noError, alloc.give(t, done, at: Slot.done) == .noError else {
                return halt("caps")
            }
        }
        samplesA = []
        run(waiter, waitLoop, signaller, signalLoop, length: 0)
        _ = seL4.wait(done)
        _ = TCB.suspend(waiter.tcb)
        _ = TCB.suspend(signaller.tcb)
        results["signal"] = samplesA
        // Poll on an idle notification.
        var polls: [UInt64] = []
        polls.reserveCapacity(rounds)
        for i in 0..<(2 * rounds) {
            let t0 = umk_cycles()
            _ = seL4.poll(ntfn)
            let t1 = umk_cycles()
            if i >= rounds { polls.append(t1 &- t0) }
        }
        results["poll"] = polls
        // Yield between two threads of equal priority.
        guard let a = alloc.makeTask(priority: 150, base: 0x7000_0000), let b = alloc.makeTask(priority: 150, base: 0x7800_0000),
              alloc.give(a, done, at: Slot.done) == .noError, alloc.give(b, done, at: Slot.done) == .noError else {
            return halt("yield tasks")
        }
        samplesA = []
        stamp = 0
        run(a, yieldLoop, b, yieldLoop, length: 0, arg: 1)
        _ = seL4.wait(done)
        _ = TCB.suspend(a.tcb)
        _ = TCB.suspend(b.tcb)
        results["yield"] = samplesA
        seL4.debugHalt()
    }

    static func run(_ first: Task, _ firstEntry: ThreadEntry, _ second: Task, _ secondEntry: ThreadEntry, length len: UInt64,
                    arg: UInt64 = 0) {
        length = len
        samplesA = []
        samplesB = []
        guard startThread(first.tcb, entry: firstEntry, stackTop: first.stackTop, arg0: arg) == .noError,
              startThread(second.tcb, entry: secondEntry, stackTop: second.stackTop, arg0: arg &* 2) == .noError else {
            return halt("start")
        }
    }

    /// The server: timestamps when each Call arrives and just before each reply.
    static let serverLoop: ThreadEntry = { _, _ in
        let n = rounds
        var arrivals = [UInt64](repeating: 0, count: 2 * n)
        var info = MessageInfo(label: 0, length: length)
        _ = seL4.recv(Slot.endpoint)
        var i = 0
        while true {
            let now = umk_cycles()
            if i < 2 * n { arrivals[i] = now &- stamp }
            i += 1
            if i == 2 * n { samplesA = Array(arrivals[n...]) }
            info = MessageInfo(label: 0, length: length)
            stamp = umk_cycles()
            _ = seL4.replyRecv(Slot.endpoint, info)
        }
    }

    /// The client: timestamps just before each Call and when each reply arrives.
    static let clientLoop: ThreadEntry = { _, _ in
        let n = rounds
        var replies = [UInt64](repeating: 0, count: 2 * n)
        let info = MessageInfo(label: 1, length: length)
        for i in 0..<(2 * n) {
            stamp = umk_cycles()
            _ = seL4.call(Slot.endpoint, info)
            replies[i] = umk_cycles() &- stamp
        }
        samplesB = Array(replies[n...])
        // The root, waiting at a higher priority, runs at once and suspends this thread.
        seL4.signal(Slot.done)
    }

    static let waitLoop: ThreadEntry = { _, _ in
        let n = rounds
        var wakes = [UInt64](repeating: 0, count: 2 * n)
        for i in 0..<(2 * n) {
            _ = seL4.wait(Slot.notification)
            wakes[i] = umk_cycles() &- stamp
        }
        samplesA = Array(wakes[n...])
        seL4.signal(Slot.done)
    }

    static let signalLoop: ThreadEntry = { _, _ in
        while true {
            stamp = umk_cycles()
            seL4.signal(Slot.notification)
        }
    }

    /// Two of these yield to each other; each measures from the other's last timestamp.
    static let yieldLoop: ThreadEntry = { me, _ in
        let n = rounds
        var local: [UInt64] = []
        local.reserveCapacity(n)
        for i in 0..<(2 * n) {
            let now = umk_cycles()
            if stamp != 0 && i >= n && me == 1 { local.append(now &- stamp) }
            stamp = umk_cycles()
            seL4.yield()
        }
        if me == 1 {
            samplesA = local
            seL4.signal(Slot.done)
        }
        while true { seL4.yield() }
    }

    static func halt(_ why: String) {
        debugPrint("path bench: \(why)\n")
        seL4.debugHalt()
    }
}
