// SPDX-License-Identifier: Apache-2.0
//
// Lookup failures (`seL4_LookupFailureType`) and their message encoding, shared by the
// CapFault message (from MR3) and the FailedLookup error reply (from MR1).

/// Why a capability lookup failed, with the details seL4 reports.
public enum LookupFailure: Error, Hashable, Sendable {
    case invalidRoot
    case missingCapability(bitsLeft: UInt64)
    case depthMismatch(bitsLeft: UInt64, bitsFound: UInt64)
    case guardMismatch(bitsLeft: UInt64, guardFound: UInt64, guardSize: UInt64)

    /// `seL4_LookupFailureType` value.
    public var type: UInt64 {
        switch self {
        case .invalidRoot: 1
        case .missingCapability: 2
        case .depthMismatch: 3
        case .guardMismatch: 4
        }
    }

    /// The words as they appear in a message: type, then the kind's details.
    public var words: [UInt64] {
        switch self {
        case .invalidRoot: [1]
        case .missingCapability(let left): [2, left]
        case .depthMismatch(let left, let found): [3, left, found]
        case .guardMismatch(let left, let guardFound, let size): [4, left, guardFound, size]
        }
    }

    /// Decodes the words of a message back into a failure; nil if malformed.
    public init?(words: [UInt64]) {
        guard let t = words.first else { return nil }
        func w(_ i: Int) -> UInt64 { i < words.count ? words[i] : 0 }
        switch t {
        case 1: self = .invalidRoot
        case 2: self = .missingCapability(bitsLeft: w(1))
        case 3: self = .depthMismatch(bitsLeft: w(1), bitsFound: w(2))
        case 4: self = .guardMismatch(bitsLeft: w(1), guardFound: w(2), guardSize: w(3))
        default: return nil
        }
    }
}
