// SPDX-License-Identifier: Apache-2.0
//
// Dispatch of an invocation by the type of the invoked cap (seL4 decodeInvocation,
// src/object/objecttype.c). Endpoint, notification and reply caps are IPC; every other
// type decodes its method from the message label into an operation (every check made,
// nothing changed), and the operation is invoked: the invoke step first puts the caller
// in Restart (so a preempted operation is re-issued), then performs it.

import UMKABI

extension Kernel {
    /// Message register `i` of the invocation.
    @inline(__always) func arg(_ inv: Invocation, _ i: Int) -> UInt64 {
        syscallArg(i, inv.thread, inv.buffer)
    }

    /// Extra cap `i` of the invocation (cap and slot), or nil if the sender gave fewer.
    func extraCap(_ inv: Invocation, _ i: Int) -> (cap: Capability, slot: SlotRef)? {
        guard i < inv.extraCaps.count else { return nil }
        let s = slot(inv.extraCaps[i])
        return (s.pointee.cap, s)
    }

    /// seL4: decodeInvocation.
    func decodeInvocation(_ inv: Invocation) throws(KernelException) {
        let cap = inv.cap
        switch cap.type {
        case .null, .zombie:
            throw .syscallError(.invalidCapability(0))
        case .endpoint:
            guard cap.rights.contains(.write) else { throw .syscallError(.invalidCapability(0)) }
            setThreadState(inv.thread, .restart)
            sendIPC(blocking: inv.isBlocking, isCall: inv.isCall, badge: cap.badge,
                    canGrant: cap.rights.contains(.grant), canGrantReply: cap.rights.contains(.grantReply),
                    inv.thread, endpoint(cap.paddr))
        case .notification:
            guard cap.rights.contains(.write) else { throw .syscallError(.invalidCapability(0)) }
            setThreadState(inv.thread, .restart)
            sendSignal(notification(cap.paddr), badge: cap.badge)
        case .reply:
            guard !cap.replyMaster else { throw .syscallError(.invalidCapability(0)) }
            setThreadState(inv.thread, .restart)
            doReplyTransfer(sender: inv.thread, receiver: tcb(cap.paddr), slot: inv.slot, grant: cap.replyCanGrant)
        case .thread:
            try decodeTCBInvocation(inv)
        case .domain:
            try decodeDomainInvocation(inv)
        case .cnode:
            try invokeCNode(decodeCNodeInvocation(inv), caller: inv.thread)
        case .untyped:
            try invokeUntypedRetype(decodeUntypedInvocation(inv), caller: inv.thread)
        case .irqControl:
            invokeIRQControl(try decodeIRQControlInvocation(inv), control: inv.slot, caller: inv.thread)
        case .irqHandler:
            invokeIRQHandler(try decodeIRQHandlerInvocation(inv), caller: inv.thread)
        case .frame, .pageTable, .pageDirectory, .pdpt, .pml4, .asidControl, .asidPool:
            try decodeX86MMUInvocation(inv)
        case .ioPortControl:
            invokeIOPortControl(try decodeIOPortControlInvocation(inv), control: inv.slot, caller: inv.thread)
        case .ioPort:
            invokeIOPort(try decodeIOPortInvocation(inv), inv)
        }
    }

    /// seL4: decodeDomainInvocation (one domain: only domain 0 exists).
    func decodeDomainInvocation(_ inv: Invocation) throws(KernelException) {
        guard inv.label == InvocationLabel.domainSetSet.rawValue else { throw .syscallError(.illegalOperation) }
        guard inv.length >= 1 else { throw .syscallError(.truncatedMessage) }
        let domain = arg(inv, 0)
        guard domain < 1 else { throw .syscallError(.invalidArgument(0)) }
        guard let target = extraCap(inv, 0) else { throw .syscallError(.truncatedMessage) }
        guard target.cap.type == .thread else { throw .syscallError(.invalidArgument(1)) }
        setThreadState(inv.thread, .restart)
        let t = tcb(target.cap.paddr)
        tcbSchedDequeue(t)
        t.pointee.domain = domain
        if t.pointee.state.isRunnable && t != currentThread { tcbSchedEnqueue(t) }
        if t == currentThread { rescheduleRequired() }
    }
}
