// SPDX-License-Identifier: Apache-2.0
//
// The kernel's loop (KernelLoop.swift) on the simulated machine with scripted guests:
// what each thread the kernel restores does is played by the test, and the loop's policy
// is checked by what the threads see: a fresh start, results after a syscall, every
// register after a fault reply, a Restart re-issued without going out to user mode, the
// first-frame check, a thread with no entry point or no address space stopped, interrupts
// taken on the way out, and the end of a run.

import Testing
import UMKABI
@testable import UMKernel

private let rootCNode = InitialCap.initThreadCNode.rawValue
private let entryIP: UInt64 = 0x40_1000

/// A scripted guest's syscall: its registers set as the machine's entry would save them.
private func syscall(_ t: TCBRef, _ s: Syscall, cptr: UInt64, info: MessageInfo = MessageInfo(label: 0, length: 0),
                     mrs: [UInt64] = []) -> KernelEvent {
    t.pointee[.rdi] = cptr
    t.pointee[.rsi] = info.word
    for (i, v) in mrs.enumerated() { t.pointee[messageRegister(i)] = v }
    return .syscall(s.rawValue)
}

/// A scripted guest's invocation by Call.
private func call(_ t: TCBRef, _ cptr: UInt64, _ label: InvocationLabel, _ args: [UInt64] = []) -> KernelEvent {
    syscall(t, .call, cptr: cptr, info: MessageInfo(label: label.rawValue, length: UInt64(args.count)), mrs: args)
}

extension KernelHarness {
    /// A thread in the root's spaces that can start: entry point `entryIP`, its stack in
    /// the root's mapped stack pages (one page each, by `stackPage`). Resumed.
    func startableThread(priority: UInt64, faultEP: UInt64 = 0, stackPage: UInt64, name: String) -> (slot: UInt64, tcb: TCBRef) {
        let slot = makeThread(priority: priority, faultEP: faultEP, resume: false, name: name)
        let t = tcbRef(slot)
        t.pointee[.rip] = entryIP
        t.pointee.nextIP = entryIP
        t.pointee[.rsp] = 0x4F_0000 + (stackPage + 1) * 0x1000
        #expect(error(slot, .tcbResume) == .noError)
        return (slot, t)
    }

    /// The root task stops itself (TCB_Suspend), so the threads it built run.
    func rootStops() {
        invoke(InitialCap.initThreadTCB.rawValue, .tcbSuspend)
        #expect(root.pointee.state == .inactive)
    }

    /// A handler (priority 200) and a thread `f` (100) whose faults go to it through a new
    /// endpoint; the handler's script receives on it. The root is not stopped yet.
    func handlerAndFaulter() -> (ep: UInt64, handler: TCBRef, f: TCBRef) {
        let ep = retype(.endpoint)[0]
        let (_, handler) = startableThread(priority: 200, stackPage: 0, name: "handler")
        let (_, f) = startableThread(priority: 100, faultEP: ep, stackPage: 1, name: "f")
        return (ep, handler, f)
    }

    /// Startable threads, one stack page each in the order given, then the root stops:
    /// the TCBs and their cap slots.
    func threads(_ specs: (name: String, priority: UInt64, faultEP: UInt64)...) -> (tcbs: [TCBRef], slots: [UInt64]) {
        let made = specs.enumerated().map { i, s in
            startableThread(priority: s.priority, faultEP: s.faultEP, stackPage: UInt64(i), name: s.name)
        }
        rootStops()
        return (made.map(\.tcb), made.map(\.slot))
    }
}

/// Threads a (priority 100) and b (50) ready to start, a notification they share (and a
/// copy badged `badge`), the root stopped.
private struct NotifiedPair {
    let h = KernelHarness()
    let ntfn: UInt64, badged: UInt64
    let a: TCBRef, b: TCBRef, aSlot: UInt64

    init(badge: UInt64) {
        ntfn = h.retype(.notification)[0]
        badged = h.mint(ntfn, badge: badge)
        let made = h.threads(("a", 100, 0), ("b", 50, 0))
        (a, b, aSlot) = (made.tcbs[0], made.tcbs[1], made.slots[0])
    }
}

