// SPDX-License-Identifier: Apache-2.0
//
// The values that cross the seam between the kernel and a machine: why a thread came
// back into the kernel (the event the machine's entry glue decoded), how the thread the
// kernel chose goes back to user mode, and a frame mapping as both machines record it.
// These are seL4's c_traps.c vocabulary: an entry names its event, `handle` decides, the
// machine restores.

/// Why the current thread entered the kernel. The machine's entry glue has saved the
/// thread's registers in its TCB before it reports the event (seL4's x86_64 convention for
/// a syscall: CPtr in RDI, message info in RSI, MR0-3 in R10, R8, R9, R15).
public enum KernelEvent: Equatable, Sendable {
    /// A syscall with seL4's number (negative for the API's, as seL4 numbers them), by the
    /// machine's direct call: the thread resumes at the machine's syscall return.
    case syscall(Int64)
    /// A syscall by a `syscall` instruction in the thread's own code (seL4's binary ABI):
    /// the machine put the instruction's address in RIP and the next one in NextIP; the
    /// thread resumes with every register from its TCB.
    case syscallTrap(Int64)
    /// A page fault at `address` with the x86 page-fault error code.
    case vmFault(address: UInt64, fsr: UInt64, instructionFault: Bool)
    /// An exception other than a page fault: vector `number`, error `code`.
    case userException(number: UInt64, code: UInt64)
    /// An interrupt stopped the thread in its own code; it resumes where it was.
    case interrupt
}

/// How the thread the kernel chose goes back to user mode (the machine's restore).
public enum Resumption: Equatable, Sendable {
    /// Back from its syscall: the results are in its registers (badge in RDI, message
    /// info in RSI, MR0-3 in R10, R8, R9, R15).
    case syscallReturn
    /// Back from a fault or an interrupt: every register comes from its TCB, resuming at
    /// `nextIP` (a fault handler may have changed any of them).
    case exceptionReturn
    /// A fresh start at `nextIP` with every register exactly as the TCB holds them (seL4's
    /// WriteRegisters) and the default FP state: a thread that never ran, or whose
    /// registers were rewritten while it was in a syscall. `first` is true the first time
    /// the thread runs at all.
    case start(first: Bool)
}

/// How a thread last left user mode, kept in its TCB: what the kernel loop must ask the
/// machine to restore.
public enum UserEntry: UInt64, Sendable {
    /// Never ran.
    case notStarted = 0
    /// Started, and has not entered the kernel since.
    case started = 1
    /// Entered by a syscall: it returns past the syscall instruction.
    case syscall = 2
    /// Stopped by a fault or an interrupt: every register was saved.
    case exception = 3
}

/// A frame mapping the kernel asked a machine for (recorded by both backends).
public struct FrameMapping: Equatable, Sendable {
    public var paddr: UInt64
    public var sizeBits: UInt64
    public var rights: VMRights

    /// The mapping among `pages` (an address space's mappings by virtual address) that
    /// covers `vaddr`: a 4 KiB, 2 MiB or 1 GiB frame.
    static func covering(_ vaddr: UInt64, in pages: [UInt64: FrameMapping]) -> FrameMapping? {
        for bits: UInt64 in [12, 21, 30] {
            if let m = pages[vaddr & ~((1 << bits) - 1)], m.sizeBits == bits { return m }
        }
        return nil
    }
}
