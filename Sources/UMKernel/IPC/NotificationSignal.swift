// SPDX-License-Identifier: Apache-2.0
//
// Notifications (seL4 src/object/notification.c): signal ORs a badge into the word or
// wakes a waiter, wait takes the word, and a bound thread blocked receiving on an endpoint
// is woken by a signal to its notification.

import UMKABI

extension Kernel {
    /// seL4: sendSignal.
    func sendSignal(_ n: NotificationRef, badge: UInt64) {
        switch n.pointee.state {
        case .idle:
            let bound = n.pointee.boundTCB
            if bound != 0, tcb(bound).pointee.state == .blockedOnReceive {
                let t = tcb(bound)
                cancelIPC(t)
                setThreadState(t, .running)
                t.pointee[.rdi] = badge
                if trace.enabled { traceMessage("signal", from: trace.signalSource(currentThread.paddr), to: t, badge: badge) }
                possibleSwitchTo(t)
            } else {
                // Also the path of a bound thread waiting for a reply: the signal stays
                // pending until it next receives.
                n.pointee.state = .active
                n.pointee.word = badge
            }
        case .waiting:
            var q = queue(of: n)
            let dest = tcb(q.head)
            tcbEPDequeue(dest, &q)
            setQueue(of: n, q)
            if q.head == 0 { n.pointee.state = .idle }
            setThreadState(dest, .running)
            dest.pointee[.rdi] = badge
            if trace.enabled { traceMessage("signal", from: trace.signalSource(currentThread.paddr), to: dest, badge: badge) }
            possibleSwitchTo(dest)
        case .active:
            n.pointee.word |= badge
        }
    }

    /// seL4: receiveSignal — Wait (blocking) or Poll.
    func receiveSignal(_ thread: TCBRef, _ cap: Capability, blocking: Bool) {
        let n = notification(cap.paddr)
        switch n.pointee.state {
        case .idle, .waiting:
            if blocking {
                thread.pointee.state = .blockedOnNotification
                thread.pointee.blockingObject = n.paddr
                scheduleTCB(thread)
                var q = queue(of: n)
                tcbEPAppend(thread, &q)
                n.pointee.state = .waiting
                setQueue(of: n, q)
            } else {
                thread.pointee[.rdi] = 0
            }
        case .active:
            thread.pointee[.rdi] = n.pointee.word
            n.pointee.state = .idle
        }
    }

    /// seL4: completeSignal — a bound thread receiving takes the pending word.
    func completeSignal(_ n: NotificationRef, _ t: TCBRef) {
        precondition(n.pointee.state == .active, "completeSignal: notification not active")
        t.pointee[.rdi] = n.pointee.word
        n.pointee.state = .idle
    }

    /// seL4: cancelSignal — a waiter leaves the queue and stops.
    func cancelSignal(_ t: TCBRef, _ n: NotificationRef) {
        var q = queue(of: n)
        tcbEPDequeue(t, &q)
        setQueue(of: n, q)
        if q.head == 0 { n.pointee.state = .idle }
        setThreadState(t, .inactive)
    }

    /// seL4: cancelAllSignals — the notification is dying: every waiter restarts.
    func cancelAllSignals(_ n: NotificationRef) {
        guard n.pointee.state == .waiting else { return }
        var p = n.pointee.head
        n.pointee.headAndState = 0
        n.pointee.tail = 0
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

    /// seL4: bindNotification.
    func bindNotification(_ t: TCBRef, _ n: NotificationRef) {
        n.pointee.boundTCB = t.paddr
        t.pointee.boundNotification = n.paddr
    }

    /// seL4: unbindNotification (from the TCB's side).
    func unbindNotification(_ t: TCBRef) {
        let n = t.pointee.boundNotification
        if n != 0 {
            notification(n).pointee.boundTCB = 0
            t.pointee.boundNotification = 0
        }
    }

    /// seL4: unbindMaybeNotification (from the notification's side).
    func unbindMaybeNotification(_ n: NotificationRef) {
        let t = n.pointee.boundTCB
        if t != 0 {
            n.pointee.boundTCB = 0
            tcb(t).pointee.boundNotification = 0
        }
    }
}
