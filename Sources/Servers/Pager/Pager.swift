// SPDX-License-Identifier: Apache-2.0
//
// A user-level pager: it receives its clients' VMFaults on an endpoint (the badge names
// the client), backs the regions each client declared with zero-filled frames retyped from
// its own untyped memory, and reports any other fault to its own fault handler (init),
// which decides what happens to the client. A fault inside a region is answered with a
// reply, which restarts the faulting instruction. A region may be paged ahead (its
// faultAhead, a heap's `fault_ahead` in a manifest): a fault then maps the next pages of
// the region too, frames of one retype in one run, so the kernel mirrors them with one
// host mapping and the client's next accesses do not fault. Policy, not kernel: the
// kernel only sees Map invocations.

import UMKGuest

/// A range of a client's address space the pager backs with fresh zeroed memory.
public struct PagerRegion: Sendable {
    public var start: UInt64
    public var end: UInt64
    public var rights: CapRights
    /// Pages mapped per fault, from the faulting page on (1: that page alone): the pages
    /// after it that the region still has and that are not backed yet come with it, one
    /// retype and, contiguous in memory and in the window, one host mapping.
    public var faultAhead: UInt64
    public init(start: UInt64, end: UInt64, rights: CapRights = .readWrite, faultAhead: UInt64 = 1) {
        self.start = start; self.end = end; self.rights = rights; self.faultAhead = max(faultAhead, 1)
    }
    /// A stack that may grow down from `top` to `limit`.
    public static func stack(top: UInt64, limit: UInt64) -> PagerRegion { PagerRegion(start: limit, end: top) }
    func contains(_ a: UInt64) -> Bool { a >= start && a < end }
}

/// A client of the pager: its VSpace cap (in the pager's CSpace), name and regions.
public struct PagerClient: Sendable {
    public var name: String
    public var vspace: CPtr
    public var regions: [PagerRegion]
    public init(name: String, vspace: CPtr, regions: [PagerRegion]) {
        self.name = name; self.vspace = vspace; self.regions = regions
    }
}

/// What the pager did with one fault.
public enum PagerOutcome: Equatable, Sendable {
    /// A frame was mapped and the client restarted.
    case mapped(address: UInt64)
    /// The address is outside the client's regions (or not a VMFault): reported.
    case refused(address: UInt64)
    /// The pager ran out of memory or slots: reported.
    case exhausted(address: UInt64)
}

/// The pager's state: its clients by badge, and the memory it hands out.
public struct Pager {
    public let clients: [UInt64: PagerClient]
    public var allocator: ObjectAllocator
    /// Where refused faults are reported (init), with Call: label InitRequest.invalidAccess,
    /// MR0 client badge, MR1 IP, MR2 address, MR3 0 read / 1 write / 2 execute, or 3 when the
    /// pager ran out of memory for the page.
    public var reportTo: CPtr?
    /// Frames mapped so far, and the retypes that made frames.
    public private(set) var mapped = 0
    public private(set) var retypes = 0
    /// Each client's regions sorted by start (found by binary search), and which of each
    /// region's pages are backed (one bit a page): a second fault on a backed page (another
    /// thread of the client got there first) is answered without a new frame. Indexed by
    /// client (`client(_:)`).
    var backing: [[RegionBacking]] = []
    var vspaces: [CPtr] = []
    /// The clients' badges, sorted (found by binary search), and their indices into
    /// `backing` and `vspaces`.
    var badges: [UInt64] = []
    var indices: [Int] = []
    /// Frames retyped ahead of need for single-page faults: `reserveCount` of them in
    /// consecutive slots from `reserveSlot`, consecutive in memory too. Such a fault takes
    /// the next one and, with none left, retypes `reserveBatch` at once (at most as many
    /// as the regions paged one page a fault still have pages without a frame): most
    /// faults cost one Map instead of a Retype and a Map (umk bench vmfault, median
    /// 10,087-10,335 -> 9,319-9,951 cycles, mean 10,150-10,397 -> 9,429-10,031). Only
    /// while the pager's memory holds a frame for every page still without one and every
    /// paging structure they may need: short of that, frames come one a fault, as if
    /// there were no reserve, and nothing it holds is memory a page or table needs.
    var reserveSlot: CPtr = 0
    var reserveCount = 0
    /// Frames a reserve is filled with (1: no reserve).
    public var reserveBatch = 16
    /// Pages of all regions, and of the regions paged one page a fault, without a frame.
    var unbacked: UInt64 = 0
    var unbackedSingle: UInt64 = 0
    /// Pages of paging structures the regions may still need: what init gives a pager for
    /// them, less the ones made so far.
    var tableAllowance: UInt64 = 0

