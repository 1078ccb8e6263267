// SPDX-License-Identifier: Apache-2.0
//
// The running guest's IPC buffer (libsel4's seL4_GetIPCBuffer, GetMR/SetMR). A guest
// address is the host address: what a guest maps at v, it reads and writes through the
// pointer v.

import CGuest
@_exported import UMKABI

/// The running guest's IPC buffer, and word access to its memory.
public enum IPCBuffer {
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

    /// Reads the word of the running guest's memory at `vaddr`.
    public static func load(_ vaddr: UInt64) -> UInt64 {
        UnsafePointer<UInt64>(bitPattern: UInt(vaddr))!.pointee
    }
    /// Writes the word of the running guest's memory at `vaddr`.
    public static func store(_ vaddr: UInt64, _ value: UInt64) {
        UnsafeMutablePointer<UInt64>(bitPattern: UInt(vaddr))!.pointee = value
    }
}

/// A capability pointer in the running guest's CSpace.
public typealias CPtr = UInt64

extension IPCBuffer {
    /// Puts `bytes` in message registers from `first` on, 8 per word, little-endian;
    /// returns the number of words used.
    @discardableResult
    public static func setBytes<C: Collection<UInt8>>(_ bytes: C, from first: Int) -> Int {
        var word: UInt64 = 0, shift: UInt64 = 0, mr = first
        for b in bytes {
            word |= UInt64(b) << shift
            shift += 8
            if shift == 64 {
                setMR(mr, word)
                mr += 1
                word = 0
                shift = 0
            }
        }
        if shift > 0 { setMR(mr, word); mr += 1 }
        return mr - first
    }

    /// Reads `count` bytes packed by `setBytes` from message registers `first...`.
    public static func getBytes(_ count: Int, from first: Int) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        for i in 0..<count {
            result.append(UInt8(truncatingIfNeeded: getMR(first + i / 8) >> (UInt64(i % 8) * 8)))
        }
        return result
    }
}
