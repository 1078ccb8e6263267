// SPDX-License-Identifier: Apache-2.0
//
// The running guest's IPC buffer and its window (libsel4's seL4_GetIPCBuffer, GetMR/SetMR).
// A guest reaches its own memory at window + vaddr; the kernel mirrors every mapping of the
// guest's VSpace into that window.

import CShims
@_exported import UMKABI

/// The running guest's view of its address space and IPC buffer.
public enum IPCBuffer {
    /// The host address of guest virtual address 0 in the running guest's VSpace.
    @inline(__always) public static var window: UInt64 { umk_window() }

    /// The host address of guest virtual address `vaddr`.
    @inline(__always) public static func address(of vaddr: UInt64) -> UInt64 { umk_window() &+ vaddr }

    @inline(__always) static var base: UnsafeMutablePointer<UInt64> {
        let b = umk_ipc_buffer()
        precondition(b != 0, "this thread has no IPC buffer")
        return UnsafeMutablePointer(bitPattern: UInt(b))!
    }

    /// True if the running thread has an IPC buffer.
    public static var isPresent: Bool { umk_ipc_buffer() != 0 }

    /// Message register `i` (seL4_GetMR).
    @inline(__always) public static func getMR(_ i: Int) -> UInt64 { base[IPCBufferLayout.msg + i] }
    /// Sets message register `i` (seL4_SetMR).
    @inline(__always) public static func setMR(_ i: Int, _ v: UInt64) { base[IPCBufferLayout.msg + i] = v }
    /// Extra cap `i` to send (seL4_SetCap).
    public static func setCap(_ i: Int, _ cptr: CPtr) { base[IPCBufferLayout.capsOrBadges + i] = cptr }
    /// The badge of unwrapped extra cap `i` (seL4_GetBadge).
    public static func getBadge(_ i: Int) -> UInt64 { base[IPCBufferLayout.capsOrBadges + i] }
    /// Where a received cap goes (seL4_SetCapReceivePath).
    public static func setCapReceivePath(root: CPtr, index: CPtr, depth: UInt64) {
        base[IPCBufferLayout.receiveCNode] = root
        base[IPCBufferLayout.receiveIndex] = index
        base[IPCBufferLayout.receiveDepth] = depth
    }
    /// The user-data word (seL4_GetUserData / SetUserData).
    public static var userData: UInt64 {
        get { base[IPCBufferLayout.userData] }
        set { base[IPCBufferLayout.userData] = newValue }
    }

    /// Reads a word of the running guest's memory at `vaddr`.
    public static func load(_ vaddr: UInt64) -> UInt64 {
        UnsafePointer<UInt64>(bitPattern: UInt(address(of: vaddr)))!.pointee
    }
    /// Writes a word of the running guest's memory at `vaddr`.
    public static func store(_ vaddr: UInt64, _ value: UInt64) {
        UnsafeMutablePointer<UInt64>(bitPattern: UInt(address(of: vaddr)))!.pointee = value
    }
}

/// A capability pointer in the running guest's CSpace.
public typealias CPtr = UInt64
