// SPDX-License-Identifier: Apache-2.0
//
// The boot plan: a manifest compiled on the host into what init needs to build the system
// (tasks, regions, channels, grants), handed to init as a boot module in the BootInfo
// frame's extra chunks. Encoded as little-endian 64-bit words (PlanWriter/PlanReader);
// the host validated it, init still checks every count against its buffer.

/// The extra-BootInfo chunk id of the boot plan (seL4_BootInfoHeader.id; seL4 uses 0-6).
public let bootPlanChunkID: UInt64 = 0x554D_4B50
/// The extra-BootInfo chunk id of an ELF image a task runs: its index (BootPlan.Task.image),
/// its length in bytes, then the bytes packed 8 to a little-endian word.
public let imageChunkID: UInt64 = 0x554D_4B49

/// The words of image `index`'s chunk: the index, the length in bytes, the bytes.
public func imageChunk(index: UInt64, bytes: [UInt8]) -> [UInt64] {
    var words: [UInt64] = [index, UInt64(bytes.count)]
    words.reserveCapacity(2 + (bytes.count + 7) / 8)
    var i = 0
    while i < bytes.count {
        var w: UInt64 = 0
        for k in 0..<min(8, bytes.count - i) { w |= UInt64(bytes[i + k]) << (8 * UInt64(k)) }
        words.append(w)
        i += 8
    }
    return words
}

/// Fixed places in every task init builds. Channel and grant ids are CSpace slots of the
/// task (1...maxLocalID); the reserved caps sit above them. Addresses here, and those of
/// the plan's regions and heaps, are offsets into the task's address range (its VSpace's;
/// on Linux its host window), as is what a manifest writes.
public enum TaskLayout {
    /// The highest id a manifest may give a channel end or a grant.
    public static let maxLocalID: UInt64 = 63
    /// The task's own TCB, CNode and VSpace.
    public static let tcbSlot: UInt64 = 64
    public static let cnodeSlot: UInt64 = 65
    public static let vspaceSlot: UInt64 = 66
    /// The endpoint the kernel sends this task's faults to (badge = task id).
    public static let faultSlot: UInt64 = 67
    /// init's service endpoint (exit, reports; badge = task id).
    public static let initSlot: UInt64 = 68
    /// For fault handlers and pagers: the endpoint their clients' faults arrive on.
    public static let faultReceiveSlot: UInt64 = 69
    /// Slots from here on are the task's own (received caps, saved replies, objects).
    public static let firstFreeSlot: UInt64 = 80

    /// The IPC buffer, the start info (read-only) after it, the stack below `stackTop`.
    public static let ipcBuffer: UInt64 = 0x0100_0000
    public static let startInfo: UInt64 = 0x0100_1000
    public static let startInfoMaxPages: UInt64 = 15
    public static let stackTop: UInt64 = 0x0200_0000
    /// The largest stack (a guard page below it stays unmapped).
    public static let maxStack: UInt64 = 8 << 20
    /// Addresses below this are init's layout; regions and heaps go above it.
    public static let reservedEnd: UInt64 = 0x0200_0000
    /// Default heap address (when the manifest gives none).
    public static let defaultHeap: UInt64 = 0x4000_0000
    /// Where a task's ELF image is loaded (a static PIE's address 0 lands here).
    public static let imageBase: UInt64 = 0x1_0000_0000
    /// An image task's TLS area: its thread's TLS block, ending at the thread pointer
    /// (its FS base, x86_64's variant II), which holds its own address.
    public static let tls: UInt64 = 0x0110_0000
    /// The size of a task's address range (the window's, 16 GiB).
    public static let addressSpaceEnd: UInt64 = 1 << 34
}

/// Labels of messages to init's service endpoint, and of reports a pager sends there.
public enum InitRequest: UInt64, Sendable {
    /// MR0 = exit status: the task's program returned.
    case exit = 1
    /// MR0 = status: stop the whole system with this exit status.
    case halt = 2
    /// From a pager: MR0 client task id, MR1 IP, MR2 address, MR3 0 read / 1 write / 2 execute,
    /// or 3: the pager ran out of memory for that page.
    case invalidAccess = 3
}

/// Access rights as the manifest spells them (a subset of CapRights' bits).
public struct PlanRights: OptionSet, Hashable, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let read = PlanRights(rawValue: 1)
    public static let write = PlanRights(rawValue: 2)
    public static let execute = PlanRights(rawValue: 4)
}

