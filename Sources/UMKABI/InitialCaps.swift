// SPDX-License-Identifier: Apache-2.0
//
// The root task's initial CSpace slots (`seL4_RootCNodeCapSlots`), numbered as seL4 does.

/// Slots of the root task's CNode that the kernel fills at boot.
public enum InitialCap: UInt64, Sendable, CaseIterable {
    case null = 0
    case initThreadTCB = 1
    case initThreadCNode = 2
    case initThreadVSpace = 3
    case irqControl = 4
    case asidControl = 5
    case initThreadASIDPool = 6
    case ioPortControl = 7
    case ioSpace = 8
    case bootInfoFrame = 9
    case initThreadIPCBuffer = 10
    case domain = 11
    case smmuSIDControl = 12
    case smmuCBControl = 13
    case initThreadSC = 14
    case smc = 15

    /// `seL4_NumInitialCaps`: the first slot after the fixed ones.
    public static let count: UInt64 = 16
}

/// Root task constants.
public enum RootTask {
    /// `CONFIG_ROOT_CNODE_SIZE_BITS`: the root CNode has 4096 slots.
    public static let cnodeSizeBits = 12
    /// `seL4_MaxPrio`: the root task's priority and MCP.
    public static let priority: UInt64 = 255
}
