// SPDX-License-Identifier: Apache-2.0
//
// seL4's system call numbers (non-MCS x86_64), as `libsel4/include/api/syscall.xml`
// generates them: the API syscalls count down from -1, the debug syscalls continue the
// count after them. A number outside this table is an UnknownSyscall fault.

/// A system call number, negative as seL4 numbers them.
public enum Syscall: Int64, Sendable, CaseIterable {
    /// Send and wait for the reply atomically (also how kernel objects are invoked).
    case call = -1
    /// Reply to the current caller, then receive on an endpoint.
    case replyRecv = -2
    /// Blocking send (an invocation's error is discarded).
    case send = -3
    /// Non-blocking send: dropped if nobody waits.
    case nbSend = -4
    /// Blocking receive on an endpoint or notification.
    case recv = -5
    /// Reply through the caller slot; a no-op if there is no caller.
    case reply = -6
    /// Give up the rest of the time slice to threads of equal priority.
    case yield = -7
    /// Non-blocking receive (poll).
    case nbRecv = -8
    /// Debug: print one character.
    case debugPutChar = -9
    /// Debug: print the scheduler's thread list.
    case debugDumpScheduler = -10
    /// Debug: stop the system.
    case debugHalt = -11
    /// Debug: return the type of a capability.
    case debugCapIdentify = -12
    /// Debug: snapshot (accepted, no effect).
    case debugSnapshot = -13
    /// Debug: give a thread a name for reports.
    case debugNameThread = -14
    /// Set the calling thread's TLS base (seL4 with CONFIG_SET_TLS_BASE_SELF; numbered
    /// after every debug and benchmark syscall syscall.xml lists, as libsel4 numbers it).
    case setTLSBase = -30

    /// True for the syscalls on seL4's unknown-syscall path (the debug calls and
    /// SetTLSBase), which are not capability invocations.
    public var isDebug: Bool { rawValue <= Syscall.debugPutChar.rawValue }
}
