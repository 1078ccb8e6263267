// SPDX-License-Identifier: Apache-2.0
//
// TCB invocations (sel4-semantics §2.3, §6): Configure / SetSpace / SetIPCBuffer checks,
// the priority methods against the authority's MCP, Suspend / Resume, register access,
// notification binding and the TLS base, each with its error code and reply words.

import Testing
import UMKABI
@testable import UMKernel

private let rootTCB = InitialCap.initThreadTCB.rawValue
private let rootCNode = KernelHarness.rootCNode
private let rootVSpace = InitialCap.initThreadVSpace.rawValue

/// A device frame: one 4 KiB frame retyped from a hand-made device untyped.
private func deviceFrame(_ h: KernelHarness) -> UInt64 {
    let u = h.deviceUntyped(bits: 12)
    let f = h.allocSlot()
    #expect(h.error(u, .untypedRetype, [ObjectType.smallPage.rawValue, 0, 0, 0, f, 1], caps: [rootCNode]) == .noError)
    #expect(h.cap(f).type == .frame && h.cap(f).frameIsDevice)
    return f
}

/// A copy of `src` in a fresh root slot with `rights` (CNode_Copy).
private func copyCap(_ h: KernelHarness, _ src: UInt64, rights: CapRights) -> UInt64 {
    let d = h.allocSlot()
    #expect(h.error(rootCNode, .cnodeCopy, [d, 64, src, 64, rights.rawValue], caps: [rootCNode]) == .noError)
    return d
}

@Suite("TCB invocations")
struct TCBTests {
    // MARK: - Configure

    @Test("Configure installs CSpace, VSpace and IPC buffer")
    func configureWorks() {
        let h = KernelHarness()
        let t = h.retype(.tcb)[0]
        let frame = h.retype(.smallPage)[0]
        #expect(h.error(t, .tcbConfigure, [7, 0, 0, 0x42_0400], caps: [rootCNode, rootVSpace, frame]) == .noError)
        let tcb = h.tcbRef(t)
        #expect(tcb.slot(.cTable).pointee.cap.type == .cnode)
        #expect(tcb.slot(.cTable).pointee.cap.paddr == h.rootCNodePaddr)
        #expect(tcb.slot(.vTable).pointee.cap.type == .pml4)
        #expect(tcb.slot(.ipcBuffer).pointee.cap.type == .frame)
        #expect(tcb.slot(.ipcBuffer).pointee.cap.paddr == h.cap(frame).paddr)
        #expect(tcb.pointee.ipcBuffer == 0x42_0400)
        #expect(tcb.pointee.faultEndpoint == 7)
        #expect(tcb.pointee.state == .inactive, "Configure does not start the thread")
    }

    @Test("Configure with fewer than 4 MRs or 3 caps is TruncatedMessage")
    func configureTruncated() {
        let h = KernelHarness()
        let t = h.retype(.tcb)[0]
        let frame = h.retype(.smallPage)[0]
        let r = h.invoke(t, .tcbConfigure, [0, 0, 0], caps: [rootCNode, rootVSpace, frame])
        #expect(r.error == .truncatedMessage)
        #expect(r.mrs == [])
        #expect(h.error(t, .tcbConfigure, [0, 0, 0, 0x42_0000], caps: [rootCNode, rootVSpace]) == .truncatedMessage)
        #expect(h.error(t, .tcbConfigure, [0, 0, 0, 0], caps: []) == .truncatedMessage)
        #expect(h.tcbRef(t).slot(.cTable).pointee.cap.isNull)
    }

    @Test("Configure with a cspace root that is not a CNode is IllegalOperation")
    func configureBadCSpace() {
        let h = KernelHarness()
        let t = h.retype(.tcb)[0]
        let frame = h.retype(.smallPage)[0]
        let ep = h.retype(.endpoint)[0]
        let empty = h.allocSlot()
        for bad in [ep, empty, rootTCB] {
            let r = h.invoke(t, .tcbConfigure, [0, 0, 0, 0x42_0000], caps: [bad, rootVSpace, frame])
            #expect(r.error == .illegalOperation, "cspace root in slot \(bad)")
            #expect(r.mrs == [])
        }
        #expect(h.tcbRef(t).slot(.cTable).pointee.cap.isNull)
        #expect(h.tcbRef(t).pointee.ipcBuffer == 0)
    }

