// SPDX-License-Identifier: Apache-2.0
//
// Faults (sel4-semantics.md §4): delivery to the fault endpoint as a Call with the fault
// EP cap's badge, the CapFault, UnknownSyscall and VMFault message layouts, what a reply
// does to the faulter, and double faults when there is no usable fault endpoint.

import Testing
import UMKABI
@testable import UMKernel

private let rootCNode = KernelHarness.rootCNode
private let badCPtr: UInt64 = 1 << 20

private func thread(_ h: KernelHarness, _ priority: UInt64 = 100, faultEP: UInt64 = 0, name: String? = nil) -> TCBRef {
    h.run(h.root)
    return h.tcbRef(h.makeThread(priority: priority, faultEP: faultEP, name: name))
}

/// A fault endpoint (reached through a cap minted with `badge`), a handler waiting on it and
/// a faulter whose fault endpoint CPtr is that cap.
private struct FaultSetup {
    let h: KernelHarness
    let ep: UInt64
    let handler: TCBRef
    let faulter: TCBRef

    init(badge: UInt64 = 0x42, handlerWaits: Bool = true) {
        h = KernelHarness()
        ep = h.retype(.endpoint)[0]
        let fep = badge == 0 ? ep : h.mint(ep, badge: badge)
        handler = thread(h, name: "handler")
        faulter = thread(h, faultEP: fep, name: "faulter")
        if handlerWaits {
            h.run(handler)
            h.syscall(.recv, cptr: ep)
        }
    }
}

/// The general registers in UnknownSyscall message order (MR0...MR14).
private let unknownSyscallGPRs: [UserRegister] = [
    .rax, .rbx, .rcx, .rdx, .rsi, .rdi, .rbp, .r8, .r9, .r10, .r11, .r12, .r13, .r14, .r15,
]

@Suite("Faults")
struct FaultTests {
    // MARK: - CapFault

    @Test("CapFault message: label 1, MR0 IP, MR1 CPtr, MR2 InRecvPhase, MR3... lookup failure, fault EP badge")
    func capFaultLayoutSendPhase() {
        let f = FaultSetup(badge: 0x42)
        let h = f.h
        h.run(f.faulter)
        h.syscall(.send, cptr: badCPtr, info: MessageInfo(label: 0, length: 0))
        #expect(f.faulter.pointee.state == .blockedOnReply)
        #expect(f.handler.pointee.state == .running)
        let m = h.reply(f.handler)
        #expect(m.label == FaultType.capFault.rawValue)
        #expect(m.badge == 0x42)
        // Guard mismatch at the root CNode: 64 bits left, its guard 0, guard size 52.
        let expected: [UInt64] = [KernelHarness.syscallSite, badCPtr, 0] + LookupFailure.guardMismatch(bitsLeft: 64, guardFound: 0, guardSize: 52).words
        #expect(m.mrs == expected)
        #expect(m.info.length == UInt64(FaultLayout.CapFault.length))
        // The handler holds a reply cap to the faulter.
        #expect(f.handler.slot(.caller).pointee.cap.type == .reply)
        #expect(f.handler.slot(.caller).pointee.cap.paddr == f.faulter.paddr)
    }

    @Test("CapFault in the receive phase sets InRecvPhase; a non-endpoint cap is MissingCapability")
    func capFaultRecvPhase() {
        let f = FaultSetup()
        let h = f.h
        let tcbCap = InitialCap.initThreadTCB.rawValue
        h.run(f.faulter)
        h.syscall(.recv, cptr: tcbCap)
        let m = h.reply(f.handler)
        #expect(m.label == FaultType.capFault.rawValue)
        #expect(m.mrs == [KernelHarness.syscallSite, tcbCap, 1] + LookupFailure.missingCapability(bitsLeft: 0).words)
    }

