// SPDX-License-Identifier: Apache-2.0
//
// CSpace addressing (seL4 src/kernel/cspace.c). A CPtr is resolved through CNodes by
// guard and radix. Syscall lookups take all 64 bits from the thread's CSpace root and stop
// at the first non-CNode cap, ignoring leftover bits; CNode-method lookups must consume
// exactly `depth` bits.

import UMKABI

/// A resolved slot and the CPtr bits not consumed to reach it.
struct ResolvedSlot {
    package var slot: SlotRef
    var bitsRemaining: UInt64
}

@inline(__always) func lowMask(_ bits: UInt64) -> UInt64 { bits >= 64 ? ~0 : (1 << bits) - 1 }

extension Kernel {
    /// seL4: resolveAddressBits.
    func resolveAddressBits(_ nodeCap: Capability, _ capptr: UInt64, _ depth: UInt64) -> Result<ResolvedSlot, LookupFailure> {
        var nodeCap = nodeCap
        var nBits = depth
        guard nodeCap.hasType(.cnode) else { return .failure(.invalidRoot) }
        while true {
            let radixBits = nodeCap.cnodeRadix
            let guardBits = nodeCap.cnodeGuardSize
            let levelBits = radixBits + guardBits
            // A CNode cap with neither guard nor radix cannot consume bits: seL4 forbids
            // radix 0 CNodes at retype, so levelBits is at least 1 here.
            precondition(levelBits != 0, "CNode cap with zero level bits")
            let capGuard = nodeCap.cnodeGuard
            let guardValue = guardBits > nBits ? 0 : (capptr >> (nBits - guardBits)) & lowMask(guardBits)
            if guardBits > nBits || guardValue != capGuard {
                return .failure(.guardMismatch(bitsLeft: nBits, guardFound: capGuard, guardSize: guardBits))
            }
            if levelBits > nBits {
                return .failure(.depthMismatch(bitsLeft: nBits, bitsFound: levelBits))
            }
            let offset = (capptr >> (nBits - levelBits)) & lowMask(radixBits)
            let s = slot(nodeCap.paddr + (offset << ObjectSize.slotBits))
            if nBits == levelBits {
                return .success(ResolvedSlot(slot: s, bitsRemaining: 0))
            }
            nBits -= levelBits
            nodeCap = s.pointee.cap
            if !nodeCap.hasType(.cnode) {
                return .success(ResolvedSlot(slot: s, bitsRemaining: nBits))
            }
        }
    }

    /// seL4: lookupSlot — a syscall lookup of `cptr` in `thread`'s CSpace (64 bits).
    func lookupSlot(_ thread: TCBRef, _ cptr: UInt64) -> Result<SlotRef, LookupFailure> {
        let root = thread.slot(.cTable).pointee.cap
        return resolveAddressBits(root, cptr, 64).map(\.slot)
    }

    /// seL4: lookupCap — the cap a syscall names (an empty slot yields the null cap).
    package func lookupCap(_ thread: TCBRef, _ cptr: UInt64) -> Result<Capability, LookupFailure> {
        lookupSlot(thread, cptr).map { $0.pointee.cap }
    }

    /// seL4: lookupSlotForCNodeOp — exactly `depth` bits from `root`; errors are FailedLookup.
    func lookupSlotForCNodeOp(isSource: Bool, _ root: Capability, _ capptr: UInt64, _ depth: UInt64) throws(KernelException) -> SlotRef {
        guard root.type == .cnode else {
            throw .syscallError(.failedLookup(source: isSource, .invalidRoot))
        }
        guard depth >= 1 && depth <= 64 else { throw .syscallError(.rangeError(1, 64)) }
        switch resolveAddressBits(root, capptr, depth) {
        case .failure(let f):
            throw .syscallError(.failedLookup(source: isSource, f))
        case .success(let r):
            if r.bitsRemaining != 0 {
                throw .syscallError(.failedLookup(source: isSource, .depthMismatch(bitsLeft: r.bitsRemaining, bitsFound: 0)))
            }
            return r.slot
        }
    }

    /// seL4: lookupTargetSlot (a destination).
    func lookupTargetSlot(_ root: Capability, _ capptr: UInt64, _ depth: UInt64) throws(KernelException) -> SlotRef {
        try lookupSlotForCNodeOp(isSource: false, root, capptr, depth)
    }

    /// seL4: lookupSourceSlot.
    func lookupSourceSlot(_ root: Capability, _ capptr: UInt64, _ depth: UInt64) throws(KernelException) -> SlotRef {
        try lookupSlotForCNodeOp(isSource: true, root, capptr, depth)
    }

    /// seL4: lookupPivotSlot (reported as a source).
    func lookupPivotSlot(_ root: Capability, _ capptr: UInt64, _ depth: UInt64) throws(KernelException) -> SlotRef {
        try lookupSlotForCNodeOp(isSource: true, root, capptr, depth)
    }
}