    @Test("Configure with a PML4 that has no ASID (or a non-PML4 vspace) is IllegalOperation")
    func configureUnassignedVSpace() {
        let h = KernelHarness()
        let t = h.retype(.tcb)[0]
        let frame = h.retype(.smallPage)[0]
        let pml4 = h.retype(.pml4)[0]
        #expect(h.error(t, .tcbConfigure, [0, 0, 0, 0x42_0000], caps: [rootCNode, pml4, frame]) == .illegalOperation)
        #expect(h.error(t, .tcbConfigure, [0, 0, 0, 0x42_0000], caps: [rootCNode, rootCNode, frame]) == .illegalOperation)
        #expect(h.tcbRef(t).slot(.vTable).pointee.cap.isNull)
        #expect(h.tcbRef(t).slot(.cTable).pointee.cap.isNull)
    }

    @Test("Configure's buffer: misaligned is AlignmentError; device frame or non-frame is IllegalOperation; checked before the spaces")
    func configureBuffer() {
        let h = KernelHarness()
        let t = h.retype(.tcb)[0]
        let frame = h.retype(.smallPage)[0]
        let ep = h.retype(.endpoint)[0]
        let dev = deviceFrame(h)
        #expect(h.error(t, .tcbConfigure, [0, 0, 0, 0x42_0200], caps: [rootCNode, rootVSpace, frame]) == .alignmentError)
        #expect(h.error(t, .tcbConfigure, [0, 0, 0, 0x42_0008], caps: [rootCNode, rootVSpace, frame]) == .alignmentError)
        #expect(h.error(t, .tcbConfigure, [0, 0, 0, 0x42_0000], caps: [rootCNode, rootVSpace, dev]) == .illegalOperation)
        #expect(h.error(t, .tcbConfigure, [0, 0, 0, 0x42_0000], caps: [rootCNode, rootVSpace, ep]) == .illegalOperation)
        // The buffer is checked first: a misaligned buffer with a bad cspace is AlignmentError.
        #expect(h.error(t, .tcbConfigure, [0, 0, 0, 0x42_0010], caps: [ep, rootVSpace, frame]) == .alignmentError)
        // Non-frame beats misalignment (type before alignment).
        #expect(h.error(t, .tcbConfigure, [0, 0, 0, 0x42_0010], caps: [rootCNode, rootVSpace, ep]) == .illegalOperation)
        #expect(h.tcbRef(t).pointee.ipcBuffer == 0)
        // Buffer address 0: the frame cap is not looked at.
        #expect(h.error(t, .tcbConfigure, [0, 0, 0, 0], caps: [rootCNode, rootVSpace, ep]) == .noError)
        #expect(h.tcbRef(t).pointee.ipcBuffer == 0)
        #expect(h.tcbRef(t).slot(.ipcBuffer).pointee.cap.isNull)
        // A 1 KiB-aligned buffer in a normal frame works.
        #expect(h.error(t, .tcbConfigure, [0, 0, 0, 0x42_0C00], caps: [rootCNode, rootVSpace, frame]) == .noError)
        #expect(h.tcbRef(t).pointee.ipcBuffer == 0x42_0C00)
    }

    // MARK: - SetSpace, SetIPCBuffer