    @Test("CapFault on a lookup failure in Recv reports the receive phase")
    func capFaultRecvLookupFailure() {
        let f = FaultSetup()
        let h = f.h
        h.run(f.faulter)
        h.syscall(.recv, cptr: badCPtr)
        let m = h.reply(f.handler)
        #expect(m.label == FaultType.capFault.rawValue)
        #expect(m.mrs.count == 7)
        if m.mrs.count == 7 {
            #expect(m.mrs[1] == badCPtr)
            #expect(m.mrs[2] == 1)
            #expect(m.mrs[3] == 4)
        }
    }

    @Test("a fault is queued on the fault endpoint until the handler receives it")
    func faultQueuedUntilHandlerReceives() {
        let f = FaultSetup(handlerWaits: false)
        let h = f.h
        h.run(f.faulter)
        h.syscall(.call, cptr: badCPtr)
        #expect(f.faulter.pointee.state == .blockedOnSend)
        h.run(f.handler)
        h.syscall(.recv, cptr: f.ep)
        #expect(f.faulter.pointee.state == .blockedOnReply)
        let m = h.reply(f.handler)
        #expect(m.label == FaultType.capFault.rawValue)
        #expect(m.badge == 0x42)
        #expect(m.mrs.count == 7 && m.mrs[1] == badCPtr)
    }

    @Test("any reply to a CapFault restarts the faulter")
    func capFaultReplyRestarts() {
        let f = FaultSetup()
        let h = f.h
        h.run(f.faulter)
        h.syscall(.send, cptr: badCPtr)
        h.run(f.handler)
        h.syscall(.reply, info: MessageInfo(label: 9, length: 1), mrs: [1])
        #expect(f.faulter.pointee.state == .restart)
        #expect(f.faulter.pointee.fault.type == 0)
        h.run(f.faulter)
        #expect(f.faulter.pointee.state == .running)
        #expect(f.faulter.pointee.nextIP == KernelHarness.syscallSite, "re-executes the syscall")
    }

    // MARK: - UnknownSyscall

    /// The faulter issues syscall -20 with distinct register values; returns them.
    private func raiseUnknownSyscall(_ f: FaultSetup) -> [UInt64] {
        let h = f.h
        let t = f.faulter
        h.run(t)
        h.load(t, cptr: 0, info: MessageInfo(label: 0, length: 0))
        for (i, r) in unknownSyscallGPRs.enumerated() { t.pointee[r] = 0x100 + UInt64(i) }
        t.pointee[.rsp] = 0x7_0000
        t.pointee[.rflags] = 0x202
        h.k.handleSyscall(-20)
        h.check()
        return unknownSyscallGPRs.map { t.pointee[$0] }
    }

    @Test("UnknownSyscall message: label 2, 19 MRs (GPRs, FaultIP, SP, FLAGS, syscall number)")
    func unknownSyscallLayout() {
        let f = FaultSetup(badge: 0x5)
        let h = f.h
        let gprs = raiseUnknownSyscall(f)
        #expect(f.faulter.pointee.state == .blockedOnReply)
        let m = h.reply(f.handler)
        #expect(m.label == FaultType.unknownSyscall.rawValue)
        #expect(m.badge == 0x5)
        #expect(m.info.length == 19)
        #expect(m.mrs.count == 19)
        guard m.mrs.count == 19 else { return }
        #expect(Array(m.mrs[0..<15]) == gprs)
        // FaultIP is the syscall instruction itself (seL4 x86 slowpath: FaultIP = NextIP - 2),
        // where a label-0 reply without a new IP would re-execute it.
        #expect(m.mrs[FaultLayout.UnknownSyscall.faultIP] == KernelHarness.syscallSite)
        #expect(m.mrs[FaultLayout.UnknownSyscall.sp] == 0x7_0000)
        #expect(m.mrs[FaultLayout.UnknownSyscall.flags] == 0x202)
        #expect(m.mrs[FaultLayout.UnknownSyscall.syscall] == UInt64(bitPattern: -20))
    }

