// SPDX-License-Identifier: Apache-2.0
//
// Untyped_Retype (seL4 src/object/untyped.c, objecttype.c createObject): every check in
// seL4's order, giving an operation, then watermark allocation. An untyped with no children is reset first
// (its used part zeroed top down in 256-byte chunks, a preemption point after each, the
// watermark lowered as it goes so a restarted retype continues where it stopped).

import UMKABI

/// A checked Untyped_Retype, ready to perform (seL4 invokeUntyped_Retype's arguments).
struct UntypedRetypeOperation {
    var slot: SlotRef
    var untyped: Capability
    /// The untyped has no children: it is reset (zeroed, rewound) first.
    var reset: Bool
    var newType: ObjectType
    var userSize: UInt64
    var objectSizeBits: UInt64
    /// The first new object's address (the watermark aligned to the object size).
    var firstObject: UInt64
    /// The destination CNode and its slots.
    var node: UInt64
    var nodeOffset: UInt64
    var count: UInt64
}

extension Kernel {
    /// seL4: CONFIG_RESET_CHUNK_BITS.
    static var resetChunkBits: UInt64 { 8 }

    // MARK: - Decode

    func decodeUntypedInvocation(_ inv: Invocation) throws(KernelException) -> UntypedRetypeOperation {
        guard inv.label == InvocationLabel.untypedRetype.rawValue else { throw .syscallError(.illegalOperation) }
        guard inv.length >= 6, let root = extraCap(inv, 0) else { throw .syscallError(.truncatedMessage) }
        let newTypeWord = arg(inv, 0), userSize = arg(inv, 1)
        let nodeIndex = arg(inv, 2), nodeDepth = arg(inv, 3)
        let nodeOffset = arg(inv, 4), nodeWindow = arg(inv, 5)

        guard newTypeWord < ObjectType.count, let newType = ObjectType(rawValue: newTypeWord) else {
            throw .syscallError(.invalidArgument(0))
        }
        let objectSize = userSize >= 64 ? userSize : newType.sizeBits(userSizeBits: userSize)
        if userSize >= 64 || objectSize > ObjectSize.maxUntypedBits {
            throw .syscallError(.rangeError(0, ObjectSize.maxUntypedBits))
        }
        if newType == .cnode && userSize == 0 { throw .syscallError(.invalidArgument(1)) }
        if newType == .untyped && userSize < ObjectSize.minUntypedBits { throw .syscallError(.invalidArgument(1)) }

        let nodeCap: Capability
        if nodeDepth == 0 {
            nodeCap = root.cap
        } else {
            nodeCap = try lookupTargetSlot(root.cap, nodeIndex, nodeDepth).pointee.cap
        }
        guard nodeCap.type == .cnode else {
            throw .syscallError(.failedLookup(source: false, .missingCapability(bitsLeft: nodeDepth)))
        }
        let nodeSize = UInt64(1) << nodeCap.cnodeRadix
        if nodeOffset > nodeSize - 1 { throw .syscallError(.rangeError(0, nodeSize - 1)) }
        if nodeWindow < 1 || nodeWindow > ObjectSize.retypeFanOutLimit {
            throw .syscallError(.rangeError(1, ObjectSize.retypeFanOutLimit))
        }
        if nodeWindow > nodeSize - nodeOffset { throw .syscallError(.rangeError(1, nodeSize - nodeOffset)) }
        for i in nodeOffset..<(nodeOffset + nodeWindow) {
            try ensureEmptySlot(slot(nodeCap.paddr + (i << ObjectSize.slotBits)))
        }

        let untyped = inv.cap
        let reset = !hasChildren(inv.slot)
        let freeIndex = reset ? 0 : untyped.untypedFreeIndex
        let freeBytes = (UInt64(1) << untyped.untypedSizeBits) - freeIndex
        if (freeBytes >> objectSize) < nodeWindow { throw .syscallError(.notEnoughMemory(freeBytes)) }
        if untyped.untypedIsDevice && !newType.isFrame && newType != .untyped {
            throw .syscallError(.invalidArgument(1))
        }
        let alignedFree = alignUp(untyped.paddr + freeIndex, objectSize)
        return UntypedRetypeOperation(slot: inv.slot, untyped: untyped, reset: reset, newType: newType,
                                      userSize: userSize, objectSizeBits: objectSize, firstObject: alignedFree,
                                      node: nodeCap.paddr, nodeOffset: nodeOffset, count: nodeWindow)
    }

    // MARK: - Invoke

