// SPDX-License-Identifier: Apache-2.0
//
// TCB methods and thread operations (seL4 src/object/tcb.c, src/kernel/thread.c, non-MCS):
// Configure, SetSpace, SetIPCBuffer, priorities, Suspend/Resume, register access,
// notification binding, TLS base and flags. Checks in seL4's order, then the operation.

import UMKABI

/// seL4 thread_control flags: which parts of a ThreadControl invocation to apply.
struct ThreadControlUpdate: OptionSet {
    let rawValue: UInt8
    static let space = ThreadControlUpdate(rawValue: 1)
    static let ipcBuffer = ThreadControlUpdate(rawValue: 2)
    static let priority = ThreadControlUpdate(rawValue: 4)
    static let mcp = ThreadControlUpdate(rawValue: 8)
}

/// The new roots of a ThreadControl invocation: each cap with the slot it is copied from.
struct ThreadControlRoots {
    var faultEndpoint: UInt64 = 0
    var cRoot: Capability = .null
    var cRootSlot: SlotRef? = nil
    var vRoot: Capability = .null
    var vRootSlot: SlotRef? = nil
    var bufferAddress: UInt64 = 0
    var bufferCap: Capability = .null
    var bufferSlot: SlotRef? = nil
    var priority: UInt64 = 0
    var mcp: UInt64 = 0
}

/// seL4 TCB flags (SetFlags): the only one defined is fpuDisabled.
public enum TCBFlags {
    public static let fpuDisabled: UInt64 = 1
    public static let all: UInt64 = fpuDisabled
}

extension Kernel {
    // MARK: - Thread operations

    /// seL4: suspend.
    package func suspend(_ t: TCBRef) {
        cancelIPC(t)
        if t.pointee.state == .running {
            // seL4: updateRestartPC — a running thread resumes where it was.
            t.pointee[.rip] = t.pointee.nextIP
        }
        setThreadState(t, .inactive)
        tcbSchedDequeue(t)
    }

    /// seL4: restart — a stopped thread re-executes its interrupted syscall.
    package func restart(_ t: TCBRef) {
        guard t.pointee.state.isStopped else { return }
        cancelIPC(t)
        setupReplyMaster(t)
        setThreadState(t, .restart)
        tcbSchedEnqueue(t)
        possibleSwitchTo(t)
    }

    /// seL4: setPriority.
    func setPriority(_ t: TCBRef, _ prio: UInt64) {
        tcbSchedDequeue(t)
        t.pointee.priority = prio
        if t.pointee.state.isRunnable {
            if t == currentThread { rescheduleRequired() } else { possibleSwitchTo(t) }
        }
    }

    // MARK: - Decode

    func decodeTCBInvocation(_ inv: Invocation) throws(KernelException) {
        let target = tcb(inv.cap.paddr)
        switch InvocationLabel(rawValue: inv.label) {
        case .tcbReadRegisters: try decodeReadRegisters(inv, target)
        case .tcbWriteRegisters: try decodeWriteRegisters(inv, target)
        case .tcbCopyRegisters: try decodeCopyRegisters(inv, target)
        case .tcbSuspend:
            setThreadState(inv.thread, .restart)
            suspend(target)
        case .tcbResume:
            setThreadState(inv.thread, .restart)
            restart(target)
        case .tcbConfigure: try decodeConfigure(inv, target)
        case .tcbSetPriority:
            let (prio, _) = try decodePriorityArgs(inv, count: 1)
            setThreadState(inv.thread, .restart)
            var roots = ThreadControlRoots()
            roots.priority = prio
            try invokeThreadControl(inv, target, roots, [.priority])
        case .tcbSetMCPriority:
            let (mcp, _) = try decodePriorityArgs(inv, count: 1)
            setThreadState(inv.thread, .restart)
            var roots = ThreadControlRoots()
            roots.mcp = mcp
            try invokeThreadControl(inv, target, roots, [.mcp])
        case .tcbSetSchedParams:
            let (mcp, prio) = try decodePriorityArgs(inv, count: 2)
            setThreadState(inv.thread, .restart)
            var roots = ThreadControlRoots()
            roots.mcp = mcp
            roots.priority = prio
            try invokeThreadControl(inv, target, roots, [.mcp, .priority])
        case .tcbSetIPCBuffer: try decodeSetIPCBuffer(inv, target)
        case .tcbSetSpace: try decodeSetSpace(inv, target)
        case .tcbBindNotification: try decodeBindNotification(inv, target)
        case .tcbUnbindNotification:
            guard target.pointee.boundNotification != 0 else { throw .syscallError(.illegalOperation) }
            setThreadState(inv.thread, .restart)
            unbindNotification(target)
        case .tcbSetTLSBase:
            guard inv.length >= 1 else { throw .syscallError(.truncatedMessage) }
            let base = arg(inv, 0)
            setThreadState(inv.thread, .restart)
            // seL4 stores the TLS base as given (only register writes are sanitised).
            target.pointee[.fsBase] = base
            hal.registersWritten(target)
            if target == currentThread { rescheduleRequired() }
        case .tcbSetFlags:
            guard inv.length >= 2 else { throw .syscallError(.truncatedMessage) }
            let clear = arg(inv, 0), set = arg(inv, 1)
            setThreadState(inv.thread, .restart)
            target.pointee.flags = ((target.pointee.flags & ~clear) | set) & TCBFlags.all
            if inv.isCall { replyFromKernelSuccess(inv.thread, [target.pointee.flags]) }
            setThreadState(inv.thread, .running)
        default:
            throw .syscallError(.illegalOperation)
        }
    }

