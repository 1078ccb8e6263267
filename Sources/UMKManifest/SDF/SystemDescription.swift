// SPDX-License-Identifier: Apache-2.0
//
// A Microkit system as its System Description File (SDF, XML) states it, checked: the
// protection domains (child PDs flattened, each knowing its parent), memory regions,
// channels, and per PD its program image, maps, IRQs, I/O ports and setvars. Every value
// keeps the place it was written, for messages. The element and attribute names are
// Microkit's (its manual's "System Description File").

/// A checked SDF.
public struct SystemDescription: Sendable {
    public struct MemoryRegion: Sendable {
        public var name: String
        public var size: UInt64
        public var pageSize: UInt64
        public var physicalAddress: UInt64?
        public var at: SourceLocation
    }

    /// A memory region mapped into a PD.
    public struct Map: Sendable {
        public var region: String
        public var vaddr: UInt64
        public var read: Bool, write: Bool, execute: Bool
        public var cached: Bool
        /// Symbols to patch with the mapping's address and the region's size.
        public var setvarVaddr: String?
        public var setvarSize: String?
        public var at: SourceLocation
    }

    /// An interrupt delivered on channel `id`: on x86-64 an IOAPIC pin, which is the PC's
    /// IRQ line on umk's machine.
    public struct IRQ: Sendable {
        public var id: UInt64
        public var line: UInt64
        public var setvarID: String?
        public var at: SourceLocation
    }

    /// I/O ports `address` to `address + size - 1`, as port cap `id`.
    public struct IOPort: Sendable {
        public var id: UInt64
        public var address: UInt64
        public var size: UInt64
        public var setvarID: String?
        public var setvarAddress: String?
        public var at: SourceLocation
    }

    /// A symbol patched with a memory region's physical address.
    public struct SetVar: Sendable {
        public var symbol: String
        public var region: String
        public var at: SourceLocation
    }

    public struct ProtectionDomain: Sendable {
        public var name: String
        public var priority: UInt64
        /// Microseconds (MCS); umk is not MCS: kept, approximated by priority scheduling.
        public var budget: UInt64
        public var period: UInt64
        public var passive: Bool
        public var stackSize: UInt64
        /// The program image as written, and the file it was found as.
        public var image: String
        public var imagePath: String
        public var maps: [Map] = []
        public var irqs: [IRQ] = []
        public var ioports: [IOPort] = []
        public var setvars: [SetVar] = []
        /// For a child PD: its parent's index in `protectionDomains` and its id there.
        public var parent: Int?
        public var childID: UInt64?
        public var setvarChildID: String?
        public var at: SourceLocation
    }

    /// A channel between two PDs: each end's PD index, id, whether it may make protected
    /// procedure calls to the other end and whether it may notify it.
    public struct Channel: Sendable {
        public struct End: Sendable {
            public var pd: Int
            public var id: UInt64
            public var pp: Bool
            public var notify: Bool
            public var at: SourceLocation
        }
        public var ends: (End, End)
        public var at: SourceLocation
    }

    public var file: String
    public var protectionDomains: [ProtectionDomain] = []
    public var memoryRegions: [MemoryRegion] = []
    public var channels: [Channel] = []

    /// Microkit's limits: channel and IRQ ids 0-61 (62 per PD, as its tool and libmicrokit), priorities 0-254.
    public static let maxChannelID: UInt64 = 61
    /// Where Microkit links a PD's text, with its _start first: a child's restart entry
    /// point is an address in that layout.
    public static let linkAddress: UInt64 = 0x20_0000
    public static let maxPriority: UInt64 = 254
}
