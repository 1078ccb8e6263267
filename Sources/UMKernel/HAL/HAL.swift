// SPDX-License-Identifier: Apache-2.0
//
// The seam between the kernel and the machine. The kernel is generic over it
// (`Kernel<H: HAL>`, never `any HAL`) so every call is specialised. A backend provides RAM,
// makes the kernel's page-table decisions real (or records them), answers whether an
// interrupt is pending at preemption points, and carries the debug console.

/// What a machine backend provides to the kernel.
public protocol HAL {
    /// RAM, zero-filled at start, as the kernel's physmap.
    var physmap: Physmap { get }
    /// The highest guest virtual address a mapping may reach (the end of a VSpace's host
    /// window on Linux; the kernel's USER_TOP where there is no such limit).
    var userTop: UInt64 { get }

    /// A VSpace was given an ASID: its window of the host address space becomes usable.
    mutating func assignASID(_ asid: UInt64, vspace: UInt64)
    /// A VSpace lost its ASID (pool or PML4 deleted): its window's mappings are dropped.
    mutating func releaseASID(_ asid: UInt64)
    /// A frame was mapped (or remapped with new rights) at `vaddr` of `asid`.
    mutating func mapFrame(asid: UInt64, vaddr: UInt64, paddr: UInt64, sizeBits: UInt64, rights: VMRights)
    /// The frame mapped at `vaddr` of `asid` was unmapped.
    mutating func unmapFrame(asid: UInt64, vaddr: UInt64, sizeBits: UInt64)

    /// True if an interrupt is waiting; long kernel operations stop at a preemption point.
    mutating func isInterruptPending() -> Bool
    /// Writes one byte of debug output (DebugPutChar, kernel reports).
    mutating func debugPutChar(_ byte: UInt8)
    /// DebugHalt was called: the backend stops running guests.
    mutating func halt()
}

extension HAL {
    /// Writes a string to the debug output.
    public mutating func debugPrint(_ text: String) {
        for byte in text.utf8 { debugPutChar(byte) }
    }
}