    /// SetPriority / SetMCPriority / SetSchedParams arguments, checked against the
    /// authority TCB's MCP: (first value, second value).
    private func decodePriorityArgs(_ inv: Invocation, count: Int) throws(KernelException) -> (UInt64, UInt64) {
        guard inv.length >= count, let auth = extraCap(inv, 0) else { throw .syscallError(.truncatedMessage) }
        guard auth.cap.type == .thread else { throw .syscallError(.invalidCapability(1)) }
        let authMCP = tcb(auth.cap.paddr).pointee.mcp
        let first = arg(inv, 0)
        if first > authMCP { throw .syscallError(.rangeError(0, authMCP)) }
        var second: UInt64 = 0
        if count > 1 {
            second = arg(inv, 1)
            if second > authMCP { throw .syscallError(.rangeError(0, authMCP)) }
        }
        return (first, second)
    }

    /// seL4: checkValidIPCBuffer.
    private func checkValidIPCBuffer(_ vaddr: UInt64, _ cap: Capability) throws(KernelException) {
        guard cap.type == .frame, !cap.frameIsDevice else { throw .syscallError(.illegalOperation) }
        guard vaddr & lowMask(UInt64(IPCBufferLayout.sizeBits)) == 0 else { throw .syscallError(.alignmentError) }
    }

    /// The buffer part of Configure and SetIPCBuffer.
    private func decodeBuffer(_ address: UInt64, _ frame: (cap: Capability, slot: SlotRef), into roots: inout ThreadControlRoots) throws(KernelException) {
        roots.bufferAddress = address
        if address == 0 { return }
        let derived = try deriveCap(frame.slot, frame.cap)
        try checkValidIPCBuffer(address, derived)
        roots.bufferCap = derived
        roots.bufferSlot = frame.slot
    }

    /// The space part of Configure and SetSpace (seL4 decodeSetSpace's checks).
    private func decodeSpace(_ target: TCBRef, cRoot: (cap: Capability, slot: SlotRef), cRootData: UInt64,
                             vRoot: (cap: Capability, slot: SlotRef), vRootData: UInt64,
                             into roots: inout ThreadControlRoots) throws(KernelException) {
        if slotCapLongRunningDelete(target.slot(.cTable)) || slotCapLongRunningDelete(target.slot(.vTable)) {
            throw .syscallError(.illegalOperation)
        }
        var cCap = cRoot.cap
        if cRootData != 0 { cCap = updateCapData(preserve: false, cRootData, cCap) }
        cCap = try deriveCap(cRoot.slot, cCap)
        guard cCap.type == .cnode else { throw .syscallError(.illegalOperation) }
        var vCap = vRoot.cap
        if vRootData != 0 { vCap = updateCapData(preserve: false, vRootData, vCap) }
        vCap = try deriveCap(vRoot.slot, vCap)
        guard vCap.type == .pml4, vCap.isMapped else { throw .syscallError(.illegalOperation) }
        roots.cRoot = cCap
        roots.cRootSlot = cRoot.slot
        roots.vRoot = vCap
        roots.vRootSlot = vRoot.slot
    }