/// The compiled system.
public struct BootPlan: Hashable, Sendable {
    public struct IRQGrant: Hashable, Sendable {
        public var irq: UInt64
        public var id: UInt64
        public init(irq: UInt64, id: UInt64) { self.irq = irq; self.id = id }
    }
    public struct PortGrant: Hashable, Sendable {
        public var first: UInt64
        public var last: UInt64
        public var id: UInt64
        public init(first: UInt64, last: UInt64, id: UInt64) { self.first = first; self.last = last; self.id = id }
    }
    public struct Heap: Hashable, Sendable {
        public var address: UInt64
        public var size: UInt64
        /// The pager's task index.
        public var pager: UInt64
        /// Pages the pager maps per fault (1: the faulting page alone).
        public var faultAhead: UInt64
        public init(address: UInt64, size: UInt64, pager: UInt64, faultAhead: UInt64 = 1) {
            self.address = address; self.size = size; self.pager = pager; self.faultAhead = faultAhead
        }
    }
    public struct Task: Hashable, Sendable {
        public var name: String
        public var program: String
        public var priority: UInt64
        public var mcp: UInt64
        public var stackPages: UInt64
        public var cnodeBits: UInt64
        /// Task index of the fault handler, or nil for init.
        public var faultHandler: UInt64?
        public var heap: Heap?
        public var args: [String]
        public var irqs: [IRQGrant]
        public var ports: [PortGrant]
        /// The index of the ELF image the task runs (an image chunk), instead of `program`.
        public var image: UInt64?
        public init(name: String, program: String, priority: UInt64, mcp: UInt64, stackPages: UInt64, cnodeBits: UInt64,
                    faultHandler: UInt64?, heap: Heap?, args: [String], irqs: [IRQGrant], ports: [PortGrant],
                    image: UInt64? = nil) {
            self.name = name; self.program = program; self.priority = priority; self.mcp = mcp
            self.stackPages = stackPages; self.cnodeBits = cnodeBits; self.faultHandler = faultHandler
            self.heap = heap; self.args = args; self.irqs = irqs; self.ports = ports; self.image = image
        }
        /// The badge of this task's faults and init requests.
        public static func badge(ofIndex i: Int) -> UInt64 { UInt64(i) + 1 }
    }
    public struct Mapping: Hashable, Sendable {
        public var task: UInt64
        public var address: UInt64
        public var rights: PlanRights
        public init(task: UInt64, address: UInt64, rights: PlanRights) {
            self.task = task; self.address = address; self.rights = rights
        }
    }
    public struct Region: Hashable, Sendable {
        public var name: String
        public var size: UInt64
        /// 12 (4 KiB) or 21 (2 MiB).
        public var pageBits: UInt64
        public var mappings: [Mapping]
        /// Device memory at this physical address (its frames come from the device untypeds
        /// BootInfo lists there, never zeroed), or nil: fresh RAM.
        public var device: UInt64?
        public init(name: String, size: UInt64, pageBits: UInt64, mappings: [Mapping], device: UInt64? = nil) {
            self.name = name; self.size = size; self.pageBits = pageBits; self.mappings = mappings; self.device = device
        }
    }
    public enum ChannelKind: UInt64, Hashable, Sendable {
        case endpoint = 0, notification = 1
    }
    public struct End: Hashable, Sendable {
        public var task: UInt64
        public var id: UInt64
        public var badge: UInt64
        public init(task: UInt64, id: UInt64, badge: UInt64 = 0) { self.task = task; self.id = id; self.badge = badge }
    }
    /// A channel: the client end calls (or signals) the server end, which receives.
    /// Channels whose server ends are the same task and id share one kernel object. A
    /// channel without a client is an object its server hands out itself (through the
    /// name service, say).
    public struct Channel: Hashable, Sendable {
        public var name: String
        public var kind: ChannelKind
        public var client: End?
        public var server: End
        public init(name: String, kind: ChannelKind, client: End?, server: End) {
            self.name = name; self.kind = kind; self.client = client; self.server = server
        }
    }