    struct RegionBacking {
        var region: PagerRegion
        var bits: [UInt64]
        init(_ region: PagerRegion) {
            self.region = region
            bits = [UInt64](repeating: 0, count: Int((region.end &- region.start) / 0x1000 + 63) / 64)
        }
        func isBacked(_ page: Int) -> Bool { bits[page >> 6] & (1 << UInt64(page & 63)) != 0 }
        mutating func setBacked(_ page: Int) { bits[page >> 6] |= 1 << UInt64(page & 63) }
    }

    public init(clients: [UInt64: PagerClient], allocator: ObjectAllocator, reportTo: CPtr? = nil) {
        self.clients = clients; self.allocator = allocator; self.reportTo = reportTo
        for (badge, c) in clients.sorted(by: { $0.key < $1.key }) {
            badges.append(badge)
            indices.append(backing.count)
            vspaces.append(c.vspace)
            backing.append(c.regions.filter { $0.start < $0.end }.sorted { $0.start < $1.start }.map(RegionBacking.init))
        }
        for regions in backing {
            for r in regions {
                let size = r.region.end - r.region.start, pages = (size + 0xFFF) >> 12
                unbacked += pages
                if r.region.faultAhead == 1 { unbackedSingle += pages }
                tableAllowance += Self.pagingStructurePages(forRegionOf: size)
            }
        }
    }

    /// Pages of paging structures a region of `bytes` may need under it: page tables,
    /// page directories and a PDPT. Init gives a pager that much memory for each heap
    /// besides the heap's own (SystemBuilder.givePagers); the pager's reserve leaves it.
    public static func pagingStructurePages(forRegionOf bytes: UInt64) -> UInt64 {
        (bytes >> 21) + 2 + (bytes >> 30) + 2 + 1
    }

    /// The index of the client with `badge`.
    func client(_ badge: UInt64) -> Int? {
        var low = 0, high = badges.count
        while low < high {
            let mid = (low + high) / 2
            if badges[mid] < badge { low = mid + 1 } else { high = mid }
        }
        return low < badges.count && badges[low] == badge ? indices[low] : nil
    }

    /// `count` fresh frames in consecutive slots and memory: one from the reserve, if it
    /// has one (the reserve refilled first for a region paged one page a fault); otherwise
    /// a run retyped for them. Nil if memory or slots ran out.
    mutating func frames(_ count: Int, single: Bool) -> CPtr? {
        if count == 1 && reserveCount == 0 && single {
            let batch = min(UInt64(max(reserveBatch, 1)), unbackedSingle)
            if batch > 1, allocator.freeBytes >= (unbacked + tableAllowance) * 0x1000,
               let run = retype(Int(batch)) {
                reserveSlot = run
                reserveCount = Int(batch)
            }
        }
        guard count == 1 && reserveCount > 0 else { return retype(count) }
        defer { reserveSlot += 1; reserveCount -= 1 }
        return reserveSlot
    }

    /// `count` frames by one retype.
    private mutating func retype(_ count: Int) -> CPtr? {
        guard let run = allocator.make(.smallPage, count: count) else { return nil }
        retypes += 1
        return run
    }

    /// The index of the region of `regions` (sorted by start) that holds `address`.
    static func region(holding address: UInt64, in regions: [RegionBacking]) -> Int? {
        var low = 0, high = regions.count
        while low < high {
            let mid = (low + high) / 2
            if regions[mid].region.start <= address { low = mid + 1 } else { high = mid }
        }
        return low > 0 && regions[low - 1].region.contains(address) ? low - 1 : nil
    }

