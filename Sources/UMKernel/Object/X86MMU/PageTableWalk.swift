// SPDX-License-Identifier: Apache-2.0
//
// Walking a VSpace's page tables (seL4 src/arch/x86/64/kernel/vspace.c): the ASID table
// to a VSpace, a virtual address to the entry of each level, and the frames under a
// table (what the machine must unmap when the table goes).

import UMKABI

extension Kernel {
    /// The physical address of the entry for `vaddr` in `table`, at the level whose index
    /// starts at bit `level`.
    @inline(__always) func entrySlot(_ table: UInt64, _ vaddr: UInt64, _ level: UInt64) -> UInt64 {
        table + ((vaddr >> level) & 511) * 8
    }

    /// seL4: findVSpaceForASID.
    func findVSpace(asid: UInt64) -> Result<UInt64, LookupFailure> {
        let pool = globals.pointee.asidTable[Int((asid >> 9) & 7)]
        guard asid >> 12 == 0, pool != 0 else { return .failure(.invalidRoot) }
        let vspace = physmap.loadWord(pool + (asid & 511) * 8)
        guard vspace != 0 else { return .failure(.invalidRoot) }
        return .success(vspace)
    }

    /// seL4: lookupPDPTSlot — the PML4 entry must point to a PDPT.
    func lookupPDPTSlot(_ pml4: UInt64, _ vaddr: UInt64) -> Result<UInt64, LookupFailure> {
        let e = physmap.loadWord(entrySlot(pml4, vaddr, PagingLevel.pml4))
        guard e & PTE.present != 0 else { return .failure(.missingCapability(bitsLeft: PagingLevel.pml4)) }
        return .success(entrySlot(e & PTE.addressMask, vaddr, PagingLevel.pdpt))
    }

    /// seL4: lookupPDSlot — the PDPT entry must point to a page directory.
    func lookupPDSlot(_ pml4: UInt64, _ vaddr: UInt64) -> Result<UInt64, LookupFailure> {
        lookupPDPTSlot(pml4, vaddr).flatMap { tableEntry(below: $0, vaddr, level: PagingLevel.pdpt) }
    }

    /// seL4: lookupPTSlot — the PD entry must point to a page table.
    func lookupPTSlot(_ pml4: UInt64, _ vaddr: UInt64) -> Result<UInt64, LookupFailure> {
        lookupPDSlot(pml4, vaddr).flatMap { tableEntry(below: $0, vaddr, level: PagingLevel.pd) }
    }

    /// The entry for `vaddr` in the table the entry at `slot` (of the level whose index
    /// starts at bit `level`) points to; a missing entry or a large page there is a lookup
    /// failure with `level` bits left, as seL4 reports it.
    private func tableEntry(below slot: UInt64, _ vaddr: UInt64, level: UInt64) -> Result<UInt64, LookupFailure> {
        let e = physmap.loadWord(slot)
        guard e & PTE.present != 0, e & PTE.pageSize == 0 else { return .failure(.missingCapability(bitsLeft: level)) }
        return .success(entrySlot(e & PTE.addressMask, vaddr, level - 9))
    }

    /// Tells the HAL that every frame under a table (mapped at `base`) is gone.
    func unmapFramesUnder(table: UInt64, level: UInt64, base: UInt64, asid: UInt64) {
        for i in 0..<UInt64(512) {
            let e = physmap.loadWord(table + i * 8)
            guard e & PTE.present != 0 else { continue }
            let vaddr = base + (i << level)
            if level == PagingLevel.pt || e & PTE.pageSize != 0 {
                hal.unmapFrame(asid: asid, vaddr: vaddr, sizeBits: level)
            } else {
                unmapFramesUnder(table: e & PTE.addressMask, level: level - 9, base: vaddr, asid: asid)
            }
        }
    }
}