    /// A Microkit protection domain: a task whose CSpace has libmicrokit's layout (its
    /// input endpoint at slot 1, its own notification bound to its TCB), and the patches
    /// its image takes (its name and channel masks).
    public struct ProtectionDomain: Hashable, Sendable {
        public var task: UInt64
        public var patches: [ELFImage.Patch]
        /// IRQ lines, each signalling the PD's notification with 1 << its channel id (the
        /// grant's id); the handler cap at `irqSlot` + id.
        public var irqs: [IRQGrant]
        /// I/O port ranges, the cap at `ioPortSlot` + the grant's id.
        public var ports: [PortGrant]
        /// A child PD: its parent's task index and its id there (the parent holds its TCB
        /// at `tcbSlot` + id and takes its faults, badged bit 62 | id).
        public var parent: UInt64?
        public var childID: UInt64
        public init(task: UInt64, patches: [ELFImage.Patch], irqs: [IRQGrant] = [], ports: [PortGrant] = [],
                    parent: UInt64? = nil, childID: UInt64 = 0) {
            self.task = task; self.patches = patches; self.irqs = irqs; self.ports = ports
            self.parent = parent; self.childID = childID
        }
    }
    /// A cap in a PD's CSpace to another PD's notification (to signal) or input endpoint
    /// (to call), badged as libmicrokit reads badges.
    public struct PDCap: Hashable, Sendable {
        public enum Kind: UInt64, Hashable, Sendable { case notification = 0, endpoint = 1 }
        public var task: UInt64
        public var slot: UInt64
        public var kind: Kind
        public var target: UInt64
        public var badge: UInt64
        public init(task: UInt64, slot: UInt64, kind: Kind, target: UInt64, badge: UInt64) {
            self.task = task; self.slot = slot; self.kind = kind; self.target = target; self.badge = badge
        }
    }
    /// A PD's input endpoint slot (libmicrokit's INPUT_CAP), and where its IRQ handlers
    /// and I/O port caps go (BASE_IRQ_CAP, BASE_IOPORT_CAP: umk's <microkit.h>).
    public static let pdInputSlot: UInt64 = 1
    public static let pdIRQSlot: UInt64 = 256
    public static let pdIOPortSlot: UInt64 = 384
    public static let pdTCBSlot: UInt64 = 320
    /// The badge bit of a child's faults on its parent's input endpoint.
    public static let pdFaultBit: UInt64 = 1 << 62

    public var name: String
    public var tasks: [Task]
    public var regions: [Region]
    public var channels: [Channel]
    public var protectionDomains: [ProtectionDomain]
    public var pdCaps: [PDCap]

    public init(name: String, tasks: [Task], regions: [Region], channels: [Channel],
                protectionDomains: [ProtectionDomain] = [], pdCaps: [PDCap] = []) {
        self.name = name; self.tasks = tasks; self.regions = regions; self.channels = channels
        self.protectionDomains = protectionDomains; self.pdCaps = pdCaps
    }
}

// MARK: - Encoding

/// Appends words and strings to a little-endian word stream.
public struct PlanWriter: Sendable {
    public private(set) var words: [UInt64] = []
    public init() {}
    public mutating func word(_ w: UInt64) { words.append(w) }
    public mutating func bool(_ b: Bool) { words.append(b ? 1 : 0) }
    public mutating func string(_ s: String) { data(Array(s.utf8)) }
    /// A byte count, then the bytes packed little-endian into words.
    public mutating func data(_ bytes: [UInt8]) {
        words.append(UInt64(bytes.count))
        var w: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            w |= UInt64(b) << (8 * UInt64(i % 8))
            if i % 8 == 7 { words.append(w); w = 0 }
        }
        if bytes.count % 8 != 0 { words.append(w) }
    }
    public mutating func strings(_ list: [String]) {
        word(UInt64(list.count))
        for s in list { string(s) }
    }
    /// The stream as bytes.
    public var bytes: [UInt8] {
        words.flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> (8 * $0)) } }
    }
}

/// A malformed plan or start info (truncated, or a count beyond its buffer).
public struct PlanFormatError: Error, Equatable, Sendable {
    public var offset: Int
    public init(offset: Int) { self.offset = offset }
}

/// Reads what PlanWriter wrote; every read is bounds-checked.
public struct PlanReader {
    let read: (Int) -> UInt64
    let count: Int
    public private(set) var position = 0

    /// A reader over `count` words, fetched by index.
    public init(count: Int, word: @escaping (Int) -> UInt64) { self.count = count; self.read = word }
    public init(words: [UInt64]) { self.init(count: words.count) { words[$0] } }