    /// Handles the fault message just received (label, MRs in the IPC buffer) from `badge`.
    /// On `.mapped` the caller replies; otherwise the client stays blocked.
    public mutating func handle(_ info: MessageInfo, badge: UInt64) -> PagerOutcome {
        let ip = IPCBuffer.getMR(0), address = IPCBuffer.getMR(1)
        let fetch = IPCBuffer.getMR(2) != 0, fsr = IPCBuffer.getMR(3)
        let access: UInt64 = fetch ? 2 : fsr & 2 != 0 ? 1 : 0
        guard info.label == FaultType.vmFault.rawValue, let c = client(badge),
              let r = Self.region(holding: address, in: backing[c]) else {
            report(badge, ip: ip, address: address, access: access)
            return .refused(address: address)
        }
        // A protection fault (present bit set) on a page the pager backed: the access is
        // not one the region allows, so it is refused rather than remapped.
        if fsr & 1 != 0 {
            report(badge, ip: ip, address: address, access: access)
            return .refused(address: address)
        }
        let region = backing[c][r].region
        let page = address & ~0xFFF
        let first = Int((page - region.start) >> 12)
        if backing[c][r].isBacked(first) { return .mapped(address: page) }
        // The run: up to faultAhead pages from this one, within the region, up to the
        // first page already backed; the faulting page alone if memory is short for more.
        var count = 1
        let limit = Int(min(region.faultAhead, (region.end - page + 0xFFF) >> 12))
        while count < limit && !backing[c][r].isBacked(first + count) { count += 1 }
        let single = region.faultAhead == 1
        var run = frames(count, single: single)
        if run == nil && count > 1 {
            count = 1
            run = frames(1, single: false)
        }
        var made = 0
        if let run {
            let vspace = vspaces[c], free = allocator.freeBytes
            while made < count, allocator.map(run + UInt64(made), vspace: vspace,
                                              vaddr: page + UInt64(made) * 0x1000, rights: region.rights) {
                backing[c][r].setBacked(first + made)
                made += 1
            }
            // What the Maps took from memory went to paging structures.
            let left = allocator.freeBytes
            tableAllowance -= min(tableAllowance, free > left ? (free - left) >> 12 : 0)
        }
        guard made > 0 else {
            report(badge, ip: ip, address: address, access: access, outOfMemory: true)
            return .exhausted(address: address)
        }
        mapped += made
        // (Regions that overlap count their pages twice: the counts only ever bound.)
        unbacked -= min(unbacked, UInt64(made))
        if single { unbackedSingle -= min(unbackedSingle, UInt64(made)) }
        return .mapped(address: page)
    }

    /// Reports a fault it will not answer; MR3 is the access, or 3 when the pager's own
    /// memory (or slots) ran out for a page the client may have.
    private func report(_ badge: UInt64, ip: UInt64, address: UInt64, access: UInt64, outOfMemory: Bool = false) {
        let name = clients[badge]?.name ?? "badge \(badge)"
        let kind = ["read", "write", "execute"][Int(access)]
        debugPrint(outOfMemory ? "pager: \(name): out of memory for the page at \(hex(address)) (a \(kind), ip \(hex(ip)))\n"
                               : "pager: \(name): invalid \(kind) at \(hex(address)) (ip \(hex(ip)))\n")
        guard let reportTo else { return }
        for (i, w) in [badge, ip, address, outOfMemory ? 3 : access].enumerated() { IPCBuffer.setMR(i, w) }
        seL4.call(reportTo, MessageInfo(label: InitRequest.invalidAccess.rawValue, length: 4))
    }

    /// Serves faults on `endpoint` forever; `handled` sees the pager after each fault.
    public mutating func serve(_ endpoint: CPtr, handled: (borrowing Pager) -> Void = { _ in }) -> Never {
        var (msg, badge) = seL4.recv(endpoint)
        while true {
            let outcome = handle(msg, badge: badge)
            handled(self)
            if case .mapped = outcome {
                (msg, badge) = seL4.replyRecv(endpoint, MessageInfo(label: 0, length: 0))
            } else {
                (msg, badge) = seL4.recv(endpoint)
            }
        }
    }
}

/// The `pager` program of a manifest: the heaps of the tasks that name it, backed from the
/// untyped memory init gave it; faults arrive on its fault-receive endpoint, refusals go
/// to init.
public enum PagerProgram {
    public static let main: Program = { info in
        let allocator = ObjectAllocator(root: TaskLayout.cnodeSlot, slots: info.freeSlots,
                                        untypeds: info.untypeds.map { ($0.slot, $0.sizeBits) })
        var clients: [UInt64: PagerClient] = [:]
        for c in info.clients {
            clients[c.badge] = PagerClient(name: c.name, vspace: c.vspace,
                                           regions: [PagerRegion(start: c.start, end: c.end, faultAhead: c.faultAhead)])
        }
        var pager = Pager(clients: clients, allocator: allocator, reportTo: TaskLayout.initSlot)
        pager.serve(TaskLayout.faultReceiveSlot)
    }
}
