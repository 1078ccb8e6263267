// SPDX-License-Identifier: Apache-2.0
//
// The user-level pager on real guests: 64 MiB of fresh heap backed page by page with
// zeroed frames, and a stray access reported to init, which stops that task while the
// other keeps going.

import Testing
import Servers
import UMKBench
import UMKGuest
import UMKTestSupport
@testable import UMKernel

@Suite("Pager", .serialized)
struct PagerTests {
    /// Runs the pager system; its output and the host mapping calls made.
    func runPagerSystem(pages: UInt64, ahead: UInt64, strayTarget: UInt64 = 0x9000_0000) throws
        -> (halted: Bool, output: String, hostMappingCalls: Int) {
        PagerSystem.heapPages = pages
        PagerSystem.faultAhead = ahead
        PagerSystem.strayTarget = strayTarget
        PagerSystem.samples = []
        PagerSystem.mappedFrames = 0
        defer { PagerSystem.faultAhead = 1; PagerSystem.strayTarget = 0x9000_0000 }
        let k = Kernel(hal: try LinuxHAL(ramSize: 64 << 20, echo: false))
        defer { k.hal.release() }
        let r = try k.runGuests(root: PagerSystem.root)
        return (r.halted, k.hal.outputText, k.hal.hostMappingCalls)
    }

    @Test("PAGER0003 fault-ahead: 16 pages a fault, zeroed and writable, the last run ends at the region's end, an access past it is reported")
    func faultAhead() throws {
        // 40 pages: faults at pages 0, 16 and 32, the last run 8 pages long.
        let ahead = try runPagerSystem(pages: 40, ahead: 16, strayTarget: PagerSystem.heap + 0x1000)
        #expect(ahead.halted, "\(ahead.output)")
        #expect(ahead.output.contains("worker: touched 40 pages (0 MiB), 0 not zero, sum \(40 * 39 / 2)"), "\(ahead.output)")
        // 40 frames for the worker and one for the stray task's one-page heap: no run went
        // past a region's end.
        #expect(PagerSystem.mappedFrames == 41)
        let past = hex(PagerSystem.strayAddress)
        #expect(ahead.output.contains("pager: stray: invalid write at \(past)"), "\(ahead.output)")
        #expect(ahead.output.contains("init: all clients accounted for"), "\(ahead.output)")
        // The same system page by page: 40 host mappings for the worker's heap instead of 3.
        let single = try runPagerSystem(pages: 40, ahead: 1, strayTarget: PagerSystem.heap + 0x1000)
        #expect(single.output.contains("worker: touched 40 pages (0 MiB), 0 not zero, sum \(40 * 39 / 2)"), "\(single.output)")
        #expect(PagerSystem.mappedFrames == 41)
        #expect(single.hostMappingCalls - ahead.hostMappingCalls == 37)
    }

    @Test("PAGER0004 a pager out of memory says so (not an invalid access), and init hears it as such")
    func outOfMemory() throws {
        PagerSystem.heapPages = 16384
        PagerSystem.samples = []
        // 64 MiB of heap in 32 MiB of RAM.
        let (_, out) = try runSystem(ramMiB: 32, PagerSystem.root)
        #expect(out.contains("pager: worker: out of memory for the page at 0x"), "\(out)")
        #expect(!out.contains("pager: worker: invalid"), "\(out)")
        #expect(!out.contains("worker: touched"), "\(out)")
    }

    @Test("PAGER0001 a task touches 64 MiB of fresh heap through the pager; a stray task is reported and stopped")
    func sixtyFourMiB() throws {
        PagerSystem.heapPages = 16384
        PagerSystem.samples = []
        let (r, out) = try runSystem(ramMiB: 256, PagerSystem.root)
        #expect(r.halted, "\(out)")
        #expect(out.contains("worker: touched 16384 pages (64 MiB), 0 not zero, sum \(16384 * 16383 / 2)"), "\(out)")
        // The address reported is the one the stray task wrote through (its window's place
        // depends on the other machines alive in the process).
        let stray = hex(PagerSystem.strayAddress)
        #expect(PagerSystem.strayAddress >= LinuxWindows.base)
        #expect(out.contains("pager: stray: invalid write at \(stray)"), "\(out)")
        #expect(out.contains("init: stopping client 2 after an invalid access at \(stray)"), "\(out)")
        #expect(!out.contains("stray: still running?"), "\(out)")
        #expect(out.contains("init: all clients accounted for"), "\(out)")
        #expect(PagerSystem.samples.count == 16384)
    }
}

