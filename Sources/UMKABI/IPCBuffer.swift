// SPDX-License-Identifier: Apache-2.0
//
// The IPC buffer (`seL4_IPCBuffer`): 128 words = 1 KiB, 2^10-aligned in a frame given to
// the thread. Word offsets:
//   0 tag | 1...120 msg[0...119] | 121 userData | 122...124 caps_or_badges[3]
//   | 125 receiveCNode | 126 receiveIndex | 127 receiveDepth

/// Word offsets inside the IPC buffer.
public enum IPCBufferLayout {
    public static let sizeBits = 10
    public static let size = 1 << sizeBits
    public static let tag = 0
    /// Word offset of msg[0].
    public static let msg = 1
    public static let userData = 121
    /// Word offset of caps_or_badges[0].
    public static let capsOrBadges = 122
    public static let receiveCNode = 125
    public static let receiveIndex = 126
    public static let receiveDepth = 127
    public static let words = 128

    /// Byte offset of message register `i`.
    @inlinable public static func msgOffset(_ i: Int) -> Int { (msg + i) * 8 }
}
