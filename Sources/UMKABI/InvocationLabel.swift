// SPDX-License-Identifier: Apache-2.0
//
// Invocation labels (method numbers) in seL4's order for a non-MCS, uniprocessor x86_64
// kernel without the hardware debug API, VT-x or an IOMMU: the generic labels of
// object-api.xml count from 1, the x86_64 labels continue at nInvocationLabels, the x86
// labels at nSeL4ArchInvocationLabels. Labels whose configuration is off do not exist, so
// the numbering has no holes.

/// The label of a kernel-object invocation.
public enum InvocationLabel: UInt64, Sendable, CaseIterable {
    case invalidInvocation = 0
    case untypedRetype = 1
    case tcbReadRegisters = 2
    case tcbWriteRegisters = 3
    case tcbCopyRegisters = 4
    case tcbConfigure = 5
    case tcbSetPriority = 6
    case tcbSetMCPriority = 7
    case tcbSetSchedParams = 8
    case tcbSetIPCBuffer = 9
    case tcbSetSpace = 10
    case tcbSuspend = 11
    case tcbResume = 12
    case tcbBindNotification = 13
    case tcbUnbindNotification = 14
    case tcbSetTLSBase = 15
    case tcbSetFlags = 16
    case cnodeRevoke = 17
    case cnodeDelete = 18
    case cnodeCancelBadgedSends = 19
    case cnodeCopy = 20
    case cnodeMint = 21
    case cnodeMove = 22
    case cnodeMutate = 23
    case cnodeRotate = 24
    case cnodeSaveCaller = 25
    case irqIssueIRQHandler = 26
    case irqAckIRQ = 27
    case irqSetIRQHandler = 28
    case irqClearIRQHandler = 29
    case domainSetSet = 30
    case domainScheduleConfigure = 31
    case domainScheduleSetStart = 32
    // x86_64 (nInvocationLabels = 33)
    case x86PDPTMap = 33
    case x86PDPTUnmap = 34
    // x86 (nSeL4ArchInvocationLabels = 35)
    case x86PageDirectoryMap = 35
    case x86PageDirectoryUnmap = 36
    case x86PageTableMap = 37
    case x86PageTableUnmap = 38
    case x86PageMap = 39
    case x86PageUnmap = 40
    case x86PageGetAddress = 41
    case x86ASIDControlMakePool = 42
    case x86ASIDPoolAssign = 43
    case x86IOPortControlIssue = 44
    case x86IOPortIn8 = 45
    case x86IOPortIn16 = 46
    case x86IOPortIn32 = 47
    case x86IOPortOut8 = 48
    case x86IOPortOut16 = 49
    case x86IOPortOut32 = 50
    case x86IRQIssueIRQHandlerIOAPIC = 51
    case x86IRQIssueIRQHandlerMSI = 52
    // umk's own methods, far above seL4's labels ("UM" << 16).
    /// On a PML4 with an ASID: MR0, MR1 = the guest virtual addresses it may map and run
    /// at, [start, end) (its host window on Linux).
    case umkVSpaceGetAddressRange = 0x554D_0001

    /// `nInvocationLabels`: the first architecture-specific label.
    public static let genericCount: UInt64 = 33
    /// `nArchInvocationLabels`.
    public static let count: UInt64 = 53
}
