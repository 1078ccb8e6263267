// SPDX-License-Identifier: Apache-2.0
//
// ASIDs (seL4 decodeX86ASIDControlInvocation, decodeX86ASIDPoolInvocation): ASIDControl
// makes a pool of 512 ASIDs from a 4 KiB untyped (8 pools in all); ASIDPool_Assign gives
// a VSpace the pool's first free ASID, and the machine a window for it (DeleteFirst, as
// for a full pool, when the machine has no address space left to give).

import UMKABI

/// A checked ASIDControl method (MakePool), ready to perform.
struct ASIDControlOperation {
    var untypedSlot: SlotRef
    var untyped: Capability
    var dest: SlotRef
    /// The index of the free pool in the ASID table.
    var pool: Int
}

/// A checked ASIDPool method (Assign), ready to perform.
struct ASIDPoolOperation {
    var vspaceSlot: SlotRef
    var vspace: UInt64
    var pool: UInt64
    var asid: UInt64
}

extension Kernel {
    // MARK: - Decode

    func decodeASIDControlInvocation(_ inv: Invocation) throws(KernelException) -> ASIDControlOperation {
        guard inv.label == InvocationLabel.x86ASIDControlMakePool.rawValue else { throw .syscallError(.illegalOperation) }
        guard inv.length >= 2, let untyped = extraCap(inv, 0), let root = extraCap(inv, 1) else {
            throw .syscallError(.truncatedMessage)
        }
        let index = arg(inv, 0), depth = arg(inv, 1)
        var pool = 0
        while pool < VSpaceLayout.asidPoolCount && globals.pointee.asidTable[pool] != 0 { pool += 1 }
        guard pool < VSpaceLayout.asidPoolCount else { throw .syscallError(.deleteFirst) }
        let u = untyped.cap
        guard u.type == .untyped, u.untypedSizeBits == ObjectSize.asidPoolBits, !u.untypedIsDevice else {
            throw .syscallError(.invalidCapability(1))
        }
        try ensureNoChildren(untyped.slot)
        let dest = try lookupTargetSlot(root.cap, index, depth)
        try ensureEmptySlot(dest)
        return ASIDControlOperation(untypedSlot: untyped.slot, untyped: u, dest: dest, pool: pool)
    }

    func decodeASIDPoolInvocation(_ inv: Invocation) throws(KernelException) -> ASIDPoolOperation {
        guard inv.label == InvocationLabel.x86ASIDPoolAssign.rawValue else { throw .syscallError(.illegalOperation) }
        guard let vspace = extraCap(inv, 0) else { throw .syscallError(.truncatedMessage) }
        guard vspace.cap.type == .pml4, !vspace.cap.isMapped else { throw .syscallError(.invalidCapability(1)) }
        let base = inv.cap.asidBase
        let pool = globals.pointee.asidTable[Int((base >> 9) & 7)]
        guard pool != 0 else { throw .syscallError(.failedLookup(source: false, .invalidRoot)) }
        guard pool == inv.cap.paddr else { throw .syscallError(.invalidCapability(0)) }
        var i: UInt64 = 0
        while i < 512 && (base + i == 0 || physmap.loadWord(pool + i * 8) != 0) { i += 1 }
        guard i < 512 else { throw .syscallError(.deleteFirst) }
        // The machine has no address space left to give (umk's limit, below seL4's): no
        // ASID can be used, as when the pool is full.
        guard hal.canTakeAddressSpace else { throw .syscallError(.deleteFirst) }
        return ASIDPoolOperation(vspaceSlot: vspace.slot, vspace: vspace.cap.paddr, pool: pool, asid: base + i)
    }

    // MARK: - Invoke

    /// seL4: performASIDControlInvocation — the untyped becomes the pool.
    func invokeASIDControl(_ op: ASIDControlOperation, caller: TCBRef) {
        setThreadState(caller, .restart)
        let u = op.untyped
        op.untypedSlot.pointee.cap.untypedFreeIndex = UInt64(1) << u.untypedSizeBits
        physmap.zero(u.paddr, length: UInt64(1) << ObjectSize.asidPoolBits)
        cteInsert(.asidPool(paddr: u.paddr, asidBase: UInt64(op.pool) << 9), src: op.untypedSlot, dest: op.dest)
        globals.pointee.asidTable[op.pool] = u.paddr
    }

    /// seL4: performASIDPoolInvocation.
    func invokeASIDPool(_ op: ASIDPoolOperation, caller: TCBRef) {
        setThreadState(caller, .restart)
        physmap.storeWord(op.pool + (op.asid & 511) * 8, op.vspace)
        op.vspaceSlot.pointee.cap.setMapping(asid: op.asid, vaddr: 0)
        hal.assignASID(op.asid, vspace: op.vspace)
    }
}
