// SPDX-License-Identifier: Apache-2.0
//
// x86_64 page-table entries as hardware reads them: PML4 → PDPT → PD → PT, each a 4 KiB
// table of 512 entries in RAM. Entry format: present [0], writable [1], user [2], large
// or huge page [7], address [51:12]. The kernel writes only these bits.

/// Page-table entry bits.
enum PTE {
    static let present: UInt64 = 1 << 0
    static let writable: UInt64 = 1 << 1
    static let user: UInt64 = 1 << 2
    static let pageSize: UInt64 = 1 << 7
    static let addressMask: UInt64 = 0x000F_FFFF_FFFF_F000

    static func frame(_ paddr: UInt64, _ rights: VMRights, large: Bool) -> UInt64 {
        var e = (paddr & addressMask) | present
        // seL4: WritableFromVMRights — kernel-only mappings are writable, by the kernel.
        if rights != .readOnly { e |= writable }
        if rights != .kernelOnly { e |= user }
        if large { e |= pageSize }
        return e
    }
    static func table(_ paddr: UInt64) -> UInt64 { (paddr & addressMask) | present | writable | user }
    static func rights(_ e: UInt64) -> VMRights {
        e & user == 0 ? .kernelOnly : (e & writable != 0 ? .readWrite : .readOnly)
    }
}

/// Bit offsets of each paging level's index in a virtual address.
enum PagingLevel {
    static let pml4: UInt64 = 39
    static let pdpt: UInt64 = 30
    static let pd: UInt64 = 21
    static let pt: UInt64 = 12
}