    public mutating func word() throws(PlanFormatError) -> UInt64 {
        guard position < count else { throw PlanFormatError(offset: position) }
        defer { position += 1 }
        return read(position)
    }
    public mutating func bool() throws(PlanFormatError) -> Bool { try word() != 0 }
    /// A count of items that each take at least `minWords` words.
    public mutating func count(minWords: Int = 1) throws(PlanFormatError) -> Int {
        let n = try word()
        guard n <= UInt64(count - position) / UInt64(max(1, minWords)) else { throw PlanFormatError(offset: position - 1) }
        return Int(n)
    }
    public mutating func string() throws(PlanFormatError) -> String { String(decoding: try data(), as: UTF8.self) }
    /// What PlanWriter.data wrote.
    public mutating func data() throws(PlanFormatError) -> [UInt8] {
        let length = try word()
        guard length <= UInt64(count - position) * 8 else { throw PlanFormatError(offset: position - 1) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(length))
        var w: UInt64 = 0
        for i in 0..<Int(length) {
            if i % 8 == 0 { w = try word() }
            bytes.append(UInt8(truncatingIfNeeded: w >> (8 * UInt64(i % 8))))
        }
        return bytes
    }
    public mutating func strings() throws(PlanFormatError) -> [String] {
        let n = try count()
        var list: [String] = []
        for _ in 0..<n { list.append(try string()) }
        return list
    }
}

extension BootPlan {
    static let magic: UInt64 = 0x4E41_4C50_4B4D_5503 // "\u{3}UMKPLAN", version 3

    /// The plan as words.
    public func encoded() -> [UInt64] {
        var w = PlanWriter()
        w.word(Self.magic)
        w.string(name)
        w.word(UInt64(tasks.count))
        for t in tasks {
            w.string(t.name); w.string(t.program)
            w.word(t.priority); w.word(t.mcp); w.word(t.stackPages); w.word(t.cnodeBits)
            w.bool(t.faultHandler != nil); w.word(t.faultHandler ?? 0)
            w.bool(t.heap != nil); w.word(t.heap?.address ?? 0); w.word(t.heap?.size ?? 0); w.word(t.heap?.pager ?? 0)
            w.word(t.heap?.faultAhead ?? 1)
            w.strings(t.args)
            w.word(UInt64(t.irqs.count))
            for g in t.irqs { w.word(g.irq); w.word(g.id) }
            w.word(UInt64(t.ports.count))
            for g in t.ports { w.word(g.first); w.word(g.last); w.word(g.id) }
            w.bool(t.image != nil); w.word(t.image ?? 0)
        }
        w.word(UInt64(regions.count))
        for r in regions {
            w.string(r.name); w.word(r.size); w.word(r.pageBits)
            w.bool(r.device != nil); w.word(r.device ?? 0)
            w.word(UInt64(r.mappings.count))
            for m in r.mappings { w.word(m.task); w.word(m.address); w.word(m.rights.rawValue) }
        }
        w.word(UInt64(channels.count))
        for c in channels {
            w.string(c.name); w.word(c.kind.rawValue)
            w.bool(c.client != nil)
            for e in [c.client ?? End(task: 0, id: 0), c.server] { w.word(e.task); w.word(e.id); w.word(e.badge) }
        }
        w.word(UInt64(protectionDomains.count))
        for pd in protectionDomains {
            w.word(pd.task)
            w.word(UInt64(pd.patches.count))
            for p in pd.patches { w.word(p.address); w.data(p.bytes) }
            w.word(UInt64(pd.irqs.count))
            for g in pd.irqs { w.word(g.irq); w.word(g.id) }
            w.word(UInt64(pd.ports.count))
            for g in pd.ports { w.word(g.first); w.word(g.last); w.word(g.id) }
            w.bool(pd.parent != nil); w.word(pd.parent ?? 0); w.word(pd.childID)
        }
        w.word(UInt64(pdCaps.count))
        for c in pdCaps { w.word(c.task); w.word(c.slot); w.word(c.kind.rawValue); w.word(c.target); w.word(c.badge) }
        return w.words
    }

