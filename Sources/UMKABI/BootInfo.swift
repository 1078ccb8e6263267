// SPDX-License-Identifier: Apache-2.0
//
// The BootInfo frame (`seL4_BootInfo`, x86_64) the root task receives, as word offsets:
//    0 extraLen | 1 nodeID | 2 numNodes | 3 numIOPTLevels | 4 ipcBuffer
//    5-6 empty | 7-8 sharedFrames | 9-10 userImageFrames | 11-12 userImagePaging
//   13-14 ioSpaceCaps | 15-16 extraBIPages | 17 initThreadCNodeSizeBits
//   18 initThreadDomain | 19-20 untyped | 21... untypedList[230]
// A slot region is {start, end) of slot numbers. An untyped descriptor is 16 bytes:
// paddr (word), sizeBits (byte), isDevice (byte), 6 bytes padding.

/// The extra-BootInfo chunk id (seL4_BootInfoHeader.id) of the root task's address range,
/// umk's own: two words, the first guest virtual address its VSpace may map and run at and
/// the end (exclusive). On Linux that is its host window: a guest address is the host address.
public let addressRangeChunkID: UInt64 = 0x554D_4B41

/// A half-open range of slots in the root CNode (`seL4_SlotRegion`).
public struct SlotRegion: Hashable, Sendable {
    public var start: UInt64
    public var end: UInt64
    public init(start: UInt64, end: UInt64) { self.start = start; self.end = end }
    /// The number of slots in the region.
    public var count: UInt64 { end - start }
}

/// One untyped capability as BootInfo describes it (`seL4_UntypedDesc`).
public struct UntypedDescriptor: Hashable, Sendable {
    public var paddr: UInt64
    public var sizeBits: UInt8
    public var isDevice: Bool
    public init(paddr: UInt64, sizeBits: UInt8, isDevice: Bool) {
        self.paddr = paddr; self.sizeBits = sizeBits; self.isDevice = isDevice
    }
}

/// Byte offsets of the BootInfo fields.
public enum BootInfoLayout {
    public static let extraLen = 0
    public static let nodeID = 8
    public static let numNodes = 16
    public static let numIOPTLevels = 24
    public static let ipcBuffer = 32
    public static let empty = 40
    public static let sharedFrames = 56
    public static let userImageFrames = 72
    public static let userImagePaging = 88
    public static let ioSpaceCaps = 104
    public static let extraBIPages = 120
    public static let initThreadCNodeSizeBits = 136
    public static let initThreadDomain = 144
    public static let untyped = 152
    public static let untypedList = 168
    public static let untypedDescriptorSize = 16
    /// `CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS`.
    public static let maxUntypedCaps = 230
    /// BootInfo occupies one 4 KiB frame; extra chunks would follow at 4 KiB.
    public static let size = 4096
}

/// The BootInfo contents, decoded from or encoded into the BootInfo frame's bytes.
public struct BootInfo: Hashable, Sendable {
    /// Bytes of extra BootInfo chunks that follow the BootInfo frame.
    public var extraLength: UInt64 = 0
    public var nodeID: UInt64 = 0
    public var numNodes: UInt64 = 1
    public var numIOPTLevels: UInt64 = 0
    public var ipcBuffer: UInt64 = 0
    public var empty = SlotRegion(start: 0, end: 0)
    public var sharedFrames = SlotRegion(start: 0, end: 0)
    public var userImageFrames = SlotRegion(start: 0, end: 0)
    public var userImagePaging = SlotRegion(start: 0, end: 0)
    public var ioSpaceCaps = SlotRegion(start: 0, end: 0)
    public var extraBIPages = SlotRegion(start: 0, end: 0)
    public var initThreadCNodeSizeBits: UInt64 = 0
    public var initThreadDomain: UInt64 = 0
    public var untyped = SlotRegion(start: 0, end: 0)
    public var untypedList: [UntypedDescriptor] = []

    public init() {}

    /// Reads BootInfo through a word reader (`read(byteOffset)` returns the word there).
    public init(readWord read: (Int) -> UInt64) {
        func region(_ o: Int) -> SlotRegion { SlotRegion(start: read(o), end: read(o + 8)) }
        extraLength = read(BootInfoLayout.extraLen)
        nodeID = read(BootInfoLayout.nodeID)
        numNodes = read(BootInfoLayout.numNodes)
        numIOPTLevels = read(BootInfoLayout.numIOPTLevels)
        ipcBuffer = read(BootInfoLayout.ipcBuffer)
        empty = region(BootInfoLayout.empty)
        sharedFrames = region(BootInfoLayout.sharedFrames)
        userImageFrames = region(BootInfoLayout.userImageFrames)
        userImagePaging = region(BootInfoLayout.userImagePaging)
        ioSpaceCaps = region(BootInfoLayout.ioSpaceCaps)
        extraBIPages = region(BootInfoLayout.extraBIPages)
        initThreadCNodeSizeBits = read(BootInfoLayout.initThreadCNodeSizeBits)
        initThreadDomain = read(BootInfoLayout.initThreadDomain)
        untyped = region(BootInfoLayout.untyped)
        let n = min(Int(untyped.count), BootInfoLayout.maxUntypedCaps)
        for i in 0..<n {
            let o = BootInfoLayout.untypedList + i * BootInfoLayout.untypedDescriptorSize
            let packed = read(o + 8)
            untypedList.append(UntypedDescriptor(
                paddr: read(o), sizeBits: UInt8(packed & 0xFF), isDevice: (packed >> 8) & 0xFF != 0))
        }
    }

    /// Writes BootInfo through a word writer (`write(byteOffset, word)`).
    public func encode(writeWord write: (Int, UInt64) -> Void) {
        func region(_ o: Int, _ r: SlotRegion) { write(o, r.start); write(o + 8, r.end) }
        write(BootInfoLayout.extraLen, extraLength)
        write(BootInfoLayout.nodeID, nodeID)
        write(BootInfoLayout.numNodes, numNodes)
        write(BootInfoLayout.numIOPTLevels, numIOPTLevels)
        write(BootInfoLayout.ipcBuffer, ipcBuffer)
        region(BootInfoLayout.empty, empty)
        region(BootInfoLayout.sharedFrames, sharedFrames)
        region(BootInfoLayout.userImageFrames, userImageFrames)
        region(BootInfoLayout.userImagePaging, userImagePaging)
        region(BootInfoLayout.ioSpaceCaps, ioSpaceCaps)
        region(BootInfoLayout.extraBIPages, extraBIPages)
        write(BootInfoLayout.initThreadCNodeSizeBits, initThreadCNodeSizeBits)
        write(BootInfoLayout.initThreadDomain, initThreadDomain)
        region(BootInfoLayout.untyped, untyped)
        for (i, d) in untypedList.prefix(BootInfoLayout.maxUntypedCaps).enumerated() {
            let o = BootInfoLayout.untypedList + i * BootInfoLayout.untypedDescriptorSize
            write(o, d.paddr)
            write(o + 8, UInt64(d.sizeBits) | (d.isDevice ? 1 << 8 : 0))
        }
    }
}
