// SPDX-License-Identifier: Apache-2.0
//
// CSpace resolution rule by rule: guards, radix levels, depth, stopping at a non-CNode
// cap, and each lookup-failure kind with its details.

import Testing
import UMKABI
@testable import UMKernel

@Suite("CSpace lookup")
struct CSpaceLookupTests {
    /// A radix-4 CNode; returns its root slot and physical address.
    func cnode(_ h: KernelHarness) -> (slot: UInt64, paddr: UInt64) {
        let s = h.retype(.cnode, sizeBits: 4)[0]
        return (s, h.cap(s).paddr)
    }

    @Test("a non-CNode root is InvalidRoot")
    func invalidRoot() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        #expect(h.k.resolveAddressBits(h.cap(ep), 0, 64).failure == .invalidRoot)
    }

    @Test("guard bits must match: GuardMismatch(bitsLeft, guardFound, guardSize)")
    func guardMismatch() {
        let h = KernelHarness()
        let c = cnode(h)
        let cap = Capability.cnode(paddr: c.paddr, radix: 4, guardSize: 4, guard: 0x5)
        #expect(h.k.resolveAddressBits(cap, 0x63, 8).failure == .guardMismatch(bitsLeft: 8, guardFound: 5, guardSize: 4))
        #expect(h.k.resolveAddressBits(cap, 0x53, 8).success?.slot.paddr == c.paddr + 3 * 32)
    }

    @Test("a guard longer than the bits left is a GuardMismatch")
    func guardLongerThanDepth() {
        let h = KernelHarness()
        let c = cnode(h)
        let cap = Capability.cnode(paddr: c.paddr, radix: 4, guardSize: 10, guard: 0)
        #expect(h.k.resolveAddressBits(cap, 0, 6).failure == .guardMismatch(bitsLeft: 6, guardFound: 0, guardSize: 10))
    }

    @Test("guard plus radix longer than the bits left is a DepthMismatch(bitsLeft, bitsFound)")
    func depthMismatch() {
        let h = KernelHarness()
        let c = cnode(h)
        let cap = Capability.cnode(paddr: c.paddr, radix: 4, guardSize: 4, guard: 0)
        #expect(h.k.resolveAddressBits(cap, 0, 6).failure == .depthMismatch(bitsLeft: 6, bitsFound: 8))
    }

    @Test("resolution continues through CNode caps level by level")
    func twoLevels() {
        let h = KernelHarness()
        let top = cnode(h), second = cnode(h)
        h.k.slot(top.paddr + 3 * 32).pointee.cap = .cnode(paddr: second.paddr, radix: 4, guardSize: 2, guard: 1)
        let cap = Capability.cnode(paddr: top.paddr, radix: 4)
        // 0011 | 01 | 0110: slot 3 of the top, guard 01, slot 6 of the second.
        let r = h.k.resolveAddressBits(cap, 0b0011_01_0110, 10)
        #expect(r.success?.slot.paddr == second.paddr + 6 * 32)
        #expect(r.success?.bitsRemaining == 0)
        // A wrong guard in the second level reports the bits left at that level.
        #expect(h.k.resolveAddressBits(cap, 0b0011_10_0110, 10).failure
                == .guardMismatch(bitsLeft: 6, guardFound: 1, guardSize: 2))
        h.k.slot(top.paddr + 3 * 32).pointee.cap = .null
    }

    @Test("a syscall lookup stops at the first non-CNode cap and ignores the bits left")
    func stopsAtNonCNode() {
        let h = KernelHarness()
        let top = cnode(h)
        let ep = h.retype(.endpoint)[0]
        h.k.slot(top.paddr + 9 * 32).pointee.cap = h.cap(ep)
        let cap = Capability.cnode(paddr: top.paddr, radix: 4)
        let r = h.k.resolveAddressBits(cap, 0x9 << 60 | 0x1234, 64)
        #expect(r.success?.slot.paddr == top.paddr + 9 * 32)
        #expect(r.success?.bitsRemaining == 60)
        h.k.slot(top.paddr + 9 * 32).pointee.cap = .null
    }

    @Test("CNode-method lookups: depth 1...64, the guard first, and bits left over are a DepthMismatch")
    func cnodeOpNeedsExactDepth() {
        let h = KernelHarness()
        let r = h.invoke(InitialCap.initThreadCNode.rawValue, .cnodeDelete, [InitialCap.initThreadTCB.rawValue << 4, 68])
        #expect(r.error == .rangeError)
        #expect(r.mrs == [1, 64])
        // The root CNode's 52-bit guard comes first: 32 bits cannot even pass it.
        let short = h.invoke(InitialCap.initThreadCNode.rawValue, .cnodeDelete, [0, 32])
        #expect(short.error == .failedLookup)
        #expect(short.mrs == [0] + LookupFailure.guardMismatch(bitsLeft: 32, guardFound: 0, guardSize: 52).words)
        // Reaching a non-CNode cap with bits to spare.
        let top = cnode(h)
        let ep = h.retype(.endpoint)[0]
        #expect(h.error(top.slot, .cnodeCopy, [9, 4, ep, 64, CapRights.all.rawValue], caps: [InitialCap.initThreadCNode.rawValue]) == .noError)
        let deep = h.invoke(top.slot, .cnodeDelete, [9 << 4, 8])
        #expect(deep.error == .failedLookup)
        #expect(deep.mrs == [0] + LookupFailure.depthMismatch(bitsLeft: 4, bitsFound: 0).words)
    }

    @Test("in a thread's CSpace an empty slot is InvalidCapability, a bad guard is a CapFault")
    func emptySlotVersusLookupFault() {
        let h = KernelHarness()
        let faultEP = h.retype(.endpoint)[0]
        let task = h.makeTask(priority: 100, faultEP: 1, name: "looker")
        h.give(task, faultEP, at: 1, rights: .all, badge: 0x77)
        // The root waits for faults on the endpoint (priority 50 < task's 100).
        #expect(h.error(InitialCap.initThreadTCB.rawValue, .tcbSetPriority, [50], caps: [InitialCap.initThreadTCB.rawValue]) == .noError)
        #expect(h.error(task.tcbSlot, .tcbResume) == .noError)
        #expect(h.k.currentThread == task.tcb)
        // Slot 5 of the task's CNode is empty: an error reply, no fault.
        h.syscall(.call, cptr: 5, info: MessageInfo(label: InvocationLabel.cnodeDelete.rawValue, length: 0))
        #expect(h.reply(task.tcb).error == .invalidCapability)
        #expect(h.reply(task.tcb).mrs == [0])
        // A CPtr whose top bits break the guard: a CapFault sent to the fault endpoint.
        h.run(h.root)
        h.syscall(.recv, cptr: faultEP)
        #expect(h.k.currentThread == task.tcb)
        let bad: UInt64 = 1 << 63 | 5
        h.syscall(.call, cptr: bad, info: MessageInfo(label: 0, length: 0))
        #expect(task.tcb.pointee.state == .blockedOnReply)
        #expect(h.k.currentThread == h.root)
        let fault = h.reply(h.root)
        #expect(fault.label == FaultType.capFault.rawValue)
        #expect(fault.badge == 0x77)
        #expect(Array(fault.mrs.prefix(3)) == [KernelHarness.syscallSite, bad, 0])
        #expect(LookupFailure(words: Array(fault.mrs.dropFirst(3)))
                == .guardMismatch(bitsLeft: 64, guardFound: 0, guardSize: 56))
    }
}

extension Result {
    var failure: Failure? { if case .failure(let f) = self { f } else { nil } }
    var success: Success? { if case .success(let s) = self { s } else { nil } }
}
