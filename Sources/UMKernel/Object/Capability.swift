// SPDX-License-Identifier: Apache-2.0
//
// A capability: two words, bit-packed as seL4's `cap_t` (structures_64.bf). The layout is
// declared here and nowhere else, and pinned by CapabilityTests:
//
//   word0: [63:59] type | [58:44] type fields | [43:0] object physical address
//   word1: type-specific (badge, guard, free index, mapping)
//
//   type          word0 fields                               word1
//   untyped       sizeBits [49:44], isDevice [50]             freeIndex (bytes)
//   endpoint      rights [47:44]                             badge
//   notification  rights [47:44]                             badge
//   reply         master [44], canGrant [45]  (ptr = caller TCB)
//   cnode         radix [49:44], guardSize [55:50]           guard
//   thread        -
//   irqHandler    -                                          irq
//   zombie        zombieType [50:44] (radix, or 64 = TCB)    slots left to delete
//   frame         size [45:44], vmRights [47:46], device[48] mappedASID << 48 | mappedVaddr
//   pageTable/pageDirectory/pdpt  mapped [44]                mappedASID << 48 | mappedVaddr
//   pml4          mapped [44]                                mappedASID
//   asidPool      -                                          asidBase
//   ioPort        -                                          first | last << 16

import UMKABI

/// What a capability refers to (its tag).
public enum CapType: UInt64, Sendable, CaseIterable {
    case null = 0
    case untyped, endpoint, notification, reply, cnode, thread
    case irqControl, irqHandler, zombie, domain
    case frame, pageTable, pageDirectory, pdpt, pml4, asidControl, asidPool
    case ioPortControl, ioPort

    /// The type a cap's tag names (an unknown tag, corrupt RAM, reads as null). Spelled
    /// out rather than `init(rawValue:)`, which the compiler keeps as a call: this inlines
    /// to a range check wherever a cap's type is read.
    @inline(__always) static func decode(_ tag: UInt64) -> CapType {
        switch tag {
        case 1: .untyped
        case 2: .endpoint
        case 3: .notification
        case 4: .reply
        case 5: .cnode
        case 6: .thread
        case 7: .irqControl
        case 8: .irqHandler
        case 9: .zombie
        case 10: .domain
        case 11: .frame
        case 12: .pageTable
        case 13: .pageDirectory
        case 14: .pdpt
        case 15: .pml4
        case 16: .asidControl
        case 17: .asidPool
        case 18: .ioPortControl
        case 19: .ioPort
        default: .null
        }
    }

    /// seL4's cap tag on x86_64 (structures_64.bf: generic caps even, arch caps odd), which
    /// DebugCapIdentify reports.
    public var seL4Tag: UInt64 {
        switch self {
        case .null: 0
        case .untyped: 2
        case .endpoint: 4
        case .notification: 6
        case .reply: 8
        case .cnode: 10
        case .thread: 12
        case .irqControl: 14
        case .irqHandler: 16
        case .zombie: 18
        case .domain: 20
        case .frame: 1
        case .pageTable: 3
        case .pageDirectory: 5
        case .pdpt: 7
        case .pml4: 9
        case .asidControl: 11
        case .asidPool: 13
        case .ioPort: 19
        case .ioPortControl: 31
        }
    }
}

/// seL4's VM rights of a frame cap (`vm_rights_t`).
public enum VMRights: UInt64, Sendable {
    case kernelOnly = 1
    case readOnly = 2
    case readWrite = 3

    /// seL4: maskVMRights — a cap's rights can only remove access.
    func masked(by rights: CapRights) -> VMRights {
        if self == .readOnly && rights.contains(.read) { return .readOnly }
        if self == .readWrite && rights.contains(.read) {
            return rights.contains(.write) ? .readWrite : .readOnly
        }
        return .kernelOnly
    }
}

/// A frame's size class.
public enum FrameSize: UInt64, Sendable {
    case small = 0, large = 1, huge = 2
    /// log2 of the frame's size in bytes.
    public var bits: UInt64 { [12, 21, 30][Int(rawValue)] }
    var objectType: ObjectType { [.smallPage, .largePage, .hugePage][Int(rawValue)] }
}

/// A two-word capability, as it is stored in a CNode slot.
public struct Capability: Equatable, Sendable {
    public var word0: UInt64
    public var word1: UInt64

