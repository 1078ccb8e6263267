// SPDX-License-Identifier: Apache-2.0
//
// The kernel on the simulated machine, compiled here for it. `Kernel<H>` is generic; a
// module outside UMKernel (the fuzzer, the benchmark) calling its generic methods reaches
// them unspecialised, through the HAL's witness table on every access (the kernel-only
// Call measured 14 cycles here and 25 that way). These entry points are concrete, so the
// compiler specialises the kernel for SimulatedHAL inside this module and callers get that.

extension Kernel where H == SimulatedHAL {
    /// `handleSyscall(_:)`.
    public func simulatedSyscall(_ number: Int64) { handleSyscall(number) }

    /// `handleSyscallSlowpath(_:)`: the slowpath alone.
    public func simulatedSyscallSlowpath(_ number: Int64) { handleSyscallSlowpath(number) }

    /// An interrupt on `irq`, or the scheduling tick when `irq` is nil.
    public func simulatedInterrupt(_ irq: UInt64?) {
        if let irq { handleInterruptEntry(irq) } else { handleTimerTickEntry() }
    }

    /// `checkInvariants()`.
    public func simulatedCheckInvariants() throws(InvariantViolation) {
        try checkInvariants()
    }

    /// `liveSlots()`.
    package func simulatedLiveSlots() -> [SlotRef] { liveSlots() }

    /// `makeCurrent(_:)`.
    public func simulatedMakeCurrent(_ t: TCBRef) { makeCurrent(t) }

    /// `cteRevoke(_:)`.
    package func simulatedRevoke(_ s: SlotRef) throws(KernelException) { try cteRevoke(s) }
}
