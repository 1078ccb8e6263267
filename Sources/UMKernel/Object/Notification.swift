// SPDX-License-Identifier: Apache-2.0
//
// The notification object (32 bytes): a state, a FIFO queue of waiting threads, the data
// word that signals OR their badges into, and the TCB bound to it.

/// The notification object as it lies in RAM.
public struct Notification: Sendable {
    var headAndState: UInt64
    var tail: UInt64
    /// The accumulated badge word (seL4 ntfnMsgIdentifier).
    public var word: UInt64
    /// The TCB bound to this notification (0 = none).
    public var boundTCB: UInt64

    /// seL4 NtfnState.
    public enum State: UInt64, Sendable { case idle = 0, waiting = 1, active = 2 }

    public var state: State {
        get { State(rawValue: headAndState & 3) ?? .idle }
        set { headAndState = (headAndState & ~3) | newValue.rawValue }
    }
    var head: UInt64 {
        get { headAndState & ~3 }
        set { headAndState = (newValue & ~3) | (headAndState & 3) }
    }
}

/// A handle to a notification in RAM.
public typealias NotificationRef = ObjectRef<Notification>