    /// seL4: slotCapLongRunningDelete — deleting this cap would take a long time.
    func slotCapLongRunningDelete(_ s: SlotRef) -> Bool {
        let cap = s.pointee.cap
        guard !cap.isNull, isFinalCapability(s) else { return false }
        return cap.type == .thread || cap.type == .zombie || cap.type == .cnode
    }

    private func decodeConfigure(_ inv: Invocation, _ target: TCBRef) throws(KernelException) {
        guard inv.length >= 4, let cRoot = extraCap(inv, 0), let vRoot = extraCap(inv, 1),
              let frame = extraCap(inv, 2) else { throw .syscallError(.truncatedMessage) }
        var roots = ThreadControlRoots()
        roots.faultEndpoint = arg(inv, 0)
        let cRootData = arg(inv, 1), vRootData = arg(inv, 2)
        try decodeBuffer(arg(inv, 3), frame, into: &roots)
        try decodeSpace(target, cRoot: cRoot, cRootData: cRootData, vRoot: vRoot, vRootData: vRootData, into: &roots)
        setThreadState(inv.thread, .restart)
        try invokeThreadControl(inv, target, roots, [.space, .ipcBuffer])
    }

    private func decodeSetSpace(_ inv: Invocation, _ target: TCBRef) throws(KernelException) {
        guard inv.length >= 3, let cRoot = extraCap(inv, 0), let vRoot = extraCap(inv, 1) else {
            throw .syscallError(.truncatedMessage)
        }
        var roots = ThreadControlRoots()
        roots.faultEndpoint = arg(inv, 0)
        try decodeSpace(target, cRoot: cRoot, cRootData: arg(inv, 1), vRoot: vRoot, vRootData: arg(inv, 2), into: &roots)
        setThreadState(inv.thread, .restart)
        try invokeThreadControl(inv, target, roots, [.space])
    }

    private func decodeSetIPCBuffer(_ inv: Invocation, _ target: TCBRef) throws(KernelException) {
        guard inv.length >= 1, let frame = extraCap(inv, 0) else { throw .syscallError(.truncatedMessage) }
        var roots = ThreadControlRoots()
        try decodeBuffer(arg(inv, 0), frame, into: &roots)
        setThreadState(inv.thread, .restart)
        try invokeThreadControl(inv, target, roots, [.ipcBuffer])
    }

    /// seL4: invokeTCB_ThreadControl (non-MCS). Replacing a root deletes the old one first,
    /// which may be preempted; the new cap is installed only if its source and the target
    /// TCB still exist afterwards.
    private func invokeThreadControl(_ inv: Invocation, _ target: TCBRef, _ roots: ThreadControlRoots,
                                     _ update: ThreadControlUpdate) throws(KernelException) {
        let tCap = Capability.thread(paddr: target.paddr)
        if update.contains(.mcp) { target.pointee.mcp = roots.mcp }
        if update.contains(.space) { target.pointee.faultEndpoint = roots.faultEndpoint }
        if update.contains(.priority) { setPriority(target, roots.priority) }
        if update.contains(.space) {
            let cSlot = target.slot(.cTable)
            try cteDelete(cSlot, exposed: true)
            if let src = roots.cRootSlot, sameObjectAs(roots.cRoot, src.pointee.cap), sameObjectAs(tCap, inv.slot.pointee.cap) {
                cteInsert(roots.cRoot, src: src, dest: cSlot)
            }
            let vSlot = target.slot(.vTable)
            try cteDelete(vSlot, exposed: true)
            if let src = roots.vRootSlot, sameObjectAs(roots.vRoot, src.pointee.cap), sameObjectAs(tCap, inv.slot.pointee.cap) {
                cteInsert(roots.vRoot, src: src, dest: vSlot)
            }
        }
        if update.contains(.ipcBuffer) {
            let bSlot = target.slot(.ipcBuffer)
            try cteDelete(bSlot, exposed: true)
            target.pointee.ipcBuffer = roots.bufferAddress
            if let src = roots.bufferSlot, sameObjectAs(roots.bufferCap, src.pointee.cap), sameObjectAs(tCap, inv.slot.pointee.cap) {
                cteInsert(roots.bufferCap, src: src, dest: bSlot)
            }
            if target == currentThread { rescheduleRequired() }
        }
    }

