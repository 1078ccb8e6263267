// SPDX-License-Identifier: Apache-2.0
//
// The capability derivation tree (seL4 src/object/cnode.c, src/object/objecttype.c):
// which caps name the same object, which cap is a parent of which, how a cap is derived
// (rights masked, badge set). The slot operations that change the tree (insert, move,
// swap, empty) are Object/CNode.swift's.

import UMKABI

extension Kernel {
    // MARK: - Identity

    /// seL4: sameRegionAs — `b` names memory inside what `a` names (or the same object).
    func sameRegionAs(_ a: Capability, _ b: Capability) -> Bool {
        switch a.type {
        case .untyped:
            guard b.isPhysical else { return false }
            let aBase = a.paddr, aTop = aBase + lowMask(a.untypedSizeBits)
            let bBase = b.paddr, bTop = bBase + lowMask(b.objectSizeBits)
            return aBase <= bBase && bTop <= aTop && bBase <= bTop
        case .endpoint, .notification, .thread, .pml4, .asidPool:
            return b.type == a.type && a.paddr == b.paddr
        case .pageTable, .pageDirectory, .pdpt:
            return b.type == a.type && a.paddr == b.paddr
        case .cnode:
            return b.type == .cnode && a.paddr == b.paddr && a.cnodeRadix == b.cnodeRadix
        case .reply:
            return b.type == .reply && a.paddr == b.paddr
        case .domain: return b.type == .domain
        case .irqControl: return b.type == .irqControl || b.type == .irqHandler
        case .irqHandler: return b.type == .irqHandler && a.irq == b.irq
        case .asidControl: return b.type == .asidControl
        case .ioPortControl: return b.type == .ioPortControl || b.type == .ioPort
        case .ioPort:
            return b.type == .ioPort && a.ioPortFirst == b.ioPortFirst && a.ioPortLast == b.ioPortLast
        case .frame:
            guard b.type == .frame else { return false }
            let aBot = a.paddr, aTop = aBot + lowMask(a.frameSize.bits)
            let bBot = b.paddr, bTop = bBot + lowMask(b.frameSize.bits)
            return aBot <= bBot && aTop >= bTop && bBot <= bTop
        case .null, .zombie:
            return false
        }
    }

    /// seL4: sameObjectAs — `a` and `b` name the very same object.
    func sameObjectAs(_ a: Capability, _ b: Capability) -> Bool {
        if a.type == .untyped { return false }
        if a.type == .irqControl && b.type == .irqHandler { return false }
        if a.type == .ioPortControl && b.type == .ioPort { return false }
        if a.type == .frame && b.type == .frame {
            return a.paddr == b.paddr && a.frameSize == b.frameSize && a.frameIsDevice == b.frameIsDevice
        }
        return sameRegionAs(a, b)
    }

    /// seL4: isFinalCapability — no CDT neighbour names the same object.
    func isFinalCapability(_ s: SlotRef) -> Bool {
        let cte = s.pointee
        if cte.prev != 0, sameObjectAs(slot(cte.prev).pointee.cap, cte.cap) { return false }
        if cte.next != 0 { return !sameObjectAs(cte.cap, slot(cte.next).pointee.cap) }
        return true
    }

    /// seL4: isMDBParentOf.
    func isMDBParentOf(_ a: SlotRef, _ b: SlotRef) -> Bool {
        let ca = a.pointee, cb = b.pointee
        guard ca.revocable, sameRegionAs(ca.cap, cb.cap) else { return false }
        switch ca.cap.type {
        case .endpoint, .notification:
            let badge = ca.cap.badge
            if badge == 0 { return true }
            return badge == cb.cap.badge && !cb.firstBadged
        default:
            return true
        }
    }

    /// seL4: ensureNoChildren — RevokeFirst if the slot has CDT children.
    func ensureNoChildren(_ s: SlotRef) throws(KernelException) {
        if hasChildren(s) { throw .syscallError(.revokeFirst) }
    }

    /// True if the cap in `s` has a CDT child.
    func hasChildren(_ s: SlotRef) -> Bool {
        let next = s.pointee.next
        return next != 0 && isMDBParentOf(s, slot(next))
    }

    /// seL4: ensureEmptySlot — DeleteFirst if the slot holds a cap.
    func ensureEmptySlot(_ s: SlotRef) throws(KernelException) {
        if !s.pointee.cap.isNull { throw .syscallError(.deleteFirst) }
    }

    // MARK: - Deriving

    /// seL4: isCapRevocable — a derived cap that is an original (may have children).
    func isCapRevocable(derived: Capability, source: Capability) -> Bool {
        switch derived.type {
        case .endpoint, .notification: return derived.badge != source.badge
        case .irqHandler: return source.type == .irqControl
        case .untyped: return true
        default: return false
        }
    }

    /// seL4: deriveCap — the cap a copy of `cap` (in `s`) would get; null if it cannot be copied.
    func deriveCap(_ s: SlotRef, _ cap: Capability) throws(KernelException) -> Capability {
        switch cap.type {
        case .zombie, .irqControl, .reply, .ioPortControl:
            return .null
        case .untyped:
            try ensureNoChildren(s)
            return cap
        case .pageTable, .pageDirectory, .pdpt, .pml4:
            guard cap.isMapped else { throw .syscallError(.illegalOperation) }
            return cap
        case .frame:
            var c = cap
            c.setMapping(asid: 0, vaddr: 0)
            return c
        default:
            return cap
        }
    }

    /// seL4: maskCapRights — rights can only be removed.
    func maskCapRights(_ rights: CapRights, _ cap: Capability) -> Capability {
        var c = cap
        switch cap.type {
        case .endpoint:
            c.rights = cap.rights.intersection(rights)
        case .notification:
            c.rights = cap.rights.intersection(rights).intersection([.read, .write])
        case .reply:
            c = .reply(tcb: cap.paddr, master: cap.replyMaster, canGrant: cap.replyCanGrant && rights.contains(.grant))
        case .frame:
            c.frameVMRights = cap.frameVMRights.masked(by: rights)
        default:
            break
        }
        return c
    }

    /// seL4: updateCapData — set a badge (Mint) or a CNode guard (Mint, Mutate).
    func updateCapData(preserve: Bool, _ data: UInt64, _ cap: Capability) -> Capability {
        var c = cap
        switch cap.type {
        case .endpoint, .notification:
            if !preserve && cap.badge == 0 {
                c.badge = data
                return c
            }
            return .null
        case .cnode:
            let guardSize = data & 0x3F
            let guardValue = data >> 6
            if guardSize + cap.cnodeRadix > 64 { return .null }
            c.cnodeGuardSize = guardSize
            c.cnodeGuard = guardValue & lowMask(guardSize)
            return c
        default:
            return cap
        }
    }
}
