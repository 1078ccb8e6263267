// SPDX-License-Identifier: Apache-2.0
//
// Capability rights (`seL4_CapRights_t`): bit 0 Write, 1 Read, 2 Grant, 3 GrantReply.

/// The access rights a capability carries; they can only shrink as caps are copied.
public struct CapRights: OptionSet, Hashable, Sendable {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue & 0xF }

    public static let write = CapRights(rawValue: 1 << 0)
    public static let read = CapRights(rawValue: 1 << 1)
    public static let grant = CapRights(rawValue: 1 << 2)
    public static let grantReply = CapRights(rawValue: 1 << 3)
    /// `seL4_AllRights`.
    public static let all: CapRights = [.write, .read, .grant, .grantReply]
    /// `seL4_ReadWrite`.
    public static let readWrite: CapRights = [.read, .write]
    /// `seL4_NoRights`.
    public static let none: CapRights = []
}