/// Starts `entry` (given `endpoint`) as a thread of the root task's at priority 200, in its
/// CSpace and VSpace, with 17 fresh pages 0x7000_0000 into its range: its IPC buffer, then
/// its stack. False if that cannot be set up.
func startPagerThread(_ alloc: inout ObjectAllocator, entry: ThreadEntry, endpoint: CPtr) -> Bool {
    guard case .success(let own) = VSpace.addressRange(InitialCap.initThreadVSpace.rawValue),
          let tcb = alloc.make(.tcb),
          let frames = alloc.mapFrames(vspace: InitialCap.initThreadVSpace.rawValue, at: own.lowerBound + 0x7000_0000, count: 17)
    else { return false }
    let base = own.lowerBound + 0x7000_0000
    return TCB.configure(tcb, faultEP: 0, cspaceRoot: InitialCap.initThreadCNode.rawValue, cspaceRootData: 0,
                         vspaceRoot: InitialCap.initThreadVSpace.rawValue, vspaceRootData: 0, buffer: base,
                         bufferFrame: frames[0]) == .noError
        && TCB.setPriority(tcb, authority: InitialCap.initThreadTCB.rawValue, priority: 200) == .noError
        && startThread(tcb, entry: entry, stackTop: base + 17 * 0x1000, arg0: endpoint) == .noError
}

enum StackGrowthPrograms {
    nonisolated(unsafe) static var pager: Pager?

    /// Recursion that needs about `arg0` KiB of stack, then a report.
    static let deep: ThreadEntry = { kib, _ in
        let depth = descend(kib * 1024 / 256)
        debugPrint("deep: reached depth \(depth)\n")
        seL4.signal(2)
        _ = seL4.wait(3)
    }
    @inline(never) static func descend(_ n: UInt64) -> UInt64 {
        var frame = (n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n)
        return withUnsafeMutablePointer(to: &frame) { p in n == 0 ? 0 : 1 + descend(p.pointee.0 - 1) }
    }

    static let pagerThread: ThreadEntry = { endpoint, _ in
        guard var p = pager else { return }
        p.serve(endpoint)
    }

    static let root: ThreadEntry = { bootInfo, kib in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let faults = alloc.make(.endpoint), let reports = alloc.make(.endpoint), let done = alloc.make(.notification),
              let park = alloc.make(.notification),
              let task = alloc.makeTask(priority: 100, faultEP: 1, stackPages: 1) else { return guestCheck(false, "setup") }
        guestCheck(alloc.give(task, faults, at: 1, rights: [.write, .grant], badge: 1) == .noError, "faults")
        guestCheck(alloc.give(task, done, at: 2, rights: .write) == .noError, "done")
        guestCheck(alloc.give(task, park, at: 3, rights: .read) == .noError, "park")
        // The pager thread first (it runs once the root task, at the highest priority,
        // waits), then the pager with what memory is left.
        guestCheck(startPagerThread(&alloc, entry: pagerThread, endpoint: faults), "pager")
        // The stack may grow down to 768 KiB below its top (the IPC buffer is 1 MiB below).
        let limit = task.stackTop - 768 * 1024
        pager = Pager(clients: [1: PagerClient(name: "deep", vspace: task.vspace,
                                              regions: [.stack(top: task.stackTop, limit: limit)])],
                      allocator: alloc, reportTo: reports)
        guestCheck(startThread(task.tcb, entry: deep, stackTop: task.stackTop, arg0: StackGrowthPrograms.kib) == .noError, "deep")
        guestCheck(TCB.bindNotification(InitialCap.initThreadTCB.rawValue, notification: done) == .noError, "bind")
        let (msg, _) = seL4.recv(reports)
        if msg.label == InitRequest.invalidAccess.rawValue {
            debugPrint("init: stack overflow past the limit at 0x\(String(IPCBuffer.getMR(2), radix: 16))\n")
            seL4.reply(MessageInfo(label: 0, length: 0))
        }
        seL4.debugHalt()
    }
    nonisolated(unsafe) static var kib: UInt64 = 64
}

