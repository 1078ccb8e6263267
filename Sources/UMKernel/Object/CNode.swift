// SPDX-License-Identifier: Apache-2.0
//
// The CNode's slot operations (seL4 src/object/cnode.c): inserting a cap as a child in
// the capability derivation tree, moving a cap with its place in the tree, swapping two,
// a new object's original cap, emptying a slot. Every change to the tree's links goes
// through this file; CNode+Invocation.swift decodes the methods that use them, and
// CSpace/Deletion.swift deletes and revokes through them.

import UMKABI

extension Kernel {
    /// seL4: cteInsert — put `newCap` in the empty `dest` as a CDT child of `src`.
    func cteInsert(_ newCap: Capability, src: SlotRef, dest: SlotRef) {
        let srcCap = src.pointee.cap
        let revocable = isCapRevocable(derived: newCap, source: srcCap)
        var srcCapUpdated = srcCap
        // Copying a childless untyped hands its whole range to the copy: mark the
        // source full so it cannot retype into memory the copy now owns.
        if newCap.type == .untyped && srcCap.type == .untyped
            && newCap.paddr == srcCap.paddr && newCap.untypedSizeBits == srcCap.untypedSizeBits {
            srcCapUpdated.untypedFreeIndex = 1 << srcCap.untypedSizeBits
        }
        link(newCap, into: dest, after: src, revocable: revocable)
        src.pointee.cap = srcCapUpdated
    }

    /// seL4: insertNewCap — a new object's original cap, child of `parent` (retype).
    func insertNewCap(parent: SlotRef, dest: SlotRef, cap: Capability) {
        link(cap, into: dest, after: parent, revocable: true)
    }

    /// Puts `cap` in the empty `dest`, linked into the tree right after `parent` (its
    /// first child); a revocable cap starts a badge's first use (seL4's mdb flags).
    private func link(_ cap: Capability, into dest: SlotRef, after parent: SlotRef, revocable: Bool) {
        let next = parent.pointee.next
        var d = Slot.empty
        d.cap = cap
        d.prev = parent.paddr
        d.next = next
        d.revocable = revocable
        d.firstBadged = revocable
        dest.pointee = d
        parent.pointee.next = dest.paddr
        if next != 0 { slot(next).pointee.prev = dest.paddr }
    }

    /// seL4: cteMove — move a cap and its CDT position to the empty `dest`.
    func cteMove(_ newCap: Capability, src: SlotRef, dest: SlotRef) {
        var d = src.pointee
        d.cap = newCap
        dest.pointee = d
        src.pointee = .empty
        if d.prev != 0 { slot(d.prev).pointee.next = dest.paddr }
        if d.next != 0 { slot(d.next).pointee.prev = dest.paddr }
    }

    /// seL4: cteSwap — exchange two caps with their CDT positions. The neighbour updates
    /// are done in seL4's order, which also handles two adjacent slots.
    func cteSwap(_ cap1: Capability, _ slot1: SlotRef, _ cap2: Capability, _ slot2: SlotRef) {
        slot1.pointee.cap = cap2
        slot2.pointee.cap = cap1
        let mdb1 = (prev: slot1.pointee.prev, next: slot1.pointee.nextAndFlags)
        if mdb1.prev != 0 { slot(mdb1.prev).pointee.next = slot2.paddr }
        if mdb1.next & ~0x1F != 0 { slot(mdb1.next & ~0x1F).pointee.prev = slot2.paddr }
        let mdb2 = (prev: slot2.pointee.prev, next: slot2.pointee.nextAndFlags)
        slot1.pointee.prev = mdb2.prev
        slot1.pointee.nextAndFlags = mdb2.next
        slot2.pointee.prev = mdb1.prev
        slot2.pointee.nextAndFlags = mdb1.next
        if mdb2.prev != 0 { slot(mdb2.prev).pointee.next = slot1.paddr }
        if mdb2.next & ~0x1F != 0 { slot(mdb2.next & ~0x1F).pointee.prev = slot1.paddr }
    }

    /// seL4: capSwapForDelete.
    func capSwapForDelete(_ slot1: SlotRef, _ slot2: SlotRef) {
        if slot1 == slot2 { return }
        cteSwap(slot1.pointee.cap, slot1, slot2.pointee.cap, slot2)
    }

    /// seL4: emptySlot — unlink a slot from the CDT and clear it; then finish an IRQ handler.
    func emptySlot(_ s: SlotRef, cleanup: Capability) {
        let cte = s.pointee
        guard !cte.cap.isNull else { return }
        if cte.prev != 0 { slot(cte.prev).pointee.next = cte.next }
        if cte.next != 0 {
            let n = slot(cte.next)
            n.pointee.prev = cte.prev
            n.pointee.firstBadged = n.pointee.firstBadged || cte.firstBadged
        }
        s.pointee = .empty
        if cleanup.type == .irqHandler { deletedIRQHandler(cleanup.irq) }
    }
}
