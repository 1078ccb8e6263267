// SPDX-License-Identifier: Apache-2.0
//
// A small allocator for guests that build other threads: empty slots of the root CNode
// and objects retyped from the untyped memory BootInfo lists (first fit, moving on when an
// untyped is full).

/// BootInfo as the root task reads it from its own memory.
public func readBootInfo(at vaddr: UInt64) -> BootInfo {
    BootInfo { IPCBuffer.load(vaddr + UInt64($0)) }
}

/// The payload of the extra BootInfo chunk `id` (seL4_BootInfoHeader: id, length in bytes
/// with the header) after the BootInfo at `vaddr`: its address and word count, or nil if
/// there is none or the chunks are malformed.
public func extraBootInfoChunk(_ id: UInt64, _ bootInfo: BootInfo, at vaddr: UInt64) -> (address: UInt64, words: Int)? {
    extraBootInfoChunks(id, bootInfo, at: vaddr)?.first
}

/// Every extra BootInfo chunk `id`, in order (nil if the chunks are malformed).
public func extraBootInfoChunks(_ id: UInt64, _ bootInfo: BootInfo, at vaddr: UInt64) -> [(address: UInt64, words: Int)]? {
    var offset: UInt64 = 0, found: [(address: UInt64, words: Int)] = []
    let base = vaddr + UInt64(BootInfoLayout.size)
    while offset + 16 <= bootInfo.extraLength {
        let chunkID = IPCBuffer.load(base + offset), length = IPCBuffer.load(base + offset + 8)
        guard length >= 16, length % 8 == 0, length <= bootInfo.extraLength - offset else { return nil }
        if chunkID == id { found.append((base + offset + 16, Int((length - 16) / 8))) }
        offset += length
    }
    return found
}

/// The root task's address range, from umk's extra BootInfo chunk (nil if absent).
public func rootAddressRange(_ bootInfo: BootInfo, at vaddr: UInt64) -> Range<UInt64>? {
    guard let chunk = extraBootInfoChunk(addressRangeChunkID, bootInfo, at: vaddr), chunk.words == 2 else { return nil }
    let start = IPCBuffer.load(chunk.address), end = IPCBuffer.load(chunk.address + 8)
    return start <= end ? start..<end : nil
}

/// Hands out root CNode slots and new kernel objects.
public struct ObjectAllocator {
    /// The CSpace's root CNode (guarded to 64 bits, so depth 64 addresses a slot directly).
    public let root: CPtr
    var nextSlot: CPtr
    var endSlot: CPtr
    var untypeds: [(slot: CPtr, descriptor: UntypedDescriptor)]
    /// An upper bound on each untyped's free bytes while its objects live: its size at
    /// first, less what each retype took, or exactly what a NotEnoughMemory reply said was
    /// left. An untyped too small for an object is not asked while another one has room.
    private(set) var freeBound: [UInt64] = []
    /// The ASID pool new VSpaces get their ASID from (the root task's at first).
    public private(set) var asidPool: CPtr = InitialCap.initThreadASIDPool.rawValue
    /// Set once a fresh pool still answered DeleteFirst: the machine has no address space
    /// left, and no further pool is made for it.
    public private(set) var addressSpacesExhausted = false

    /// An allocator over BootInfo's empty slots and non-device untypeds.
    public init(bootInfo: BootInfo) {
        root = InitialCap.initThreadCNode.rawValue
        nextSlot = bootInfo.empty.start
        endSlot = bootInfo.empty.end
        untypeds = bootInfo.untypedList.enumerated()
            .filter { !$0.element.isDevice }
            .map { (bootInfo.untyped.start + UInt64($0.offset), $0.element) }
        freeBound = untypeds.map { UInt64(1) << UInt64($0.descriptor.sizeBits) }
        freeBytes = freeBound.reduce(0, &+)
    }

    /// An allocator for a task other than the root task: its root CNode cap, the free slots
    /// it may fill, and the untyped caps (slot, size) it may retype.
    public init(root: CPtr, slots: SlotRegion, untypeds: [(slot: CPtr, sizeBits: UInt64)]) {
        self.root = root
        nextSlot = slots.start
        endSlot = slots.end
        self.untypeds = untypeds.map { ($0.slot, UntypedDescriptor(paddr: 0, sizeBits: UInt8($0.sizeBits), isDevice: false)) }
        freeBound = untypeds.map { UInt64(1) << $0.sizeBits }
        freeBytes = freeBound.reduce(0, &+)
    }

    /// An upper bound on the bytes its untypeds have free: exact while only this allocator
    /// retypes them (each retype's objects aligned to their size, as frames and paging
    /// structures are to 4 KiB).
    public private(set) var freeBytes: UInt64 = 0

    private mutating func setFreeBound(_ i: Int, _ bytes: UInt64) {
        freeBytes = freeBytes &- freeBound[i] &+ bytes
        freeBound[i] = bytes
    }

    /// Slots not handed out yet.
    public var remainingSlots: SlotRegion { SlotRegion(start: nextSlot, end: endSlot) }