    @Test("a reply with label 0 to an UnknownSyscall writes the registers and restarts the thread")
    func unknownSyscallReplyLabelZero() {
        let f = FaultSetup()
        let h = f.h
        _ = raiseUnknownSyscall(f)
        var regs: [UInt64] = (0..<15).map { 0xA00 + UInt64($0) }
        regs += [0x3000, 0x8_0000, 0x202]
        h.run(f.handler)
        h.syscall(.reply, info: MessageInfo(label: 0, length: 18), mrs: regs)
        let t = f.faulter
        #expect(t.pointee.state == .restart)
        h.run(t)
        #expect(t.pointee.state == .running)
        #expect(t.pointee[.rip] == 0x3000)
        #expect(t.pointee.nextIP == 0x3000)
        #expect(t.pointee[.rsp] == 0x8_0000)
        for (i, r) in unknownSyscallGPRs.enumerated() {
            #expect(t.pointee[r] == 0xA00 + UInt64(i), "\(r)")
        }
    }

    @Test("a reply with a non-zero label to an UnknownSyscall leaves the thread Inactive")
    func unknownSyscallReplyNonZeroLabel() {
        let f = FaultSetup()
        let h = f.h
        _ = raiseUnknownSyscall(f)
        h.run(f.handler)
        h.syscall(.reply, info: MessageInfo(label: 1, length: 0))
        #expect(f.faulter.pointee.state == .inactive)
        #expect(f.faulter.pointee.fault.type == 0)
        #expect(f.handler.slot(.caller).pointee.cap.isNull)
    }

    // MARK: - VMFault

    @Test("VMFault message: label 5, MR0 IP, MR1 address, MR2 prefetch, MR3 FSR")
    func vmFaultLayout() {
        let f = FaultSetup(badge: 0x77)
        let h = f.h
        let t = f.faulter
        h.run(t)
        t.pointee[.rip] = 0x5550
        t.pointee.nextIP = 0x5550
        h.k.handleVMFaultEvent(address: 0xDEAD_B000, fsr: 6, instructionFault: false)
        h.check()
        #expect(t.pointee.state == .blockedOnReply)
        let m = h.reply(f.handler)
        #expect(m.label == FaultType.vmFault.rawValue)
        #expect(m.badge == 0x77)
        #expect(m.info.length == 4)
        #expect(m.mrs == [0x5550, 0xDEAD_B000, 0, 6])
    }

    @Test("VMFault on an instruction fetch sets PrefetchFault")
    func vmFaultInstruction() {
        let f = FaultSetup()
        let h = f.h
        let t = f.faulter
        h.run(t)
        t.pointee[.rip] = 0x9000
        h.k.handleVMFaultEvent(address: 0x9000, fsr: 0x10, instructionFault: true)
        h.check()
        #expect(h.reply(f.handler).mrs == [0x9000, 0x9000, 1, 0x10])
    }

    @Test("any reply to a VMFault restarts the faulter at the faulting instruction")
    func vmFaultReplyRestarts() {
        for label: UInt64 in [0, 3] {
            let f = FaultSetup()
            let h = f.h
            let t = f.faulter
            h.run(t)
            t.pointee[.rip] = 0x5550
            t.pointee.nextIP = 0x5554
            h.k.handleVMFaultEvent(address: 0x1234_0000, fsr: 2, instructionFault: false)
            h.check()
            h.run(f.handler)
            h.syscall(.reply, info: MessageInfo(label: label, length: 2), mrs: [0xAAAA, 0xBBBB])
            #expect(t.pointee.state == .restart, "label \(label)")
            h.run(t)
            #expect(t.pointee.state == .running)
            #expect(t.pointee.nextIP == t.pointee[.rip])
            #expect(t.pointee[.rip] == 0x5550, "registers untouched by the reply")
            #expect(t.pointee[.r10] != 0xAAAA)
        }
    }

