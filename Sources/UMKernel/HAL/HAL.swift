// SPDX-License-Identifier: Apache-2.0
//
// The seam between the kernel and the machine, and the checklist for a new backend (as
// Hubris's arch module is). The kernel is generic over it (`Kernel<H: HAL>`, never
// `any HAL`) so every call is specialised. The kernel's loop (KernelLoop.swift) is the
// kernel's own: a machine only restores the thread the kernel chose and, when a thread
// comes back, says why (a `KernelEvent`, from its entry glue). Besides that a backend
// provides RAM, makes the kernel's page-table decisions real (or records them), takes
// host events and waits when nothing can run, raises interrupt lines, carries the devices
// behind the I/O ports and the debug console.

/// What a machine backend provides to the kernel.
public protocol HAL {
    /// RAM, zero-filled at start, as the kernel's physmap.
    var physmap: Physmap { get }
    /// The guest virtual addresses the VSpace with ASID `asid` may map and run at (empty
    /// if it has none): on Linux its host window, as a guest address is the host address;
    /// everything below the kernel's USER_TOP where there is no such limit. A mapping
    /// outside it is refused as seL4 refuses one above USER_TOP.
    mutating func addressRange(asid: UInt64) -> Range<UInt64>

    /// A VSpace was given an ASID: its window of the host address space becomes usable.
    mutating func assignASID(_ asid: UInt64, vspace: UInt64)
    /// A VSpace lost its ASID (pool or PML4 deleted): its window's mappings are dropped.
    mutating func releaseASID(_ asid: UInt64)
    /// True if the machine can give one more VSpace an address space now (a free window
    /// on Linux); ASIDPool_Assign is refused with DeleteFirst, as for a full pool, if not.
    var canTakeAddressSpace: Bool { mutating get }
    /// True if `asid` has an address space a thread can run in (a window on Linux).
    mutating func hasAddressSpace(asid: UInt64) -> Bool
    /// True if `vaddr` of `asid` is mapped writable now (the kernel checks a fresh thread's
    /// first stack frame before it starts it there).
    mutating func isMappedWritable(asid: UInt64, vaddr: UInt64) -> Bool
    /// Makes the mappings asked for so far real. The machine's restore does it for a
    /// thread's own address space before the thread runs; anything else that looks at an
    /// address space's memory calls it first.
    mutating func commitMappings()
    /// A frame was mapped (or remapped with new rights) at `vaddr` of `asid`.
    mutating func mapFrame(asid: UInt64, vaddr: UInt64, paddr: UInt64, sizeBits: UInt64, rights: VMRights)
    /// The frame mapped at `vaddr` of `asid` was unmapped.
    mutating func unmapFrame(asid: UInt64, vaddr: UInt64, sizeBits: UInt64)

    // MARK: Running threads

    /// The IP a thread in a syscall reports (a Restart re-executes the syscall from here).
    var syscallIP: UInt64 { get }
    /// The IP a thread resumes at after its syscall.
    var syscallNextIP: UInt64 { get }
    /// Makes `thread`'s saved state the one the machine runs when the kernel returns
    /// (seL4: setVMRoot, then restore_user_context): its registers are in its TCB, `how`
    /// says which count, `asid` is its VSpace's ASID (nil if it has none now).
    mutating func restore(_ thread: TCBRef, _ how: Resumption, asid: UInt64?)
    /// Puts into `thread`'s TCB the user registers the machine kept elsewhere while it is in
    /// a syscall (the kernel reads them all: ReadRegisters, CopyRegisters).
    mutating func saveRegisters(of thread: TCBRef)
    /// The kernel wrote user registers of `thread` (WriteRegisters, CopyRegisters,
    /// SetTLSBase): a machine that keeps some of them elsewhere takes them.
    mutating func registersWritten(_ thread: TCBRef)
    /// A kernel entry began (virtual time moves on by it).
    mutating func noteKernelEntry()
    /// True if the machine wants the run to end now (a host failure, a stop the host asked
    /// for); checked before every resumption.
    var mustStop: Bool { mutating get }

    // MARK: Interrupts and time

    /// True if host events wait to be taken (checked before every resumption: cheap).
    mutating func hasPendingEvents() -> Bool
    /// Takes the host's events into the devices. Returns true if the kernel's scheduling
    /// tick is due.
    mutating func takeEvents() -> Bool
    /// Nothing can run: waits until an interrupt on one of `handledLines` (a bit per IRQ
    /// with a handler waiting) can come, and returns true, or returns false at once if none
    /// ever can (the run is over).
    mutating func idle(handledLines: UInt64) -> Bool
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
    /// DebugSnapshot was called: `graph` makes the system's capability graph (DOT), for a
    /// machine that keeps them (umk run --cap-graph) to call.
    mutating func capabilitySnapshot(_ graph: () -> String)
    /// The time a trace's events are stamped with, in ns: the machine's clock (virtual in a
    /// virtual-time run).
    mutating func traceClock() -> UInt64
    /// The next piece of the trace's text, to write where the trace goes.
    mutating func writeTrace(_ bytes: [UInt8])
}

extension HAL {
    /// Writes a string to the debug output.
    public mutating func debugPrint(_ text: String) {
        for byte in text.utf8 { debugPutChar(byte) }
    }
}
