// SPDX-License-Identifier: Apache-2.0
//
// Synchronous IPC through endpoints (seL4 src/object/endpoint.c, non-MCS): send and
// receive with rendezvous, reply caps in the caller slot, cancelling a thread's IPC, and
// what happens to queued threads when an endpoint dies or a badge is cancelled.

import UMKABI

extension Kernel {
    /// seL4: sendIPC.
    func sendIPC(blocking: Bool, isCall: Bool, badge: UInt64, canGrant: Bool, canGrantReply: Bool,
                 _ thread: TCBRef, _ ep: EndpointRef) {
        switch ep.pointee.state {
        case .idle, .send:
            guard blocking else { return }
            thread.pointee.state = .blockedOnSend
            thread.pointee.blockingObject = ep.paddr
            thread.pointee.blockingBadge = badge
            thread.pointee.blockingCanGrant = canGrant
            thread.pointee.blockingCanGrantReply = canGrantReply
            thread.pointee.blockingIsCall = isCall
            scheduleTCB(thread)
            var q = queue(of: ep)
            tcbEPAppend(thread, &q)
            ep.pointee.state = .send
            setQueue(of: ep, q)
        case .recv:
            var q = queue(of: ep)
            let dest = tcb(q.head)
            tcbEPDequeue(dest, &q)
            setQueue(of: ep, q)
            if q.head == 0 { ep.pointee.state = .idle }
            doIPCTransfer(sender: thread, endpoint: ep.paddr, badge: badge, grant: canGrant, receiver: dest)
            let replyCanGrant = dest.pointee.blockingCanGrant
            setThreadState(dest, .running)
            possibleSwitchTo(dest)
            if isCall {
                if canGrant || canGrantReply {
                    setupCallerCap(sender: thread, receiver: dest, canGrant: replyCanGrant)
                } else {
                    setThreadState(thread, .inactive)
                }
            }
        }
    }

    /// seL4: receiveIPC.
    func receiveIPC(_ thread: TCBRef, _ cap: Capability, blocking: Bool) {
        let ep = endpoint(cap.paddr)
        let bound = thread.pointee.boundNotification
        if bound != 0 && notification(bound).pointee.state == .active {
            completeSignal(notification(bound), thread)
            return
        }
        switch ep.pointee.state {
        case .idle, .recv:
            if blocking {
                thread.pointee.state = .blockedOnReceive
                thread.pointee.blockingObject = ep.paddr
                thread.pointee.blockingCanGrant = cap.rights.contains(.grant)
                scheduleTCB(thread)
                var q = queue(of: ep)
                tcbEPAppend(thread, &q)
                ep.pointee.state = .recv
                setQueue(of: ep, q)
            } else {
                thread.pointee[.rdi] = 0
            }
        case .send:
            var q = queue(of: ep)
            let sender = tcb(q.head)
            tcbEPDequeue(sender, &q)
            setQueue(of: ep, q)
            if q.head == 0 { ep.pointee.state = .idle }
            let badge = sender.pointee.blockingBadge
            let canGrant = sender.pointee.blockingCanGrant
            let canGrantReply = sender.pointee.blockingCanGrantReply
            doIPCTransfer(sender: sender, endpoint: ep.paddr, badge: badge, grant: canGrant, receiver: thread)
            if sender.pointee.blockingIsCall {
                if canGrant || canGrantReply {
                    setupCallerCap(sender: sender, receiver: thread, canGrant: cap.rights.contains(.grant))
                } else {
                    setThreadState(sender, .inactive)
                }
            } else {
                setThreadState(sender, .running)
                possibleSwitchTo(sender)
            }
        }
    }

    /// seL4: setupReplyMaster — the thread's own master reply cap, root of its reply caps.
    func setupReplyMaster(_ t: TCBRef) {
        let s = t.slot(.reply)
        if s.pointee.cap.isNull {
            var cte = Slot.empty
            cte.cap = .reply(tcb: t.paddr, master: true, canGrant: true)
            cte.revocable = true
            cte.firstBadged = true
            s.pointee = cte
        }
    }

