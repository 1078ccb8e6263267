// SPDX-License-Identifier: Apache-2.0
//
// Kernel-object invocations with seL4's names and argument order (libsel4's generated
// seL4_CNode_Copy, seL4_Untyped_Retype, seL4_TCB_Configure, ...). Each returns the
// seL4_Error of the reply; results (GetAddress, ReadRegisters) come back in MRs.

/// Invokes kernel object `service` with Call: arguments in MRs, caps as extra caps.
@discardableResult
public func invoke(_ service: CPtr, _ label: InvocationLabel, _ args: [UInt64] = [], caps: [CPtr] = []) -> KernelError {
    for (i, a) in args.enumerated() {
        if IPCBuffer.isPresent { IPCBuffer.setMR(i, a) } else if i < 4 { setRegisterMR(i, a) }
    }
    for (i, c) in caps.enumerated() { IPCBuffer.setCap(i, c) }
    let info = seL4.call(service, MessageInfo(label: label.rawValue, extraCaps: UInt64(caps.count), length: UInt64(args.count)))
    return KernelError(rawValue: info.label) ?? .illegalOperation
}

private func setRegisterMR(_ i: Int, _ v: UInt64) {
    switch i {
    case 0: seL4.registerMRs.0 = v
    case 1: seL4.registerMRs.1 = v
    case 2: seL4.registerMRs.2 = v
    default: seL4.registerMRs.3 = v
    }
}

/// seL4_Untyped_*.
public enum Untyped {
    public static func retype(_ service: CPtr, type: ObjectType, sizeBits: UInt64, root: CPtr, nodeIndex: CPtr,
                              nodeDepth: UInt64, nodeOffset: UInt64, numObjects: UInt64) -> KernelError {
        invoke(service, .untypedRetype, [type.rawValue, sizeBits, nodeIndex, nodeDepth, nodeOffset, numObjects], caps: [root])
    }
}

/// seL4_CNode_*.
public enum CNode {
    public static func copy(_ service: CPtr, destIndex: CPtr, destDepth: UInt64, srcRoot: CPtr, srcIndex: CPtr,
                            srcDepth: UInt64, rights: CapRights) -> KernelError {
        invoke(service, .cnodeCopy, [destIndex, destDepth, srcIndex, srcDepth, rights.rawValue], caps: [srcRoot])
    }
    public static func mint(_ service: CPtr, destIndex: CPtr, destDepth: UInt64, srcRoot: CPtr, srcIndex: CPtr,
                            srcDepth: UInt64, rights: CapRights, badge: UInt64) -> KernelError {
        invoke(service, .cnodeMint, [destIndex, destDepth, srcIndex, srcDepth, rights.rawValue, badge], caps: [srcRoot])
    }
    public static func move(_ service: CPtr, destIndex: CPtr, destDepth: UInt64, srcRoot: CPtr, srcIndex: CPtr,
                            srcDepth: UInt64) -> KernelError {
        invoke(service, .cnodeMove, [destIndex, destDepth, srcIndex, srcDepth], caps: [srcRoot])
    }
    public static func mutate(_ service: CPtr, destIndex: CPtr, destDepth: UInt64, srcRoot: CPtr, srcIndex: CPtr,
                              srcDepth: UInt64, badge: UInt64) -> KernelError {
        invoke(service, .cnodeMutate, [destIndex, destDepth, srcIndex, srcDepth, badge], caps: [srcRoot])
    }
    public static func rotate(_ service: CPtr, destIndex: CPtr, destDepth: UInt64, destBadge: UInt64,
                              pivotRoot: CPtr, pivotIndex: CPtr, pivotDepth: UInt64, pivotBadge: UInt64,
                              srcRoot: CPtr, srcIndex: CPtr, srcDepth: UInt64) -> KernelError {
        invoke(service, .cnodeRotate, [destIndex, destDepth, destBadge, pivotIndex, pivotDepth, pivotBadge, srcIndex, srcDepth],
               caps: [pivotRoot, srcRoot])
    }
    public static func delete(_ service: CPtr, index: CPtr, depth: UInt64) -> KernelError {
        invoke(service, .cnodeDelete, [index, depth])
    }
    public static func revoke(_ service: CPtr, index: CPtr, depth: UInt64) -> KernelError {
        invoke(service, .cnodeRevoke, [index, depth])
    }
    public static func saveCaller(_ service: CPtr, index: CPtr, depth: UInt64) -> KernelError {
        invoke(service, .cnodeSaveCaller, [index, depth])
    }
    public static func cancelBadgedSends(_ service: CPtr, index: CPtr, depth: UInt64) -> KernelError {
        invoke(service, .cnodeCancelBadgedSends, [index, depth])
    }
}