    @Test("SetSpace: non-CNode cspace root or unassigned PML4 is IllegalOperation; short message TruncatedMessage")
    func setSpace() {
        let h = KernelHarness()
        let t = h.retype(.tcb)[0]
        let ep = h.retype(.endpoint)[0]
        let pml4 = h.retype(.pml4)[0]
        #expect(h.error(t, .tcbSetSpace, [0, 0], caps: [rootCNode, rootVSpace]) == .truncatedMessage)
        #expect(h.error(t, .tcbSetSpace, [0, 0, 0], caps: [rootCNode]) == .truncatedMessage)
        #expect(h.invoke(t, .tcbSetSpace, [0, 0, 0], caps: [ep, rootVSpace]).error == .illegalOperation)
        #expect(h.invoke(t, .tcbSetSpace, [0, 0, 0], caps: [rootCNode, pml4]).error == .illegalOperation)
        #expect(h.tcbRef(t).slot(.cTable).pointee.cap.isNull)
        #expect(h.error(t, .tcbSetSpace, [9, 0, 0], caps: [rootCNode, rootVSpace]) == .noError)
        #expect(h.tcbRef(t).slot(.cTable).pointee.cap.type == .cnode)
        #expect(h.tcbRef(t).slot(.vTable).pointee.cap.type == .pml4)
        #expect(h.tcbRef(t).pointee.faultEndpoint == 9)
        #expect(h.tcbRef(t).slot(.ipcBuffer).pointee.cap.isNull, "SetSpace leaves the buffer alone")
    }

    @Test("SetIPCBuffer: misaligned is AlignmentError; device frame or non-frame IllegalOperation; short TruncatedMessage")
    func setIPCBuffer() {
        let h = KernelHarness()
        let t = h.retype(.tcb)[0]
        let frame = h.retype(.smallPage)[0]
        let ep = h.retype(.endpoint)[0]
        let dev = deviceFrame(h)
        #expect(h.error(t, .tcbSetIPCBuffer, [], caps: [frame]) == .truncatedMessage)
        #expect(h.error(t, .tcbSetIPCBuffer, [0x42_0000]) == .truncatedMessage)
        #expect(h.error(t, .tcbSetIPCBuffer, [0x42_0100], caps: [frame]) == .alignmentError)
        #expect(h.error(t, .tcbSetIPCBuffer, [0x42_0000], caps: [dev]) == .illegalOperation)
        #expect(h.error(t, .tcbSetIPCBuffer, [0x42_0000], caps: [ep]) == .illegalOperation)
        #expect(h.tcbRef(t).pointee.ipcBuffer == 0)
        #expect(h.error(t, .tcbSetIPCBuffer, [0x42_0400], caps: [frame]) == .noError)
        #expect(h.tcbRef(t).pointee.ipcBuffer == 0x42_0400)
        #expect(h.tcbRef(t).slot(.ipcBuffer).pointee.cap.paddr == h.cap(frame).paddr)
        // Address 0 clears the buffer.
        #expect(h.error(t, .tcbSetIPCBuffer, [0], caps: [ep]) == .noError)
        #expect(h.tcbRef(t).pointee.ipcBuffer == 0)
        #expect(h.tcbRef(t).slot(.ipcBuffer).pointee.cap.isNull)
    }

    @Test("an unknown label on a TCB cap is IllegalOperation")
    func unknownLabel() {
        let h = KernelHarness()
        let t = h.retype(.tcb)[0]
        #expect(h.error(t, .untypedRetype, [0, 0, 0, 0, 0, 0], caps: [rootCNode]) == .illegalOperation)
        #expect(h.error(t, .cnodeCopy) == .illegalOperation)
    }

    // MARK: - Priorities

    @Test("SetPriority/SetMCPriority/SetSchedParams: an authority that is not a TCB is InvalidCapability(1)")
    func priorityAuthorityNotTCB() {
        let h = KernelHarness()
        let t = h.makeThread(priority: 10, resume: false)
        for (label, args): (InvocationLabel, [UInt64]) in [(.tcbSetPriority, [300]), (.tcbSetMCPriority, [300]),
                                                           (.tcbSetSchedParams, [300, 300])] {
            let r = h.invoke(t, label, args, caps: [rootCNode])
            #expect(r.error == .invalidCapability, "\(label)")
            #expect(r.mrs == [1], "\(label)")
        }
        #expect(h.tcbRef(t).pointee.priority == 10)
        #expect(h.tcbRef(t).pointee.mcp == 10)
    }

