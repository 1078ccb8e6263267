// SPDX-License-Identifier: Apache-2.0
//
// Frame methods (seL4 decodeX86FrameInvocation): Page_Map maps a 4 KiB, 2 MiB or 1 GiB
// frame into a VSpace (or, mapped already, remaps it there with new rights), Unmap, and
// GetAddress. Each frame cap holds its own mapping; the machine mirrors every change.

import UMKABI

/// A checked frame method, ready to perform.
enum FrameOperation {
    /// seL4: performX86PageInvocationMapPTE/PDE/PDPTE — write `entry`, record the mapping.
    case map(slot: SlotRef, cap: Capability, entry: UInt64, rights: VMRights, asid: UInt64, vaddr: UInt64)
    /// seL4: performX86PageInvocationUnmap.
    case unmap(slot: SlotRef, cap: Capability)
    /// seL4: performPageGetAddress.
    case getAddress(paddr: UInt64)
}

extension Kernel {
    // MARK: - Decode

    /// Page Map / Unmap / GetAddress.
    func decodeFrameInvocation(_ inv: Invocation) throws(KernelException) -> FrameOperation {
        let cap = inv.cap
        switch InvocationLabel(rawValue: inv.label) {
        case .x86PageMap:
            guard inv.length >= 3, let vspaceCap = extraCap(inv, 0) else { throw .syscallError(.truncatedMessage) }
            let vaddr = arg(inv, 0), rightsMask = arg(inv, 1)
            let sizeBits = cap.frameSize.bits
            let (pml4, asid) = try checkedVSpace(vspaceCap.cap)
            if cap.isMapped {
                guard cap.mappedASID == asid else { throw .syscallError(.invalidCapability(1)) }
                guard cap.mappedAddress == vaddr else { throw .syscallError(.invalidArgument(0)) }
            } else {
                // seL4 refuses a frame reaching above USER_TOP; here, one leaving the
                // VSpace's range (on Linux its host window, which lies below USER_TOP).
                let (top, overflow) = vaddr.addingReportingOverflow(lowMask(sizeBits))
                let range = hal.addressRange(asid: asid)
                guard !overflow, vaddr >= range.lowerBound, top < range.upperBound else {
                    throw .syscallError(.invalidArgument(0))
                }
            }
            try checkASIDMapsTo(asid, pml4)
            let rights = cap.frameVMRights.masked(by: CapRights(rawValue: rightsMask))
            guard vaddr & lowMask(sizeBits) == 0 else { throw .syscallError(.alignmentError) }
            let entry: UInt64
            switch cap.frameSize {
            case .small:
                entry = try entryOrThrow(lookupPTSlot(pml4, vaddr))
            case .large:
                entry = try entryOrThrow(lookupPDSlot(pml4, vaddr))
                let e = physmap.loadWord(entry)
                if e & PTE.present != 0 && e & PTE.pageSize == 0 { throw .syscallError(.deleteFirst) }
            case .huge:
                entry = try entryOrThrow(lookupPDPTSlot(pml4, vaddr))
                let e = physmap.loadWord(entry)
                if e & PTE.present != 0 && e & PTE.pageSize == 0 { throw .syscallError(.deleteFirst) }
            }
            return .map(slot: inv.slot, cap: cap, entry: entry, rights: rights, asid: asid, vaddr: vaddr)
        case .x86PageUnmap:
            return .unmap(slot: inv.slot, cap: cap)
        case .x86PageGetAddress:
            return .getAddress(paddr: cap.paddr)
        default:
            throw .syscallError(.illegalOperation)
        }
    }

    // MARK: - Invoke

    func invokeFrame(_ op: FrameOperation, _ inv: Invocation) {
        setThreadState(inv.thread, .restart)
        switch op {
        case .map(let slot, let cap, let entry, let rights, let asid, let vaddr):
            physmap.storeWord(entry, PTE.frame(cap.paddr, rights, large: cap.frameSize != .small))
            var c = cap
            c.setMapping(asid: asid, vaddr: vaddr)
            slot.pointee.cap = c
            hal.mapFrame(asid: asid, vaddr: vaddr, paddr: cap.paddr, sizeBits: cap.frameSize.bits, rights: rights)
        case .unmap(let slot, let cap):
            if cap.isMapped { unmapPage(cap) }
            var c = cap
            c.setMapping(asid: 0, vaddr: 0)
            slot.pointee.cap = c
        case .getAddress(let paddr):
            if inv.isCall { replyFromKernelSuccess(inv.thread, [paddr]) }
            setThreadState(inv.thread, .running)
        }
    }

    /// seL4: unmapPage — clear the entry if it still maps this frame there.
    func unmapPage(_ cap: Capability) {
        let asid = cap.mappedASID, vaddr = cap.mappedAddress
        guard case .success(let pml4) = findVSpace(asid: asid) else { return }
        let found: Result<UInt64, LookupFailure> = switch cap.frameSize {
        case .small: lookupPTSlot(pml4, vaddr)
        case .large: lookupPDSlot(pml4, vaddr)
        case .huge: lookupPDPTSlot(pml4, vaddr)
        }
        guard case .success(let s) = found else { return }
        let e = physmap.loadWord(s)
        let isLarge = cap.frameSize != .small
        guard e & PTE.present != 0, (e & PTE.pageSize != 0) == isLarge, e & PTE.addressMask == cap.paddr else { return }
        physmap.storeWord(s, 0)
        hal.unmapFrame(asid: asid, vaddr: vaddr, sizeBits: cap.frameSize.bits)
    }
}
