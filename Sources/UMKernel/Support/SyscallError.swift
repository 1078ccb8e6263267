// SPDX-License-Identifier: Apache-2.0
//
// The kernel's failure vocabulary, seL4's `exception_t` done as values: a decode step
// throws a `SyscallError` (an seL4 error code plus its detail words), and a long operation
// that stops at a preemption point throws `.preempted` so the caller is left to restart it.
// Lookup faults of the invoked cap are raised by the syscall entry itself (handleFault).

import UMKABI

/// An invocation error with the detail words seL4 puts in the reply.
public struct SyscallError: Error, Equatable, Sendable {
    public var code: KernelError
    /// The reply's message registers (argument index, range, lookup failure, ...).
    public var words: [UInt64]

    public init(_ code: KernelError, _ words: [UInt64] = []) {
        self.code = code
        self.words = words
    }

    public static func invalidArgument(_ index: UInt64) -> SyscallError { SyscallError(.invalidArgument, [index]) }
    public static func invalidCapability(_ index: UInt64) -> SyscallError { SyscallError(.invalidCapability, [index]) }
    public static let illegalOperation = SyscallError(.illegalOperation)
    public static func rangeError(_ min: UInt64, _ max: UInt64) -> SyscallError { SyscallError(.rangeError, [min, max]) }
    public static let alignmentError = SyscallError(.alignmentError)
    public static func failedLookup(source: Bool, _ failure: LookupFailure) -> SyscallError {
        SyscallError(.failedLookup, [source ? 1 : 0] + failure.words)
    }
    public static let truncatedMessage = SyscallError(.truncatedMessage)
    public static let deleteFirst = SyscallError(.deleteFirst)
    public static let revokeFirst = SyscallError(.revokeFirst)
    public static func notEnoughMemory(_ left: UInt64) -> SyscallError { SyscallError(.notEnoughMemory, [left]) }
}

/// Why a kernel operation did not complete.
public enum KernelException: Error, Equatable, Sendable {
    /// An invocation failed: reply with the error (Call) or drop it (Send).
    case syscallError(SyscallError)
    /// A long operation stopped at a preemption point; the thread restarts it.
    case preempted
}