    /// Decodes a plan; throws on a truncated or inconsistent stream.
    public init(reading r: inout PlanReader) throws(PlanFormatError) {
        guard try r.word() == Self.magic else { throw PlanFormatError(offset: 0) }
        name = try r.string()
        tasks = []
        for _ in 0..<(try r.count(minWords: 19)) {
            let name = try r.string(), program = try r.string()
            let priority = try r.word(), mcp = try r.word(), stackPages = try r.word(), cnodeBits = try r.word()
            let hasHandler = try r.bool(), handler = try r.word()
            let hasHeap = try r.bool(), heapAddress = try r.word(), heapSize = try r.word(), pager = try r.word()
            let faultAhead = try r.word()
            let args = try r.strings()
            var irqs: [IRQGrant] = []
            for _ in 0..<(try r.count(minWords: 2)) { irqs.append(IRQGrant(irq: try r.word(), id: try r.word())) }
            var ports: [PortGrant] = []
            for _ in 0..<(try r.count(minWords: 3)) {
                ports.append(PortGrant(first: try r.word(), last: try r.word(), id: try r.word()))
            }
            let hasImage = try r.bool(), image = try r.word()
            tasks.append(Task(name: name, program: program, priority: priority, mcp: mcp, stackPages: stackPages,
                              cnodeBits: cnodeBits, faultHandler: hasHandler ? handler : nil,
                              heap: hasHeap ? Heap(address: heapAddress, size: heapSize, pager: pager, faultAhead: faultAhead) : nil,
                              args: args, irqs: irqs, ports: ports, image: hasImage ? image : nil))
        }
        regions = []
        for _ in 0..<(try r.count(minWords: 6)) {
            let name = try r.string(), size = try r.word(), pageBits = try r.word()
            let isDevice = try r.bool(), device = try r.word()
            var mappings: [Mapping] = []
            for _ in 0..<(try r.count(minWords: 3)) {
                mappings.append(Mapping(task: try r.word(), address: try r.word(), rights: PlanRights(rawValue: try r.word())))
            }
            regions.append(Region(name: name, size: size, pageBits: pageBits, mappings: mappings, device: isDevice ? device : nil))
        }
        channels = []
        for _ in 0..<(try r.count(minWords: 9)) {
            let name = try r.string()
            guard let kind = ChannelKind(rawValue: try r.word()) else { throw PlanFormatError(offset: r.position - 1) }
            let hasClient = try r.bool()
            let client = End(task: try r.word(), id: try r.word(), badge: try r.word())
            let server = End(task: try r.word(), id: try r.word(), badge: try r.word())
            channels.append(Channel(name: name, kind: kind, client: hasClient ? client : nil, server: server))
        }
        for c in channels where (c.client?.task ?? 0) >= UInt64(tasks.count) || c.server.task >= UInt64(tasks.count) {
            throw PlanFormatError(offset: r.position)
        }
        protectionDomains = []
        for _ in 0..<(try r.count(minWords: 7)) {
            let task = try r.word()
            var patches: [ELFImage.Patch] = []
            for _ in 0..<(try r.count(minWords: 2)) {
                let address = try r.word()
                patches.append(ELFImage.Patch(address: address, bytes: try r.data()))
            }
            var irqs: [IRQGrant] = []
            for _ in 0..<(try r.count(minWords: 2)) { irqs.append(IRQGrant(irq: try r.word(), id: try r.word())) }
            var ports: [PortGrant] = []
            for _ in 0..<(try r.count(minWords: 3)) {
                ports.append(PortGrant(first: try r.word(), last: try r.word(), id: try r.word()))
            }
            let hasParent = try r.bool(), parent = try r.word(), childID = try r.word()
            guard task < UInt64(tasks.count), !hasParent || parent < UInt64(tasks.count) else { throw PlanFormatError(offset: r.position) }
            protectionDomains.append(ProtectionDomain(task: task, patches: patches, irqs: irqs, ports: ports,
                                                      parent: hasParent ? parent : nil, childID: childID))
        }
        pdCaps = []
        for _ in 0..<(try r.count(minWords: 5)) {
            let task = try r.word(), slot = try r.word()
            guard let kind = PDCap.Kind(rawValue: try r.word()) else { throw PlanFormatError(offset: r.position - 1) }
            let target = try r.word(), badge = try r.word()
            guard task < UInt64(tasks.count), target < UInt64(tasks.count) else { throw PlanFormatError(offset: r.position) }
            pdCaps.append(PDCap(task: task, slot: slot, kind: kind, target: target, badge: badge))
        }
    }
}
