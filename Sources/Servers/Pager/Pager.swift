// SPDX-License-Identifier: Apache-2.0
//
// A user-level pager: it receives its clients' VMFaults on an endpoint (the badge names
// the client), backs the regions each client declared with zero-filled frames retyped from
// its own untyped memory, and reports any other fault to its own fault handler (init),
// which decides what happens to the client. A fault inside a region is answered with a
// reply, which restarts the faulting instruction.

import UMKGuest

/// A range of a client's address space the pager backs with fresh zeroed memory.
public struct PagerRegion: Sendable {
    public var start: UInt64
    public var end: UInt64
    public var rights: CapRights
    public init(start: UInt64, end: UInt64, rights: CapRights = .readWrite) {
        self.start = start; self.end = end; self.rights = rights
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
    public var clients: [UInt64: PagerClient]
    public var allocator: ObjectAllocator
    /// Where refused faults are reported (init), with Call: label InitRequest.invalidAccess,
    /// MR0 client badge, MR1 IP, MR2 address, MR3 0 read / 1 write / 2 execute.
    public var reportTo: CPtr?
    /// Frames mapped so far.
    public private(set) var mapped = 0
    /// Pages already backed, per client: a second fault there (another thread of the same
    /// client got there first) is answered without a new frame.
    var backed: [UInt64: Set<UInt64>] = [:]

    public init(clients: [UInt64: PagerClient], allocator: ObjectAllocator, reportTo: CPtr? = nil) {
        self.clients = clients; self.allocator = allocator; self.reportTo = reportTo
    }

    /// Handles the fault message just received (label, MRs in the IPC buffer) from `badge`.
    /// On `.mapped` the caller replies; otherwise the client stays blocked.
    public mutating func handle(_ info: MessageInfo, badge: UInt64) -> PagerOutcome {
        let ip = IPCBuffer.getMR(0), address = IPCBuffer.getMR(1)
        let fetch = IPCBuffer.getMR(2) != 0, write = IPCBuffer.getMR(3) & 2 != 0
        guard info.label == FaultType.vmFault.rawValue, let client = clients[badge],
              let region = client.regions.first(where: { $0.contains(address) }) else {
            report(badge, ip: ip, address: address, access: fetch ? 2 : write ? 1 : 0)
            return .refused(address: address)
        }
        let page = address & ~0xFFF
        // A protection fault (present bit set) on a page the pager backed: the access is
        // not one the region allows, so it is refused rather than remapped.
        if IPCBuffer.getMR(3) & 1 != 0 {
            report(badge, ip: ip, address: address, access: fetch ? 2 : write ? 1 : 0)
            return .refused(address: address)
        }
        if backed[badge]?.contains(page) == true { return .mapped(address: page) }
        guard let frame = allocator.make(.smallPage),
              allocator.map(frame, vspace: client.vspace, vaddr: page, rights: region.rights) else {
            report(badge, ip: ip, address: address, access: fetch ? 2 : write ? 1 : 0)
            return .exhausted(address: address)
        }
        mapped += 1
        backed[badge, default: []].insert(page)
        return .mapped(address: page)
    }

    private func report(_ badge: UInt64, ip: UInt64, address: UInt64, access: UInt64) {
        let name = clients[badge]?.name ?? "badge \(badge)"
        let kind = ["read", "write", "execute"][Int(access)]
        debugPrint("pager: \(name): invalid \(kind) at \(hex(address)) (ip \(hex(ip)))\n")
        guard let reportTo else { return }
        for (i, w) in [badge, ip, address, access].enumerated() { IPCBuffer.setMR(i, w) }
        seL4.call(reportTo, MessageInfo(label: InitRequest.invalidAccess.rawValue, length: 4))
    }

    /// Serves faults on `endpoint` forever.
    public mutating func serve(_ endpoint: CPtr) -> Never {
        var (msg, badge) = seL4.recv(endpoint)
        while true {
            if case .mapped = handle(msg, badge: badge) {
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
            clients[c.badge] = PagerClient(name: c.name, vspace: c.vspace, regions: [PagerRegion(start: c.start, end: c.end)])
        }
        var pager = Pager(clients: clients, allocator: allocator, reportTo: TaskLayout.initSlot)
        pager.serve(TaskLayout.faultReceiveSlot)
    }
}