    @Test("priority methods without the value or the authority are TruncatedMessage")
    func priorityTruncated() {
        let h = KernelHarness()
        let t = h.makeThread(priority: 10, resume: false)
        #expect(h.error(t, .tcbSetPriority, [], caps: [rootTCB]) == .truncatedMessage)
        #expect(h.error(t, .tcbSetPriority, [5]) == .truncatedMessage)
        #expect(h.error(t, .tcbSetMCPriority, [], caps: [rootTCB]) == .truncatedMessage)
        #expect(h.error(t, .tcbSetSchedParams, [5], caps: [rootTCB]) == .truncatedMessage)
        #expect(h.error(t, .tcbSetSchedParams, [5, 5]) == .truncatedMessage)
    }

    @Test("a value above the authority's MCP is RangeError(0, mcp)")
    func priorityAboveMCP() {
        let h = KernelHarness()
        let auth = h.makeThread(priority: 50, resume: false)
        #expect(h.error(auth, .tcbSetMCPriority, [100], caps: [rootTCB]) == .noError)
        #expect(h.tcbRef(auth).pointee.mcp == 100)
        let t = h.makeThread(priority: 10, resume: false)

        let p = h.invoke(t, .tcbSetPriority, [101], caps: [auth])
        #expect(p.error == .rangeError)
        #expect(p.mrs == [0, 100])
        let m = h.invoke(t, .tcbSetMCPriority, [101], caps: [auth])
        #expect(m.error == .rangeError)
        #expect(m.mrs == [0, 100])
        let s1 = h.invoke(t, .tcbSetSchedParams, [101, 50], caps: [auth])
        #expect(s1.error == .rangeError && s1.mrs == [0, 100])
        let s2 = h.invoke(t, .tcbSetSchedParams, [50, 101], caps: [auth])
        #expect(s2.error == .rangeError && s2.mrs == [0, 100])
        #expect(h.tcbRef(t).pointee.priority == 10 && h.tcbRef(t).pointee.mcp == 10)
        // Root's MCP is 255: 256 is out of range for it.
        let r = h.invoke(t, .tcbSetPriority, [256], caps: [rootTCB])
        #expect(r.error == .rangeError && r.mrs == [0, 255])

        // Equal to the MCP is allowed.
        #expect(h.error(t, .tcbSetPriority, [100], caps: [auth]) == .noError)
        #expect(h.tcbRef(t).pointee.priority == 100)
        #expect(h.error(t, .tcbSetMCPriority, [100], caps: [auth]) == .noError)
        #expect(h.tcbRef(t).pointee.mcp == 100)
        #expect(h.error(t, .tcbSetSchedParams, [60, 70], caps: [auth]) == .noError)
        #expect(h.tcbRef(t).pointee.mcp == 60 && h.tcbRef(t).pointee.priority == 70)
    }

    @Test("SetPriority moves a ready thread to its new queue")
    func setPriorityRequeues() {
        let h = KernelHarness()
        let t = h.makeThread(priority: 100)
        #expect(h.k.readyQueue(priority: 100) == [h.tcbRef(t)])
        #expect(h.error(t, .tcbSetPriority, [120], caps: [rootTCB]) == .noError)
        #expect(h.k.readyQueue(priority: 100) == [])
        #expect(h.k.readyQueue(priority: 120) == [h.tcbRef(t)])
        #expect(h.k.currentThread == h.root)
    }

    // MARK: - Suspend, Resume

    @Test("Resume makes a stopped thread Restart at the head of its priority queue")
    func resumeToHead() {
        let h = KernelHarness()
        let a = h.makeThread(priority: 100, resume: false)
        let b = h.makeThread(priority: 100)
        let ta = h.tcbRef(a), tb = h.tcbRef(b)
        #expect(ta.pointee.state == .inactive)
        #expect(h.k.readyQueue(priority: 100) == [tb])
        let r = h.invoke(a, .tcbResume)
        #expect(r.error == .noError && r.mrs == [])
        #expect(ta.pointee.state == .restart)
        #expect(h.k.readyQueue(priority: 100) == [ta, tb])
        #expect(h.k.currentThread == h.root, "the root (prio 255) keeps running")
    }

