// SPDX-License-Identifier: Apache-2.0
//
// Capability rights (`seL4_CapRights_t`): bit 0 Write, 1 Read, 2 Grant, 3 GrantReply.

/// The access rights a capability carries; they can only shrink as caps are copied.
public struct CapRights: OptionSet, Hashable, Sendable {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue & 0xF }

    // Computed and inlinable, so that rights checks on the IPC fastpath fold to constants.
    @inlinable public static var write: CapRights { CapRights(rawValue: 1 << 0) }
    @inlinable public static var read: CapRights { CapRights(rawValue: 1 << 1) }
    @inlinable public static var grant: CapRights { CapRights(rawValue: 1 << 2) }
    @inlinable public static var grantReply: CapRights { CapRights(rawValue: 1 << 3) }
    /// `seL4_AllRights`.
    @inlinable public static var all: CapRights { CapRights(rawValue: 0xF) }
    /// `seL4_ReadWrite`.
    @inlinable public static var readWrite: CapRights { CapRights(rawValue: 0x3) }
    /// `seL4_NoRights`.
    @inlinable public static var none: CapRights { CapRights(rawValue: 0) }
}
