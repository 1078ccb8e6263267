// SPDX-License-Identifier: Apache-2.0
//
// A small allocator for guests that build other threads: empty slots of the root CNode
// and objects retyped from the untyped memory BootInfo lists (first fit, moving on when an
// untyped is full).

/// BootInfo as the root task reads it from its own memory.
public func readBootInfo(at vaddr: UInt64) -> BootInfo {
    BootInfo { IPCBuffer.load(vaddr + UInt64($0)) }
}

/// Hands out root CNode slots and new kernel objects.
public struct ObjectAllocator {
    /// The root CNode (depth 64 addresses a slot directly).
    public let root: CPtr = InitialCap.initThreadCNode.rawValue
    var nextSlot: CPtr
    let endSlot: CPtr
    var untypeds: [(slot: CPtr, descriptor: UntypedDescriptor)]
    var current = 0

    /// An allocator over BootInfo's empty slots and non-device untypeds.
    public init(bootInfo: BootInfo) {
        nextSlot = bootInfo.empty.start
        endSlot = bootInfo.empty.end
        untypeds = bootInfo.untypedList.enumerated()
            .filter { !$0.element.isDevice }
            .map { (bootInfo.untyped.start + UInt64($0.offset), $0.element) }
    }

    /// An empty slot of the root CNode, or nil if none is left.
    public mutating func slot() -> CPtr? {
        guard nextSlot < endSlot else { return nil }
        defer { nextSlot += 1 }
        return nextSlot
    }

    /// A new object in a fresh slot, or nil when memory or slots run out.
    public mutating func make(_ type: ObjectType, sizeBits: UInt64 = 0) -> CPtr? {
        guard let dest = slot() else { return nil }
        while current < untypeds.count {
            let e = Untyped.retype(untypeds[current].slot, type: type, sizeBits: sizeBits, root: root,
                                   nodeIndex: 0, nodeDepth: 0, nodeOffset: dest, numObjects: 1)
            if e == .noError { return dest }
            guard e == .notEnoughMemory else { return nil }
            current += 1
        }
        return nil
    }
}
