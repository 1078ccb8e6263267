// SPDX-License-Identifier: Apache-2.0
//
// The endpoint object (16 bytes): a state and a FIFO queue of threads blocked sending or
// receiving. TCBs are 4 KiB aligned, so the state rides in the low bits of the head.

/// The endpoint object as it lies in RAM.
public struct Endpoint: Sendable {
    var headAndState: UInt64
    var tail: UInt64

    /// seL4 EPState.
    public enum State: UInt64, Sendable { case idle = 0, send = 1, recv = 2 }

    public var state: State {
        get { State(rawValue: headAndState & 3) ?? .idle }
        set { headAndState = (headAndState & ~3) | newValue.rawValue }
    }
    var head: UInt64 {
        get { headAndState & ~3 }
        set { headAndState = (newValue & ~3) | (headAndState & 3) }
    }
}

/// A handle to an endpoint in RAM.
public typealias EndpointRef = ObjectRef<Endpoint>