    @Test("Resume of a runnable thread (or the caller itself) is a no-op")
    func resumeRunnableNoop() {
        let h = KernelHarness()
        let a = h.makeThread(priority: 100)
        let b = h.makeThread(priority: 100)
        let ta = h.tcbRef(a), tb = h.tcbRef(b)
        #expect(h.k.readyQueue(priority: 100) == [tb, ta])
        #expect(h.error(a, .tcbResume) == .noError)
        #expect(h.k.readyQueue(priority: 100) == [tb, ta], "already queued: order unchanged")
        #expect(ta.pointee.state == .restart)
        #expect(h.error(rootTCB, .tcbResume) == .noError)
        #expect(h.root.pointee.state == .running)
        #expect(h.k.currentThread == h.root)
        #expect(h.k.readyQueue(priority: 255) == [])
    }

    @Test("Suspend makes a thread Inactive and takes it out of the ready queue")
    func suspend() {
        let h = KernelHarness()
        let a = h.makeThread(priority: 100)
        let b = h.makeThread(priority: 100)
        let ta = h.tcbRef(a), tb = h.tcbRef(b)
        #expect(h.error(b, .tcbSuspend) == .noError)
        #expect(tb.pointee.state == .inactive)
        #expect(h.k.readyQueue(priority: 100) == [ta])
        // Suspending an inactive thread is fine too.
        #expect(h.error(b, .tcbSuspend) == .noError)
        #expect(tb.pointee.state == .inactive)
        // Resume brings it back at the head.
        #expect(h.error(b, .tcbResume) == .noError)
        #expect(h.k.readyQueue(priority: 100) == [tb, ta])
    }

