// SPDX-License-Identifier: Apache-2.0
//
// CNode invocations and the capability derivation tree, rule by rule (reference §2.2,
// §3.2-3.4, §6). Every test drives the kernel as the root task through the harness; caps
// are root CNode slot numbers, addressed at depth 64 (radix 12 + guard size 52).

import Testing
import UMKABI
@testable import UMKernel

/// The root task's CNode cap (slot 2).
private let rootCN = InitialCap.initThreadCNode.rawValue
private let allRights = CapRights.all.rawValue

// MARK: - Helpers (file-private so they cannot clash with other test files)

fileprivate extension KernelHarness {
    func cnCopy(_ dest: UInt64, _ src: UInt64, rights: CapRights = .all,
                _ loc: SourceLocation = #_sourceLocation) -> Reply {
        invoke(rootCN, .cnodeCopy, [dest, 64, src, 64, rights.rawValue], caps: [rootCN], loc)
    }
    func cnMint(_ dest: UInt64, _ src: UInt64, rights: CapRights = .all, data: UInt64,
                _ loc: SourceLocation = #_sourceLocation) -> Reply {
        invoke(rootCN, .cnodeMint, [dest, 64, src, 64, rights.rawValue, data], caps: [rootCN], loc)
    }
    func cnMove(_ dest: UInt64, _ src: UInt64, _ loc: SourceLocation = #_sourceLocation) -> Reply {
        invoke(rootCN, .cnodeMove, [dest, 64, src, 64], caps: [rootCN], loc)
    }
    func cnMutate(_ dest: UInt64, _ src: UInt64, data: UInt64, _ loc: SourceLocation = #_sourceLocation) -> Reply {
        invoke(rootCN, .cnodeMutate, [dest, 64, src, 64, data], caps: [rootCN], loc)
    }
    func cnRevoke(_ s: UInt64, _ loc: SourceLocation = #_sourceLocation) -> Reply {
        invoke(rootCN, .cnodeRevoke, [s, 64], loc)
    }
    func cnDelete(_ s: UInt64, _ loc: SourceLocation = #_sourceLocation) -> Reply {
        invoke(rootCN, .cnodeDelete, [s, 64], loc)
    }
    /// Rotate(dest, destBadge, pivot, pivotBadge, src) with every root the root CNode.
    func cnRotate(dest: UInt64, destBadge: UInt64 = 0, pivot: UInt64, pivotBadge: UInt64 = 0, src: UInt64,
                  _ loc: SourceLocation = #_sourceLocation) -> Reply {
        invoke(rootCN, .cnodeRotate, [dest, 64, destBadge, pivot, 64, pivotBadge, src, 64],
               caps: [rootCN, rootCN], loc)
    }

    /// Slot `i` of the CNode whose cap is in root slot `cn`.
    func slotIn(_ cn: UInt64, _ i: UInt64) -> SlotRef { k.slot(cap(cn).paddr + i * 32) }

    /// `t` sends (blocking) on the endpoint cap in root slot `ep`; the root runs again after.
    func blockSending(_ t: UInt64, on ep: UInt64) {
        run(tcbRef(t))
        syscall(.send, cptr: ep, info: MessageInfo(label: 0x55, length: 0))
        #expect(tcbRef(t).pointee.state == .blockedOnSend)
        #expect(k.currentThread == root)
    }

    func queued(_ ep: UInt64) -> [UInt64] { k.queuedThreads(endpoint: cap(ep).paddr).map(\.paddr) }

    /// Issues a CNode invocation as the root exactly as the syscall entry would, but reports
    /// the thread's state right where the invocation stopped (before activateThread turns a
    /// Restart into Running).
    func invokeObservingState(_ cptr: UInt64, _ label: InvocationLabel, _ args: [UInt64])
        -> (result: KernelException?, state: ThreadState) {
        load(root, cptr: cptr, info: MessageInfo(label: label.rawValue, length: UInt64(args.count)), mrs: args)
        let r = k.handleInvocation(isCall: true, isBlocking: true)
        let state = root.pointee.state
        if r == .preempted { k.handlePendingInterrupts() }
        k.schedule()
        k.activateThread()
        check()
        return (r, state)
    }
}

@Suite("CNode invocations and the derivation tree")
struct CNodeTests {
    // MARK: - Common checks (§2.2 "Common")

    @Test("a label outside the CNode range is IllegalOperation, checked before the message length")
    func labelOutOfRange() {
        let h = KernelHarness()
        #expect(h.error(rootCN, .tcbSetFlags, []) == .illegalOperation)
        #expect(h.error(rootCN, .irqIssueIRQHandler, [5, 64]) == .illegalOperation)
        #expect(h.error(rootCN, .invalidInvocation, []) == .illegalOperation)
        #expect(h.error(rootCN, .untypedRetype, [0, 0, 0, 0, 0, 1], caps: [rootCN]) == .illegalOperation)
    }