/// seL4_TCB_*.
public enum TCB {
    public static func configure(_ service: CPtr, faultEP: CPtr, cspaceRoot: CPtr, cspaceRootData: UInt64,
                                 vspaceRoot: CPtr, vspaceRootData: UInt64, buffer: UInt64, bufferFrame: CPtr) -> KernelError {
        invoke(service, .tcbConfigure, [faultEP, cspaceRootData, vspaceRootData, buffer],
               caps: [cspaceRoot, vspaceRoot, bufferFrame])
    }
    public static func setSpace(_ service: CPtr, faultEP: CPtr, cspaceRoot: CPtr, cspaceRootData: UInt64,
                                vspaceRoot: CPtr, vspaceRootData: UInt64) -> KernelError {
        invoke(service, .tcbSetSpace, [faultEP, cspaceRootData, vspaceRootData], caps: [cspaceRoot, vspaceRoot])
    }
    public static func setIPCBuffer(_ service: CPtr, buffer: UInt64, bufferFrame: CPtr) -> KernelError {
        invoke(service, .tcbSetIPCBuffer, [buffer], caps: [bufferFrame])
    }
    public static func setPriority(_ service: CPtr, authority: CPtr, priority: UInt64) -> KernelError {
        invoke(service, .tcbSetPriority, [priority], caps: [authority])
    }
    public static func setMCPriority(_ service: CPtr, authority: CPtr, mcp: UInt64) -> KernelError {
        invoke(service, .tcbSetMCPriority, [mcp], caps: [authority])
    }
    public static func setSchedParams(_ service: CPtr, authority: CPtr, mcp: UInt64, priority: UInt64) -> KernelError {
        invoke(service, .tcbSetSchedParams, [mcp, priority], caps: [authority])
    }
    public static func suspend(_ service: CPtr) -> KernelError { invoke(service, .tcbSuspend) }
    public static func resume(_ service: CPtr) -> KernelError { invoke(service, .tcbResume) }
    public static func bindNotification(_ service: CPtr, notification: CPtr) -> KernelError {
        invoke(service, .tcbBindNotification, caps: [notification])
    }
    public static func unbindNotification(_ service: CPtr) -> KernelError { invoke(service, .tcbUnbindNotification) }
    public static func setTLSBase(_ service: CPtr, _ base: UInt64) -> KernelError { invoke(service, .tcbSetTLSBase, [base]) }
    /// The registers in seL4_UserContext order (`count` of them), or the error.
    public static func readRegisters(_ service: CPtr, suspendSource: Bool, count: Int = UserRegister.count)
        -> Result<[UInt64], KernelError> {
        let e = invoke(service, .tcbReadRegisters, [suspendSource ? 1 : 0, UInt64(count)])
        guard e == .noError else { return .failure(e) }
        return .success((0..<count).map { IPCBuffer.getMR($0) })
    }
    /// Writes the first `registers.count` registers (seL4_UserContext order).
    public static func writeRegisters(_ service: CPtr, resumeTarget: Bool, registers: [UInt64]) -> KernelError {
        invoke(service, .tcbWriteRegisters, [resumeTarget ? 1 : 0, UInt64(registers.count)] + registers)
    }
    public static func copyRegisters(_ service: CPtr, source: CPtr, suspendSource: Bool, resumeTarget: Bool,
                                     transferFrame: Bool, transferInteger: Bool) -> KernelError {
        let flags: UInt64 = (suspendSource ? 1 : 0) | (resumeTarget ? 2 : 0) | (transferFrame ? 4 : 0) | (transferInteger ? 8 : 0)
        return invoke(service, .tcbCopyRegisters, [flags], caps: [source])
    }
}

/// seL4_X86_ASIDControl_* and seL4_X86_ASIDPool_*.
public enum ASIDControl {
    public static func makePool(_ service: CPtr, untyped: CPtr, root: CPtr, index: CPtr, depth: UInt64) -> KernelError {
        invoke(service, .x86ASIDControlMakePool, [index, depth], caps: [untyped, root])
    }
}
public enum ASIDPool {
    public static func assign(_ service: CPtr, vspace: CPtr) -> KernelError {
        invoke(service, .x86ASIDPoolAssign, caps: [vspace])
    }
}

/// seL4_X86_PDPT_*, seL4_X86_PageDirectory_*, seL4_X86_PageTable_*.
public enum PagingStructure {
    public static func map(_ service: CPtr, type: ObjectType, vspace: CPtr, vaddr: UInt64, attributes: UInt64 = 0) -> KernelError {
        let label: InvocationLabel = switch type {
        case .pdpt: .x86PDPTMap
        case .pageDirectory: .x86PageDirectoryMap
        default: .x86PageTableMap
        }
        return invoke(service, label, [vaddr, attributes], caps: [vspace])
    }
    public static func unmap(_ service: CPtr, type: ObjectType) -> KernelError {
        let label: InvocationLabel = switch type {
        case .pdpt: .x86PDPTUnmap
        case .pageDirectory: .x86PageDirectoryUnmap
        default: .x86PageTableUnmap
        }
        return invoke(service, label)
    }
}

