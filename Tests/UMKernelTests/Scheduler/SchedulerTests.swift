// SPDX-License-Identifier: Apache-2.0
//
// The non-MCS scheduler (sel4-semantics §5): strict priorities, head insertion for
// resumed and preempted threads, tail insertion for Yield and time-slice expiry, the
// possibleSwitchTo rules on IPC wake-up, and the two-level ready-queue bitmap.

import Testing
import UMKABI
@testable import UMKernel

private let rootTCB = InitialCap.initThreadTCB.rawValue

/// The root task drops to `prio`, letting the test threads above it run.
private func lowerRoot(_ h: KernelHarness, to prio: UInt64 = 1) {
    #expect(h.error(rootTCB, .tcbSetPriority, [prio], caps: [rootTCB]) == .noError)
}

@Suite("Scheduler")
struct SchedulerTests {
    @Test("the highest-priority runnable thread runs")
    func highestRuns() {
        let h = KernelHarness()
        let lo = h.tcbRef(h.makeThread(priority: 50))
        let hi = h.tcbRef(h.makeThread(priority: 200))
        let mid = h.tcbRef(h.makeThread(priority: 100))
        #expect(h.k.currentThread == h.root, "the root at 255 keeps running")
        lowerRoot(h)
        #expect(h.k.currentThread == hi)
        #expect(hi.pointee.state == .running)
        #expect(h.k.readyQueue(priority: 200) == [], "the running thread is not in a queue")
        #expect(h.k.readyQueue(priority: 100) == [mid])
        #expect(h.k.readyQueue(priority: 50) == [lo])
        #expect(h.k.readyQueue(priority: 1) == [h.root])
        // The running thread blocks: the next highest runs.
        let ep = h.retype(.endpoint)[0]
        h.syscall(.recv, cptr: ep)
        #expect(hi.pointee.state == .blockedOnReceive)
        #expect(h.k.currentThread == mid)
        h.syscall(.recv, cptr: ep)
        #expect(h.k.currentThread == lo)
        h.syscall(.recv, cptr: ep)
        #expect(h.k.currentThread == h.root)
        #expect(h.k.readyQueue(priority: 1) == [])
    }

    @Test("raising a ready thread above the current one preempts it")
    func raisePriorityPreempts() {
        let h = KernelHarness()
        let a = h.makeThread(priority: 100)
        #expect(h.k.currentThread == h.root)
        #expect(h.error(rootTCB, .tcbSetPriority, [150], caps: [rootTCB]) == .noError)
        #expect(h.k.currentThread == h.root)
        #expect(h.error(a, .tcbSetPriority, [200], caps: [rootTCB]) == .noError)
        #expect(h.k.currentThread == h.tcbRef(a))
        #expect(h.k.readyQueue(priority: 150) == [h.root], "the preempted root is queued")
    }

    @Test("equal priorities: a resumed thread goes to the head of its queue")
    func resumedToHead() {
        let h = KernelHarness()
        let a = h.tcbRef(h.makeThread(priority: 100))
        let b = h.tcbRef(h.makeThread(priority: 100))
        let c = h.tcbRef(h.makeThread(priority: 100))
        #expect(h.k.readyQueue(priority: 100) == [c, b, a])
        lowerRoot(h)
        #expect(h.k.currentThread == c, "the thread started last runs first")
        #expect(h.k.readyQueue(priority: 100) == [b, a])
    }

    @Test("Yield sends the current thread to the tail of its queue (round robin)")
    func yieldRoundRobin() {
        let h = KernelHarness()
        let a = h.tcbRef(h.makeThread(priority: 100))
        let b = h.tcbRef(h.makeThread(priority: 100))
        let c = h.tcbRef(h.makeThread(priority: 100))
        lowerRoot(h)
        #expect(h.k.currentThread == c)
        h.syscall(.yield)
        #expect(h.k.currentThread == b)
        #expect(h.k.readyQueue(priority: 100) == [a, c])
        #expect(c.pointee.state == .running, "a yielded thread stays runnable")
        h.syscall(.yield)
        #expect(h.k.currentThread == a)
        #expect(h.k.readyQueue(priority: 100) == [c, b])
        h.syscall(.yield)
        #expect(h.k.currentThread == c)
        #expect(h.k.readyQueue(priority: 100) == [b, a])
        #expect(h.k.readyQueue(priority: 1) == [h.root], "lower priorities never get a turn")
    }