extension PagerTests {
    @Test("PAGER0002 the stack grows through the pager down to its limit; past it, the fault is reported")
    func stackGrowth() throws {
        StackGrowthPrograms.kib = 64
        let (r, out) = try runSystem(StackGrowthPrograms.root)
        #expect(r.halted, "\(out)")
        #expect(out.contains("deep: reached depth 256"), "\(out)")
        StackGrowthPrograms.kib = 4096
        let (r2, out2) = try runSystem(StackGrowthPrograms.root)
        #expect(r2.halted, "\(out2)")
        #expect(out2.contains("init: stack overflow past the limit"), "\(out2)")
        #expect(!out2.contains("deep: reached"), "\(out2)")
    }
}

/// A pager whose memory is one untyped, some pages of it taken before it starts, and one
/// client that writes a word into each page of its heap in turn, then tells init (which
/// also hears the pager's reports) and init prints how many frames and retypes it took.
enum ReservePrograms {
    nonisolated(unsafe) static var pager: Pager?
    nonisolated(unsafe) static var mapped = 0
    nonisolated(unsafe) static var retypes = 0
    static let heap: UInt64 = 0x4000_0000
    /// The pager's memory (log2 bytes), pages of it taken before it starts, and the heap.
    nonisolated(unsafe) static var memoryBits: UInt64 = 17
    nonisolated(unsafe) static var taken = 1
    nonisolated(unsafe) static var pages: UInt64 = 40
    /// The heap's rights and pages mapped a fault; a read-only heap is read page by page,
    /// then written.
    nonisolated(unsafe) static var rights: CapRights = .readWrite
    nonisolated(unsafe) static var ahead: UInt64 = 1

    static let walker: ThreadEntry = { base, pages in
        if rights == .readWrite {
            for i in 0..<pages { UnsafeMutablePointer<UInt64>(bitPattern: UInt(base + i * 0x1000))!.pointee = i }
        } else {
            var sum: UInt64 = 0
            for i in 0..<pages { sum &+= UnsafeMutablePointer<UInt64>(bitPattern: UInt(base + i * 0x1000))!.pointee }
            debugPrint("walker: read \(pages) pages, sum \(sum)\n")
            UnsafeMutablePointer<UInt64>(bitPattern: UInt(base))!.pointee = 1
        }
        debugPrint("walker: wrote \(pages) pages\n")
        seL4.send(2, MessageInfo(label: 0, length: 0))
        while true { seL4.yield() }
    }

    static let pagerThread: ThreadEntry = { endpoint, _ in
        guard var p = pager else { return }
        p.serve(endpoint) { mapped = $0.mapped; retypes = $0.retypes }
    }

    static let root: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let faults = alloc.make(.endpoint), let reports = alloc.make(.endpoint),
              let memory = alloc.make(.untyped, sizeBits: memoryBits), let pagerSlots = alloc.slots(64),
              let task = alloc.makeTask(priority: 100, faultEP: 1) else { return guestCheck(false, "setup") }
        guestCheck(alloc.give(task, faults, at: 1, rights: [.write, .grant], badge: 1) == .noError, "faults")
        guestCheck(alloc.give(task, reports, at: 2, rights: .write, badge: 9) == .noError, "done")
        var pagerMemory = ObjectAllocator(root: InitialCap.initThreadCNode.rawValue,
                                          slots: SlotRegion(start: pagerSlots, end: pagerSlots + 64),
                                          untypeds: [(memory, memoryBits)])
        for _ in 0..<taken { guestCheck(pagerMemory.make(.smallPage) != nil, "a page taken") }
        let start = task.address(heap)
        pager = Pager(clients: [1: PagerClient(name: "walker", vspace: task.vspace,
                                              regions: [PagerRegion(start: start, end: start + pages * 0x1000,
                                                                    rights: rights, faultAhead: ahead)])],
                      allocator: pagerMemory, reportTo: reports)
        guestCheck(startPagerThread(&alloc, entry: pagerThread, endpoint: faults), "pager")
        guestCheck(startThread(task.tcb, entry: walker, stackTop: task.stackTop, arg0: start, arg1: pages) == .noError, "walker")
        let (msg, _) = seL4.recv(reports)
        if msg.label == InitRequest.invalidAccess.rawValue {
            debugPrint("init: report \(IPCBuffer.getMR(3)) at page \((IPCBuffer.getMR(2) - start) / 0x1000) after \(mapped) frames\n")
        } else {
            debugPrint("init: \(mapped) frames from \(retypes) retypes\n")
        }
        seL4.debugHalt()
    }
}

