// SPDX-License-Identifier: Apache-2.0
//
// Object types (`seL4_ObjectType` + x86_64 mode + x86 arch types) and their sizes. umk's
// TCB is larger than seL4's 2^11 (2^12 with a big XSAVE area): it holds a saved host
// register frame and a full XSAVE area (AVX-512 included); that size is stated here and
// nowhere else.

/// A kernel object type as Untyped_Retype takes it.
public enum ObjectType: UInt64, Sendable, CaseIterable {
    case untyped = 0
    case tcb = 1
    case endpoint = 2
    case notification = 3
    case cnode = 4
    case pdpt = 5
    case pml4 = 6
    case hugePage = 7
    case smallPage = 8
    case largePage = 9
    case pageTable = 10
    case pageDirectory = 11

    /// `seL4_ObjectTypeCount`.
    public static let count: UInt64 = 12

    /// The log2 size of one object; for CNodes and untypeds `userSizeBits` is the
    /// caller's size_bits argument (a CNode's is its radix).
    @inlinable public func sizeBits(userSizeBits: UInt64) -> UInt64 {
        switch self {
        case .untyped: userSizeBits
        case .tcb: ObjectSize.tcbBits
        case .endpoint: ObjectSize.endpointBits
        case .notification: ObjectSize.notificationBits
        case .cnode: userSizeBits + ObjectSize.slotBits
        case .pdpt, .pml4, .pageTable, .pageDirectory: ObjectSize.pageTableBits
        case .smallPage: 12
        case .largePage: 21
        case .hugePage: 30
        }
    }

    /// True for the frame types, the only ones (with untyped) a device untyped may make.
    @inlinable public var isFrame: Bool {
        self == .smallPage || self == .largePage || self == .hugePage
    }
}

/// Object sizes, log2 bytes.
public enum ObjectSize {
    /// One CNode slot: a two-word cap plus two-word derivation links.
    public static let slotBits: UInt64 = 5
    /// umk's TCB: room for the host register frame and a full XSAVE area.
    public static let tcbBits: UInt64 = 13
    public static let endpointBits: UInt64 = 4
    public static let notificationBits: UInt64 = 5
    public static let pageTableBits: UInt64 = 12
    public static let asidPoolBits: UInt64 = 12
    /// `seL4_MinUntypedBits`.
    public static let minUntypedBits: UInt64 = 4
    /// `seL4_MaxUntypedBits`.
    public static let maxUntypedBits: UInt64 = 47
    /// `CONFIG_RETYPE_FAN_OUT_LIMIT`.
    public static let retypeFanOutLimit: UInt64 = 256
}

/// x86_64 address-space constants.
public enum VSpaceLayout {
    /// `seL4_UserTop` (libsel4): the start of the last user page.
    public static let userTop: UInt64 = 0x0000_7FFF_FFFF_F000
    /// The kernel's `USER_TOP` (pc99 x86_64): the last user byte, which mapping checks use.
    public static let kernelUserTop: UInt64 = 0x0000_7FFF_FFFF_FFFF
    /// ASIDs: 2^3 pools of 2^9 entries; ASID 0 is never handed out.
    public static let asidPoolCount = 8
    public static let asidPoolEntries = 512
    public static let pageBits: UInt64 = 12
    public static let largePageBits: UInt64 = 21
    public static let hugePageBits: UInt64 = 30
}