    /// Gives `vspace` an ASID, as a root task does past one pool's 511 (or 512) address
    /// spaces: from the current pool, and when that is full (DeleteFirst) from a new pool
    /// made with ASIDControl_MakePool from a 4 KiB untyped. The error is the kernel's when
    /// no pool can be made (all eight exist: DeleteFirst) or memory or slots run out
    /// (NotEnoughMemory).
    public mutating func assignASID(_ vspace: CPtr) -> KernelError {
        let e = ASIDPool.assign(asidPool, vspace: vspace)
        guard e == .deleteFirst, !addressSpacesExhausted else { return e }
        guard let pool = slot() else { return .notEnoughMemory }
        guard let untyped = make(.untyped, sizeBits: 12) else { return .notEnoughMemory }
        let made = ASIDControl.makePool(InitialCap.asidControl.rawValue, untyped: untyped, root: root, index: pool, depth: 64)
        guard made == .noError else {
            // All eight pools exist: the untyped goes back to where it came from.
            _ = CNode.delete(root, index: untyped, depth: 64)
            addressSpacesExhausted = true
            return made
        }
        let retry = ASIDPool.assign(pool, vspace: vspace)
        if retry == .deleteFirst {
            // An empty pool refused too: the machine, not the pool, is out of address
            // spaces. The pool and its memory go back; the current pool stays.
            _ = CNode.delete(root, index: pool, depth: 64)
            _ = CNode.delete(root, index: untyped, depth: 64)
            addressSpacesExhausted = true
            return retry
        }
        asidPool = pool
        return retry
    }

    /// An empty slot of the root CNode, or nil if none is left.
    public mutating func slot() -> CPtr? { slots(1) }

    /// The first of `count` consecutive empty slots (a retype of `count` objects fills
    /// them), or nil if that many are not left.
    public mutating func slots(_ count: Int) -> CPtr? {
        guard count >= 1, UInt64(count) <= endSlot &- nextSlot else { return nil }
        defer { nextSlot += UInt64(count) }
        return nextSlot
    }

    /// A new object in a fresh slot, or nil when memory or slots run out. Untypeds are
    /// tried first fit among those that may have room; one too full for a large object
    /// still serves smaller ones later. Only if none of them can, the others are asked too:
    /// deleting every object made from an untyped gives all of it back.
    public mutating func make(_ type: ObjectType, sizeBits: UInt64 = 0) -> CPtr? {
        make(type, sizeBits: sizeBits, count: 1)
    }

    /// `count` new objects by one retype, in consecutive fresh slots from the one
    /// returned: they lie one after another in memory (a run of frames one host mapping
    /// can cover). Nil when memory or slots run out for all of them.
    public mutating func make(_ type: ObjectType, sizeBits: UInt64 = 0, count: Int) -> CPtr? {
        guard count >= 1, UInt64(count) <= endSlot &- nextSlot else { return nil }
        // Taken only once a retype filled them.
        let dest = nextSlot
        let bits = type.sizeBits(userSizeBits: sizeBits)
        let one: UInt64 = bits < 64 ? 1 << bits : .max
        let bytes = one.multipliedReportingOverflow(by: UInt64(count))
        guard !bytes.overflow else { return nil }
        // The untypeds asked already (the first 64; no allocation on the pager's path).
        var asked: UInt64 = 0
        for pass in 0..<2 {
            let mayHaveRoom = pass == 0
            for i in untypeds.indices where (freeBound[i] >= bytes.partialValue) == mayHaveRoom {
                if i < 64 {
                    guard asked & (1 << UInt64(i)) == 0 else { continue }
                    asked |= 1 << UInt64(i)
                }
                let e = Untyped.retype(untypeds[i].slot, type: type, sizeBits: sizeBits, root: root,
                                       nodeIndex: 0, nodeDepth: 0, nodeOffset: dest, numObjects: UInt64(count))
                if e == .noError {
                    // At most the rest of the untyped is left (its whole size, if it was reset).
                    let size = UInt64(1) << UInt64(untypeds[i].descriptor.sizeBits)
                    setFreeBound(i, (mayHaveRoom ? freeBound[i] : size) &- bytes.partialValue)
                    nextSlot += UInt64(count)
                    return dest
                }
                guard e == .notEnoughMemory else { return nil }
                // MR0 is the bytes left.
                setFreeBound(i, IPCBuffer.getMR(0))
            }
        }
        return nil
    }
}

extension ObjectAllocator {
    /// Moves the root task onto a larger CSpace: a new CNode of 2^radix slots (guarded to
    /// 64 bits) that takes over every cap of the boot CNode at the same index, then
    /// TCB_SetSpace on the root thread. The 4096 boot slots are too few for a root task
    /// that builds thousands of objects. Returns false (and changes nothing the allocator
    /// hands out) if a step fails.
    public mutating func enlargeCSpace(radix: UInt64) -> Bool {
        precondition(radix > UInt64(RootTask.cnodeSizeBits) && radix < 64, "the new CSpace must be larger")
        guard let new = make(.cnode, sizeBits: radix) else { return false }
        let tcb = InitialCap.initThreadTCB.rawValue, vspace = InitialCap.initThreadVSpace.rawValue
        let cnodeCap = InitialCap.initThreadCNode.rawValue
        for i in 1..<nextSlot where i != new && i != cnodeCap {
            let e: KernelError
            if i == tcb || i == vspace {
                e = CNode.copy(new, destIndex: i, destDepth: radix, srcRoot: root, srcIndex: i, srcDepth: 64, rights: .all)
            } else {
                e = CNode.move(new, destIndex: i, destDepth: radix, srcRoot: root, srcIndex: i, srcDepth: 64)
            }
            guard e == .noError || e == .failedLookup else { return false }
        }
        // The new CNode names itself at the CNode slot (minted first, while the old CNode
        // is still the root); the old CNode cap moves to the new CNode's index.
        guard CNode.mint(new, destIndex: cnodeCap, destDepth: radix, srcRoot: root, srcIndex: new, srcDepth: 64,
                         rights: .all, badge: 64 - radix) == .noError,
              CNode.move(new, destIndex: new, destDepth: radix, srcRoot: root, srcIndex: cnodeCap, srcDepth: 64) == .noError,
              TCB.setSpace(tcb, faultEP: 0, cspaceRoot: new, cspaceRootData: 64 - radix, vspaceRoot: vspace,
                           vspaceRootData: 0) == .noError else { return false }
        endSlot = UInt64(1) << radix
        return true
    }
}
