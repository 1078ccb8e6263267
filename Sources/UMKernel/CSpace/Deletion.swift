// SPDX-License-Identifier: Apache-2.0
//
// Deleting and revoking capabilities (seL4 src/object/cnode.c, objecttype.c). Deleting the
// final cap to an object finalises it. CNodes and TCBs hold slots of their own, so their
// final cap becomes a Zombie that is reduced one slot at a time, with a preemption point
// after each step: a long delete or revoke stops when an interrupt is pending and the
// thread restarts it later, keeping the progress made (nothing is undone).

import UMKABI

/// What finalising a cap leaves behind (seL4 finaliseCap_ret_t).
struct FinaliseResult {
    /// Null, or a Zombie still to be reduced.
    var remainder: Capability
    /// An IRQ handler cap whose IRQ is freed once the slot is emptied.
    var cleanup: Capability
}

extension Kernel {
    /// seL4: cteDelete.
    func cteDelete(_ s: SlotRef, exposed: Bool) throws(KernelException) {
        let (success, cleanup) = try finaliseSlot(s, immediate: exposed)
        if exposed || success { emptySlot(s, cleanup: cleanup) }
    }

    /// seL4: cteDeleteOne — delete a cap that cannot need a Zombie (reply, EP, ...).
    func cteDeleteOne(_ s: SlotRef) {
        let cap = s.pointee.cap
        guard !cap.isNull else { return }
        let final = isFinalCapability(s)
        let result = finaliseCap(cap, final: final, exposed: true)
        precondition(capRemovable(result.remainder, s) && result.cleanup.isNull, "cteDeleteOne: cap should be removable")
        emptySlot(s, cleanup: .null)
    }

    /// seL4: cteRevoke — delete every CDT descendant of `s`, never `s` itself.
    package func cteRevoke(_ s: SlotRef) throws(KernelException) {
        while s.pointee.next != 0, isMDBParentOf(s, slot(s.pointee.next)) {
            try cteDelete(slot(s.pointee.next), exposed: true)
            try preemptionPoint()
        }
    }

    func capRemovable(_ cap: Capability, _ s: SlotRef) -> Bool {
        switch cap.type {
        case .null: return true
        case .zombie:
            let n = cap.zombieRemaining
            return n == 0 || (n == 1 && s.paddr == cap.paddr)
        default:
            fatalError("finaliseCap should only return Zombie or NullCap")
        }
    }

    func capCyclicZombie(_ cap: Capability, _ s: SlotRef) -> Bool {
        cap.type == .zombie && cap.paddr == s.paddr
    }

    /// seL4: finaliseSlot. Returns whether the slot may be emptied and the cleanup cap.
    func finaliseSlot(_ s: SlotRef, immediate: Bool) throws(KernelException) -> (Bool, Capability) {
        while !s.pointee.cap.isNull {
            let final = isFinalCapability(s)
            let result = finaliseCap(s.pointee.cap, final: final, exposed: false)
            if capRemovable(result.remainder, s) { return (true, result.cleanup) }
            s.pointee.cap = result.remainder
            if !immediate && capCyclicZombie(result.remainder, s) { return (false, result.cleanup) }
            try reduceZombie(s, immediate: immediate)
            try preemptionPoint()
        }
        return (true, .null)
    }

    /// seL4: reduceZombie — delete the zombie's last slot (immediate), or park the zombie in
    /// its object's first slot so the caller's slot can be emptied without recursion.
    func reduceZombie(_ s: SlotRef, immediate: Bool) throws(KernelException) {
        let z = s.pointee.cap
        let ptr = z.paddr
        let n = z.zombieRemaining
        precondition(n > 0, "reduceZombie: expected unremovable zombie")
        if immediate {
            let endSlot = slot(ptr + ((n - 1) << ObjectSize.slotBits))
            try cteDelete(endSlot, exposed: false)
            let now = s.pointee.cap
            switch now.type {
            case .null:
                break
            case .zombie:
                if now.paddr == ptr && now.zombieRemaining == n && now.zombieType == z.zombieType {
                    s.pointee.cap.zombieRemaining = n - 1
                } else {
                    precondition(now.paddr == s.paddr && ptr != s.paddr, "Expected new Zombie to be self-referential")
                }
            default:
                fatalError("Expected recursion to result in Zombie")
            }
        } else {
            precondition(ptr != s.paddr, "Cyclic zombie passed to unexposed reduceZombie")
            capSwapForDelete(slot(ptr), s)
        }
    }

    /// seL4: finaliseCap — destroy what the final cap to an object owns.
    func finaliseCap(_ cap: Capability, final: Bool, exposed: Bool) -> FinaliseResult {
        switch cap.type {
        case .frame, .pageTable, .pageDirectory, .pdpt, .pml4, .asidPool, .asidControl, .ioPort, .ioPortControl:
            finaliseArchCap(cap, final: final)
            return FinaliseResult(remainder: .null, cleanup: .null)
        case .endpoint:
            if final { cancelAllIPC(endpoint(cap.paddr)) }
            return FinaliseResult(remainder: .null, cleanup: .null)
        case .notification:
            if final {
                let n = notification(cap.paddr)
                unbindMaybeNotification(n)
                cancelAllSignals(n)
            }
            return FinaliseResult(remainder: .null, cleanup: .null)
        case .reply, .null, .domain, .irqControl:
            return FinaliseResult(remainder: .null, cleanup: .null)
        default:
            break
        }
        precondition(!exposed, "finaliseCap: failed to finalise immediately")
        switch cap.type {
        case .cnode:
            if final {
                return FinaliseResult(
                    remainder: .zombie(paddr: cap.paddr, zombieType: cap.cnodeRadix, remaining: 1 << cap.cnodeRadix),
                    cleanup: .null)
            }
        case .thread:
            if final {
                let t = tcb(cap.paddr)
                unbindNotification(t)
                suspend(t)
                removeFromDebugList(t)
                return FinaliseResult(
                    remainder: .zombie(paddr: t.paddr, zombieType: Capability.zombieTCB, remaining: TCBSlot.count),
                    cleanup: .null)
            }
        case .zombie:
            return FinaliseResult(remainder: cap, cleanup: .null)
        case .irqHandler:
            if final {
                deletingIRQHandler(cap.irq)
                return FinaliseResult(remainder: .null, cleanup: cap)
            }
        default:
            break
        }
        return FinaliseResult(remainder: .null, cleanup: .null)
    }
}
