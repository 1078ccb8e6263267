// SPDX-License-Identifier: Apache-2.0
//
// The kernel paths `umk bench` measures on real guests, sel4bench's way: hot cache, one
// way, the sender reading the TSC just before its syscall and the receiver just after
// its own returns (timestamps meet in host memory both guests can see). Phases:
// - Call and ReplyRecv, length 0 (fastpath), client and server in different address spaces
//   and in the same one; Call and ReplyRecv with 10 message registers (slowpath);
// - Signal to a waiting higher-priority thread in another address space; Poll;
// - Yield between two threads of equal priority;
// - slowpath Send to a higher-priority thread; Call and ReplyRecv by the trapped syscall
//   instruction (seL4's binary ABI); a Call that transfers a capability;
// - UserException → handler thread → resumed (round trip), from int3 and from ud2; thread
//   creation (Retype,
//   Configure, SetPriority, WriteRegisters with resume);
// - scaling: Call across address spaces with 1,000 and 10,000 threads alive, and with the
//   endpoint found through a four-level CSpace.

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
    /// The client's endpoint CPtr (a four-level CSpace names it differently).
    nonisolated(unsafe) static var clientEndpoint: CPtr = 1
    nonisolated(unsafe) static var clientDone: CPtr = 2
    /// Threads alive beyond the benchmark's own, for the scaling rows (0: skip them).
    nonisolated(unsafe) public static var scaling: [Int] = [1_000, 10_000]

    /// Slots in the benchmark tasks' CSpaces.
    enum Slot {
        static let endpoint: CPtr = 1
        static let done: CPtr = 2
        static let notification: CPtr = 3
    }

    public static let root: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        let ownRange = rootAddressRange(readBootInfo(at: bootInfo), at: bootInfo)
        guard let done = alloc.make(.notification) else { return halt("setup") }
        // Call/ReplyRecv across address spaces, fastpath and slowpath.
        for (name, len) in [("different", UInt64(0)), ("slow", UInt64(10))] {
            guard let ep = alloc.make(.endpoint),
                  let server = alloc.makeTask(priority: 100, offset: 0x1000_0000 + (len << 28)),
                  let client = alloc.makeTask(priority: 100, offset: 0x2000_0000 + (len << 28)) else { return halt("ipc tasks") }
            for t in [server, client] {
                guard alloc.give(t, ep, at: Slot.endpoint) == .noError, alloc.give(t, done, at: Slot.done) == .noError else {
                    return halt("caps")
                }
            }
            run(server, serverLoop, client, clientLoop, length: len)
            finish(done, server, client)
            unsafe results["call-\(name)"] = samplesA
            unsafe results["replyrecv-\(name)"] = samplesB
        }
        // The same address space: both threads in one task.
        guard let ep = alloc.make(.endpoint), let task = alloc.makeTask(priority: 100, offset: 0x4000_0000),
              let second = alloc.addThread(to: task, priority: 100, offset: 0x4000_0000 + 0x20_0000),
              alloc.give(task, ep, at: Slot.endpoint) == .noError, alloc.give(task, done, at: Slot.done) == .noError else {
            return halt("same-space task")
        }
        unsafe length = 0
        unsafe samplesA = []; unsafe samplesB = []
        guard startThread(second.tcb, entry: serverLoop, stackTop: second.stackTop) == .noError,
              startThread(task.tcb, entry: clientLoop, stackTop: task.stackTop) == .noError else { return halt("start") }
        finish(done, second, task)
        unsafe results["call-same"] = samplesA
        unsafe results["replyrecv-same"] = samplesB
        // Signal to a higher-priority waiter in another address space.
        guard let ntfn = alloc.make(.notification),
              let waiter = alloc.makeTask(priority: 200, offset: 0x5000_0000),
              let signaller = alloc.makeTask(priority: 100, offset: 0x6000_0000) else { return halt("signal tasks") }
        for t in [waiter, signaller] {
            guard alloc.give(t, ntfn, at: Slot.notification) == .noError, alloc.give(t, done, at: Slot.done) == .noError else {
                return halt("caps")
            }
        }
        unsafe samplesA = []
        run(waiter, waitLoop, signaller, signalLoop, length: 0)
        finish(done, waiter, signaller)
        unsafe results["signal"] = samplesA
        // Poll on an idle notification.
        var polls: [UInt64] = []
        unsafe polls.reserveCapacity(rounds)
        for i in unsafe 0..<(2 * rounds) {
            let t0 = umk_cycles()
            _ = seL4.poll(ntfn)
            let t1 = umk_cycles()
            if unsafe i >= rounds { polls.append(t1 &- t0) }
        }
        unsafe results["poll"] = polls
        // Yield between two threads of equal priority.
        guard let a = alloc.makeTask(priority: 150, offset: 0x7000_0000), let b = alloc.makeTask(priority: 150, offset: 0x7800_0000),
              alloc.give(a, done, at: Slot.done) == .noError, alloc.give(b, done, at: Slot.done) == .noError else {
            return halt("yield tasks")
        }
        unsafe samplesA = []
        unsafe stamp = 0
        run(a, yieldLoop, b, yieldLoop, length: 0, arg: 1)
        finish(done, a, b)
        unsafe results["yield"] = samplesA
        sendPhase(&alloc, done)
        if let ownRange { trapPhase(&alloc, done, scratch: ownRange.lowerBound + 0x3000_0000) }
        capPhase(&alloc, done)
        exceptionPhase(&alloc, done)
        creationPhase(&alloc)
        fourLevelPhase(&alloc, done)
        scalingPhase(&alloc, done)
        seL4.debugHalt()
    }

    /// Send (slowpath: Send has no fastpath) to a receiver of higher priority.
    static func sendPhase(_ alloc: inout ObjectAllocator, _ done: CPtr) {
        guard let ep = alloc.make(.endpoint), let receiver = alloc.makeTask(priority: 200, offset: 0x0800_0000),
              let sender = alloc.makeTask(priority: 100, offset: 0x0900_0000),
              alloc.give(receiver, ep, at: Slot.endpoint) == .noError, alloc.give(sender, ep, at: Slot.endpoint) == .noError,
              alloc.give(receiver, done, at: Slot.done) == .noError else { return halt("send tasks") }
        run(receiver, receiveLoop, sender, sendLoop, length: 0)
        finish(done, receiver, sender)
        unsafe results["send-higher"] = samplesA
    }

    /// Call and ReplyRecv by seL4's syscall instruction, trapped (Syscall User Dispatch):
    /// both threads run umk_trap_bench_client/server, copied into a page of their task
    /// (mapped read-only, so executable) through a scratch mapping in the root's VSpace.
    static func trapPhase(_ alloc: inout ObjectAllocator, _ done: CPtr, scratch: UInt64) {
        let offset: UInt64 = 0x0A00_0000
        guard let ep = alloc.make(.endpoint), let task = alloc.makeTask(priority: 100, offset: offset),
              let second = alloc.addThread(to: task, priority: 100, offset: offset + 0x20_0000),
              alloc.give(task, ep, at: Slot.endpoint) == .noError, alloc.give(task, done, at: Slot.done) == .noError,
              let page = alloc.make(.smallPage),
              alloc.map(page, vspace: InitialCap.initThreadVSpace.rawValue, vaddr: scratch, rights: .readWrite) else {
            return halt("trap tasks")
        }
        let start = umk_trap_bench_address(0), server = umk_trap_bench_address(1), end = umk_trap_bench_address(2)
        // SAFETY: the scratch page is mapped read-write; the code is less than a page.
        unsafe UnsafeMutableRawPointer(bitPattern: UInt(scratch))!
            .copyMemory(from: UnsafeRawPointer(bitPattern: UInt(start))!, byteCount: Int(end - start))
        let code = task.address(offset + 0x40_0000)
        guard Page.unmap(page) == .noError,
              alloc.map(page, vspace: task.vspace, vaddr: code, rights: .read) else { return halt("trap code") }
        let n = unsafe UInt64(rounds)
        let stamp = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
        let calls = UnsafeMutablePointer<UInt64>.allocate(capacity: Int(2 * n))
        let replies = UnsafeMutablePointer<UInt64>.allocate(capacity: Int(2 * n))
        let params = UnsafeMutablePointer<umk_trap_bench_t>.allocate(capacity: 2)
        defer { unsafe stamp.deallocate(); unsafe calls.deallocate(); unsafe replies.deallocate(); unsafe params.deallocate() }
        unsafe params[0] = umk_trap_bench_t(endpoint: Slot.endpoint, done: Slot.done, rounds: 2 * n, stamp: stamp, samples: replies)
        unsafe params[1] = umk_trap_bench_t(endpoint: Slot.endpoint, done: Slot.done, rounds: 2 * n, stamp: stamp, samples: calls)
        let paramsAddress = UInt64(UInt(bitPattern: params))
        guard unsafe startThread(second.tcb, ip: code + (server - start), stackTop: second.stackTop,
                          arguments: [paramsAddress + UInt64(MemoryLayout<umk_trap_bench_t>.stride)]) == .noError,
              startThread(task.tcb, ip: code, stackTop: task.stackTop, arguments: [paramsAddress]) == .noError else {
            return halt("trap start")
        }
        finish(done, second, task)
        // The second half of each (the first warms the path up).
        unsafe results["trap-call"] = (Int(n)..<Int(2 * n)).map { unsafe calls[$0] }
        unsafe results["trap-replyrecv"] = (Int(n)..<Int(2 * n)).map { unsafe replies[$0] }
    }

    static let receiveLoop: ThreadEntry = { _, _ in timeArrivals { _ = seL4.recv(Slot.endpoint) } }
    static let sendLoop: ThreadEntry = { _, _ in stampForever { seL4.send(Slot.endpoint, MessageInfo(label: 0, length: 0)) } }

    /// Waits 2 × `rounds` times with `wait`, each arrival timed from the other side's
    /// stamp; keeps the second half (the first warms the path up), then signals done.
    /// Inline, so the wait is the syscall itself, not a closure call before the stamp.
    @inline(__always)
    static func timeArrivals(_ wait: () -> Void) {
        let n = unsafe rounds
        var arrivals = [UInt64](repeating: 0, count: 2 * n)
        for i in 0..<(2 * n) {
            wait()
            arrivals[i] = unsafe umk_cycles() &- stamp
        }
        unsafe samplesA = Array(arrivals[n...])
        seL4.signal(Slot.done)
    }

    /// Stamps the time, then hands over with `send`, for ever (the receiver times it).
    @inline(__always)
    static func stampForever(_ send: () -> Void) -> Never {
        while true {
            unsafe stamp = umk_cycles()
            send()
        }
    }

    /// A Call carrying a notification cap with Grant; the server deletes what it got
    /// before replying, so every Call transfers.
    static func capPhase(_ alloc: inout ObjectAllocator, _ done: CPtr) {
        guard let ep = alloc.make(.endpoint), let gift = alloc.make(.notification),
              let server = alloc.makeTask(priority: 100, offset: 0x0A00_0000),
              let client = alloc.makeTask(priority: 100, offset: 0x0B00_0000),
              alloc.give(server, ep, at: Slot.endpoint) == .noError, alloc.give(server, server.cnode, at: 4) == .noError,
              alloc.give(client, ep, at: Slot.endpoint) == .noError, alloc.give(client, done, at: Slot.done) == .noError,
              alloc.give(client, gift, at: Slot.notification) == .noError else { return halt("cap tasks") }
        run(server, capServer, client, capClient, length: 0)
        finish(done, server, client)
        unsafe results["call-cap"] = samplesA
    }

    static let capServer: ThreadEntry = { _, _ in
        let n = unsafe rounds
        var arrivals = [UInt64](repeating: 0, count: 2 * n)
        IPCBuffer.setCapReceivePath(root: 4, index: 9, depth: 8)
        _ = seL4.recv(Slot.endpoint)
        var i = 0
        while true {
            let now = umk_cycles()
            if i < 2 * n { arrivals[i] = unsafe now &- stamp }
            i += 1
            if i == 2 * n { unsafe samplesA = Array(arrivals[n...]) }
            _ = CNode.delete(4, index: 9, depth: 8)
            IPCBuffer.setCapReceivePath(root: 4, index: 9, depth: 8)
            _ = seL4.replyRecv(Slot.endpoint, MessageInfo(label: 0, length: 0))
        }
    }

    static let capClient: ThreadEntry = { _, _ in
        for _ in unsafe 0..<(2 * rounds) {
            IPCBuffer.setCap(0, Slot.notification)
            unsafe stamp = umk_cycles()
            _ = seL4.call(Slot.endpoint, MessageInfo(label: 0, extraCaps: 1, length: 0))
        }
        seL4.signal(Slot.done)
    }

    /// ud2 → UserException to the handler → reply past the instruction → resumed.
    /// The exception phase's instruction: int3 (a trap: FaultIP is already past it) or ud2
    /// (a fault: the handler skips its 2 bytes). Hypervisors may intercept #UD (KVM does),
    /// which makes ud2 cost a VM exit; int3 stays in the guest kernel.
    nonisolated(unsafe) static var trapWithUD2 = false

    static func exceptionPhase(_ alloc: inout ObjectAllocator, _ done: CPtr) {
        for (name, ud2, base) in [("user-exception", false, UInt64(0x0C00_0000)), ("user-exception-ud2", true, 0x0600_0000)] {
            guard let ep = alloc.make(.endpoint), let faulter = alloc.makeTask(priority: 100, faultEP: 5, offset: base),
                  let handler = alloc.makeTask(priority: 200, offset: base + 0x0100_0000),
                  alloc.give(faulter, ep, at: 5) == .noError, alloc.give(faulter, done, at: Slot.done) == .noError,
                  alloc.give(handler, ep, at: Slot.endpoint) == .noError else { return halt("exception tasks") }
            unsafe trapWithUD2 = ud2
            run(handler, exceptionHandler, faulter, faulterLoop, length: 0)
            finish(done, handler, faulter)
            unsafe results[name] = samplesA
        }
    }

    static let exceptionHandler: ThreadEntry = { _, _ in
        while true {
            _ = seL4.recv(Slot.endpoint)
            let ip = IPCBuffer.getMR(0), sp = IPCBuffer.getMR(1), flags = IPCBuffer.getMR(2)
            unsafe IPCBuffer.setMR(0, trapWithUD2 ? ip + 2 : ip)
            IPCBuffer.setMR(1, sp)
            IPCBuffer.setMR(2, flags)
            seL4.reply(MessageInfo(label: 0, length: 3))
        }
    }

    static let faulterLoop: ThreadEntry = { _, _ in
        let n = unsafe min(rounds, 2_000)
        var trips = [UInt64](repeating: 0, count: 2 * n)
        for i in 0..<(2 * n) {
            let t0 = umk_cycles()
            if unsafe trapWithUD2 { umk_trap_ud2() } else { umk_trap_int3() }
            trips[i] = umk_cycles() &- t0
        }
        unsafe samplesA = Array(trips[n...])
        seL4.signal(Slot.done)
    }

    /// Retype + Configure + SetPriority + WriteRegisters (resume) of a thread that waits.
    static func creationPhase(_ alloc: inout ObjectAllocator) {
        guard let host = alloc.makeTask(priority: 50, offset: 0x0E00_0000, stackPages: 4),
              let park = alloc.make(.notification), alloc.give(host, park, at: Slot.notification) == .noError else {
            return halt("creation task")
        }
        var samples: [UInt64] = []
        var made: [CPtr] = []
        defer {
            // Out of the later phases' way.
            for tcb in made { _ = TCB.suspend(tcb) }
        }
        for _ in unsafe 0..<min(rounds, 500) {
            let t0 = umk_cycles()
            guard let tcb = alloc.make(.tcb),
                  TCB.configure(tcb, faultEP: 0, cspaceRoot: host.cnode, cspaceRootData: 64 - host.cnodeRadix,
                                vspaceRoot: host.vspace, vspaceRootData: 0, buffer: 0, bufferFrame: 0) == .noError,
                  TCB.setPriority(tcb, authority: InitialCap.initThreadTCB.rawValue, priority: 50) == .noError,
                  startThread(tcb, entry: parked, stackTop: host.stackTop) == .noError else { break }
            samples.append(umk_cycles() &- t0)
            made.append(tcb)
        }
        unsafe results["thread-create"] = samples
    }

    static let parked: ThreadEntry = { _, _ in
        _ = seL4.wait(Slot.notification)
    }

    /// The client's endpoint found through a CSpace of four CNodes (16 bits each).
    static func fourLevelPhase(_ alloc: inout ObjectAllocator, _ done: CPtr) {
        guard let ep = alloc.make(.endpoint), let server = alloc.makeTask(priority: 100, offset: 0x1F00_0000),
              let client = alloc.makeTask(priority: 100, offset: 0x2F00_0000),
              alloc.give(server, ep, at: Slot.endpoint) == .noError, alloc.give(server, done, at: Slot.done) == .noError,
              let l2 = alloc.make(.cnode, sizeBits: 4), let l3 = alloc.make(.cnode, sizeBits: 4),
              let l4 = alloc.make(.cnode, sizeBits: 4) else { return halt("four-level tasks") }
        // Level 1 is the client's own CNode (radix 8, guard 8 from its TCB); slot 7 holds
        // level 2 (guard 12, radix 4), whose slot 1 holds level 3, whose slot 1 holds level 4,
        // whose slot 2 holds the endpoint: 16 + 16 + 16 + 16 bits.
        func put(_ dest: CPtr, _ destRadix: UInt64, _ index: UInt64, _ src: CPtr, guardBits: UInt64) -> Bool {
            CNode.mint(dest, destIndex: index, destDepth: destRadix, srcRoot: alloc.root, srcIndex: src, srcDepth: 64,
                       rights: .all, badge: guardBits) == .noError
        }
        guard CNode.mint(l4, destIndex: 2, destDepth: 4, srcRoot: alloc.root, srcIndex: ep, srcDepth: 64,
                         rights: .all, badge: 0) == .noError,
              put(l3, 4, 1, l4, guardBits: 12), put(l2, 4, 1, l3, guardBits: 12), put(client.cnode, 8, 7, l2, guardBits: 12),
              alloc.give(client, done, at: Slot.done) == .noError,
              TCB.setSpace(client.tcb, faultEP: 0, cspaceRoot: client.cnode, cspaceRootData: 8, vspaceRoot: client.vspace,
                           vspaceRootData: 0) == .noError else {
            return halt("four-level CSpace")
        }
        // Level 1: guard 8 + radix 8 → slot 7; then 12 + 4 → 1; 12 + 4 → 1; 12 + 4 → 2.
        unsafe clientEndpoint = 7 << 48 | 1 << 32 | 1 << 16 | 2
        unsafe clientDone = Slot.done << 48
        run(server, serverLoop, client, clientLoop, length: 0)
        finish(done, server, client)
        unsafe clientEndpoint = Slot.endpoint
        unsafe clientDone = Slot.done
        unsafe results["call-4level"] = samplesA
    }

    /// Call across address spaces with many threads alive (made, configured, inactive).
    static func scalingPhase(_ alloc: inout ObjectAllocator, _ done: CPtr) {
        var alive = 0
        guard unsafe scaling.isEmpty || alloc.enlargeCSpace(radix: 15) else { return halt("CSpace for scaling") }
        for target in unsafe scaling {
            while alive < target {
                guard alloc.make(.tcb) != nil else { return halt("threads for scaling") }
                alive += 1
            }
            guard let ep = alloc.make(.endpoint),
                  let server = alloc.makeTask(priority: 100, offset: 0x3000_0000 + UInt64(target) << 20),
                  let client = alloc.makeTask(priority: 100, offset: 0x3800_0000 + UInt64(target) << 20),
                  alloc.give(server, ep, at: Slot.endpoint) == .noError, alloc.give(client, ep, at: Slot.endpoint) == .noError,
                  alloc.give(client, done, at: Slot.done) == .noError else { return halt("scaling tasks") }
            run(server, serverLoop, client, clientLoop, length: 0)
            finish(done, server, client)
            unsafe results["call-threads-\(target)"] = samplesA
        }
    }

    /// Waits for a phase to signal `done`, then stops its two threads.
    static func finish(_ done: CPtr, _ first: Task, _ second: Task) {
        _ = seL4.wait(done)
        _ = TCB.suspend(first.tcb)
        _ = TCB.suspend(second.tcb)
    }

    static func run(_ first: Task, _ firstEntry: ThreadEntry, _ second: Task, _ secondEntry: ThreadEntry, length len: UInt64,
                    arg: UInt64 = 0) {
        unsafe length = len
        unsafe samplesA = []
        unsafe samplesB = []
        guard startThread(first.tcb, entry: firstEntry, stackTop: first.stackTop, arg0: arg) == .noError,
              startThread(second.tcb, entry: secondEntry, stackTop: second.stackTop, arg0: arg &* 2) == .noError else {
            return halt("start")
        }
    }

    /// The server: timestamps when each Call arrives and just before each reply.
    static let serverLoop: ThreadEntry = { _, _ in
        let n = unsafe rounds
        var arrivals = [UInt64](repeating: 0, count: 2 * n)
        var info = unsafe MessageInfo(label: 0, length: length)
        _ = seL4.recv(Slot.endpoint)
        var i = 0
        while true {
            let now = umk_cycles()
            if i < 2 * n { arrivals[i] = unsafe now &- stamp }
            i += 1
            if i == 2 * n { unsafe samplesA = Array(arrivals[n...]) }
            info = unsafe MessageInfo(label: 0, length: length)
            unsafe stamp = umk_cycles()
            _ = seL4.replyRecv(Slot.endpoint, info)
        }
    }

    /// The client: timestamps just before each Call and when each reply arrives.
    static let clientLoop: ThreadEntry = { _, _ in
        let n = unsafe rounds
        var replies = [UInt64](repeating: 0, count: 2 * n)
        let info = unsafe MessageInfo(label: 1, length: length)
        let ep = unsafe clientEndpoint
        for i in 0..<(2 * n) {
            unsafe stamp = umk_cycles()
            _ = seL4.call(ep, info)
            replies[i] = unsafe umk_cycles() &- stamp
        }
        unsafe samplesB = Array(replies[n...])
        // The root, waiting at a higher priority, runs at once and suspends this thread.
        unsafe seL4.signal(clientDone)
    }

    static let waitLoop: ThreadEntry = { _, _ in timeArrivals { _ = seL4.wait(Slot.notification) } }
    static let signalLoop: ThreadEntry = { _, _ in stampForever { seL4.signal(Slot.notification) } }

    /// Two of these yield to each other; each measures from the other's last timestamp.
    static let yieldLoop: ThreadEntry = { me, _ in
        let n = unsafe rounds
        var local: [UInt64] = []
        local.reserveCapacity(n)
        for i in 0..<(2 * n) {
            let now = umk_cycles()
            if unsafe stamp != 0 && i >= n && me == 1 { unsafe local.append(now &- stamp) }
            unsafe stamp = umk_cycles()
            seL4.yield()
        }
        if me == 1 {
            unsafe samplesA = local
            seL4.signal(Slot.done)
        }
        while true { seL4.yield() }
    }

    static func halt(_ why: String) {
        debugPrint("path bench: \(why)\n")
        seL4.debugHalt()
    }
}
