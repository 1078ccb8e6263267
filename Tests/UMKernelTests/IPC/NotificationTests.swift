// SPDX-License-Identifier: Apache-2.0
//
// Notifications (sel4-semantics.md §1.3, §2.5): Signal ORs badges into the word or wakes
// the first waiter, Wait/Poll take the word, and a bound thread is woken from an endpoint
// Recv (but not from a Call) by a signal; only the bound thread may wait.

import Testing
import UMKABI
@testable import UMKernel

private let rootCNode = KernelHarness.rootCNode

/// A new thread: its TCB cap slot and handle.
private func newThread(_ h: KernelHarness, _ priority: UInt64 = 100, faultEP: UInt64 = 0) -> (slot: UInt64, tcb: TCBRef) {
    h.run(h.root)
    let s = h.makeThread(priority: priority, faultEP: faultEP)
    return (s, h.tcbRef(s))
}

private func ntfn(_ h: KernelHarness, _ slot: UInt64) -> Notification {
    h.k.notification(h.cap(slot).paddr).pointee
}

/// Signal (Send on a notification cap) as the root thread.
private func signal(_ h: KernelHarness, _ cptr: UInt64) {
    h.run(h.root)
    h.syscall(.send, cptr: cptr)
}

@Suite("Notifications")
struct NotificationTests {
    @Test("Signal then Wait returns the badge and leaves the notification Idle")
    func signalThenWait() {
        let h = KernelHarness()
        let n = h.retype(.notification)[0]
        let b = h.mint(n, badge: 0x4)
        signal(h, b)
        #expect(ntfn(h, n).state == .active)
        #expect(ntfn(h, n).word == 0x4)
        let w = newThread(h).tcb
        h.run(w)
        h.syscall(.recv, cptr: n)
        #expect(w.pointee.state == .running)
        #expect(h.reply(w).badge == 0x4)
        #expect(ntfn(h, n).state == .idle)
    }

    @Test("Wait then Signal wakes the waiter with the badge")
    func waitThenSignal() {
        let h = KernelHarness()
        let n = h.retype(.notification)[0]
        let b = h.mint(n, badge: 0x20)
        let w = newThread(h).tcb
        h.run(w)
        h.syscall(.recv, cptr: n)
        #expect(w.pointee.state == .blockedOnNotification)
        #expect(ntfn(h, n).state == .waiting)
        signal(h, b)
        #expect(w.pointee.state == .running)
        #expect(h.reply(w).badge == 0x20)
        #expect(ntfn(h, n).state == .idle)
    }

    @Test("badges of several signals OR together")
    func badgesOr() {
        let h = KernelHarness()
        let n = h.retype(.notification)[0]
        let b1 = h.mint(n, badge: 0x1)
        let b4 = h.mint(n, badge: 0x4)
        let b5 = h.mint(n, badge: 0x5)
        signal(h, b1)
        signal(h, b4)
        signal(h, b5)
        #expect(ntfn(h, n).word == 0x5)
        let w = newThread(h).tcb
        h.run(w)
        h.syscall(.recv, cptr: n)
        #expect(h.reply(w).badge == 0x5)
    }

    @Test("a signal with badge 0 makes the notification Active; a later Wait returns at once with 0")
    func zeroBadgeSignalIsActive() {
        let h = KernelHarness()
        let n = h.retype(.notification)[0]
        signal(h, n)
        #expect(ntfn(h, n).state == .active)
        #expect(ntfn(h, n).word == 0)
        let w = newThread(h).tcb
        h.run(w)
        w.pointee[.rdi] = 0xFFFF
        h.syscall(.recv, cptr: n)
        #expect(w.pointee.state == .running)
        #expect(h.reply(w).badge == 0)
        #expect(ntfn(h, n).state == .idle)
        // Now Idle again: the next Wait blocks.
        h.run(w)
        h.syscall(.recv, cptr: n)
        #expect(w.pointee.state == .blockedOnNotification)
    }

    @Test("NBSend on a notification signals it")
    func nbSendSignals() {
        let h = KernelHarness()
        let n = h.retype(.notification)[0]
        let b = h.mint(n, badge: 0x8)
        h.syscall(.nbSend, cptr: b)
        #expect(ntfn(h, n).state == .active)
        #expect(ntfn(h, n).word == 0x8)
    }

    @Test("Poll on an Idle notification returns 0 without blocking")
    func pollIdle() {
        let h = KernelHarness()
        let n = h.retype(.notification)[0]
        let w = newThread(h).tcb
        h.run(w)
        w.pointee[.rdi] = 0xFFFF
        h.syscall(.nbRecv, cptr: n)
        #expect(w.pointee.state == .running)
        #expect(h.reply(w).badge == 0)
        #expect(ntfn(h, n).state == .idle)
    }

    @Test("Poll on an Active notification takes the word")
    func pollActive() {
        let h = KernelHarness()
        let n = h.retype(.notification)[0]
        let b = h.mint(n, badge: 0x30)
        signal(h, b)
        let w = newThread(h).tcb
        h.run(w)
        h.syscall(.nbRecv, cptr: n)
        #expect(h.reply(w).badge == 0x30)
        #expect(ntfn(h, n).state == .idle)
    }

