// SPDX-License-Identifier: Apache-2.0
//
// The seam between the kernel and the machine. The kernel is generic over it
// (`Kernel<H: HAL>`, never `any HAL`) so every call is specialised. A backend provides RAM,
// makes the kernel's page-table decisions real (or records them), answers whether an
// interrupt is pending at preemption points, raises interrupt lines, carries the devices
// behind the I/O ports and the debug console.

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
    /// Interrupt lines asserted now among `unmasked` (a bit per IRQ): a level-triggered
    /// device's line while it asserts it, an edge (timer expiry, host signal) once, when
    /// taken. A masked line's edge stays latched until the line is unmasked.
    mutating func takeInterrupts(unmasked: UInt64) -> UInt64

    /// Reads `width` bytes (1, 2 or 4) from I/O port `port` (IOPort In8/16/32).
    mutating func ioPortIn(_ port: UInt16, width: Int) -> UInt32
    /// Writes `width` bytes (1, 2 or 4) of `value` to I/O port `port` (IOPort Out8/16/32).
    mutating func ioPortOut(_ port: UInt16, width: Int, value: UInt32)
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
