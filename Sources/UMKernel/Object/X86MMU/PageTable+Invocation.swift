// SPDX-License-Identifier: Apache-2.0
//
// PDPT, PageDirectory and PageTable methods (seL4 decodeX86PageTableInvocation and its
// PD and PDPT siblings): Map hooks the table into a VSpace at the entry of the level
// above; Unmap (final cap only) unhooks it, drops the host mappings of the frames under
// it and clears it.

import UMKABI

/// A checked paging-table method, ready to perform.
enum PagingTableOperation {
    /// seL4: performX86PageTableInvocationMap — write `entry` and record the mapping.
    case map(slot: SlotRef, cap: Capability, entry: UInt64, asid: UInt64, vaddr: UInt64)
    /// seL4: performX86PageTableInvocationUnmap.
    case unmap(slot: SlotRef, cap: Capability)
}

extension Kernel {
    // MARK: - Decode

    /// PDPT, PageDirectory and PageTable Map/Unmap.
    func decodePagingTableInvocation(_ inv: Invocation) throws(KernelException) -> PagingTableOperation {
        let cap = inv.cap
        let (mapLabel, unmapLabel, level): (InvocationLabel, InvocationLabel, UInt64) = switch cap.type {
        case .pdpt: (.x86PDPTMap, .x86PDPTUnmap, PagingLevel.pml4)
        case .pageDirectory: (.x86PageDirectoryMap, .x86PageDirectoryUnmap, PagingLevel.pdpt)
        default: (.x86PageTableMap, .x86PageTableUnmap, PagingLevel.pd)
        }
        if inv.label == unmapLabel.rawValue {
            guard isFinalCapability(inv.slot) else { throw .syscallError(.revokeFirst) }
            return .unmap(slot: inv.slot, cap: cap)
        }
        guard inv.label == mapLabel.rawValue else { throw .syscallError(.illegalOperation) }
        guard inv.length >= 2, let vspaceCap = extraCap(inv, 0) else { throw .syscallError(.truncatedMessage) }
        guard !cap.isMapped else { throw .syscallError(.invalidCapability(0)) }
        let requested = arg(inv, 0), vaddr = requested & ~lowMask(level)
        let (pml4, asid) = try checkedVSpace(vspaceCap.cap)
        // seL4 refuses a table at or above USER_TOP; here, one for an address outside the
        // VSpace's range (the same below USER_TOP; the address asked for, as a table's
        // aligned base may lie below a window that starts inside what it covers).
        guard hal.addressRange(asid: asid).contains(requested) else { throw .syscallError(.invalidArgument(0)) }
        try checkASIDMapsTo(asid, pml4)
        let entry: UInt64 = switch cap.type {
        case .pdpt: entrySlot(pml4, vaddr, PagingLevel.pml4)
        case .pageDirectory: try entryOrThrow(lookupPDPTSlot(pml4, vaddr))
        default: try entryOrThrow(lookupPDSlot(pml4, vaddr))
        }
        guard physmap.loadWord(entry) & PTE.present == 0 else { throw .syscallError(.deleteFirst) }
        return .map(slot: inv.slot, cap: cap, entry: entry, asid: asid, vaddr: vaddr)
    }

    // MARK: - Invoke

    func invokePagingTable(_ op: PagingTableOperation, caller: TCBRef) {
        setThreadState(caller, .restart)
        switch op {
        case .map(let slot, let cap, let entry, let asid, let vaddr):
            physmap.storeWord(entry, PTE.table(cap.paddr))
            var c = cap
            c.setMapping(asid: asid, vaddr: vaddr)
            slot.pointee.cap = c
        case .unmap(let slot, let cap):
            if cap.isMapped {
                unmapTable(cap)
                physmap.zero(cap.paddr, length: 4096)
            }
            var c = cap
            c.setMapping(asid: 0, vaddr: 0)
            slot.pointee.cap = c
        }
    }

    /// seL4: unmapPageTable / unmapPageDirectory / unmapPDPT — unhook a table from the
    /// VSpace it was mapped in, if it is still hooked there, and drop its frames' host mappings.
    func unmapTable(_ cap: Capability) {
        let asid = cap.mappedASID, vaddr = cap.mappedAddress
        guard case .success(let pml4) = findVSpace(asid: asid) else { return }
        let parentSlot: Result<UInt64, LookupFailure>
        let level: UInt64
        switch cap.type {
        case .pdpt:
            parentSlot = .success(entrySlot(pml4, vaddr, PagingLevel.pml4)); level = PagingLevel.pdpt
        case .pageDirectory:
            parentSlot = lookupPDPTSlot(pml4, vaddr); level = PagingLevel.pd
        default:
            parentSlot = lookupPDSlot(pml4, vaddr); level = PagingLevel.pt
        }
        guard case .success(let s) = parentSlot else { return }
        let e = physmap.loadWord(s)
        guard e & PTE.present != 0, e & PTE.pageSize == 0, e & PTE.addressMask == cap.paddr else { return }
        unmapFramesUnder(table: cap.paddr, level: level, base: vaddr & ~lowMask(level + 9), asid: asid)
        physmap.storeWord(s, 0)
    }
}