    // MARK: - Registers

    private func decodeReadRegisters(_ inv: Invocation, _ target: TCBRef) throws(KernelException) {
        guard inv.length >= 2 else { throw .syscallError(.truncatedMessage) }
        let flags = arg(inv, 0), count = arg(inv, 1)
        guard count >= 1 && count <= UInt64(UserRegister.count) else {
            throw .syscallError(.rangeError(1, UInt64(UserRegister.count)))
        }
        guard target != inv.thread else { throw .syscallError(.illegalOperation) }
        setThreadState(inv.thread, .restart)
        if flags & 1 != 0 { suspend(target) }
        hal.saveRegisters(of: target)
        if inv.isCall {
            var words: [UInt64] = []
            for i in 0..<Int(count) { words.append(target.pointee.registers[i]) }
            replyFromKernelSuccess(inv.thread, words)
        }
        setThreadState(inv.thread, .running)
    }

    private func decodeWriteRegisters(_ inv: Invocation, _ target: TCBRef) throws(KernelException) {
        guard inv.length >= 2 else { throw .syscallError(.truncatedMessage) }
        let flags = arg(inv, 0), count = arg(inv, 1)
        guard UInt64(inv.length - 2) >= count else { throw .syscallError(.truncatedMessage) }
        guard target != inv.thread else { throw .syscallError(.illegalOperation) }
        setThreadState(inv.thread, .restart)
        let n = min(Int(count), UserRegister.count)
        for i in 0..<n {
            let r = UserRegister(rawValue: i)!
            target.pointee[r] = sanitiseRegister(r, arg(inv, i + 2))
        }
        target.pointee.nextIP = target.pointee[.rip]
        hal.registersWritten(target)
        if flags & 1 != 0 { restart(target) }
        if target == currentThread { rescheduleRequired() }
    }

    private func decodeCopyRegisters(_ inv: Invocation, _ target: TCBRef) throws(KernelException) {
        guard inv.length >= 1, let source = extraCap(inv, 0) else { throw .syscallError(.truncatedMessage) }
        guard source.cap.type == .thread else { throw .syscallError(.invalidCapability(1)) }
        let flags = arg(inv, 0)
        let src = tcb(source.cap.paddr)
        hal.saveRegisters(of: src)
        setThreadState(inv.thread, .restart)
        if flags & 1 != 0 { suspend(src) }
        if flags & 2 != 0 { restart(target) }
        if flags & 4 != 0 {
            for i in 0..<UserRegister.frameCount { target.pointee.registers[i] = src.pointee.registers[i] }
            target.pointee.nextIP = target.pointee[.rip]
        }
        if flags & 8 != 0 {
            for i in UserRegister.frameCount..<UserRegister.count { target.pointee.registers[i] = src.pointee.registers[i] }
        }
        hal.registersWritten(target)
        if target == currentThread { rescheduleRequired() }
    }

    // MARK: - Notifications

    private func decodeBindNotification(_ inv: Invocation, _ target: TCBRef) throws(KernelException) {
        guard let ntfn = extraCap(inv, 0) else { throw .syscallError(.truncatedMessage) }
        guard target.pointee.boundNotification == 0 else { throw .syscallError(.illegalOperation) }
        guard ntfn.cap.type == .notification, ntfn.cap.rights.contains(.read) else {
            throw .syscallError(.illegalOperation)
        }
        let n = notification(ntfn.cap.paddr)
        guard n.pointee.head == 0 && n.pointee.boundTCB == 0 else { throw .syscallError(.illegalOperation) }
        setThreadState(inv.thread, .restart)
        bindNotification(target, n)
    }
}