    @Test("Yield with no other thread at the priority keeps the current thread running")
    func yieldAlone() {
        let h = KernelHarness()
        let a = h.tcbRef(h.makeThread(priority: 100))
        lowerRoot(h)
        #expect(h.k.currentThread == a)
        h.syscall(.yield)
        #expect(h.k.currentThread == a)
        #expect(h.k.readyQueue(priority: 100) == [])
    }

    @Test("Yield keeps the time slice; expiry after 5 ticks moves the current thread to the tail")
    func timeSlice() {
        let h = KernelHarness()
        let a = h.tcbRef(h.makeThread(priority: 100))
        let b = h.tcbRef(h.makeThread(priority: 100))
        let c = h.tcbRef(h.makeThread(priority: 100))
        lowerRoot(h)
        #expect(h.k.currentThread == c)
        #expect(c.pointee.timeSlice == 5)
        for i in 1...4 {
            h.k.handleTimerTickEntry()
            h.check()
            #expect(h.k.currentThread == c, "tick \(i)")
            #expect(c.pointee.timeSlice == 5 - UInt64(i))
        }
        #expect(h.k.readyQueue(priority: 100) == [b, a])
        h.k.handleTimerTickEntry()
        h.check()
        #expect(h.k.currentThread == b)
        #expect(h.k.readyQueue(priority: 100) == [a, c])
        #expect(c.pointee.timeSlice == 5, "refilled on expiry")
        #expect(c.pointee.state == .running)
        // b: 2 ticks, yield (slice kept at 3), then a and c take their turns.
        h.k.handleTimerTickEntry()
        h.k.handleTimerTickEntry()
        #expect(b.pointee.timeSlice == 3)
        h.syscall(.yield)
        #expect(h.k.currentThread == a)
        #expect(b.pointee.timeSlice == 3, "Yield does not reset the time slice")
        #expect(h.k.readyQueue(priority: 100) == [c, b])
    }

