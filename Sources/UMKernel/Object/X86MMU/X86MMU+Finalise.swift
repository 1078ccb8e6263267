// SPDX-License-Identifier: Apache-2.0
//
// Finalising paging caps (seL4 Arch_finaliseCap, src/arch/x86/object/objecttype.c): a
// frame cap unmaps its own mapping; a table, a VSpace or an ASID pool is unhooked when its
// final cap goes, and the machine drops what was mirrored for it.

import UMKABI

extension Kernel {
    /// seL4: Arch_finaliseCap — frames unmap on any cap (each cap has its own mapping);
    /// tables, VSpaces and pools only when the final cap goes.
    func finaliseArchCap(_ cap: Capability, final: Bool) {
        switch cap.type {
        case .frame:
            if cap.isMapped { unmapPage(cap) }
        case .pageTable, .pageDirectory, .pdpt:
            if final && cap.isMapped { unmapTable(cap) }
        case .pml4:
            if final && cap.isMapped { deleteASID(cap.mappedASID, vspace: cap.paddr) }
        case .asidPool:
            if final { deleteASIDPool(base: cap.asidBase, pool: cap.paddr) }
        case .ioPort:
            if final { freeIOPortRange(cap) }
        default:
            break
        }
    }

    /// seL4: deleteASID.
    func deleteASID(_ asid: UInt64, vspace: UInt64) {
        let pool = globals.pointee.asidTable[Int((asid >> 9) & 7)]
        guard pool != 0, physmap.loadWord(pool + (asid & 511) * 8) == vspace else { return }
        physmap.storeWord(pool + (asid & 511) * 8, 0)
        hal.releaseASID(asid)
    }

    /// seL4: deleteASIDPool.
    func deleteASIDPool(base: UInt64, pool: UInt64) {
        let index = Int((base >> 9) & 7)
        guard globals.pointee.asidTable[index] == pool else { return }
        for i in 0..<UInt64(512) where physmap.loadWord(pool + i * 8) != 0 {
            hal.releaseASID(base + i)
        }
        globals.pointee.asidTable[index] = 0
    }
}
