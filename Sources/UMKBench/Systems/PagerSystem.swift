// SPDX-License-Identifier: Apache-2.0
//
// A system with a user-level pager: init (the root task) starts a pager thread and two
// client tasks whose faults go to it. The worker touches fresh heap page by page (the
// pager backs it with zeroed frames) and times each first touch; the stray task writes its
// one heap page, then outside it, the pager reports that to init, and init stops it while the worker
// goes on. `umk bench` and the pager tests run it.

import CShims
import Servers
import UMKGuest

/// The pager system's programs and results.
public enum PagerSystem {
    /// Heap the worker touches, in pages.
    nonisolated(unsafe) public static var heapPages: UInt64 = 16384
    /// Pages the pager maps per fault (both clients' heaps).
    nonisolated(unsafe) public static var faultAhead: UInt64 = 1
    /// Where the stray task writes after its one heap page, as an offset into its range.
    nonisolated(unsafe) public static var strayTarget: UInt64 = 0x9000_0000
    /// Frames the pager has mapped so far.
    nonisolated(unsafe) public static var mappedFrames = 0
    /// The address the stray task writes outside its heap (where its window is depends on
    /// the other machines alive in the process).
    nonisolated(unsafe) public static var strayAddress: UInt64 = 0
    /// Cycles of each page's first touch (fault → pager → mapped → resumed, or none where
    /// the pager mapped the page ahead), filled by the worker.
    nonisolated(unsafe) public static var samples: [UInt64] = []
    nonisolated(unsafe) static var pager: Pager?

    /// The heap's offset into a client's address range.
    public static let heap: UInt64 = 0x4000_0000

    public static let root: @convention(c) (UInt64, UInt64) -> Void = { bootInfoAddress, _ in
        let bootInfo = readBootInfo(at: bootInfoAddress)
        var alloc = ObjectAllocator(bootInfo: bootInfo)
        guard let own = rootAddressRange(bootInfo, at: bootInfoAddress) else { return fail("address range") }
        let pagerBase = own.lowerBound + 0x7000_0000
        guard alloc.enlargeCSpace(radix: 16) else { return fail("enlarge CSpace") }
        guard let faults = alloc.make(.endpoint), let reports = alloc.make(.endpoint), let done = alloc.make(.notification),
              let park = alloc.make(.notification), let pagerTCB = alloc.make(.tcb),
              let pagerFrames = alloc.mapFrames(vspace: InitialCap.initThreadVSpace.rawValue, at: pagerBase, count: 33),
              let worker = alloc.makeTask(priority: 100, faultEP: 1),
              let stray = alloc.makeTask(priority: 100, faultEP: 1, offset: 0x2000_0000) else { return fail("setup") }
        // Clients: the fault endpoint (badge = client id, Grant for the reply), done.
        guard alloc.give(worker, faults, at: 1, rights: [.write, .grant], badge: 1) == .noError,
              alloc.give(worker, done, at: 2, rights: .write, badge: 4) == .noError,
              alloc.give(worker, park, at: 3, rights: .read) == .noError,
              alloc.give(stray, faults, at: 1, rights: [.write, .grant], badge: 2) == .noError else { return fail("give") }
        // The pager runs as a thread of init's, in init's CSpace and VSpace, with its own
        // share of the memory (init allocates nothing after this point).
        let workerHeap = worker.address(heap), strayHeap = stray.address(heap)
        unsafe strayAddress = stray.address(strayTarget)
        unsafe pager = Pager(clients: [
            1: PagerClient(name: "worker", vspace: worker.vspace,
                           regions: [PagerRegion(start: workerHeap, end: workerHeap + heapPages * 0x1000, faultAhead: faultAhead)]),
            2: PagerClient(name: "stray", vspace: stray.vspace,
                           regions: [PagerRegion(start: strayHeap, end: strayHeap + 0x1000, faultAhead: faultAhead)]),
        ], allocator: alloc, reportTo: reports)
        guard TCB.configure(pagerTCB, faultEP: 0, cspaceRoot: InitialCap.initThreadCNode.rawValue, cspaceRootData: 0,
                            vspaceRoot: InitialCap.initThreadVSpace.rawValue, vspaceRootData: 0, buffer: pagerBase,
                            bufferFrame: pagerFrames[0]) == .noError,
              TCB.setPriority(pagerTCB, authority: InitialCap.initThreadTCB.rawValue, priority: 200) == .noError,
              startThread(pagerTCB, entry: pagerThread, stackTop: pagerBase + 33 * 0x1000, arg0: faults) == .noError,
              startThread(worker.tcb, entry: workerThread, stackTop: worker.stackTop, arg0: workerHeap) == .noError,
              // Its one heap page, then outside it: the pager reports that.
              unsafe startThread(stray.tcb, entry: strayThread, stackTop: stray.stackTop, arg0: stray.address(strayTarget),
                          arg1: strayHeap) == .noError
        else { return fail("start") }
        // Init: stop whatever the pager reports; the worker's completion arrives through
        // init's bound notification while it waits for reports.
        guard TCB.bindNotification(InitialCap.initThreadTCB.rawValue, notification: done) == .noError else {
            return fail("bind")
        }
        var reported = false, finished = false
        while !(reported && finished) {
            let (msg, _) = seL4.recv(reports)
            if msg.label == InitRequest.invalidAccess.rawValue {
                let client = IPCBuffer.getMR(0), address = IPCBuffer.getMR(2)
                debugPrint("init: stopping client \(client) after an invalid access at \(hex(address))\n")
                _ = TCB.suspend(client == 1 ? worker.tcb : stray.tcb)
                seL4.reply(MessageInfo(label: 0, length: 0))
                reported = true
            } else {
                finished = true
            }
        }
        debugPrint("init: all clients accounted for\n")
        seL4.debugHalt()
    }

    /// The pager, counting the frames it maps.
    static let pagerThread: @convention(c) (UInt64, UInt64) -> Void = { endpoint, _ in
        guard var p = unsafe pager else { return fail("no pager state") }
        p.serve(endpoint) { unsafe mappedFrames = $0.mapped }
    }

    static let workerThread: @convention(c) (UInt64, UInt64) -> Void = { base, _ in
        let n = unsafe Int(heapPages)
        var cycles = [UInt64](repeating: 0, count: n)
        var nonzero = 0
        for i in 0..<n {
            let p = unsafe UnsafeMutablePointer<UInt64>(bitPattern: UInt(base + UInt64(i) * 0x1000))!
            let t0 = umk_cycles()
            let v = unsafe p.pointee
            cycles[i] = umk_cycles() &- t0
            if v != 0 { nonzero += 1 }
            unsafe p.pointee = UInt64(i)
        }
        var sum: UInt64 = 0
        for i in 0..<n { unsafe sum &+= UnsafeMutablePointer<UInt64>(bitPattern: UInt(base + UInt64(i) * 0x1000))!.pointee }
        unsafe samples = cycles
        debugPrint("worker: touched \(n) pages (\(n / 256) MiB), \(nonzero) not zero, sum \(sum)\n")
        seL4.signal(2)
        while true { _ = seL4.wait(3) }
    }

    static let strayThread: @convention(c) (UInt64, UInt64) -> Void = { address, heap in
        unsafe UnsafeMutablePointer<UInt64>(bitPattern: UInt(heap))!.pointee = 1
        unsafe UnsafeMutablePointer<UInt64>(bitPattern: UInt(address))!.pointee = 1
        debugPrint("stray: still running?\n")
    }

    private static func fail(_ why: String) {
        debugPrint("pager system: \(why)\n")
        seL4.debugHalt()
    }
}