@Suite("Kernel loop")
struct KernelLoopTests {
    @Test("LOOP0001 a thread that never ran starts at its entry; after a syscall it gets its results back")
    func startThenSyscallReturn() {
        let w = NotifiedPair(badge: 0x55)
        let (h, a, b, ntfn, badged) = (w.h, w.a, w.b, w.ntfn, w.badged)
        let log = h.k.runScripted { t, how in
            switch (t, how) {
            case (a, .start): return syscall(t, .recv, cptr: ntfn)
            case (b, .start): return syscall(t, .send, cptr: badged)
            default: return nil
            }
        }
        #expect(log.map(\.thread) == [a, b, a])
        #expect(log.map(\.how) == [.start(first: true), .start(first: true), .syscallReturn])
        #expect(a.pointee[.rdi] == 0x55, "the badge is A's result")
        #expect(h.k.hal.lastRestored?.asid != nil, "restored in the root's address space")
        #expect(a.pointee.nextIP == SimulatedHAL.syscallSite + 2)
    }

    @Test("LOOP0002 a Restart re-issues the syscall in the kernel: the thread is not resumed until it completes")
    func restartReissued() {
        let w = NotifiedPair(badge: 7)
        let (h, a, b, ntfn, badged, aSlot) = (w.h, w.a, w.b, w.ntfn, w.badged, w.aSlot)
        var step = 0
        let log = h.k.runScripted { t, how in
            if t == a { return how == .start(first: true) ? syscall(t, .recv, cptr: ntfn) : nil }
            step += 1
            switch step {
            case 1: return call(t, aSlot, .tcbSuspend)          // A stops in its Recv
            case 2: return syscall(t, .send, cptr: badged)      // the notification turns active
            case 3: return call(t, aSlot, .tcbResume)           // A restarts its Recv
            default: return nil
            }
        }
        #expect(log.filter { $0.thread == a }.map(\.how) == [.start(first: true), .syscallReturn],
                "A goes out to user mode only once its re-issued Recv has completed")
        #expect(log.last?.thread == a)
        #expect(a.pointee[.rdi] == 7)
        #expect(a.pointee.state == .running)
        #expect(log.filter { $0.thread == b }.map(\.how) == [.start(first: true), .syscallReturn, .syscallReturn])
    }

    @Test("LOOP0003 a fresh thread whose first stack frame is not mapped writable takes a VMFault there")
    func firstFrameFaults() {
        let h = KernelHarness()
        let (ep, handler, f) = h.handlerAndFaulter()
        f.pointee[.rsp] = 0x90_0000
        h.rootStops()
        let log = h.k.runScripted { t, how in
            t == handler && how == .start(first: true) ? syscall(t, .recv, cptr: ep) : nil
        }
        #expect(log.map(\.thread) == [handler, handler], "the faulting thread never runs")
        let info = MessageInfo(word: handler.pointee[.rsi])
        #expect(info.label == FaultType.vmFault.rawValue)
        #expect(handler.pointee[.r10] == entryIP, "MR0: the IP")
        #expect(handler.pointee[.r8] == 0x90_0000 - 8, "MR1: the first frame's address")
        #expect(handler.pointee[.r15] == 0x6, "MR3: a user-mode write to a page not present")
        #expect(f.pointee.state == .blockedOnReply)
    }

    @Test("LOOP0004 a thread with no entry point is reported and stopped; the others run")
    func noEntryPointStopped() {
        let h = KernelHarness()
        let (_, z) = h.startableThread(priority: 100, stackPage: 0, name: "z")
        let (_, y) = h.startableThread(priority: 50, stackPage: 1, name: "y")
        // (Resume left it in Restart: it would start at its IP.)
        z.pointee[.rip] = 0
        z.pointee.nextIP = 0
        h.rootStops()
        let log = h.k.runScripted { _, _ in nil }
        #expect(log.map(\.thread) == [y])
        #expect(z.pointee.state == .inactive)
        #expect(h.k.hal.outputText.contains("thread \"z\" cannot start"))
    }

    @Test("LOOP0005 a thread whose address space is gone (its ASID pool deleted) is reported and stopped")
    func noAddressSpaceStopped() {
        let h = KernelHarness()
        let (_, z) = h.startableThread(priority: 100, stackPage: 0, name: "z")
        // The root deletes the ASID pool its VSpace (and z's) is in: the ASID is released.
        #expect(h.error(rootCNode, .cnodeDelete, [InitialCap.initThreadASIDPool.rawValue, 64]) == .noError)
        #expect(h.k.hal.assignedASIDs.isEmpty)
        h.rootStops()
        let log = h.k.runScripted { _, _ in nil }
        #expect(log.isEmpty)
        #expect(z.pointee.state == .inactive)
        #expect(h.k.hal.outputText.contains("thread \"z\" cannot start"))
    }

    @Test("LOOP0006 after a fault reply the thread resumes with every register the handler wrote")
    func exceptionReturnAfterReply() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let made = h.threads(("handler", 200, 0), ("f", 100, ep))
        let (handler, f) = (made.tcbs[0], made.tcbs[1])
        var faulted = false
        let log = h.k.runScripted { t, how in
            switch (t, how) {
            case (handler, .start):
                return syscall(t, .recv, cptr: ep)
            case (f, .start):
                // A ud2 at 0x40_1234: the machine saved the registers, the IP at the
                // instruction.
                faulted = true
                t.pointee[.rip] = 0x40_1234
                t.pointee.nextIP = 0x40_1234
                return .userException(number: 6, code: 0)
            case (handler, .syscallReturn) where faulted:
                #expect(MessageInfo(word: t.pointee[.rsi]).label == FaultType.userException.rawValue)
                #expect(t.pointee[.r10] == 0x40_1234)
                faulted = false
                // Resume past the instruction with a new stack: [rip, rsp, rflags].
                return syscall(t, .replyRecv, cptr: ep, info: MessageInfo(label: 0, length: 3),
                               mrs: [0x40_2000, 0x4F_1800, 0x202])
            default:
                return nil
            }
        }
        #expect(log.map(\.thread) == [handler, f, handler, f])
        #expect(log.last?.how == .exceptionReturn)
        #expect(f.pointee.nextIP == 0x40_2000)
        #expect(f.pointee[.rsp] == 0x4F_1800)
    }

    @Test("LOOP0007 an interrupt is taken on the way out: the waiting driver runs first, the interrupted thread resumes where it was")
    func interruptTakenOnExit() {
        let h = KernelHarness()
        let ntfn = h.retype(.notification)[0]
        let handlerCap = h.allocSlot()
        #expect(h.error(InitialCap.irqControl.rawValue, .irqIssueIRQHandler, [5, handlerCap, 64], caps: [rootCNode]) == .noError)
        let badged = h.mint(ntfn, badge: 0x20)
        #expect(h.error(handlerCap, .irqSetIRQHandler, caps: [badged]) == .noError)
        let made = h.threads(("driver", 200, 0), ("worker", 50, 0))
        let (driver, worker) = (made.tcbs[0], made.tcbs[1])
        var woken = 0
        let log = h.k.runScripted { t, how in
            switch (t, how) {
            case (driver, .start):
                return syscall(t, .recv, cptr: ntfn)
            case (worker, .start):
                h.k.hal.raise(5)
                return .interrupt
            case (driver, .syscallReturn):
                woken += 1
                #expect(t.pointee[.rdi] == 0x20)
                return syscall(t, .recv, cptr: ntfn)
            default:
                return nil
            }
        }
        #expect(woken == 1)
        #expect(log.map(\.thread) == [driver, worker, driver, worker])
        #expect(log.last?.how == .exceptionReturn)
        #expect(worker.pointee.nextIP == entryIP)
    }

    @Test("LOOP0008 the run ends when nothing can run and no interrupt can come, on a halt, and on the machine's stop")
    func runEnds() {
        do {
            let h = KernelHarness()
            let ep = h.retype(.endpoint)[0]
            let a = h.threads(("a", 100, 0)).tcbs[0]
            let log = h.k.runScripted { t, _ in syscall(t, .recv, cptr: ep) }
            #expect(log.map(\.thread) == [a])
            #expect(h.k.currentThread == h.k.idleThread)
            #expect(h.k.hal.idleWaits == 1)
        }
        do {
            let h = KernelHarness()
            let a = h.threads(("a", 100, 0)).tcbs[0]
            let log = h.k.runScripted { t, _ in syscall(t, .debugHalt, cptr: 3) }
            #expect(log.map(\.thread) == [a])
            #expect(h.k.isHalted)
            #expect(h.k.haltStatus == 3)
        }
        do {
            let h = KernelHarness()
            let a = h.threads(("a", 100, 0)).tcbs[0]
            let log = h.k.runScripted { t, _ in
                h.k.hal.stopRequested = true
                return syscall(t, .yield, cptr: 0)
            }
            #expect(log.map(\.thread) == [a])
            #expect(a.pointee.state == .running)
        }
    }

    @Test("LOOP0009 the scheduling tick is taken on the way out: an expired time slice round-robins equal priorities")
    func tickRoundRobins() {
        let h = KernelHarness()
        let made = h.threads(("a", 100, 0), ("b", 100, 0))
        let (a, b) = (made.tcbs[0], made.tcbs[1])
        let log = h.k.runScripted(limit: 12) { t, _ in
            h.k.hal.tickDue = true
            return .interrupt
        }
        // Each thread keeps the CPU for its time slice (5 ticks), then the other runs.
        let names = log.map { $0.thread == a ? "a" : $0.thread == b ? "b" : "?" }
        let first = names[0]
        let second = first == "a" ? "b" : "a"
        #expect(names == Array(repeating: first, count: 5) + Array(repeating: second, count: 5) + [first, first])
    }

    @Test("LOOP0010 a thread not in a syscall whose registers put it at the syscall stub takes a UserException, it does not run the stub")
    func stubAddressFaults() {
        let h = KernelHarness()
        let (ep, handler, f) = h.handlerAndFaulter()
        // As if copied from a thread blocked in a syscall (TCB_CopyRegisters).
        f.pointee[.rip] = SimulatedHAL.syscallSite
        f.pointee.nextIP = SimulatedHAL.syscallSite
        h.rootStops()
        let log = h.k.runScripted { t, how in
            t == handler && how == .start(first: true) ? syscall(t, .recv, cptr: ep) : nil
        }
        #expect(log.map(\.thread) == [handler, handler], "f never runs")
        #expect(MessageInfo(word: handler.pointee[.rsi]).label == FaultType.userException.rawValue)
        #expect(f.pointee.state == .blockedOnReply)
    }

    @Test("LOOP0011 a thread back from an interrupt whose address space went meanwhile is reported and stopped, not resumed")
    func exceptionReturnWithoutAddressSpace() {
        let h = KernelHarness()
        let a = h.threads(("a", 100, 0)).tcbs[0]
        let rootCNode = InitialCap.initThreadCNode.rawValue
        var step = 0
        let log = h.k.runScripted { t, _ in
            step += 1
            switch step {
            // a deletes the ASID pool its own VSpace is in (it shares the root's CSpace)...
            case 1: return call(t, rootCNode, .cnodeDelete, [InitialCap.initThreadASIDPool.rawValue, 64])
            // ...then an interrupt stops it in its own code (the machine saved its IP).
            case 2:
                t.pointee[.rip] = entryIP + 0x10
                t.pointee.nextIP = entryIP + 0x10
                return .interrupt
            default: return nil
            }
        }
        #expect(log.map(\.how) == [.start(first: true), .syscallReturn], "no exception return")
        #expect(h.k.hal.assignedASIDs.isEmpty)
        #expect(a.pointee.state == .inactive)
        #expect(h.k.hal.outputText.contains("thread \"a\" cannot start"))
    }
}