    @Test("ReplyRecv also answers a fault")
    func replyRecvAnswersFault() {
        let f = FaultSetup()
        let h = f.h
        let t = f.faulter
        h.run(t)
        h.k.handleVMFaultEvent(address: 0x1000_0000, fsr: 2, instructionFault: false)
        h.check()
        h.run(f.handler)
        h.syscall(.replyRecv, cptr: f.ep, info: MessageInfo(label: 0, length: 0))
        // The handler blocked, so the kernel may switch straight to the restarted faulter
        // (seL4 schedule(): equal priority, current not runnable); either way it restarts.
        #expect(t.pointee.state.isRunnable)
        if h.k.currentThread == t {
            #expect(t.pointee.state == .running)
            #expect(t.pointee.nextIP == t.pointee[.rip])
        }
        #expect(f.handler.pointee.state == .blockedOnReceive)
    }

    // MARK: - Double faults

    @Test("no fault endpoint: double fault, thread Inactive, report printed")
    func doubleFaultNoEndpoint() {
        let h = KernelHarness()
        let t = thread(h, faultEP: 0, name: "orphan")
        h.run(t)
        h.syscall(.call, cptr: badCPtr)
        #expect(t.pointee.state == .inactive)
        #expect(h.k.hal.outputText.contains("orphan"))
        #expect(!h.k.hal.outputText.isEmpty)
    }

    @Test("a fault endpoint CPtr that fails lookup is a double fault")
    func doubleFaultBadCPtr() {
        let h = KernelHarness()
        let t = thread(h, faultEP: badCPtr, name: "badfep")
        h.run(t)
        h.k.handleVMFaultEvent(address: 0x1000_0000, fsr: 2, instructionFault: false)
        h.check()
        #expect(t.pointee.state == .inactive)
        #expect(h.k.hal.outputText.contains("badfep"))
    }

    @Test("a fault endpoint cap without Grant or GrantReply is a double fault")
    func doubleFaultNoGrant() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let weak = h.mint(ep, rights: .readWrite)
        let handler = thread(h)
        let t = thread(h, faultEP: weak, name: "weakfep")
        h.run(handler)
        h.syscall(.recv, cptr: ep)
        h.run(t)
        h.k.handleVMFaultEvent(address: 0x1000_0000, fsr: 2, instructionFault: false)
        h.check()
        #expect(t.pointee.state == .inactive)
        #expect(handler.pointee.state == .blockedOnReceive)
        #expect(h.k.hal.outputText.contains("weakfep"))
    }

    @Test("a fault endpoint that is not an endpoint is a double fault")
    func doubleFaultNotEndpoint() {
        let h = KernelHarness()
        let n = h.retype(.notification)[0]
        let t = thread(h, faultEP: n, name: "ntfnfep")
        h.run(t)
        h.k.handleVMFaultEvent(address: 0x1000_0000, fsr: 2, instructionFault: false)
        h.check()
        #expect(t.pointee.state == .inactive)
        #expect(h.k.hal.outputText.contains("ntfnfep"))
    }
}

@Suite("Faults and endpoint deletion")
struct FaultEndpointDeletionTests {
    @Test("deleting the fault endpoint restarts a thread queued to deliver its fault (non-MCS)")
    func deletingFaultEndpointRestartsFaulter() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let t = h.tcbRef(h.makeThread(priority: 10, faultEP: ep))
        h.run(t)
        h.load(t, cptr: 0, info: MessageInfo(label: 0, length: 0))
        h.k.handleSyscall(-42)
        h.check()
        #expect(t.pointee.state == .blockedOnSend)
        #expect(t.pointee.fault.type == FaultType.unknownSyscall.rawValue)
        h.run(h.root)
        #expect(h.error(KernelHarness.rootCNode, .cnodeDelete, [ep, 64]) == .noError)
        #expect(t.pointee.state == .restart)
        #expect(h.k.readyQueue(priority: 10).contains(t))
    }
}