    @Test("a higher-priority thread woken by IPC preempts; the preempted thread keeps its turn at the head")
    func ipcWakeupPreempts() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let l2 = h.tcbRef(h.makeThread(priority: 100))
        let l1 = h.tcbRef(h.makeThread(priority: 100))
        let hi = h.tcbRef(h.makeThread(priority: 200))
        lowerRoot(h)
        #expect(h.k.currentThread == hi)
        h.syscall(.recv, cptr: ep)
        #expect(hi.pointee.state == .blockedOnReceive)
        #expect(h.k.currentThread == l1)
        #expect(h.k.readyQueue(priority: 100) == [l2])
        // l1 sends: the receiver outranks it and runs at once.
        h.syscall(.send, cptr: ep, info: MessageInfo(label: 0x55, length: 2), mrs: [7, 8])
        #expect(h.k.currentThread == hi)
        #expect(hi.pointee.state == .running)
        #expect(l1.pointee.state == .running)
        #expect(h.k.readyQueue(priority: 100) == [l1, l2], "preempted l1 goes to the head")
        let msg = h.reply(hi)
        #expect(msg.label == 0x55)
        #expect(msg.mrs == [7, 8])
    }

    @Test("an equal-priority thread woken by IPC is appended; the sender keeps running")
    func ipcWakeupEqualPriority() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let other = h.tcbRef(h.makeThread(priority: 100))
        let sender = h.tcbRef(h.makeThread(priority: 100))
        let receiver = h.tcbRef(h.makeThread(priority: 100))
        lowerRoot(h)
        #expect(h.k.currentThread == receiver)
        h.syscall(.recv, cptr: ep)
        #expect(h.k.currentThread == sender)
        #expect(h.k.readyQueue(priority: 100) == [other])
        h.syscall(.send, cptr: ep, info: MessageInfo(label: 1, length: 0))
        #expect(h.k.currentThread == sender)
        #expect(receiver.pointee.state == .running)
        #expect(h.k.readyQueue(priority: 100) == [other, receiver], "woken thread appended at the tail")
    }

    @Test("a lower-priority thread woken by IPC is queued and the sender keeps running")
    func ipcWakeupLowerPriority() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let lo = h.tcbRef(h.makeThread(priority: 50))
        h.run(lo)
        h.syscall(.recv, cptr: ep)
        #expect(lo.pointee.state == .blockedOnReceive)
        #expect(h.k.currentThread == h.root)
        h.syscall(.send, cptr: ep, info: MessageInfo(label: 1, length: 0))
        #expect(h.k.currentThread == h.root)
        #expect(lo.pointee.state == .running)
        #expect(h.k.readyQueue(priority: 50) == [lo])
    }

    @Test("the ready-queue bitmap tracks the non-empty queues")
    func bitmap() {
        let h = KernelHarness()
        #expect(h.k.globals.pointee.bitmapL1 == 0)
        let t5 = h.makeThread(priority: 5)
        let t70 = h.makeThread(priority: 70)
        let t70b = h.makeThread(priority: 70)
        let t130 = h.makeThread(priority: 130)
        let t200 = h.makeThread(priority: 200)
        let g = h.k.globals
        #expect(g.pointee.bitmapL1 == 0b1111)
        #expect(g.pointee.bitmapL2[0] == 1 << 5)
        #expect(g.pointee.bitmapL2[1] == 1 << (70 - 64))
        #expect(g.pointee.bitmapL2[2] == 1 << (130 - 128))
        #expect(g.pointee.bitmapL2[3] == 1 << (200 - 192))
        #expect(h.k.highestReadyPriority() == 200)
        #expect(h.k.readyQueue(priority: 70) == [h.tcbRef(t70b), h.tcbRef(t70)])
        #expect(!h.k.isHighestPriority(199) && h.k.isHighestPriority(200))

        #expect(h.error(t200, .tcbSuspend) == .noError)
        #expect(g.pointee.bitmapL1 == 0b0111)
        #expect(g.pointee.bitmapL2[3] == 0)
        #expect(h.k.highestReadyPriority() == 130)
        // One of two at 70 leaving keeps the bit.
        #expect(h.error(t70, .tcbSuspend) == .noError)
        #expect(g.pointee.bitmapL2[1] == 1 << 6)
        #expect(h.k.readyQueue(priority: 70) == [h.tcbRef(t70b)])
        #expect(h.error(t70b, .tcbSuspend) == .noError)
        #expect(g.pointee.bitmapL2[1] == 0)
        #expect(g.pointee.bitmapL1 == 0b0101)
        // Priority change moves the bit.
        #expect(h.error(t130, .tcbSetPriority, [63], caps: [rootTCB]) == .noError)
        #expect(g.pointee.bitmapL1 == 0b0001)
        #expect(g.pointee.bitmapL2[0] == (UInt64(1) << 5 | UInt64(1) << 63))
        #expect(h.k.readyQueue(priority: 63) == [h.tcbRef(t130)])
        #expect(h.k.highestReadyPriority() == 63)
        // The scheduler picks from the bitmap's highest queue.
        lowerRoot(h)
        #expect(h.k.currentThread == h.tcbRef(t130))
        #expect(g.pointee.bitmapL2[0] == (UInt64(1) << 5 | UInt64(1) << 1), "root queued at 1; 63 now running")
        #expect(h.k.highestReadyPriority() == 5)
        _ = t5
    }

    @Test("with no runnable thread the idle thread runs; a resume brings a thread back")
    func idle() {
        let h = KernelHarness()
        let a = h.tcbRef(h.makeThread(priority: 100))
        let ep = h.retype(.endpoint)[0]
        lowerRoot(h)
        #expect(h.k.currentThread == a)
        h.syscall(.recv, cptr: ep)
        #expect(h.k.currentThread == h.root)
        h.syscall(.recv, cptr: ep)
        #expect(h.k.currentThread == h.k.idleThread)
        #expect(h.k.globals.pointee.bitmapL1 == 0)
        // A tick while idle changes nothing.
        h.k.handleTimerTickEntry()
        h.check()
        #expect(h.k.currentThread == h.k.idleThread)
    }
}