/// umk's VSpace method.
public enum VSpace {
    /// The guest virtual addresses the VSpace `service` (a PML4 with an ASID) may map and
    /// run at (umk_VSpace_GetAddressRange), or the error.
    public static func addressRange(_ service: CPtr) -> Result<Range<UInt64>, KernelError> {
        let e = invoke(service, .umkVSpaceGetAddressRange)
        return e == .noError ? .success(IPCBuffer.getMR(0)..<IPCBuffer.getMR(1)) : .failure(e)
    }
}

/// seL4_X86_Page_*.
public enum Page {
    public static func map(_ service: CPtr, vspace: CPtr, vaddr: UInt64, rights: CapRights, attributes: UInt64 = 0) -> KernelError {
        invoke(service, .x86PageMap, [vaddr, rights.rawValue, attributes], caps: [vspace])
    }
    public static func unmap(_ service: CPtr) -> KernelError { invoke(service, .x86PageUnmap) }
    /// The frame's physical address, or the error.
    public static func getAddress(_ service: CPtr) -> Result<UInt64, KernelError> {
        let e = invoke(service, .x86PageGetAddress)
        return e == .noError ? .success(IPCBuffer.getMR(0)) : .failure(e)
    }
}

/// seL4_IRQControl_* and seL4_IRQHandler_*.
public enum IRQControl {
    public static func get(_ service: CPtr, irq: UInt64, root: CPtr, index: CPtr, depth: UInt64) -> KernelError {
        invoke(service, .irqIssueIRQHandler, [irq, index, depth], caps: [root])
    }
}
public enum IRQHandler {
    public static func ack(_ service: CPtr) -> KernelError { invoke(service, .irqAckIRQ) }
    public static func setNotification(_ service: CPtr, notification: CPtr) -> KernelError {
        invoke(service, .irqSetIRQHandler, caps: [notification])
    }
    public static func clear(_ service: CPtr) -> KernelError { invoke(service, .irqClearIRQHandler) }
}

extension TCB {
    /// seL4_TCB_SetFlags: clears then sets flags; the resulting flags, or the error.
    public static func setFlags(_ service: CPtr, clear: UInt64, set: UInt64) -> Result<UInt64, KernelError> {
        let e = invoke(service, .tcbSetFlags, [clear, set])
        return e == .noError ? .success(IPCBuffer.getMR(0)) : .failure(e)
    }
}

/// seL4_DomainSet_*.
public enum DomainSet {
    public static func set(_ service: CPtr, domain: UInt64, thread: CPtr) -> KernelError {
        invoke(service, .domainSetSet, [domain], caps: [thread])
    }
}

/// seL4_X86_IOPortControl_*.
public enum IOPortControl {
    /// Issues a cap for ports `first...last` into `root[index, depth]`.
    public static func issue(_ service: CPtr, first: UInt16, last: UInt16, root: CPtr, index: CPtr, depth: UInt64) -> KernelError {
        invoke(service, .x86IOPortControlIssue, [UInt64(first), UInt64(last), index, depth], caps: [root])
    }
}

/// seL4_X86_IOPort_In8/16/32 and Out8/16/32. An In returns the value, or the error.
public enum IOPort {
    public static func in8(_ service: CPtr, port: UInt16) -> Result<UInt8, KernelError> {
        read(service, .x86IOPortIn8, port).map { UInt8(truncatingIfNeeded: $0) }
    }
    public static func in16(_ service: CPtr, port: UInt16) -> Result<UInt16, KernelError> {
        read(service, .x86IOPortIn16, port).map { UInt16(truncatingIfNeeded: $0) }
    }
    public static func in32(_ service: CPtr, port: UInt16) -> Result<UInt32, KernelError> {
        read(service, .x86IOPortIn32, port).map { UInt32(truncatingIfNeeded: $0) }
    }
    public static func out8(_ service: CPtr, port: UInt16, _ value: UInt8) -> KernelError {
        invoke(service, .x86IOPortOut8, [UInt64(port), UInt64(value)])
    }
    public static func out16(_ service: CPtr, port: UInt16, _ value: UInt16) -> KernelError {
        invoke(service, .x86IOPortOut16, [UInt64(port), UInt64(value)])
    }
    public static func out32(_ service: CPtr, port: UInt16, _ value: UInt32) -> KernelError {
        invoke(service, .x86IOPortOut32, [UInt64(port), UInt64(value)])
    }

    static func read(_ service: CPtr, _ label: InvocationLabel, _ port: UInt16) -> Result<UInt64, KernelError> {
        let e = invoke(service, label, [UInt64(port)])
        return e == .noError ? .success(IPCBuffer.getMR(0)) : .failure(e)
    }
}