    static let addressMask: UInt64 = (1 << 44) - 1
    /// The null capability (an empty slot).
    public static let null = Capability(word0: 0, word1: 0)

    @inline(__always) init(word0: UInt64, word1: UInt64) { self.word0 = word0; self.word1 = word1 }
    @inline(__always) init(_ type: CapType, paddr: UInt64 = 0, fields: UInt64 = 0, word1: UInt64 = 0) {
        word0 = type.rawValue << 59 | (fields & 0x7FFF) << 44 | (paddr & Capability.addressMask)
        self.word1 = word1
    }

    /// The cap's tag; an unknown tag (corrupt RAM) reads as null.
    @inline(__always) public var type: CapType { CapType.decode(word0 >> 59) }
    @inline(__always) public var isNull: Bool { word0 >> 59 == 0 }
    /// True if the cap's tag is `t` (a compare, without decoding the tag).
    @inline(__always) public func hasType(_ t: CapType) -> Bool { word0 >> 59 == t.rawValue }
    /// Physical address of the object the cap refers to.
    @inline(__always) public var paddr: UInt64 { word0 & Capability.addressMask }

    @inline(__always) func field(_ shift: UInt64, _ bits: UInt64) -> UInt64 {
        (word0 >> shift) & ((1 << bits) - 1)
    }
    @inline(__always) mutating func setField(_ shift: UInt64, _ bits: UInt64, _ value: UInt64) {
        let mask: UInt64 = ((1 << bits) - 1) << shift
        word0 = (word0 & ~mask) | ((value << shift) & mask)
    }

    // MARK: - Constructors

    public static func untyped(paddr: UInt64, sizeBits: UInt64, isDevice: Bool, freeIndex: UInt64 = 0) -> Capability {
        Capability(.untyped, paddr: paddr, fields: sizeBits | (isDevice ? 1 << 6 : 0), word1: freeIndex)
    }
    public static func endpoint(paddr: UInt64, badge: UInt64 = 0, rights: CapRights = .all) -> Capability {
        Capability(.endpoint, paddr: paddr, fields: rights.rawValue, word1: badge)
    }
    public static func notification(paddr: UInt64, badge: UInt64 = 0, rights: CapRights = .all) -> Capability {
        Capability(.notification, paddr: paddr, fields: rights.rawValue, word1: badge)
    }
    public static func reply(tcb: UInt64, master: Bool, canGrant: Bool) -> Capability {
        Capability(.reply, paddr: tcb, fields: (master ? 1 : 0) | (canGrant ? 2 : 0))
    }
    public static func cnode(paddr: UInt64, radix: UInt64, guardSize: UInt64 = 0, guard guardValue: UInt64 = 0) -> Capability {
        Capability(.cnode, paddr: paddr, fields: radix | guardSize << 6, word1: guardValue)
    }
    public static func thread(paddr: UInt64) -> Capability { Capability(.thread, paddr: paddr) }
    public static let irqControl = Capability(.irqControl)
    public static func irqHandler(irq: UInt64) -> Capability { Capability(.irqHandler, word1: irq) }
    public static func zombie(paddr: UInt64, zombieType: UInt64, remaining: UInt64) -> Capability {
        Capability(.zombie, paddr: paddr, fields: zombieType, word1: remaining)
    }
    public static let domain = Capability(.domain)
    public static func frame(paddr: UInt64, size: FrameSize, rights: VMRights = .readWrite, isDevice: Bool = false) -> Capability {
        Capability(.frame, paddr: paddr, fields: size.rawValue | rights.rawValue << 2 | (isDevice ? 1 << 4 : 0))
    }
    public static func table(_ type: CapType, paddr: UInt64) -> Capability { Capability(type, paddr: paddr) }
    public static let asidControl = Capability(.asidControl)
    public static func asidPool(paddr: UInt64, asidBase: UInt64) -> Capability {
        Capability(.asidPool, paddr: paddr, word1: asidBase)
    }
    public static let ioPortControl = Capability(.ioPortControl)
    public static func ioPort(first: UInt64, last: UInt64) -> Capability {
        Capability(.ioPort, word1: first | last << 16)
    }

    // MARK: - Untyped

    public var untypedSizeBits: UInt64 { field(44, 6) }
    public var untypedIsDevice: Bool { field(50, 1) != 0 }
    /// Bytes of the untyped already handed out (seL4 capFreeIndex, here in bytes).
    public var untypedFreeIndex: UInt64 { get { word1 } set { word1 = newValue } }