extension PagerTests {
    /// The reserve system's output with `memoryBits` of pager memory, `taken` pages of it
    /// gone first, and a heap of `pages`.
    func runReserveSystem(memoryBits: UInt64, taken: Int, pages: UInt64, rights: CapRights = .readWrite,
                          ahead: UInt64 = 1) throws -> (halted: Bool, output: String) {
        ReservePrograms.memoryBits = memoryBits
        ReservePrograms.taken = taken
        ReservePrograms.pages = pages
        ReservePrograms.rights = rights
        ReservePrograms.ahead = ahead
        let (r, out) = try runSystem(ReservePrograms.root)
        return (r.halted, out)
    }

    @Test("PAGER0005 a pager short of memory takes frames one a fault: with 31 pages left (two for paging structures), 29 frames are mapped by 29 retypes before it reports running out")
    func reserveNotWhenShort() throws {
        // 40 pages and their paging structures need more than 31 pages: no reserve, and
        // none of the memory left stranded in one.
        let (halted, out) = try runReserveSystem(memoryBits: 17, taken: 1, pages: 40)
        #expect(halted, "\(out)")
        #expect(out.contains("pager: walker: out of memory for the page at"), "\(out)")
        #expect(out.contains("init: report 3 at page 29 after 29 frames"), "\(out)")
        #expect(ReservePrograms.retypes == 29)
        #expect(!out.contains("walker: wrote 40 pages"), "\(out)")
    }

    @Test("PAGER0006 the pager's reserve: frames for a heap 16 at a time while its memory covers every page and paging structure left (40 pages: 3 retypes), never what the structures need (a 10-page heap in 16 pages, as init sizes a pager's: 1 retype)")
    func reserve() throws {
        // 64 pages, 18 taken: 46, enough for 40 pages and the 5 pages of structures a
        // 40-page heap may need (it needs 2). Batches of 16, 16 and the last 8.
        let ample = try runReserveSystem(memoryBits: 18, taken: 18, pages: 40)
        #expect(ample.halted, "\(ample.output)")
        #expect(ample.output.contains("walker: wrote 40 pages"), "\(ample.output)")
        #expect(ample.output.contains("init: 40 frames from 3 retypes"), "\(ample.output)")
        let small = try runReserveSystem(memoryBits: 16, taken: 0, pages: 10)
        #expect(small.halted, "\(small.output)")
        #expect(small.output.contains("init: 10 frames from 1 retypes"), "\(small.output)")
        #expect(!small.output.contains("out of memory"), "\(small.output)")
    }


    @Test("PAGER0007 fault-ahead keeps the region's rights: a read-only heap mapped 4 pages a fault reads as zeros in 3 faults, and a write to it is reported as an invalid write, not mapped again")
    func faultAheadRights() throws {
        let (halted, out) = try runReserveSystem(memoryBits: 18, taken: 0, pages: 10, rights: .read, ahead: 4)
        #expect(halted, "\(out)")
        #expect(out.contains("walker: read 10 pages, sum 0"), "\(out)")
        #expect(out.contains("pager: walker: invalid write at "), "\(out)")
        // A write (MR3 1) at the heap's first page, after 10 frames by 3 retypes (4, 4, 2).
        #expect(out.contains("init: report 1 at page 0 after 10 frames"), "\(out)")
        #expect(ReservePrograms.retypes == 3)
        #expect(!out.contains("walker: wrote"), "\(out)")
    }
}
