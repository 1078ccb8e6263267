// SPDX-License-Identifier: Apache-2.0
//
// The message info word (`seL4_MessageInfo_t`, shared_types.bf), MSB to LSB:
//   label 52 bits [63:12] | capsUnwrapped 3 [11:9] | extraCaps 2 [8:7] | length 7 [6:0]

/// seL4's message info word: label, caps unwrapped, extra caps and length.
public struct MessageInfo: Hashable, Sendable, CustomStringConvertible {
    /// The packed 64-bit word, exactly as it travels in the info register.
    public var word: UInt64

    /// Wraps a raw word as a guest put it in the info register.
    @inlinable public init(word: UInt64) { self.word = word }

    /// Packs the four fields; each is truncated to its width as seL4's bitfield setters do.
    @inlinable public init(label: UInt64, capsUnwrapped: UInt64 = 0, extraCaps: UInt64 = 0, length: UInt64) {
        word = (label & 0xF_FFFF_FFFF_FFFF) << 12
            | (capsUnwrapped & 0x7) << 9
            | (extraCaps & 0x3) << 7
            | (length & 0x7F)
    }

    /// The label: method number of an invocation, fault type of a fault, error of a reply.
    @inlinable public var label: UInt64 {
        get { word >> 12 }
        set { word = (word & 0xFFF) | (newValue & 0xF_FFFF_FFFF_FFFF) << 12 }
    }
    /// Bit i set: extra cap i was an unwrapped badge of the endpoint the message came through.
    @inlinable public var capsUnwrapped: UInt64 {
        get { (word >> 9) & 0x7 }
        set { word = (word & ~(0x7 << 9)) | (newValue & 0x7) << 9 }
    }
    /// The number of extra capabilities (0...3).
    @inlinable public var extraCaps: UInt64 {
        get { (word >> 7) & 0x3 }
        set { word = (word & ~(0x3 << 7)) | (newValue & 0x3) << 7 }
    }
    /// The number of message registers (0...127 as encoded; the kernel clamps to 120).
    @inlinable public var length: UInt64 {
        get { word & 0x7F }
        set { word = (word & ~0x7F) | (newValue & 0x7F) }
    }

    public var description: String {
        "MessageInfo(label: \(label), capsUnwrapped: \(capsUnwrapped), extraCaps: \(extraCaps), length: \(length))"
    }
}

/// Message register and capability-transfer limits.
public enum MessageLimits {
    /// `seL4_MsgMaxLength`: message registers in a message.
    public static let maxLength: Int = 120
    /// `seL4_MsgMaxExtraCaps`: extra capabilities in a message.
    public static let maxExtraCaps: Int = 3
    /// `seL4_FastMessageRegisters`: message registers that travel in machine registers.
    public static let fastMessageRegisters: Int = 4
}