    // MARK: - Endpoint, notification

    /// Rights of an endpoint or notification cap.
    public var rights: CapRights {
        get { CapRights(rawValue: field(44, 4)) }
        set { setField(44, 4, newValue.rawValue) }
    }
    /// Badge of an endpoint or notification cap.
    public var badge: UInt64 { get { word1 } set { word1 = newValue } }

    // MARK: - Reply

    public var replyMaster: Bool { field(44, 1) != 0 }
    public var replyCanGrant: Bool { field(45, 1) != 0 }

    // MARK: - CNode

    public var cnodeRadix: UInt64 { field(44, 6) }
    public var cnodeGuardSize: UInt64 { get { field(50, 6) } set { setField(50, 6, newValue) } }
    public var cnodeGuard: UInt64 { get { word1 } set { word1 = newValue } }

    // MARK: - IRQ handler, zombie, ASID pool, I/O port

    public var irq: UInt64 { word1 }
    /// A zombie's type: the CNode radix it came from, or `Capability.zombieTCB`.
    public var zombieType: UInt64 { field(44, 7) }
    public static let zombieTCB: UInt64 = 64
    /// Slots of the zombie's object still to be emptied.
    public var zombieRemaining: UInt64 { get { word1 } set { word1 = newValue } }
    public var asidBase: UInt64 { word1 }
    public var ioPortFirst: UInt64 { word1 & 0xFFFF }
    public var ioPortLast: UInt64 { (word1 >> 16) & 0xFFFF }

    // MARK: - Frames and paging structures

    public var frameSize: FrameSize { FrameSize(rawValue: field(44, 2)) ?? .small }
    public var frameVMRights: VMRights {
        get { VMRights(rawValue: field(46, 2)) ?? .kernelOnly }
        set { setField(46, 2, newValue.rawValue) }
    }
    public var frameIsDevice: Bool { field(48, 1) != 0 }
    /// The ASID the frame or table is mapped in (0 = unmapped: ASID 0 is never handed out).
    @inline(__always) public var mappedASID: UInt64 {
        hasType(.pml4) ? word1 : word1 >> 48
    }
    /// The virtual address the frame or table is mapped at.
    public var mappedAddress: UInt64 { word1 & ((1 << 48) - 1) }
    /// The mapped flag of a table or PML4 cap (no type check).
    @inline(__always) var tableMappedFlag: Bool { field(44, 1) != 0 }
    public var isMapped: Bool {
        switch type {
        case .frame: word1 >> 48 != 0
        case .pageTable, .pageDirectory, .pdpt, .pml4: tableMappedFlag
        default: false
        }
    }
    /// Records (or with asid 0 clears) a mapping in a frame or table cap.
    public mutating func setMapping(asid: UInt64, vaddr: UInt64) {
        switch type {
        case .frame:
            word1 = asid == 0 ? 0 : asid << 48 | (vaddr & ((1 << 48) - 1))
        case .pml4:
            word1 = asid
            setField(44, 1, asid == 0 ? 0 : 1)
        default:
            word1 = asid == 0 ? 0 : asid << 48 | (vaddr & ((1 << 48) - 1))
            setField(44, 1, asid == 0 ? 0 : 1)
        }
    }

    // MARK: - Object identity

    /// log2 of the size of the object the cap names (seL4: cap_get_capSizeBits).
    package var objectSizeBits: UInt64 {
        switch type {
        case .untyped: untypedSizeBits
        case .endpoint: ObjectSize.endpointBits
        case .notification: ObjectSize.notificationBits
        case .cnode: cnodeRadix + ObjectSize.slotBits
        case .thread: ObjectSize.tcbBits
        case .frame: frameSize.bits
        case .pageTable, .pageDirectory, .pdpt, .pml4, .asidPool: ObjectSize.pageTableBits
        case .zombie: zombieType == Capability.zombieTCB ? ObjectSize.tcbBits : zombieType + ObjectSize.slotBits
        default: 0
        }
    }

    /// True for caps that name an object in RAM (seL4: cap_get_capIsPhysical).
    package var isPhysical: Bool {
        switch type {
        case .untyped, .endpoint, .notification, .cnode, .thread, .zombie, .frame,
             .pageTable, .pageDirectory, .pdpt, .pml4, .asidPool: true
        default: false
        }
    }
}