    @Test("Suspend cancels a blocked receive; Resume restarts the thread")
    func suspendBlocked() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let w = h.makeThread(priority: 100)
        let tw = h.tcbRef(w)
        h.run(tw)
        h.syscall(.recv, cptr: ep)
        #expect(tw.pointee.state == .blockedOnReceive)
        #expect(h.k.currentThread == h.root)
        #expect(h.error(w, .tcbSuspend) == .noError)
        #expect(tw.pointee.state == .inactive)
        #expect(h.k.endpoint(h.cap(ep).paddr).pointee.state == .idle)
        #expect(h.error(w, .tcbResume) == .noError)
        #expect(tw.pointee.state == .restart)
        #expect(h.k.readyQueue(priority: 100) == [tw])
    }

    @Test("a thread suspending itself becomes Inactive and another thread runs")
    func suspendSelf() {
        let h = KernelHarness()
        let a = h.makeThread(priority: 100)
        h.syscall(.call, cptr: rootTCB, info: MessageInfo(label: InvocationLabel.tcbSuspend.rawValue, length: 0))
        #expect(h.root.pointee.state == .inactive)
        #expect(h.k.currentThread == h.tcbRef(a))
        #expect(h.k.readyQueue(priority: 255) == [])
    }

    // MARK: - ReadRegisters

    @Test("ReadRegisters: count 0 or above 20 is RangeError(1, 20), checked before the self check")
    func readRegistersRange() {
        let h = KernelHarness()
        let t = h.makeThread(priority: 10, resume: false)
        for count: UInt64 in [0, 21, 1000] {
            let r = h.invoke(t, .tcbReadRegisters, [0, count])
            #expect(r.error == .rangeError, "count \(count)")
            #expect(r.mrs == [1, 20], "count \(count)")
        }
        let s = h.invoke(rootTCB, .tcbReadRegisters, [0, 0])
        #expect(s.error == .rangeError && s.mrs == [1, 20])
        #expect(h.error(t, .tcbReadRegisters, [0]) == .truncatedMessage)
    }

    @Test("ReadRegisters of the calling thread is IllegalOperation")
    func readRegistersSelf() {
        let h = KernelHarness()
        let r = h.invoke(rootTCB, .tcbReadRegisters, [0, 20])
        #expect(r.error == .illegalOperation)
        #expect(r.mrs == [])
    }

    @Test("ReadRegisters replies with the registers in seL4_UserContext order")
    func readRegistersValues() {
        let h = KernelHarness()
        let t = h.makeThread(priority: 10, resume: false)
        let tcb = h.tcbRef(t)
        for r in UserRegister.allCases { tcb.pointee[r] = 0x1000 + UInt64(r.rawValue) }
        tcb.pointee[.rip] = 0x40_1234
        tcb.pointee[.rsp] = 0x4F_F000
        tcb.pointee[.rflags] = 0x202
        tcb.pointee[.rax] = 0xAAAA
        tcb.pointee[.r15] = 0xF15
        tcb.pointee[.fsBase] = 0xF5
        tcb.pointee[.gsBase] = 0x65
        let r = h.invoke(t, .tcbReadRegisters, [0, 20])
        #expect(r.error == .noError)
        var expected: [UInt64] = [0x40_1234, 0x4F_F000, 0x202, 0xAAAA]
        expected += (4...16).map { 0x1000 + UInt64($0) } // rbx ... r14
        expected += [0xF15, 0xF5, 0x65]
        #expect(r.mrs == expected)
        let three = h.invoke(t, .tcbReadRegisters, [0, 3])
        #expect(three.error == .noError)
        #expect(three.mrs == [0x40_1234, 0x4F_F000, 0x202])
        #expect(tcb.pointee.state == .inactive)
    }

    @Test("ReadRegisters with suspend_source suspends the target")
    func readRegistersSuspends() {
        let h = KernelHarness()
        let t = h.makeThread(priority: 100)
        #expect(h.k.readyQueue(priority: 100) == [h.tcbRef(t)])
        let r = h.invoke(t, .tcbReadRegisters, [1, 1])
        #expect(r.error == .noError && r.mrs.count == 1)
        #expect(h.tcbRef(t).pointee.state == .inactive)
        #expect(h.k.readyQueue(priority: 100) == [])
    }

    // MARK: - WriteRegisters

    @Test("WriteRegisters with fewer values than count is TruncatedMessage, checked before the self check")
    func writeRegistersTruncated() {
        let h = KernelHarness()
        let t = h.makeThread(priority: 10, resume: false)
        let r = h.invoke(t, .tcbWriteRegisters, [0, 3, 0x1000, 0x2000])
        #expect(r.error == .truncatedMessage)
        #expect(r.mrs == [])
        #expect(h.error(t, .tcbWriteRegisters, [0]) == .truncatedMessage)
        #expect(h.error(rootTCB, .tcbWriteRegisters, [0, 2, 1]) == .truncatedMessage)
        #expect(h.tcbRef(t).pointee[.rip] == 0)
    }

    @Test("WriteRegisters on the calling thread is IllegalOperation")
    func writeRegistersSelf() {
        let h = KernelHarness()
        let r = h.invoke(rootTCB, .tcbWriteRegisters, [0, 1, 0x1234])
        #expect(r.error == .illegalOperation)
        #expect(r.mrs == [])
    }

    @Test("WriteRegisters sets the registers in seL4_UserContext order, sanitising a non-canonical rip to 0")
    func writeRegistersValues() {
        let h = KernelHarness()
        let t = h.makeThread(priority: 10, resume: false)
        let tcb = h.tcbRef(t)
        var values: [UInt64] = (0..<20).map { 0x5000 + UInt64($0) }
        values[UserRegister.rflags.rawValue] = 0x202
        #expect(h.error(t, .tcbWriteRegisters, [0, 20] + values) == .noError)
        for r in UserRegister.allCases { #expect(tcb.pointee[r] == values[r.rawValue], "\(r)") }
        #expect(tcb.pointee.nextIP == 0x5000)
        #expect(tcb.pointee.state == .inactive, "no resume flag")

        // Non-canonical rip and fs_base become 0; a canonical kernel-half address stays.
        #expect(h.error(t, .tcbWriteRegisters, [0, 1, 0x0000_8000_0000_0000]) == .noError)
        #expect(tcb.pointee[.rip] == 0)
        #expect(h.error(t, .tcbWriteRegisters, [0, 1, 0xFFFF_7FFF_FFFF_FFFF]) == .noError)
        #expect(tcb.pointee[.rip] == 0)
        #expect(h.error(t, .tcbWriteRegisters, [0, 1, 0xFFFF_8000_0000_0000]) == .noError)
        #expect(tcb.pointee[.rip] == 0xFFFF_8000_0000_0000)
        #expect(h.error(t, .tcbWriteRegisters, [0, 1, 0x0000_7FFF_FFFF_FFFF]) == .noError)
        #expect(tcb.pointee[.rip] == 0x0000_7FFF_FFFF_FFFF)
        var v2 = values
        v2[UserRegister.fsBase.rawValue] = 0x1234_0000_0000_0000
        #expect(h.error(t, .tcbWriteRegisters, [0, 20] + v2) == .noError)
        #expect(tcb.pointee[.fsBase] == 0)
        // Only `count` registers are written.
        #expect(h.error(t, .tcbWriteRegisters, [0, 2, 0x7000, 0x8000, 0x9999]) == .noError)
        #expect(tcb.pointee[.rip] == 0x7000 && tcb.pointee[.rsp] == 0x8000)
        #expect(tcb.pointee[.rflags] == 0x202)
    }

    @Test("WriteRegisters with the resume flag restarts the target at the head of its queue")
    func writeRegistersResume() {
        let h = KernelHarness()
        let other = h.makeThread(priority: 100)
        let t = h.makeThread(priority: 100, resume: false)
        #expect(h.error(t, .tcbWriteRegisters, [1, 2, 0x40_0000, 0x4F_0000]) == .noError)
        let tcb = h.tcbRef(t)
        #expect(tcb.pointee.state == .restart)
        #expect(h.k.readyQueue(priority: 100) == [tcb, h.tcbRef(other)])
        #expect(tcb.pointee[.rip] == 0x40_0000)
        #expect(h.k.currentThread == h.root)
    }

    // MARK: - CopyRegisters

    @Test("CopyRegisters with a source that is not a TCB is InvalidCapability(1); no source is TruncatedMessage")
    func copyRegistersBadSource() {
        let h = KernelHarness()
        let t = h.makeThread(priority: 10, resume: false)
        let r = h.invoke(t, .tcbCopyRegisters, [0xC], caps: [rootCNode])
        #expect(r.error == .invalidCapability)
        #expect(r.mrs == [1])
        #expect(h.error(t, .tcbCopyRegisters, [0xC]) == .truncatedMessage)
        #expect(h.error(t, .tcbCopyRegisters, [], caps: [rootTCB]) == .truncatedMessage)
    }

    @Test("CopyRegisters copies frame and integer registers on their own flags, suspends the source and resumes the target")
    func copyRegisters() {
        let h = KernelHarness()
        let s = h.makeThread(priority: 100)
        let t = h.makeThread(priority: 100, resume: false)
        let src = h.tcbRef(s), dst = h.tcbRef(t)
        for r in UserRegister.allCases { src.pointee[r] = 0x9000 + UInt64(r.rawValue) }
        // Frame registers only.
        #expect(h.error(t, .tcbCopyRegisters, [4], caps: [s]) == .noError)
        for r in UserRegister.allCases.prefix(UserRegister.frameCount) { #expect(dst.pointee[r] == src.pointee[r], "\(r)") }
        #expect(dst.pointee[.fsBase] == 0 && dst.pointee[.gsBase] == 0)
        #expect(dst.pointee.nextIP == src.pointee[.rip])
        // Integer registers.
        #expect(h.error(t, .tcbCopyRegisters, [8], caps: [s]) == .noError)
        #expect(dst.pointee[.fsBase] == src.pointee[.fsBase] && dst.pointee[.gsBase] == src.pointee[.gsBase])
        #expect(src.pointee.state == .restart && dst.pointee.state == .inactive)
        // Suspend source + resume target.
        #expect(h.error(t, .tcbCopyRegisters, [3], caps: [s]) == .noError)
        #expect(src.pointee.state == .inactive)
        #expect(dst.pointee.state == .restart)
        #expect(h.k.readyQueue(priority: 100) == [dst])
    }

    // MARK: - Notifications

    @Test("BindNotification binds a notification; without a cap it is TruncatedMessage")
    func bindNotification() {
        let h = KernelHarness()
        let t = h.makeThread(priority: 10, resume: false)
        let n = h.retype(.notification)[0]
        #expect(h.error(t, .tcbBindNotification) == .truncatedMessage)
        #expect(h.error(t, .tcbBindNotification, caps: [n]) == .noError)
        #expect(h.tcbRef(t).pointee.boundNotification == h.cap(n).paddr)
        #expect(h.k.notification(h.cap(n).paddr).pointee.boundTCB == h.tcbRef(t).paddr)
    }

    @Test("BindNotification: already bound, not a notification, no Read right, waiters, or bound elsewhere are IllegalOperation")
    func bindNotificationErrors() {
        let h = KernelHarness()
        let t = h.makeThread(priority: 10, resume: false)
        let other = h.makeThread(priority: 10, resume: false)
        let n1 = h.retype(.notification)[0]
        let n2 = h.retype(.notification)[0]
        let n3 = h.retype(.notification)[0]
        let ep = h.retype(.endpoint)[0]
        // Not a notification.
        let r = h.invoke(t, .tcbBindNotification, caps: [ep])
        #expect(r.error == .illegalOperation && r.mrs == [])
        // Missing Read.
        let writeOnly = copyCap(h, n1, rights: .write)
        #expect(h.cap(writeOnly).rights == .write)
        #expect(h.error(t, .tcbBindNotification, caps: [writeOnly]) == .illegalOperation)
        // Notification bound to another thread.
        #expect(h.error(other, .tcbBindNotification, caps: [n2]) == .noError)
        #expect(h.error(t, .tcbBindNotification, caps: [n2]) == .illegalOperation)
        // Notification with a waiter.
        let w = h.makeThread(priority: 100)
        h.run(h.tcbRef(w))
        h.syscall(.recv, cptr: n3)
        #expect(h.tcbRef(w).pointee.state == .blockedOnNotification)
        #expect(h.k.currentThread == h.root)
        #expect(h.error(t, .tcbBindNotification, caps: [n3]) == .illegalOperation)
        #expect(h.tcbRef(t).pointee.boundNotification == 0)
        // Already bound.
        #expect(h.error(t, .tcbBindNotification, caps: [n1]) == .noError)
        let again = h.retype(.notification)[0]
        #expect(h.error(t, .tcbBindNotification, caps: [again]) == .illegalOperation)
        #expect(h.tcbRef(t).pointee.boundNotification == h.cap(n1).paddr)
    }

    @Test("UnbindNotification of an unbound thread is IllegalOperation; of a bound one it unbinds")
    func unbindNotification() {
        let h = KernelHarness()
        let t = h.makeThread(priority: 10, resume: false)
        let n = h.retype(.notification)[0]
        let r = h.invoke(t, .tcbUnbindNotification)
        #expect(r.error == .illegalOperation && r.mrs == [])
        #expect(h.error(t, .tcbBindNotification, caps: [n]) == .noError)
        #expect(h.error(t, .tcbUnbindNotification) == .noError)
        #expect(h.tcbRef(t).pointee.boundNotification == 0)
        #expect(h.k.notification(h.cap(n).paddr).pointee.boundTCB == 0)
        #expect(h.error(t, .tcbUnbindNotification) == .illegalOperation)
        // Rebinding works after the unbind.
        #expect(h.error(t, .tcbBindNotification, caps: [n]) == .noError)
    }

    // MARK: - TLS base

    @Test("SetTLSBase sets fs_base as given (not sanitised); without an argument it is TruncatedMessage")
    func setTLSBase() {
        let h = KernelHarness()
        let t = h.makeThread(priority: 10, resume: false)
        let tcb = h.tcbRef(t)
        #expect(h.error(t, .tcbSetTLSBase) == .truncatedMessage)
        #expect(h.error(t, .tcbSetTLSBase, [0x7000_1234]) == .noError)
        #expect(tcb.pointee[.fsBase] == 0x7000_1234)
        #expect(h.error(t, .tcbSetTLSBase, [0x0000_8000_0000_0000]) == .noError)
        #expect(tcb.pointee[.fsBase] == 0x0000_8000_0000_0000)
        // On the caller itself.
        #expect(h.error(rootTCB, .tcbSetTLSBase, [0x5555_0000]) == .noError)
        #expect(h.root.pointee[.fsBase] == 0x5555_0000)
        #expect(h.k.currentThread == h.root)
    }
}