    @Test("waiters are woken in FIFO order, one per signal")
    func waitQueueFIFO() {
        let h = KernelHarness()
        let n = h.retype(.notification)[0]
        let b1 = h.mint(n, badge: 1)
        let b2 = h.mint(n, badge: 2)
        let w1 = newThread(h).tcb, w2 = newThread(h).tcb
        h.run(w1)
        h.syscall(.recv, cptr: n)
        h.run(w2)
        h.syscall(.recv, cptr: n)
        #expect(h.k.queuedThreads(notification: h.cap(n).paddr) == [w1, w2])
        signal(h, b1)
        #expect(w1.pointee.state == .running)
        #expect(h.reply(w1).badge == 1)
        #expect(w2.pointee.state == .blockedOnNotification)
        #expect(ntfn(h, n).state == .waiting)
        signal(h, b2)
        #expect(w2.pointee.state == .running)
        #expect(h.reply(w2).badge == 2)
        #expect(ntfn(h, n).state == .idle)
    }

    @Test("a bound thread blocked in Recv on an endpoint is woken by a signal with the badge")
    func boundThreadWokenFromRecv() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let n = h.retype(.notification)[0]
        let b = h.mint(n, badge: 0x10)
        let (ts, t) = newThread(h)
        #expect(h.error(ts, .tcbBindNotification, caps: [n]) == .noError)
        h.run(t)
        h.syscall(.recv, cptr: ep)
        #expect(t.pointee.state == .blockedOnReceive)
        signal(h, b)
        #expect(t.pointee.state == .running)
        #expect(h.reply(t).badge == 0x10)
        #expect(h.k.queuedThreads(endpoint: h.cap(ep).paddr).isEmpty)
        #expect(h.k.endpoint(h.cap(ep).paddr).pointee.state == .idle)
        #expect(ntfn(h, n).state == .idle)
    }

    @Test("a bound thread with a pending signal gets it from its next endpoint Recv")
    func boundPendingSignalOnRecv() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let n = h.retype(.notification)[0]
        let b = h.mint(n, badge: 0x11)
        let (ts, t) = newThread(h)
        #expect(h.error(ts, .tcbBindNotification, caps: [n]) == .noError)
        signal(h, b)
        #expect(ntfn(h, n).state == .active)
        h.run(t)
        h.syscall(.recv, cptr: ep)
        #expect(t.pointee.state == .running)
        #expect(h.reply(t).badge == 0x11)
        #expect(ntfn(h, n).state == .idle)
    }

    @Test("a bound thread in Call (BlockedOnReply) is not woken; the signal stays pending")
    func boundThreadInCallNotWoken() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let n = h.retype(.notification)[0]
        let b = h.mint(n, badge: 0x10)
        let server = newThread(h).tcb
        let (ts, t) = newThread(h)
        #expect(h.error(ts, .tcbBindNotification, caps: [n]) == .noError)
        h.run(server)
        h.syscall(.recv, cptr: ep)
        h.run(t)
        h.syscall(.call, cptr: ep, info: MessageInfo(label: 1, length: 0))
        #expect(t.pointee.state == .blockedOnReply)
        signal(h, b)
        #expect(t.pointee.state == .blockedOnReply)
        #expect(ntfn(h, n).state == .active)
        #expect(ntfn(h, n).word == 0x10)
        // The reply still arrives normally.
        h.run(server)
        h.syscall(.reply, info: MessageInfo(label: 2, length: 1), mrs: [77])
        #expect(t.pointee.state == .running)
        #expect(h.reply(t).mrs == [77])
        // The pending signal is taken by the next Recv.
        h.run(t)
        h.syscall(.recv, cptr: ep)
        #expect(t.pointee.state == .running)
        #expect(h.reply(t).badge == 0x10)
        #expect(ntfn(h, n).state == .idle)
    }

    @Test("the bound thread may Wait on its notification")
    func boundThreadMayWait() {
        let h = KernelHarness()
        let n = h.retype(.notification)[0]
        let b = h.mint(n, badge: 0x3)
        let (ts, t) = newThread(h)
        #expect(h.error(ts, .tcbBindNotification, caps: [n]) == .noError)
        h.run(t)
        h.syscall(.recv, cptr: n)
        #expect(t.pointee.state == .blockedOnNotification)
        signal(h, b)
        #expect(t.pointee.state == .running)
        #expect(h.reply(t).badge == 0x3)
    }

    @Test("only the bound thread may Wait on a bound notification; another thread takes a CapFault")
    func otherThreadWaitFaults() {
        let h = KernelHarness()
        let n = h.retype(.notification)[0]
        let fep = h.retype(.endpoint)[0]
        let handler = newThread(h).tcb
        let (ts, _) = newThread(h)
        #expect(h.error(ts, .tcbBindNotification, caps: [n]) == .noError)
        let other = newThread(h, faultEP: fep).tcb
        h.run(handler)
        h.syscall(.recv, cptr: fep)
        h.run(other)
        h.syscall(.recv, cptr: n)
        #expect(other.pointee.state == .blockedOnReply)
        #expect(ntfn(h, n).state == .idle, "the other thread is not queued")
        let m = h.reply(handler)
        #expect(m.label == FaultType.capFault.rawValue)
        #expect(m.mrs.count >= 4)
        if m.mrs.count >= 4 {
            #expect(m.mrs[1] == n)
            #expect(m.mrs[2] == 1, "in receive phase")
            #expect(m.mrs[3] == 2, "MissingCapability")
        }
    }

    @Test("Wait on a notification cap without Read is a CapFault")
    func waitWithoutReadFaults() {
        let h = KernelHarness()
        let n = h.retype(.notification)[0]
        let writeOnly = h.mint(n, rights: .write)
        let fep = h.retype(.endpoint)[0]
        let handler = newThread(h).tcb
        let w = newThread(h, faultEP: fep).tcb
        h.run(handler)
        h.syscall(.recv, cptr: fep)
        h.run(w)
        h.syscall(.recv, cptr: writeOnly)
        #expect(h.reply(handler).label == FaultType.capFault.rawValue)
        #expect(w.pointee.state == .blockedOnReply)
    }
}
