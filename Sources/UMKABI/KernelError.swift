// SPDX-License-Identifier: Apache-2.0
//
// seL4's error vocabulary (`seL4_Error`, libsel4/include/sel4/errors.h). An invocation made
// with Call returns one of these as the reply's label; Send and NBSend drop it.

/// The result code of an invocation (`seL4_Error`).
public enum KernelError: UInt64, Error, Sendable, CaseIterable {
    case noError = 0
    /// MR0 = index of the bad argument.
    case invalidArgument = 1
    /// MR0 = index of the bad capability (0 = the invoked cap, 1... = extra caps).
    case invalidCapability = 2
    case illegalOperation = 3
    /// MR0 = minimum, MR1 = maximum of the allowed range.
    case rangeError = 4
    case alignmentError = 5
    /// MR0 = 1 if the source lookup failed; MR1... the lookup failure.
    case failedLookup = 6
    case truncatedMessage = 7
    case deleteFirst = 8
    case revokeFirst = 9
    /// MR0 = bytes left in the untyped.
    case notEnoughMemory = 10
}
