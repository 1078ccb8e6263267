// SPDX-License-Identifier: Apache-2.0
//
// One invocation of a capability as the syscall entry found it: the invoked cap and its
// slot, the message's label and length, the extra caps looked up, and the invoking
// thread. seL4 passes these as parameters and globals (current_extra_caps, the IPC
// buffer); umk keeps them in one value that every decode function reads.

/// The arguments of one invocation.
struct Invocation {
    /// The message label: the method.
    var label: UInt64
    /// Message registers given (at most the fast registers without an IPC buffer).
    var length: Int
    var cptr: UInt64
    var slot: SlotRef
    var cap: Capability
    var extraCaps: ExtraCaps
    var isBlocking: Bool
    var isCall: Bool
    /// The invoker's IPC buffer (physical address), if it has one.
    var buffer: UInt64?
    var thread: TCBRef
}