    /// seL4: invokeUntyped_Retype — reset if childless (preemptible), then the objects.
    func invokeUntypedRetype(_ op: UntypedRetypeOperation, caller: TCBRef) throws(KernelException) {
        setThreadState(caller, .restart)
        if op.reset { try resetUntypedCap(op.slot) }
        let end = op.firstObject + (op.count << op.objectSizeBits)
        op.slot.pointee.cap.untypedFreeIndex = end - op.untyped.paddr
        for i in 0..<op.count {
            let cap = createObject(op.newType, paddr: op.firstObject + (i << op.objectSizeBits), userSize: op.userSize,
                                   isDevice: op.untyped.untypedIsDevice)
            let dest = slot(op.node + ((op.nodeOffset + i) << ObjectSize.slotBits))
            insertNewCap(parent: op.slot, dest: dest, cap: cap)
        }
    }

    /// seL4: resetUntypedCap — zero the used part of a childless untyped and rewind it.
    func resetUntypedCap(_ s: SlotRef) throws(KernelException) {
        let cap = s.pointee.cap
        let chunkBits = Kernel.resetChunkBits
        var offset = cap.untypedFreeIndex
        guard offset != 0 else { return }
        if cap.untypedIsDevice || cap.untypedSizeBits < chunkBits {
            if !cap.untypedIsDevice { physmap.zero(cap.paddr, length: UInt64(1) << cap.untypedSizeBits) }
            s.pointee.cap.untypedFreeIndex = 0
            return
        }
        offset = (offset - 1) & ~lowMask(chunkBits)
        while true {
            physmap.zero(cap.paddr + offset, length: UInt64(1) << chunkBits)
            s.pointee.cap.untypedFreeIndex = offset
            let done = offset == 0
            try preemptionPoint()
            if done { return }
            offset -= UInt64(1) << chunkBits
        }
    }

    /// seL4: createObject — initialise a new object in zeroed memory and make its cap.
    func createObject(_ type: ObjectType, paddr: UInt64, userSize: UInt64, isDevice: Bool) -> Capability {
        switch type {
        case .untyped:
            return .untyped(paddr: paddr, sizeBits: userSize, isDevice: isDevice)
        case .tcb:
            let t = tcb(paddr)
            t.pointee.state = .inactive
            t.pointee.timeSlice = KernelLayout.timeSlice
            t.pointee.domain = globals.pointee.currentDomain
            t.pointee[.rflags] = 0x202
            addToDebugList(t)
            return .thread(paddr: paddr)
        case .endpoint:
            return .endpoint(paddr: paddr)
        case .notification:
            return .notification(paddr: paddr, rights: .readWrite)
        case .cnode:
            return .cnode(paddr: paddr, radix: userSize)
        case .smallPage:
            return .frame(paddr: paddr, size: .small, isDevice: isDevice)
        case .largePage:
            return .frame(paddr: paddr, size: .large, isDevice: isDevice)
        case .hugePage:
            return .frame(paddr: paddr, size: .huge, isDevice: isDevice)
        case .pageTable:
            return .table(.pageTable, paddr: paddr)
        case .pageDirectory:
            return .table(.pageDirectory, paddr: paddr)
        case .pdpt:
            return .table(.pdpt, paddr: paddr)
        case .pml4:
            return .table(.pml4, paddr: paddr)
        }
    }

    /// Adds a TCB to the list of all TCBs (seL4 ksDebugTCBs).
    func addToDebugList(_ t: TCBRef) {
        let head = globals.pointee.debugTCBHead
        t.pointee.debugPrev = 0
        t.pointee.debugNext = head
        if head != 0 { tcb(head).pointee.debugPrev = t.paddr }
        globals.pointee.debugTCBHead = t.paddr
    }

    /// Removes a TCB from the list of all TCBs.
    func removeFromDebugList(_ t: TCBRef) {
        let prev = t.pointee.debugPrev, next = t.pointee.debugNext
        if prev != 0 { tcb(prev).pointee.debugNext = next } else if globals.pointee.debugTCBHead == t.paddr {
            globals.pointee.debugTCBHead = next
        }
        if next != 0 { tcb(next).pointee.debugPrev = prev }
        t.pointee.debugPrev = 0
        t.pointee.debugNext = 0
    }

    /// Every TCB in RAM, newest first.
    public var allThreads: [TCBRef] {
        var result: [TCBRef] = []
        var p = globals.pointee.debugTCBHead
        while p != 0 { result.append(tcb(p)); p = tcb(p).pointee.debugNext }
        return result
    }
}

@inline(__always) func alignUp(_ value: UInt64, _ bits: UInt64) -> UInt64 {
    (value + lowMask(bits)) & ~lowMask(bits)
}