    @Test("fewer than 2 message registers is TruncatedMessage")
    func truncatedCommon() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        #expect(h.error(rootCN, .cnodeDelete, []) == .truncatedMessage)
        #expect(h.error(rootCN, .cnodeDelete, [ep]) == .truncatedMessage)
        #expect(h.error(rootCN, .cnodeRevoke, [ep]) == .truncatedMessage)
        #expect(!h.cap(ep).isNull, "nothing was deleted")
    }

    @Test("a destination depth of 0 or above 64 is RangeError(1, 64)")
    func depthRange() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        for depth: UInt64 in [0, 65, 1000] {
            let r = h.invoke(rootCN, .cnodeDelete, [ep, depth])
            #expect(r.error == .rangeError)
            #expect(r.mrs == [1, 64])
        }
        // The destination is looked up before the extra cap of Copy is required.
        let r = h.invoke(rootCN, .cnodeCopy, [h.nextSlot, 0])
        #expect(r.error == .rangeError && r.mrs == [1, 64])
        #expect(!h.cap(ep).isNull)
    }

    @Test("a destination depth that does not cover guard + radix is FailedLookup(DepthMismatch), MR0 = 0")
    func destDepthMismatch() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        // Root CNode: guard 52 + radix 12 = 64 bits; 60 bits pass the guard but not the radix.
        let r = h.invoke(rootCN, .cnodeDelete, [ep, 60])
        #expect(r.error == .failedLookup)
        #expect(r.mrs == [0, 3, 60, 64])
        #expect(!h.cap(ep).isNull)
    }

    @Test("bits left over after reaching a non-CNode cap are FailedLookup(DepthMismatch)")
    func destLeftoverBits() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let g = h.allocSlot()
        // A copy of the root CNode cap with no guard: one level consumes 12 bits.
        #expect(h.cnMint(g, rootCN, data: 0).error == .noError)
        #expect(h.cap(g).cnodeGuardSize == 0)
        let r = h.invoke(g, .cnodeDelete, [ep << 12, 24])
        #expect(r.error == .failedLookup)
        #expect(r.mrs == [0, 3, 12, 0])
        #expect(!h.cap(ep).isNull)
        // Exactly 12 bits through the guardless cap name the slot itself.
        #expect(h.error(g, .cnodeDelete, [ep, 12]) == .noError)
        #expect(h.cap(ep).isNull)
    }

    @Test("a guard mismatch in the destination lookup is FailedLookup(GuardMismatch), MR0 = 0")
    func destGuardMismatch() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        // Non-zero bits where the root CNode's 52-bit zero guard sits.
        var r = h.invoke(rootCN, .cnodeDelete, [1 << 63 | ep, 64])
        #expect(r.error == .failedLookup)
        #expect(r.mrs == [0, 4, 64, 0, 52])
        // Fewer bits than the guard needs is also a guard mismatch.
        r = h.invoke(rootCN, .cnodeDelete, [ep, 40])
        #expect(r.error == .failedLookup)
        #expect(r.mrs == [0, 4, 40, 0, 52])
        #expect(!h.cap(ep).isNull)
    }

    @Test("a source root that is not a CNode is FailedLookup(InvalidRoot) with MR0 = 1")
    func sourceInvalidRoot() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let d = h.allocSlot()
        let r = h.invoke(rootCN, .cnodeCopy, [d, 64, ep, 64, allRights], caps: [ep])
        #expect(r.error == .failedLookup)
        #expect(r.mrs == [1, 1])
        #expect(h.cap(d).isNull)
        // A bad source depth is a RangeError, with no source flag.
        let r2 = h.invoke(rootCN, .cnodeCopy, [d, 64, ep, 0, allRights], caps: [rootCN])
        #expect(r2.error == .rangeError && r2.mrs == [1, 64])
        // A source guard mismatch carries MR0 = 1.
        let r3 = h.invoke(rootCN, .cnodeCopy, [d, 64, 1 << 63 | ep, 64, allRights], caps: [rootCN])
        #expect(r3.error == .failedLookup && r3.mrs == [1, 4, 64, 0, 52])
        #expect(h.cap(d).isNull)
    }

    // MARK: - Copy / Mint / Move / Mutate

    @Test("Copy/Mint/Move/Mutate without the source root cap or with too few MRs is TruncatedMessage")
    func copyFamilyTruncated() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let d = h.allocSlot()
        // < 4 MRs, or no extra cap.
        for label in [InvocationLabel.cnodeCopy, .cnodeMint, .cnodeMove, .cnodeMutate] {
            #expect(h.error(rootCN, label, [d, 64, ep], caps: [rootCN]) == .truncatedMessage)
            #expect(h.error(rootCN, label, [d, 64, ep, 64, allRights, 0]) == .truncatedMessage)
        }
        // Copy < 5, Mint < 6, Mutate < 5 (checked after the source lookup).
        #expect(h.error(rootCN, .cnodeCopy, [d, 64, ep, 64], caps: [rootCN]) == .truncatedMessage)
        #expect(h.error(rootCN, .cnodeMint, [d, 64, ep, 64, allRights], caps: [rootCN]) == .truncatedMessage)
        #expect(h.error(rootCN, .cnodeMutate, [d, 64, ep, 64], caps: [rootCN]) == .truncatedMessage)
        #expect(h.cap(d).isNull)
        #expect(h.cap(ep).type == .endpoint)
        // Move needs only 4.
        #expect(h.error(rootCN, .cnodeMove, [d, 64, ep, 64], caps: [rootCN]) == .noError)
        #expect(h.cap(d).type == .endpoint && h.cap(ep).isNull)
    }

    @Test("an occupied destination is DeleteFirst, checked before the source")
    func copyDeleteFirst() {
        let h = KernelHarness()
        let eps = h.retype(.endpoint, count: 2)
        let empty = h.allocSlot()
        for label in [InvocationLabel.cnodeCopy, .cnodeMint, .cnodeMove, .cnodeMutate] {
            // The source is empty: DeleteFirst still wins.
            #expect(h.error(rootCN, label, [eps[0], 64, empty, 64, allRights, 0], caps: [rootCN]) == .deleteFirst)
            #expect(h.error(rootCN, label, [eps[0], 64, eps[1], 64, allRights, 0], caps: [rootCN]) == .deleteFirst)
        }
        #expect(h.cap(eps[0]).paddr != h.cap(eps[1]).paddr)
        #expect(h.cap(eps[1]).type == .endpoint)
    }

    @Test("an empty source is FailedLookup(MissingCapability) with MR0 = 1")
    func copyEmptySource() {
        let h = KernelHarness()
        let d = h.allocSlot(), empty = h.allocSlot()
        for label in [InvocationLabel.cnodeCopy, .cnodeMint, .cnodeMove, .cnodeMutate] {
            let r = h.invoke(rootCN, label, [d, 64, empty, 64, allRights, 0], caps: [rootCN])
            #expect(r.error == .failedLookup)
            #expect(r.mrs == [1, 2, 64])
        }
        #expect(h.cap(d).isNull)
    }

    @Test("Copy masks rights: they can only be dropped")
    func copyMasksRights() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let ro = h.allocSlot(), ro2 = h.allocSlot(), rw = h.allocSlot()
        #expect(h.cnCopy(ro, ep, rights: [.read]).error == .noError)
        #expect(h.cap(ro).type == .endpoint && h.cap(ro).paddr == h.cap(ep).paddr)
        #expect(h.cap(ro).rights == [.read])
        // Copying the read-only cap with all rights does not bring any back.
        #expect(h.cnCopy(ro2, ro, rights: .all).error == .noError)
        #expect(h.cap(ro2).rights == [.read])
        #expect(h.cnCopy(rw, ep, rights: .readWrite).error == .noError)
        #expect(h.cap(rw).rights == .readWrite)
        #expect(h.cap(ep).rights == .all, "the source keeps its rights")
        // Without Write the copy cannot send: invoking it is InvalidCapability(0).
        let r = h.invoke(ro, .invalidInvocation)
        #expect(r.error == .invalidCapability && r.mrs == [0])
        // Notification caps keep only Read and Write.
        let n = h.retype(.notification)[0]
        let nc = h.allocSlot()
        #expect(h.cnCopy(nc, n, rights: .all).error == .noError)
        #expect(h.cap(nc).rights == .readWrite)
    }

    @Test("a copy is a CDT child of its source; a plain copy has no children")
    func copyIsChild() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let c1 = h.allocSlot(), c2 = h.allocSlot()
        #expect(h.cnCopy(c1, ep).error == .noError)
        #expect(h.cnCopy(c2, c1).error == .noError)
        #expect(h.slotRef(ep).pointee.revocable)
        #expect(!h.slotRef(c1).pointee.revocable)
        // Revoking the plain copy deletes nothing.
        #expect(h.cnRevoke(c1).error == .noError)
        #expect(!h.cap(c1).isNull && !h.cap(c2).isNull)
        // Revoking the original deletes both copies (copy of a copy included), not itself.
        #expect(h.cnRevoke(ep).error == .noError)
        #expect(h.cap(c1).isNull && h.cap(c2).isNull)
        #expect(h.cap(ep).type == .endpoint)
    }

    @Test("Mint sets the badge; a non-zero badge makes a badged original; badge 0 is a plain copy")
    func mintBadge() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let b = h.allocSlot(), plain = h.allocSlot(), bc = h.allocSlot()
        #expect(h.cnMint(b, ep, rights: [.read, .write], data: 0x42).error == .noError)
        #expect(h.cap(b).type == .endpoint && h.cap(b).paddr == h.cap(ep).paddr)
        #expect(h.cap(b).badge == 0x42)
        #expect(h.cap(b).rights == [.read, .write])
        #expect(h.slotRef(b).pointee.revocable && h.slotRef(b).pointee.firstBadged)
        #expect(h.cap(ep).badge == 0)
        #expect(h.cnMint(plain, ep, data: 0).error == .noError)
        #expect(h.cap(plain).badge == 0 && !h.slotRef(plain).pointee.revocable)
        // Copying a badged cap keeps the badge.
        #expect(h.cnCopy(bc, b).error == .noError)
        #expect(h.cap(bc).badge == 0x42 && !h.slotRef(bc).pointee.firstBadged)
        // Notification badges too.
        let n = h.retype(.notification)[0]
        let nb = h.allocSlot()
        #expect(h.cnMint(nb, n, data: 0x9).error == .noError)
        #expect(h.cap(nb).badge == 0x9)
    }

    @Test("Mint from an already-badged endpoint or notification is IllegalOperation")
    func mintRebadge() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let n = h.retype(.notification)[0]
        let b = h.allocSlot(), nb = h.allocSlot(), d = h.allocSlot()
        #expect(h.cnMint(b, ep, data: 1).error == .noError)
        #expect(h.cnMint(nb, n, data: 1).error == .noError)
        #expect(h.cnMint(d, b, data: 2).error == .illegalOperation)
        #expect(h.cnMint(d, b, data: 0).error == .illegalOperation)
        #expect(h.cnMint(d, nb, data: 2).error == .illegalOperation)
        #expect(h.cap(d).isNull)
        #expect(h.cap(b).badge == 1)
    }

    @Test("Mutate of an endpoint or notification cap is IllegalOperation")
    func mutateEndpoint() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let n = h.retype(.notification)[0]
        let d = h.allocSlot()
        #expect(h.cnMutate(d, ep, data: 5).error == .illegalOperation)
        #expect(h.cnMutate(d, ep, data: 0).error == .illegalOperation)
        #expect(h.cnMutate(d, n, data: 5).error == .illegalOperation)
        #expect(h.cap(d).isNull)
        #expect(h.cap(ep).type == .endpoint && h.cap(n).type == .notification, "the sources stay")
    }

    @Test("Mint of a CNode cap sets its guard; guardSize + radix > 64 is IllegalOperation")
    func mintCNodeGuard() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let cn = h.retype(.cnode, sizeBits: 4)[0]
        let bad = h.allocSlot(), g = h.allocSlot()
        // Root CNode: radix 12, so guard size 53 is too big.
        #expect(h.cnMint(bad, rootCN, data: 53).error == .illegalOperation)
        #expect(h.cnMint(bad, cn, data: 61).error == .illegalOperation)
        #expect(h.cap(bad).isNull)
        // Guard 0xA of 4 bits on a radix-4 CNode: 8-bit addresses 0xA?.
        #expect(h.cnMint(g, cn, data: 4 | 0xA << 6).error == .noError)
        #expect(h.cap(g).type == .cnode && h.cap(g).paddr == h.cap(cn).paddr)
        #expect(h.cap(g).cnodeGuardSize == 4 && h.cap(g).cnodeGuard == 0xA && h.cap(g).cnodeRadix == 4)
        #expect(h.error(g, .cnodeCopy, [0xA5, 8, ep, 64, allRights], caps: [rootCN]) == .noError)
        #expect(h.slotIn(cn, 5).pointee.cap.type == .endpoint)
        #expect(h.slotIn(cn, 5).pointee.cap.paddr == h.cap(ep).paddr)
        // A different guard value misses.
        let r = h.invoke(g, .cnodeCopy, [0xB6, 8, ep, 64, allRights], caps: [rootCN])
        #expect(r.error == .failedLookup)
        #expect(r.mrs == [0, 4, 8, 0xA, 4])
        #expect(h.slotIn(cn, 6).pointee.cap.isNull)
        // Guard size 60 + radix 4 = 64 exactly is allowed.
        let g60 = h.allocSlot()
        #expect(h.cnMint(g60, cn, data: 60).error == .noError)
        #expect(h.cap(g60).cnodeGuardSize == 60)
    }

    @Test("Mutate of a CNode cap moves it with a new guard; a too-large guard is IllegalOperation")
    func mutateCNodeGuard() {
        let h = KernelHarness()
        let cn = h.retype(.cnode, sizeBits: 4)[0]
        let d = h.allocSlot(), d2 = h.allocSlot()
        #expect(h.cnMutate(d, cn, data: 61).error == .illegalOperation)
        #expect(h.cap(d).isNull && h.cap(cn).type == .cnode)
        #expect(h.cnMutate(d, cn, data: 60 | 3 << 6).error == .noError)
        #expect(h.cap(cn).isNull)
        #expect(h.cap(d).cnodeGuardSize == 60 && h.cap(d).cnodeGuard == 3 && h.cap(d).cnodeRadix == 4)
        #expect(h.slotRef(d).pointee.revocable, "the original keeps its CDT flags")
        // Mutate of other caps is a plain move.
        let t = h.retype(.tcb)[0]
        #expect(h.cnMutate(d2, t, data: 0x1234).error == .noError)
        #expect(h.cap(d2).type == .thread && h.cap(t).isNull)
    }

    @Test("copying IRQControl is IllegalOperation")
    func copyIRQControl() {
        let h = KernelHarness()
        let d = h.allocSlot()
        #expect(h.cnCopy(d, InitialCap.irqControl.rawValue).error == .illegalOperation)
        #expect(h.cnMint(d, InitialCap.irqControl.rawValue, data: 0).error == .illegalOperation)
        #expect(h.cap(d).isNull)
        #expect(h.cap(InitialCap.irqControl.rawValue).type == .irqControl)
    }

    @Test("copying an untyped with children is RevokeFirst; a childless one is copied and marked full")
    func copyUntyped() {
        let h = KernelHarness()
        _ = h.retype(.endpoint)
        let d = h.allocSlot()
        #expect(h.cnCopy(d, h.untypedSlot).error == .revokeFirst)
        #expect(h.cap(d).isNull)
        // Another (childless) untyped.
        let list = h.boot.bootInfo.untypedList
        guard let i = list.indices.first(where: { h.boot.bootInfo.untyped.start + UInt64($0) != h.untypedSlot }) else {
            Issue.record("only one untyped")
            return
        }
        let u = h.boot.bootInfo.untyped.start + UInt64(i)
        #expect(h.cnCopy(d, u).error == .noError)
        #expect(h.cap(d).type == .untyped && h.cap(d).paddr == h.cap(u).paddr)
        #expect(h.cap(u).untypedFreeIndex == 1 << h.cap(u).untypedSizeBits)
        #expect(h.slotRef(d).pointee.revocable)
        // The copy is its child: copying the source again is RevokeFirst.
        let d2 = h.allocSlot()
        #expect(h.cnCopy(d2, u).error == .revokeFirst)
        #expect(h.cnRevoke(u).error == .noError)
        #expect(h.cap(d).isNull)
    }

    @Test("Move keeps the CDT position: revoking the original still deletes a moved child")
    func moveKeepsCDT() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let c = h.allocSlot(), m = h.allocSlot(), e2 = h.allocSlot()
        #expect(h.cnCopy(c, ep).error == .noError)
        #expect(h.cnMove(m, c).error == .noError)
        #expect(h.cap(c).isNull)
        #expect(h.cap(m).type == .endpoint && h.cap(m).paddr == h.cap(ep).paddr)
        // Moving the original keeps it the parent.
        #expect(h.cnMove(e2, ep).error == .noError)
        #expect(h.cap(ep).isNull && h.slotRef(e2).pointee.revocable)
        #expect(h.cnRevoke(e2).error == .noError)
        #expect(h.cap(m).isNull)
        #expect(h.cap(e2).type == .endpoint)
    }

    // MARK: - Rotate

    @Test("Rotate moves pivot to dest and src to pivot")
    func rotateBasic() {
        let h = KernelHarness()
        let t = h.retype(.tcb, count: 2)
        let pa = h.cap(t[0]).paddr, pb = h.cap(t[1]).paddr
        let d = h.allocSlot()
        // src = t[0], pivot = t[1]
        #expect(h.cnRotate(dest: d, pivot: t[1], src: t[0]).error == .noError)
        #expect(h.cap(d).paddr == pb && h.cap(d).type == .thread)
        #expect(h.cap(t[1]).paddr == pa && h.cap(t[1]).type == .thread)
        #expect(h.cap(t[0]).isNull)
    }

    @Test("Rotate with dest == src swaps the two caps with their CDT positions")
    func rotateSwap() {
        let h = KernelHarness()
        let t = h.retype(.tcb, count: 2)
        let pa = h.cap(t[0]).paddr, pb = h.cap(t[1]).paddr
        let c = h.allocSlot()
        #expect(h.cnCopy(c, t[0]).error == .noError)
        #expect(h.cnRotate(dest: t[0], pivot: t[1], src: t[0]).error == .noError)
        #expect(h.cap(t[0]).paddr == pb)
        #expect(h.cap(t[1]).paddr == pa)
        // The original of the copy now sits in t[1]: revoking it deletes the copy.
        #expect(h.cnRevoke(t[0]).error == .noError)
        #expect(!h.cap(c).isNull)
        #expect(h.cnRevoke(t[1]).error == .noError)
        #expect(h.cap(c).isNull)
    }

    @Test("Rotate with pivot == src or pivot == dest is IllegalOperation")
    func rotatePivotAliases() {
        let h = KernelHarness()
        let t = h.retype(.tcb, count: 2)
        let d = h.allocSlot()
        #expect(h.cnRotate(dest: d, pivot: t[0], src: t[0]).error == .illegalOperation)
        #expect(h.cnRotate(dest: t[1], pivot: t[1], src: t[0]).error == .illegalOperation)
        #expect(h.cnRotate(dest: d, pivot: d, src: t[0]).error == .illegalOperation)
        #expect(h.cap(d).isNull && h.cap(t[0]).type == .thread && h.cap(t[1]).type == .thread)
    }

    @Test("Rotate into an occupied dest (not src) is DeleteFirst; empty src or pivot is FailedLookup MR0 = 1 / 0")
    func rotateErrors() {
        let h = KernelHarness()
        let t = h.retype(.tcb, count: 3)
        let d = h.allocSlot(), e = h.allocSlot()
        #expect(h.cnRotate(dest: t[2], pivot: t[1], src: t[0]).error == .deleteFirst)
        var r = h.cnRotate(dest: d, pivot: t[1], src: e)
        #expect(r.error == .failedLookup && r.mrs == [1, 2, 64])
        r = h.cnRotate(dest: d, pivot: e, src: t[0])
        #expect(r.error == .failedLookup && r.mrs == [0, 2, 64])
        // Both empty: the source is reported.
        let e2 = h.allocSlot()
        r = h.cnRotate(dest: d, pivot: e2, src: e)
        #expect(r.error == .failedLookup && r.mrs == [1, 2, 64])
        // Too few MRs or a missing second root.
        #expect(h.error(rootCN, .cnodeRotate, [d, 64, 0, t[1], 64, 0, t[0]], caps: [rootCN, rootCN]) == .truncatedMessage)
        #expect(h.error(rootCN, .cnodeRotate, [d, 64, 0, t[1], 64, 0, t[0], 64], caps: [rootCN]) == .truncatedMessage)
        // Roots that are not CNodes: the pivot and the source are both reported as sources.
        r = h.invoke(rootCN, .cnodeRotate, [d, 64, 0, t[1], 64, 0, t[0], 64], caps: [t[2], rootCN])
        #expect(r.error == .failedLookup && r.mrs == [1, 1])
        r = h.invoke(rootCN, .cnodeRotate, [d, 64, 0, t[1], 64, 0, t[0], 64], caps: [rootCN, t[2]])
        #expect(r.error == .failedLookup && r.mrs == [1, 1])
        #expect(h.cap(d).isNull && h.cap(t[0]).type == .thread && h.cap(t[1]).type == .thread)
    }

    @Test("Rotate updates data as Mutate: endpoint caps are IllegalOperation")
    func rotateEndpoint() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint, count: 2)
        let d = h.allocSlot()
        #expect(h.cnRotate(dest: d, pivot: ep[1], src: ep[0]).error == .illegalOperation)
        #expect(h.cap(d).isNull && h.cap(ep[0]).type == .endpoint && h.cap(ep[1]).type == .endpoint)
    }

    // MARK: - Delete

    @Test("Delete of an empty slot succeeds and leaves it empty")
    func deleteEmpty() {
        let h = KernelHarness()
        let e = h.allocSlot()
        let r = h.cnDelete(e)
        #expect(r.error == .noError && r.mrs.isEmpty)
        #expect(h.cap(e).isNull)
    }

    @Test("deleting the final endpoint cap restarts queued threads; a non-final one does not")
    func deleteFinalEndpoint() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let a = h.makeThread(priority: 100), b = h.makeThread(priority: 100)
        h.blockSending(a, on: ep)
        h.blockSending(b, on: ep)
        #expect(h.queued(ep) == [h.tcbRef(a).paddr, h.tcbRef(b).paddr])
        let epPaddr = h.cap(ep).paddr
        let c = h.allocSlot()
        #expect(h.cnCopy(c, ep).error == .noError)
        #expect(h.cnDelete(c).error == .noError)
        #expect(h.cap(c).isNull)
        #expect(h.tcbRef(a).pointee.state == .blockedOnSend && h.tcbRef(b).pointee.state == .blockedOnSend)
        #expect(h.cnDelete(ep).error == .noError)
        #expect(h.cap(ep).isNull)
        #expect(h.tcbRef(a).pointee.state == .restart)
        #expect(h.tcbRef(b).pointee.state == .restart)
        #expect(h.k.queuedThreads(endpoint: epPaddr).isEmpty)
        #expect(h.k.endpoint(epPaddr).pointee.state == .idle)
        let ready = h.k.readyQueue(priority: 100).map(\.paddr)
        #expect(ready.contains(h.tcbRef(a).paddr) && ready.contains(h.tcbRef(b).paddr))
        // They re-execute their Send.
        #expect(h.tcbRef(a).pointee[.rip] == KernelHarness.syscallSite)
    }

    @Test("deleting the final notification cap unbinds its TCB and restarts waiters")
    func deleteFinalNotification() {
        let h = KernelHarness()
        let n = h.retype(.notification)[0]
        let t = h.makeThread(priority: 100)
        #expect(h.error(t, .tcbBindNotification, [], caps: [n]) == .noError)
        let nPaddr = h.cap(n).paddr
        #expect(h.tcbRef(t).pointee.boundNotification == nPaddr)
        h.run(h.tcbRef(t))
        h.syscall(.recv, cptr: n)
        #expect(h.tcbRef(t).pointee.state == .blockedOnNotification)
        #expect(h.k.currentThread == h.root)
        // A copy's deletion changes nothing.
        let c = h.allocSlot()
        #expect(h.cnCopy(c, n).error == .noError)
        #expect(h.cnDelete(c).error == .noError)
        #expect(h.tcbRef(t).pointee.boundNotification == nPaddr)
        #expect(h.tcbRef(t).pointee.state == .blockedOnNotification)
        // The final one.
        #expect(h.cnDelete(n).error == .noError)
        #expect(h.cap(n).isNull)
        #expect(h.tcbRef(t).pointee.boundNotification == 0)
        #expect(h.k.notification(nPaddr).pointee.boundTCB == 0)
        #expect(h.tcbRef(t).pointee.state == .restart)
        #expect(h.k.queuedThreads(notification: nPaddr).isEmpty)
    }

    @Test("deleting the final TCB cap suspends the thread and takes it off every queue")
    func deleteFinalTCB() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let a = h.makeThread(priority: 100), b = h.makeThread(priority: 100)
        let ta = h.tcbRef(a), tb = h.tcbRef(b)
        h.blockSending(a, on: ep)
        #expect(h.k.readyQueue(priority: 100).map(\.paddr).contains(tb.paddr))
        // Blocked thread: leaves the endpoint queue.
        #expect(h.cnDelete(a).error == .noError)
        #expect(h.cap(a).isNull)
        #expect(ta.pointee.state == .inactive)
        #expect(h.queued(ep).isEmpty)
        for s in TCBSlot.allCases { #expect(ta.slot(s).pointee.cap.isNull, "TCB slot \(s) emptied") }
        // Runnable thread: leaves the ready queue.
        #expect(h.cnDelete(b).error == .noError)
        #expect(tb.pointee.state == .inactive)
        #expect(!h.k.readyQueue(priority: 100).map(\.paddr).contains(tb.paddr))
        #expect(h.k.currentThread == h.root)
        // A non-final TCB cap does not stop the thread.
        let c = h.makeThread(priority: 100)
        let copy = h.allocSlot()
        #expect(h.cnCopy(copy, c).error == .noError)
        #expect(h.cnDelete(copy).error == .noError)
        #expect(h.tcbRef(c).pointee.state.isRunnable)
    }

    @Test("deleting a CNode cap recursively deletes the caps inside it")
    func deleteCNodeRecursive() {
        let h = KernelHarness()
        let cn = h.retype(.cnode, sizeBits: 4)[0]
        let ep = h.retype(.endpoint)[0]
        let n = h.retype(.notification)[0]
        let a = h.makeThread(priority: 100)
        h.blockSending(a, on: ep)
        let epPaddr = h.cap(ep).paddr
        // The endpoint's only cap moves into the CNode; a copy of the notification goes in too.
        #expect(h.error(cn, .cnodeMove, [3, 4, ep, 64], caps: [rootCN]) == .noError)
        #expect(h.error(cn, .cnodeCopy, [7, 4, n, 64, allRights], caps: [rootCN]) == .noError)
        #expect(h.cap(ep).isNull)
        #expect(h.slotIn(cn, 3).pointee.cap.type == .endpoint && h.slotIn(cn, 7).pointee.cap.type == .notification)
        let cnPaddr = h.cap(cn).paddr
        #expect(h.cnDelete(cn).error == .noError)
        #expect(h.cap(cn).isNull)
        for i: UInt64 in 0..<16 { #expect(h.k.slot(cnPaddr + i * 32).pointee.cap.isNull) }
        // The endpoint lost its final cap: its sender restarts.
        #expect(h.tcbRef(a).pointee.state == .restart)
        #expect(h.k.queuedThreads(endpoint: epPaddr).isEmpty)
        // The notification's original lost its child.
        #expect(!h.k.hasChildren(h.slotRef(n)))
        #expect(h.cap(n).type == .notification)
    }

    // MARK: - Revoke

    @Test("Revoke deletes all descendants but not the slot itself; empty slot or no children succeed")
    func revokeBasic() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let e = h.allocSlot()
        #expect(h.cnRevoke(e).error == .noError)
        #expect(h.cnRevoke(ep).error == .noError)
        #expect(h.cap(ep).type == .endpoint)
        var copies: [UInt64] = []
        for _ in 0..<5 {
            let s = h.allocSlot()
            #expect(h.cnCopy(s, ep).error == .noError)
            copies.append(s)
        }
        let b = h.allocSlot()
        #expect(h.cnMint(b, ep, data: 3).error == .noError)
        #expect(h.cnRevoke(ep).error == .noError)
        for s in copies + [b] { #expect(h.cap(s).isNull) }
        #expect(h.cap(ep).type == .endpoint)
        #expect(!h.k.hasChildren(h.slotRef(ep)))
        // Revoking an untyped deletes the objects retyped from it.
        let objs = h.retype(.notification, count: 3)
        #expect(h.cnRevoke(h.untypedSlot).error == .noError)
        for s in objs + [ep] { #expect(h.cap(s).isNull) }
        #expect(h.cap(h.untypedSlot).type == .untyped)
    }

    @Test("revoking a badged original deletes its copies but not other badged originals")
    func revokeBadged() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let b1 = h.allocSlot(), b2 = h.allocSlot(), c1a = h.allocSlot(), c1b = h.allocSlot()
        let c2 = h.allocSlot(), plain = h.allocSlot()
        // CDT order after these: ep, plain, b2, c2, b1, c1b, c1a.
        #expect(h.cnMint(b1, ep, data: 1).error == .noError)
        #expect(h.cnCopy(c1a, b1).error == .noError)
        #expect(h.cnCopy(c1b, b1).error == .noError)
        #expect(h.cnMint(b2, ep, data: 2).error == .noError)
        #expect(h.cnCopy(c2, b2).error == .noError)
        #expect(h.cnCopy(plain, ep).error == .noError)

        // b2 is followed by its copy and then by b1, another badged original.
        #expect(h.cnRevoke(b2).error == .noError)
        #expect(h.cap(c2).isNull)
        #expect(h.cap(b2).badge == 2)
        #expect(h.cap(b1).badge == 1 && h.cap(c1a).badge == 1 && h.cap(c1b).badge == 1)

        #expect(h.cnRevoke(b1).error == .noError)
        #expect(h.cap(c1a).isNull && h.cap(c1b).isNull)
        #expect(h.cap(b1).badge == 1 && h.cap(b2).badge == 2)
        #expect(h.cap(plain).type == .endpoint)

        // Revoking the unbadged original kills every badged original and copy.
        let c2again = h.allocSlot()
        #expect(h.cnCopy(c2again, b2).error == .noError)
        #expect(h.cnRevoke(ep).error == .noError)
        for s in [b1, b2, c2again, plain] { #expect(h.cap(s).isNull) }
        #expect(h.cap(ep).type == .endpoint)
    }

    @Test("a badged original is not the parent of an earlier badged original with the same badge")
    func revokeSameBadgeOriginals() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let b1 = h.allocSlot(), c1 = h.allocSlot(), b1again = h.allocSlot(), c1again = h.allocSlot()
        #expect(h.cnMint(b1, ep, data: 1).error == .noError)
        #expect(h.cnCopy(c1, b1).error == .noError)
        // Minted last from ep, so it sits right before b1: ep, b1again, b1, c1.
        #expect(h.cnMint(b1again, ep, data: 1).error == .noError)
        #expect(h.slotRef(b1again).pointee.next == h.slotRef(b1).paddr)
        #expect(h.cnRevoke(b1again).error == .noError)
        #expect(h.cap(b1).badge == 1 && h.cap(c1).badge == 1)
        // Its own copies are its children.
        #expect(h.cnCopy(c1again, b1again).error == .noError)
        #expect(h.cnRevoke(b1again).error == .noError)
        #expect(h.cap(c1again).isNull)
        #expect(h.cap(b1).badge == 1 && h.cap(c1).badge == 1)
        #expect(h.cnRevoke(b1).error == .noError)
        #expect(h.cap(c1).isNull && h.cap(b1again).badge == 1)
    }

    // MARK: - Preemption

    @Test("Revoke of a large tree is preemptible: the caller restarts, progress is kept, re-issue completes")
    func revokePreemption() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        var copies: [UInt64] = []
        for _ in 0..<300 {
            let s = h.allocSlot()
            #expect(h.cnCopy(s, ep).error == .noError)
            copies.append(s)
        }
        func remaining() -> Int { copies.filter { !h.cap($0).isNull }.count }
        #expect(remaining() == 300)

        h.k.hal.interruptAfterChecks = 0
        let (result, state) = h.invokeObservingState(rootCN, .cnodeRevoke, [ep, 64])
        #expect(result == .preempted)
        #expect(state == .restart)
        let left1 = remaining()
        #expect(left1 < 300 && left1 > 0)
        // After the entry completes the root re-executes its syscall.
        #expect(h.root.pointee.nextIP == KernelHarness.syscallSite)

        // Through the full syscall path: stops again, another batch of work units done.
        let info = MessageInfo(label: InvocationLabel.cnodeRevoke.rawValue, length: 2)
        h.syscall(.call, cptr: rootCN, info: info, mrs: [ep, 64])
        let left2 = remaining()
        #expect(left2 == left1 - Int(KernelLayout.workUnitsPerPreemption))
        #expect(h.root.pointee.nextIP == KernelHarness.syscallSite)
        #expect(h.root.pointee[.rsi] == info.word, "no reply was written")
        #expect(h.cap(ep).type == .endpoint)

        h.k.hal.interruptAfterChecks = nil
        #expect(h.cnRevoke(ep).error == .noError)
        #expect(remaining() == 0)
        #expect(h.cap(ep).type == .endpoint)
        #expect(!h.k.hasChildren(h.slotRef(ep)))
    }

    @Test("Delete of a CNode full of caps is preemptible: a Zombie keeps the progress, re-issue completes")
    func deleteCNodePreemption() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let cn = h.retype(.cnode, sizeBits: 8)[0]
        for i: UInt64 in 0..<256 {
            #expect(h.error(cn, .cnodeCopy, [i, 8, ep, 64, allRights], caps: [rootCN]) == .noError)
        }
        let cnPaddr = h.cap(cn).paddr
        func remaining() -> Int { (0..<256).filter { !h.k.slot(cnPaddr + UInt64($0) * 32).pointee.cap.isNull }.count }
        #expect(remaining() == 256)

        h.k.hal.interruptAfterChecks = 0
        let (result, state) = h.invokeObservingState(rootCN, .cnodeDelete, [cn, 64])
        #expect(result == .preempted)
        #expect(state == .restart)
        let left1 = remaining()
        #expect(left1 < 256 && left1 > 0)
        #expect(h.cap(cn).type == .zombie)
        #expect(h.cap(cn).zombieRemaining == UInt64(left1))
        #expect(h.root.pointee.nextIP == KernelHarness.syscallSite)

        let info = MessageInfo(label: InvocationLabel.cnodeDelete.rawValue, length: 2)
        h.syscall(.call, cptr: rootCN, info: info, mrs: [cn, 64])
        let left2 = remaining()
        #expect(left2 < left1)
        #expect(h.root.pointee.nextIP == KernelHarness.syscallSite)
        #expect(h.root.pointee[.rsi] == info.word, "no reply was written")

        h.k.hal.interruptAfterChecks = nil
        #expect(h.cnDelete(cn).error == .noError)
        #expect(h.cap(cn).isNull)
        #expect(remaining() == 0)
        #expect(!h.k.hasChildren(h.slotRef(ep)))
        #expect(h.cap(ep).type == .endpoint)
    }

    // MARK: - SaveCaller

    @Test("SaveCaller with an empty caller slot succeeds and leaves the slot empty; occupied dest is DeleteFirst")
    func saveCallerEmpty() {
        let h = KernelHarness()
        let d = h.allocSlot()
        let r = h.invoke(rootCN, .cnodeSaveCaller, [d, 64])
        #expect(r.error == .noError && r.mrs.isEmpty)
        #expect(h.cap(d).isNull)
        let ep = h.retype(.endpoint)[0]
        #expect(h.error(rootCN, .cnodeSaveCaller, [ep, 64]) == .deleteFirst)
        #expect(h.cap(ep).type == .endpoint)
    }

    @Test("SaveCaller moves the reply cap into the CSpace; it replies once and cannot be copied")
    func saveCallerMovesReply() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let s = h.makeThread(priority: 100), c = h.makeThread(priority: 100)
        let ts = h.tcbRef(s), tc = h.tcbRef(c)
        h.run(ts)
        h.syscall(.recv, cptr: ep)
        #expect(ts.pointee.state == .blockedOnReceive)
        h.run(tc)
        h.syscall(.call, cptr: ep, info: MessageInfo(label: 0x11, length: 0))
        #expect(tc.pointee.state == .blockedOnReply)
        #expect(ts.pointee.state == .running)
        #expect(ts.slot(.caller).pointee.cap.type == .reply)
        if h.k.currentThread != ts { h.run(ts) }

        // Occupied dest: DeleteFirst, the reply cap stays in the caller slot.
        #expect(h.error(rootCN, .cnodeSaveCaller, [ep, 64]) == .deleteFirst)
        #expect(ts.slot(.caller).pointee.cap.type == .reply)

        let d = h.allocSlot()
        #expect(h.error(rootCN, .cnodeSaveCaller, [d, 64]) == .noError)
        #expect(ts.slot(.caller).pointee.cap.isNull)
        let saved = h.cap(d)
        #expect(saved.type == .reply && saved.paddr == tc.paddr && !saved.replyMaster)

        // A reply cap cannot be copied.
        let d2 = h.allocSlot()
        #expect(h.cnCopy(d2, d).error == .illegalOperation)
        #expect(h.cap(d2).isNull)

        // Sending on the saved cap replies to the caller and consumes the cap.
        h.syscall(.send, cptr: d, info: MessageInfo(label: 0x77, length: 0))
        #expect(tc.pointee.state == .running)
        #expect(h.reply(tc).label == 0x77)
        #expect(h.cap(d).isNull)
    }

    // MARK: - CancelBadgedSends

    @Test("CancelBadgedSends restarts only senders with that badge; the others stay queued in order")
    func cancelBadgedSends() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let b1 = h.allocSlot(), b2 = h.allocSlot()
        #expect(h.cnMint(b1, ep, data: 1).error == .noError)
        #expect(h.cnMint(b2, ep, data: 2).error == .noError)
        let a = h.makeThread(priority: 100), x = h.makeThread(priority: 100)
        let c = h.makeThread(priority: 100), y = h.makeThread(priority: 100)
        h.blockSending(a, on: b1)
        h.blockSending(x, on: b2)
        h.blockSending(c, on: b1)
        h.blockSending(y, on: b2)
        let all = [a, x, c, y].map { h.tcbRef($0).paddr }
        #expect(h.queued(ep) == all)

        // Badge 0 (the unbadged original): a no-op.
        #expect(h.error(rootCN, .cnodeCancelBadgedSends, [ep, 64]) == .noError)
        #expect(h.queued(ep) == all)

        #expect(h.error(rootCN, .cnodeCancelBadgedSends, [b1, 64]) == .noError)
        #expect(h.tcbRef(a).pointee.state == .restart)
        #expect(h.tcbRef(c).pointee.state == .restart)
        #expect(h.tcbRef(x).pointee.state == .blockedOnSend)
        #expect(h.tcbRef(y).pointee.state == .blockedOnSend)
        #expect(h.queued(ep) == [h.tcbRef(x).paddr, h.tcbRef(y).paddr])
        #expect(h.k.endpoint(h.cap(ep).paddr).pointee.state == .send)
        #expect(h.k.readyQueue(priority: 100).map(\.paddr).contains(h.tcbRef(a).paddr))
        // The caps are untouched.
        #expect(h.cap(b1).badge == 1 && h.cap(b2).badge == 2)

        // Cancelling the rest empties the queue.
        #expect(h.error(rootCN, .cnodeCancelBadgedSends, [b2, 64]) == .noError)
        #expect(h.queued(ep).isEmpty)
        #expect(h.k.endpoint(h.cap(ep).paddr).pointee.state == .idle)
        #expect(h.tcbRef(x).pointee.state == .restart && h.tcbRef(y).pointee.state == .restart)
    }

    @Test("CancelBadgedSends needs an endpoint cap with all four rights, else IllegalOperation")
    func cancelBadgedSendsRights() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let b1 = h.allocSlot()
        #expect(h.cnMint(b1, ep, data: 1).error == .noError)
        let a = h.makeThread(priority: 100)
        h.blockSending(a, on: b1)
        for rights: CapRights in [[.read, .write, .grant], [.read, .write, .grantReply], [.write, .grant, .grantReply],
                                  [.read, .grant, .grantReply]] {
            let weak = h.allocSlot()
            #expect(h.cnCopy(weak, b1, rights: rights).error == .noError)
            #expect(h.cap(weak).badge == 1 && h.cap(weak).rights == rights)
            #expect(h.error(rootCN, .cnodeCancelBadgedSends, [weak, 64]) == .illegalOperation)
        }
        #expect(h.tcbRef(a).pointee.state == .blockedOnSend)
        #expect(h.queued(ep) == [h.tcbRef(a).paddr])
        // Not an endpoint at all.
        let n = h.retype(.notification)[0]
        #expect(h.error(rootCN, .cnodeCancelBadgedSends, [n, 64]) == .illegalOperation)
        let e = h.allocSlot()
        #expect(h.error(rootCN, .cnodeCancelBadgedSends, [e, 64]) == .illegalOperation)
        // A full-rights copy of the badged cap works.
        let full = h.allocSlot()
        #expect(h.cnCopy(full, b1).error == .noError)
        #expect(h.error(rootCN, .cnodeCancelBadgedSends, [full, 64]) == .noError)
        #expect(h.tcbRef(a).pointee.state == .restart)
        #expect(h.queued(ep).isEmpty)
    }
}