    /// seL4: setupCallerCap — the caller waits for a reply; the receiver holds the reply cap.
    func setupCallerCap(sender: TCBRef, receiver: TCBRef, canGrant: Bool) {
        setThreadState(sender, .blockedOnReply)
        let replySlot = sender.slot(.reply)
        let master = replySlot.pointee.cap
        precondition(master.type == .reply && master.replyMaster && master.paddr == sender.paddr,
                     "Sender must have a valid master reply cap")
        let callerSlot = receiver.slot(.caller)
        precondition(callerSlot.pointee.cap.isNull, "Caller cap must not already exist")
        cteInsert(.reply(tcb: sender.paddr, master: false, canGrant: canGrant), src: replySlot, dest: callerSlot)
    }

    /// seL4: deleteCallerCap — a new receive discards an unsaved reply cap.
    func deleteCallerCap(_ receiver: TCBRef) {
        cteDeleteOne(receiver.slot(.caller))
    }

    /// seL4: doReplyTransfer — deliver a reply (or a fault reply) and wake the caller.
    func doReplyTransfer(sender: TCBRef, receiver: TCBRef, slot replySlot: SlotRef, grant: Bool) {
        precondition(receiver.pointee.state == .blockedOnReply, "doReplyTransfer: receiver not BlockedOnReply")
        if receiver.pointee.fault.type == FaultType.nullFault.rawValue {
            doIPCTransfer(sender: sender, endpoint: 0, badge: 0, grant: grant, receiver: receiver)
            cteDeleteOne(replySlot)
            setThreadState(receiver, .running)
            possibleSwitchTo(receiver)
        } else {
            cteDeleteOne(replySlot)
            let restart = handleFaultReply(receiver: receiver, sender: sender)
            receiver.pointee.fault = FaultRecord()
            if restart {
                setThreadState(receiver, .restart)
                possibleSwitchTo(receiver)
            } else {
                setThreadState(receiver, .inactive)
            }
        }
    }

    /// seL4: cancelIPC — take a blocked thread out of whatever IPC it waits in.
    func cancelIPC(_ t: TCBRef) {
        switch t.pointee.state {
        case .blockedOnSend, .blockedOnReceive:
            let ep = endpoint(t.pointee.blockingObject)
            var q = queue(of: ep)
            tcbEPDequeue(t, &q)
            setQueue(of: ep, q)
            if q.head == 0 { ep.pointee.state = .idle }
            setThreadState(t, .inactive)
        case .blockedOnNotification:
            cancelSignal(t, notification(t.pointee.blockingObject))
        case .blockedOnReply:
            t.pointee.fault = FaultRecord()
            let next = t.slot(.reply).pointee.next
            if next != 0 { cteDeleteOne(slot(next)) }
        default:
            break
        }
    }

    /// seL4: cancelAllIPC — the endpoint is dying: every queued thread restarts (non-MCS
    /// seL4 restarts a thread that was delivering a fault too: it faults again).
    func cancelAllIPC(_ ep: EndpointRef) {
        guard ep.pointee.state != .idle else { return }
        var p = ep.pointee.head
        ep.pointee = Endpoint(headAndState: 0, tail: 0)
        while p != 0 {
            let t = tcb(p)
            p = t.pointee.epNext
            t.pointee.epNext = 0
            t.pointee.epPrev = 0
            setThreadState(t, .restart)
            tcbSchedEnqueue(t)
        }
        rescheduleRequired()
    }

    /// seL4: cancelBadgedSends — senders with `badge` restart; others stay queued in order.
    func cancelBadgedSends(_ ep: EndpointRef, badge: UInt64) {
        guard ep.pointee.state == .send else { return }
        var q = queue(of: ep)
        ep.pointee = Endpoint(headAndState: 0, tail: 0)
        var p = q.head
        while p != 0 {
            let t = tcb(p)
            p = t.pointee.epNext
            if t.pointee.blockingBadge == badge {
                setThreadState(t, .restart)
                tcbSchedEnqueue(t)
                tcbEPDequeue(t, &q)
            }
        }
        setQueue(of: ep, q)
        if q.head != 0 { ep.pointee.state = .send }
        rescheduleRequired()
    }
}
