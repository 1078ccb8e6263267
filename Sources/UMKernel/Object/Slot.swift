// SPDX-License-Identifier: Apache-2.0
//
// A CNode slot (seL4 `cte_t`): a capability plus its links in the capability derivation
// tree (CDT). The CDT is one doubly linked list in derivation order; a cap's children are
// the caps after it that it `isMDBParentOf`. Layout (32 bytes, 2^5 as seL4's):
//   cap.word0 | cap.word1 | prev slot paddr | next slot paddr, revocable [0], firstBadged [1]

/// A CNode slot: capability and derivation-tree node.
public struct Slot: Equatable, Sendable {
    public var cap: Capability
    /// Physical address of the previous slot in the CDT (0 = none).
    public var prev: UInt64
    var nextAndFlags: UInt64

    /// An empty slot with no links.
    public static let empty = Slot(cap: .null, prev: 0, nextAndFlags: 0)

    /// Physical address of the next slot in the CDT (0 = none).
    @inline(__always) public var next: UInt64 {
        get { nextAndFlags & ~0x1F }
        set { nextAndFlags = (nextAndFlags & 0x1F) | (newValue & ~0x1F) }
    }
    /// An original cap that may have children (seL4 mdbRevocable).
    @inline(__always) public var revocable: Bool {
        get { nextAndFlags & 1 != 0 }
        set { nextAndFlags = newValue ? nextAndFlags | 1 : nextAndFlags & ~1 }
    }
    /// The first cap with its badge (a badged original; seL4 mdbFirstBadged).
    @inline(__always) public var firstBadged: Bool {
        get { nextAndFlags & 2 != 0 }
        set { nextAndFlags = newValue ? nextAndFlags | 2 : nextAndFlags & ~2 }
    }
}

/// A handle to a slot in RAM.
public typealias SlotRef = ObjectRef<Slot>
