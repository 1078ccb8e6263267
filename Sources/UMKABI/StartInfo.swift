// SPDX-License-Identifier: Apache-2.0
//
// What a task init starts finds TaskLayout.startInfo bytes into its address range
// (read-only; its address arrives in rdi): its name, id and arguments, its address range,
// its caps by channel id, its regions and heap, its free slots; a pager also finds its
// clients and the untyped memory it hands out. The BootInfo of a task that is not the
// root task. Encoded with PlanWriter. Every address in it is the address itself (a guest
// address is the host address), not an offset.

/// A task's start info.
public struct StartInfo: Hashable, Sendable {
    public enum CapKind: UInt64, Hashable, Sendable {
        /// Calls or sends on an endpoint (a channel's client end).
        case endpointClient = 0
        /// Receives on an endpoint (a channel's server end).
        case endpointServer = 1
        /// Signals a notification.
        case notificationSignal = 2
        /// Waits on a notification.
        case notificationWait = 3
        case irqHandler = 4
        case ioPort = 5
    }
    /// A cap init placed at a local id.
    public struct Cap: Hashable, Sendable {
        public var id: UInt64
        public var kind: CapKind
        /// The channel's name, or for grants "irq N" / "ports A-B".
        public var name: String
        /// For a client end: its badge; for an IRQ handler: the line; for ports: first << 16 | last.
        public var value: UInt64
        public init(id: UInt64, kind: CapKind, name: String, value: UInt64) {
            self.id = id; self.kind = kind; self.name = name; self.value = value
        }
    }
    public struct Region: Hashable, Sendable {
        public var name: String
        public var address: UInt64
        public var size: UInt64
        public var rights: PlanRights
        public init(name: String, address: UInt64, size: UInt64, rights: PlanRights) {
            self.name = name; self.address = address; self.size = size; self.rights = rights
        }
    }
    /// A pager's client: the fault badge, its VSpace cap in the pager's CSpace, the ranges
    /// to back.
    public struct PagerClient: Hashable, Sendable {
        public var badge: UInt64
        public var name: String
        public var vspace: UInt64
        public var start: UInt64
        public var end: UInt64
        /// Pages to map per fault (the heap's fault_ahead).
        public var faultAhead: UInt64
        public init(badge: UInt64, name: String, vspace: UInt64, start: UInt64, end: UInt64, faultAhead: UInt64 = 1) {
            self.badge = badge; self.name = name; self.vspace = vspace; self.start = start; self.end = end
            self.faultAhead = faultAhead
        }
    }
    /// Untyped memory given to the task, at `slot`.
    public struct Untyped: Hashable, Sendable {
        public var slot: UInt64
        public var sizeBits: UInt64
        public init(slot: UInt64, sizeBits: UInt64) { self.slot = slot; self.sizeBits = sizeBits }
    }

    public var name: String
    /// The badge init and fault handlers know this task by (its index + 1).
    public var taskID: UInt64
    public var program: String
    public var args: [String]
    public var priority: UInt64
    public var cnodeBits: UInt64
    public var caps: [Cap]
    public var regions: [Region]
    public var heap: Region?
    public var freeSlots: SlotRegion
    public var clients: [PagerClient]
    public var untypeds: [Untyped]
    /// The addresses the task's VSpace may map and run at (its host window on Linux).
    public var addressRange: Range<UInt64>

    public init(name: String, taskID: UInt64, program: String, args: [String], priority: UInt64, cnodeBits: UInt64,
                caps: [Cap] = [], regions: [Region] = [], heap: Region? = nil, freeSlots: SlotRegion,
                clients: [PagerClient] = [], untypeds: [Untyped] = [], addressRange: Range<UInt64> = 0..<0) {
        self.name = name; self.taskID = taskID; self.program = program; self.args = args; self.priority = priority
        self.cnodeBits = cnodeBits; self.caps = caps; self.regions = regions; self.heap = heap
        self.freeSlots = freeSlots; self.clients = clients; self.untypeds = untypeds; self.addressRange = addressRange
    }

    /// The cap at channel id `id`, if init placed one there.
    public func cap(_ id: UInt64) -> Cap? { caps.first { $0.id == id } }
    /// The cap of the channel (or grant) called `name`.
    public func cap(named name: String) -> Cap? { caps.first { $0.name == name } }
    /// The region called `name`.
    public func region(_ name: String) -> Region? { regions.first { $0.name == name } }

    static let magic: UInt64 = 0x4F46_4E49_5452_5301

    public func encoded() -> [UInt64] {
        var w = PlanWriter()
        w.word(Self.magic)
        w.string(name); w.word(taskID); w.string(program); w.strings(args); w.word(priority); w.word(cnodeBits)
        w.word(UInt64(caps.count))
        for c in caps { w.word(c.id); w.word(c.kind.rawValue); w.string(c.name); w.word(c.value) }
        func region(_ r: Region) { w.string(r.name); w.word(r.address); w.word(r.size); w.word(r.rights.rawValue) }
        w.word(UInt64(regions.count))
        for r in regions { region(r) }
        w.bool(heap != nil)
        if let heap { region(heap) }
        w.word(freeSlots.start); w.word(freeSlots.end)
        w.word(UInt64(clients.count))
        for c in clients {
            w.word(c.badge); w.string(c.name); w.word(c.vspace); w.word(c.start); w.word(c.end); w.word(c.faultAhead)
        }
        w.word(UInt64(untypeds.count))
        for u in untypeds { w.word(u.slot); w.word(u.sizeBits) }
        w.word(addressRange.lowerBound); w.word(addressRange.upperBound)
        return w.words
    }

    public init(reading r: inout PlanReader) throws(PlanFormatError) {
        guard try r.word() == Self.magic else { throw PlanFormatError(offset: 0) }
        name = try r.string(); taskID = try r.word(); program = try r.string(); args = try r.strings()
        priority = try r.word(); cnodeBits = try r.word()
        caps = []
        for _ in 0..<(try r.count(minWords: 4)) {
            let id = try r.word()
            guard let kind = CapKind(rawValue: try r.word()) else { throw PlanFormatError(offset: r.position - 1) }
            caps.append(Cap(id: id, kind: kind, name: try r.string(), value: try r.word()))
        }
        func region(_ r: inout PlanReader) throws(PlanFormatError) -> Region {
            Region(name: try r.string(), address: try r.word(), size: try r.word(), rights: PlanRights(rawValue: try r.word()))
        }
        regions = []
        for _ in 0..<(try r.count(minWords: 4)) { regions.append(try region(&r)) }
        heap = try r.bool() ? try region(&r) : nil
        freeSlots = SlotRegion(start: try r.word(), end: try r.word())
        clients = []
        for _ in 0..<(try r.count(minWords: 6)) {
            clients.append(PagerClient(badge: try r.word(), name: try r.string(), vspace: try r.word(), start: try r.word(),
                                       end: try r.word(), faultAhead: try r.word()))
        }
        untypeds = []
        for _ in 0..<(try r.count(minWords: 2)) { untypeds.append(Untyped(slot: try r.word(), sizeBits: try r.word())) }
        let start = try r.word(), end = try r.word()
        guard start <= end else { throw PlanFormatError(offset: r.position - 1) }
        addressRange = start..<end
    }
}
