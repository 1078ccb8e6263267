// SPDX-License-Identifier: Apache-2.0
//
// Untyped_Retype (sel4-semantics §2.1, §6): each check in seL4's order with its error code
// and reply words, then watermark allocation, alignment, reset after Revoke and a
// preempted reset.

import Testing
import UMKABI
@testable import UMKernel

private let rootCNode = KernelHarness.rootCNode

/// Retype arguments: type, size_bits, node_index, node_depth, node_offset, num_objects.
private func retypeArgs(_ type: UInt64, _ sizeBits: UInt64 = 0, index: UInt64 = 0, depth: UInt64 = 0,
                        offset: UInt64, count: UInt64 = 1) -> [UInt64] {
    [type, sizeBits, index, depth, offset, count]
}

/// A fresh child untyped of 2^bits bytes carved from the harness's largest untyped.
private func childUntyped(_ h: KernelHarness, bits: UInt64 = 16) -> UInt64 {
    h.retype(.untyped, sizeBits: bits)[0]
}

/// Retypes `count` objects of `type` from untyped `u` into fresh root slots; the reply and slots.
@discardableResult
private func retypeFrom(_ h: KernelHarness, _ u: UInt64, _ type: ObjectType, sizeBits: UInt64 = 0,
                        count: UInt64 = 1) -> (Reply, [UInt64]) {
    let first = h.nextSlot
    h.nextSlot += count
    let r = h.invoke(u, .untypedRetype, retypeArgs(type.rawValue, sizeBits, offset: first, count: count), caps: [rootCNode])
    return (r, (0..<count).map { first + $0 })
}

@Suite("Untyped_Retype")
struct UntypedTests {
    // MARK: - Decode checks, in seL4's order

    @Test("a label other than Retype is IllegalOperation, before the message length is looked at")
    func wrongLabel() {
        let h = KernelHarness()
        let r = h.invoke(h.untypedSlot, .tcbSuspend)
        #expect(r.error == .illegalOperation)
        #expect(r.mrs == [])
        #expect(h.error(h.untypedSlot, .cnodeCopy, retypeArgs(2, offset: h.nextSlot), caps: [rootCNode]) == .illegalOperation)
        #expect(h.cap(h.nextSlot).isNull)
    }

    @Test("fewer than 6 MRs or no root cap is TruncatedMessage, before the type is checked")
    func truncated() {
        let h = KernelHarness()
        let slot = h.nextSlot
        // Five arguments, even with a bad type: truncation wins.
        let r = h.invoke(h.untypedSlot, .untypedRetype, [99, 0, 0, 0, slot], caps: [rootCNode])
        #expect(r.error == .truncatedMessage)
        #expect(r.mrs == [])
        // Six arguments but no root cap.
        #expect(h.error(h.untypedSlot, .untypedRetype, retypeArgs(ObjectType.endpoint.rawValue, offset: slot)) == .truncatedMessage)
        #expect(h.error(h.untypedSlot, .untypedRetype, [], caps: [rootCNode]) == .truncatedMessage)
        #expect(h.cap(slot).isNull)
    }

    @Test("type >= ObjectTypeCount (12) is InvalidArgument(0), before the size is checked")
    func badType() {
        let h = KernelHarness()
        let slot = h.nextSlot
        for type: UInt64 in [12, 13, 1000, .max] {
            let r = h.invoke(h.untypedSlot, .untypedRetype, retypeArgs(type, 64, offset: slot), caps: [rootCNode])
            #expect(r.error == .invalidArgument)
            #expect(r.mrs == [0])
        }
        #expect(h.cap(slot).isNull)
    }

    @Test("size_bits >= 64 or an object above 2^47 is RangeError(0, 47), before the small-size check")
    func sizeTooBig() {
        let h = KernelHarness()
        let slot = h.nextSlot
        let cases: [(ObjectType, UInt64)] = [
            (.untyped, 64), (.untyped, 48), (.untyped, .max),
            (.cnode, 43), // 2^(43+5) = 2^48 bytes
            (.cnode, 64),
            (.endpoint, 64), // size_bits ignored for fixed-size types, but not >= 64
            (.tcb, 100),
        ]
        for (type, size) in cases {
            let r = h.invoke(h.untypedSlot, .untypedRetype, retypeArgs(type.rawValue, size, offset: slot), caps: [rootCNode])
            #expect(r.error == .rangeError, "\(type) size \(size)")
            #expect(r.mrs == [0, 47], "\(type) size \(size)")
        }
        // Range wins over a destination that would fail the lookup.
        let r = h.invoke(h.untypedSlot, .untypedRetype,
                         retypeArgs(ObjectType.untyped.rawValue, 48, index: 0, depth: 65, offset: 5000, count: 0),
                         caps: [rootCNode])
        #expect(r.error == .rangeError && r.mrs == [0, 47])
        #expect(h.cap(slot).isNull)
    }

    @Test("the largest legal sizes pass the range check and fail later for lack of memory")
    func sizeAtLimit() {
        let h = KernelHarness()
        let slot = h.nextSlot
        let ut = h.cap(h.untypedSlot)
        // A childless untyped is reset first, so all of it counts as free.
        let used = h.k.hasChildren(h.slotRef(h.untypedSlot)) ? ut.untypedFreeIndex : 0
        let left = (UInt64(1) << ut.untypedSizeBits) - used
        let r = h.invoke(h.untypedSlot, .untypedRetype, retypeArgs(ObjectType.untyped.rawValue, 47, offset: slot), caps: [rootCNode])
        #expect(r.error == .notEnoughMemory)
        #expect(r.mrs == [left])
        let c = h.invoke(h.untypedSlot, .untypedRetype, retypeArgs(ObjectType.cnode.rawValue, 42, offset: slot), caps: [rootCNode])
        #expect(c.error == .notEnoughMemory)
    }

    @Test("a CNode of size_bits 0 or an Untyped under 2^4 is InvalidArgument(1), before the destination lookup")
    func sizeTooSmall() {
        let h = KernelHarness()
        let slot = h.nextSlot
        for (type, size): (ObjectType, UInt64) in [(.cnode, 0), (.untyped, 3), (.untyped, 0)] {
            let r = h.invoke(h.untypedSlot, .untypedRetype, retypeArgs(type.rawValue, size, offset: slot), caps: [rootCNode])
            #expect(r.error == .invalidArgument, "\(type) \(size)")
            #expect(r.mrs == [1], "\(type) \(size)")
        }
        // Precedence over a destination lookup that would fail.
        let r = h.invoke(h.untypedSlot, .untypedRetype,
                         retypeArgs(ObjectType.cnode.rawValue, 0, index: 0, depth: 63, offset: slot), caps: [rootCNode])
        #expect(r.error == .invalidArgument && r.mrs == [1])
        // The smallest legal ones work.
        #expect(h.error(h.untypedSlot, .untypedRetype, retypeArgs(ObjectType.untyped.rawValue, 4, offset: slot), caps: [rootCNode]) == .noError)
        #expect(h.cap(slot).type == .untyped && h.cap(slot).untypedSizeBits == 4)
        let cn = slot + 1
        #expect(h.error(h.untypedSlot, .untypedRetype, retypeArgs(ObjectType.cnode.rawValue, 1, offset: cn), caps: [rootCNode]) == .noError)
        #expect(h.cap(cn).type == .cnode && h.cap(cn).cnodeRadix == 1)
    }

    @Test("a destination lookup that fails is FailedLookup (not source) with the lookup failure")
    func destinationLookupFails() {
        let h = KernelHarness()
        let slot = h.nextSlot
        // Depth 63 from the root CNode (guard 52 + radix 12 = 64 bits): depth mismatch.
        let r = h.invoke(h.untypedSlot, .untypedRetype,
                         retypeArgs(ObjectType.endpoint.rawValue, index: 0, depth: 63, offset: 0), caps: [rootCNode])
        #expect(r.error == .failedLookup)
        #expect(r.mrs == [0] + LookupFailure.depthMismatch(bitsLeft: 63, bitsFound: 64).words)
        // A guard that does not match.
        let g = h.invoke(h.untypedSlot, .untypedRetype,
                         retypeArgs(ObjectType.endpoint.rawValue, index: 1 << 63, depth: 64, offset: 0), caps: [rootCNode])
        #expect(g.error == .failedLookup)
        #expect(g.mrs == [0] + LookupFailure.guardMismatch(bitsLeft: 64, guardFound: 0, guardSize: 52).words)
        // A root cap that is not a CNode, with a non-zero depth: InvalidRoot.
        let ir = h.invoke(h.untypedSlot, .untypedRetype,
                          retypeArgs(ObjectType.endpoint.rawValue, index: 5, depth: 64, offset: 0), caps: [h.untypedSlot])
        #expect(ir.error == .failedLookup)
        #expect(ir.mrs == [0] + LookupFailure.invalidRoot.words)
        #expect(h.cap(slot).isNull)
    }

    @Test("a destination node that is not a CNode is FailedLookup(MissingCapability(node_depth))")
    func destinationNotCNode() {
        let h = KernelHarness()
        let slot = h.nextSlot
        // node_depth 64 names the untyped itself: not a CNode.
        let r = h.invoke(h.untypedSlot, .untypedRetype,
                         retypeArgs(ObjectType.endpoint.rawValue, index: h.untypedSlot, depth: 64, offset: 0), caps: [rootCNode])
        #expect(r.error == .failedLookup)
        #expect(r.mrs == [0] + LookupFailure.missingCapability(bitsLeft: 64).words)
        // An empty slot is not a CNode either.
        let e = h.invoke(h.untypedSlot, .untypedRetype,
                         retypeArgs(ObjectType.endpoint.rawValue, index: slot, depth: 64, offset: 0), caps: [rootCNode])
        #expect(e.error == .failedLookup)
        #expect(e.mrs == [0, 2, 64])
        // node_depth 0 uses the root cap itself, which must be a CNode.
        let z = h.invoke(h.untypedSlot, .untypedRetype,
                         retypeArgs(ObjectType.endpoint.rawValue, offset: 0), caps: [InitialCap.initThreadTCB.rawValue])
        #expect(z.error == .failedLookup)
        #expect(z.mrs == [0, 2, 0])
        #expect(h.cap(slot).isNull)
    }

    @Test("node_depth > 0 retypes into the CNode found at node_index")
    func destinationViaLookup() {
        let h = KernelHarness()
        let cn = h.retype(.cnode, sizeBits: 4)[0]
        let r = h.invoke(h.untypedSlot, .untypedRetype,
                         retypeArgs(ObjectType.endpoint.rawValue, index: cn, depth: 64, offset: 3, count: 2), caps: [rootCNode])
        #expect(r.error == .noError)
        let node = h.cap(cn).paddr
        #expect(h.k.slot(node + 3 * 32).pointee.cap.type == .endpoint)
        #expect(h.k.slot(node + 4 * 32).pointee.cap.type == .endpoint)
        #expect(h.k.slot(node + 2 * 32).pointee.cap.isNull)
        #expect(h.k.slot(node + 5 * 32).pointee.cap.isNull)
    }

    @Test("node_offset beyond the CNode is RangeError(0, 2^radix - 1), before num_objects is checked")
    func offsetOutOfRange() {
        let h = KernelHarness()
        let r = h.invoke(h.untypedSlot, .untypedRetype, retypeArgs(ObjectType.endpoint.rawValue, offset: 4096, count: 0), caps: [rootCNode])
        #expect(r.error == .rangeError)
        #expect(r.mrs == [0, 4095])
        // A radix-4 destination CNode: 0...15.
        let cn = h.retype(.cnode, sizeBits: 4)[0]
        let s = h.invoke(h.untypedSlot, .untypedRetype,
                         retypeArgs(ObjectType.endpoint.rawValue, index: cn, depth: 64, offset: 16), caps: [rootCNode])
        #expect(s.error == .rangeError)
        #expect(s.mrs == [0, 15])
    }

    @Test("num_objects of 0 or above 256 is RangeError(1, 256)")
    func countOutOfRange() {
        let h = KernelHarness()
        let slot = h.nextSlot
        for count: UInt64 in [0, 257, .max] {
            let r = h.invoke(h.untypedSlot, .untypedRetype, retypeArgs(ObjectType.endpoint.rawValue, offset: slot, count: count), caps: [rootCNode])
            #expect(r.error == .rangeError, "count \(count)")
            #expect(r.mrs == [1, 256], "count \(count)")
        }
        #expect(h.cap(slot).isNull)
        #expect(h.error(h.untypedSlot, .untypedRetype, retypeArgs(ObjectType.endpoint.rawValue, offset: slot, count: 256), caps: [rootCNode]) == .noError)
        #expect(h.cap(slot + 255).type == .endpoint)
    }

    @Test("a window running past the CNode's end is RangeError(1, 2^radix - offset)")
    func windowOverruns() {
        let h = KernelHarness()
        let r = h.invoke(h.untypedSlot, .untypedRetype, retypeArgs(ObjectType.endpoint.rawValue, offset: 4090, count: 7), caps: [rootCNode])
        #expect(r.error == .rangeError)
        #expect(r.mrs == [1, 6])
        let cn = h.retype(.cnode, sizeBits: 4)[0]
        let s = h.invoke(h.untypedSlot, .untypedRetype,
                         retypeArgs(ObjectType.endpoint.rawValue, index: cn, depth: 64, offset: 10, count: 7), caps: [rootCNode])
        #expect(s.error == .rangeError)
        #expect(s.mrs == [1, 6])
        // Exactly reaching the end is fine.
        #expect(h.error(h.untypedSlot, .untypedRetype,
                        retypeArgs(ObjectType.endpoint.rawValue, index: cn, depth: 64, offset: 10, count: 6), caps: [rootCNode]) == .noError)
    }

    @Test("an occupied destination slot is DeleteFirst and nothing is created")
    func occupiedDestination() {
        let h = KernelHarness()
        let u = childUntyped(h)
        let before = h.cap(u).untypedFreeIndex
        let r = h.invoke(u, .untypedRetype, retypeArgs(ObjectType.endpoint.rawValue, offset: InitialCap.initThreadTCB.rawValue), caps: [rootCNode])
        #expect(r.error == .deleteFirst)
        #expect(r.mrs == [])
        // Window whose last slot is taken: the free one before it stays empty.
        let free = h.allocSlot()
        let occupied = h.retype(.endpoint)[0]
        #expect(occupied == free + 1)
        #expect(h.cap(free).isNull)
        #expect(h.error(u, .untypedRetype, retypeArgs(ObjectType.endpoint.rawValue, offset: free, count: 2), caps: [rootCNode]) == .deleteFirst)
        #expect(h.cap(free).isNull)
        #expect(h.cap(u).untypedFreeIndex == before)
        #expect(!h.k.hasChildren(h.slotRef(u)))
    }

    @Test("DeleteFirst is checked before NotEnoughMemory")
    func deleteFirstBeforeMemory() {
        let h = KernelHarness()
        let u = childUntyped(h, bits: 12)
        let r = h.invoke(u, .untypedRetype, retypeArgs(ObjectType.smallPage.rawValue, offset: InitialCap.initThreadTCB.rawValue, count: 2), caps: [rootCNode])
        #expect(r.error == .deleteFirst)
    }

    // MARK: - Memory

    @Test("not enough room is NotEnoughMemory with MR0 = bytes left (checked before alignment)")
    func notEnoughMemory() {
        let h = KernelHarness()
        let u = childUntyped(h, bits: 16)
        // Fresh: 64 KiB left, 17 pages do not fit.
        let (r0, s0) = retypeFrom(h, u, .smallPage, count: 17)
        #expect(r0.error == .notEnoughMemory)
        #expect(r0.mrs == [65536])
        #expect(h.cap(s0[0]).isNull)
        // One 16-byte endpoint: 65520 left, which holds only 15 whole pages (before alignment).
        #expect(retypeFrom(h, u, .endpoint).0.error == .noError)
        let (r1, _) = retypeFrom(h, u, .smallPage, count: 16)
        #expect(r1.error == .notEnoughMemory)
        #expect(r1.mrs == [65520])
        // 15 pages fit: placed from 4 KiB up to the end.
        let (r2, s2) = retypeFrom(h, u, .smallPage, count: 15)
        #expect(r2.error == .noError)
        let base = h.cap(u).paddr
        #expect(h.cap(s2[0]).paddr == base + 0x1000)
        #expect(h.cap(s2[14]).paddr == base + 0xF000)
        #expect(h.cap(u).untypedFreeIndex == 0x10000)
        // Full: anything more fails with 0 bytes left.
        let (r3, _) = retypeFrom(h, u, .endpoint)
        #expect(r3.error == .notEnoughMemory)
        #expect(r3.mrs == [0])
    }

    @Test("a device untyped makes only frames and untypeds; anything else is InvalidArgument(1)")
    func deviceUntyped() {
        let h = KernelHarness()
        let dev = h.deviceUntyped()
        for type: ObjectType in [.tcb, .endpoint, .notification, .cnode, .pageTable, .pageDirectory, .pdpt, .pml4] {
            let (r, s) = retypeFrom(h, dev, type, sizeBits: type == .cnode ? 4 : 0)
            #expect(r.error == .invalidArgument, "\(type)")
            #expect(r.mrs == [1], "\(type)")
            #expect(h.cap(s[0]).isNull)
        }
        let (f, fs) = retypeFrom(h, dev, .smallPage)
        #expect(f.error == .noError)
        #expect(h.cap(fs[0]).type == .frame && h.cap(fs[0]).frameIsDevice)
        #expect(h.cap(fs[0]).paddr == h.cap(dev).paddr)
        let (u, us) = retypeFrom(h, dev, .untyped, sizeBits: 12)
        #expect(u.error == .noError)
        #expect(h.cap(us[0]).type == .untyped && h.cap(us[0]).untypedIsDevice)
        #expect(h.cap(us[0]).paddr == h.cap(dev).paddr + 0x1000)
        // The device child inherits the restriction.
        #expect(retypeFrom(h, us[0], .endpoint).0.mrs == [1])
    }

    @Test("NotEnoughMemory is checked before the device-type restriction")
    func memoryBeforeDevice() {
        let h = KernelHarness()
        let dev = h.deviceUntyped(bits: 12)
        let (r, _) = retypeFrom(h, dev, .tcb, count: 2)
        #expect(r.error == .notEnoughMemory)
        #expect(r.mrs == [4096])
    }

    // MARK: - Placement

    @Test("objects are placed at the watermark aligned to their size, consecutively, as CDT children")
    func alignment() {
        let h = KernelHarness()
        let u = childUntyped(h, bits: 16)
        let base = h.cap(u).paddr
        let (r0, ep) = retypeFrom(h, u, .endpoint)
        #expect(r0.error == .noError)
        #expect(h.cap(ep[0]).paddr == base)
        #expect(h.cap(u).untypedFreeIndex == 16)
        let (r1, pt) = retypeFrom(h, u, .pageTable)
        #expect(r1.error == .noError)
        #expect(h.cap(pt[0]).type == .pageTable)
        #expect(h.cap(pt[0]).paddr == base + 0x1000)
        #expect(h.cap(pt[0]).paddr & 0xFFF == 0)
        #expect(h.cap(u).untypedFreeIndex == 0x2000)
        let (r2, ntfns) = retypeFrom(h, u, .notification, count: 3)
        #expect(r2.error == .noError)
        #expect(ntfns.map { h.cap($0).paddr } == [base + 0x2000, base + 0x2020, base + 0x2040])
        #expect(h.cap(u).untypedFreeIndex == 0x2060)
        let (r3, cn) = retypeFrom(h, u, .cnode, sizeBits: 4)
        #expect(r3.error == .noError)
        #expect(h.cap(cn[0]).paddr == base + 0x2200, "2^9-byte CNode aligned to 512")
        #expect(h.cap(cn[0]).cnodeRadix == 4)
        #expect(h.cap(u).untypedFreeIndex == 0x2400)
        // Every new cap is a revocable CDT child of the untyped.
        for s in ep + pt + ntfns + cn {
            #expect(h.k.isMDBParentOf(h.slotRef(u), h.slotRef(s)))
            #expect(h.slotRef(s).pointee.revocable)
        }
        #expect(h.k.hasChildren(h.slotRef(u)))
    }

    @Test("each object type gets its cap type and size")
    func objectCaps() {
        let h = KernelHarness()
        let u = childUntyped(h, bits: 16)
        let (_, t) = retypeFrom(h, u, .tcb)
        #expect(h.cap(t[0]).type == .thread)
        #expect(h.tcbRef(t[0]).pointee.state == .inactive)
        #expect(h.tcbRef(t[0]).pointee.inReadyQueue == 0)
        let (_, e) = retypeFrom(h, u, .endpoint)
        #expect(h.cap(e[0]).type == .endpoint && h.cap(e[0]).rights == .all && h.cap(e[0]).badge == 0)
        let (_, n) = retypeFrom(h, u, .notification)
        #expect(h.cap(n[0]).type == .notification && h.cap(n[0]).badge == 0)
        let (_, f) = retypeFrom(h, u, .smallPage)
        #expect(h.cap(f[0]).type == .frame && h.cap(f[0]).frameSize == .small && !h.cap(f[0]).isMapped)
        let (_, pml4) = retypeFrom(h, u, .pml4)
        #expect(h.cap(pml4[0]).type == .pml4 && !h.cap(pml4[0]).isMapped)
    }

    // MARK: - Watermark and reset

    @Test("while children exist allocation continues from the watermark, even after some are deleted")
    func watermarkContinues() {
        let h = KernelHarness()
        let u = childUntyped(h, bits: 16)
        let base = h.cap(u).paddr
        let (_, a) = retypeFrom(h, u, .endpoint)
        let (_, b) = retypeFrom(h, u, .endpoint)
        #expect(h.cap(b[0]).paddr == base + 16)
        // Delete the first: the untyped still has a child, so nothing is reused.
        #expect(h.error(rootCNode, .cnodeDelete, [a[0], 64]) == .noError)
        #expect(h.cap(a[0]).isNull)
        #expect(h.k.hasChildren(h.slotRef(u)))
        let (_, c) = retypeFrom(h, u, .endpoint)
        #expect(h.cap(c[0]).paddr == base + 32)
        #expect(h.cap(u).untypedFreeIndex == 48)
        // Delete every child: the next retype resets and starts at the base again.
        #expect(h.error(rootCNode, .cnodeDelete, [b[0], 64]) == .noError)
        #expect(h.error(rootCNode, .cnodeDelete, [c[0], 64]) == .noError)
        #expect(!h.k.hasChildren(h.slotRef(u)))
        let (_, d) = retypeFrom(h, u, .endpoint)
        #expect(h.cap(d[0]).paddr == base)
        #expect(h.cap(u).untypedFreeIndex == 16)
    }

    @Test("after Revoke of the untyped the next retype resets it: memory zeroed, objects from the base")
    func revokeThenReset() {
        let h = KernelHarness()
        let u = childUntyped(h, bits: 16)
        let base = h.cap(u).paddr
        let (_, pages) = retypeFrom(h, u, .smallPage, count: 4)
        #expect(h.cap(u).untypedFreeIndex == 0x4000)
        #expect(h.error(rootCNode, .cnodeRevoke, [u, 64]) == .noError)
        for s in pages { #expect(h.cap(s).isNull) }
        #expect(!h.k.hasChildren(h.slotRef(u)))
        #expect(h.cap(u).type == .untyped, "Revoke keeps the untyped itself")
        // Dirty the used memory (as the pages' owner would have).
        for off in stride(from: UInt64(0), to: 0x4000, by: 0x800) {
            h.k.physmap.storeWord(base + off, 0xDEAD_BEEF)
        }
        h.k.physmap.storeWord(base + 0x3FF8, 0xDEAD_BEEF)
        let (r, tcbs) = retypeFrom(h, u, .tcb)
        #expect(r.error == .noError)
        #expect(h.cap(tcbs[0]).paddr == base)
        let tcbSize = UInt64(1) << ObjectSize.tcbBits
        #expect(h.cap(u).untypedFreeIndex == tcbSize)
        // Zeroed below the old watermark (past the new TCB, whose fields were initialised).
        for off in stride(from: tcbSize, to: 0x4000, by: 0x800) {
            #expect(h.k.physmap.loadWord(base + off) == 0, "offset 0x\(String(off, radix: 16))")
        }
        #expect(h.k.physmap.loadWord(base + 0x3FF8) == 0)
    }

    @Test("a preempted reset leaves the caller restarting with the watermark lowered; re-issuing completes")
    func preemptedReset() {
        let h = KernelHarness()
        let u = childUntyped(h, bits: 16)
        let base = h.cap(u).paddr
        #expect(retypeFrom(h, u, .smallPage, count: 16).0.error == .noError)
        #expect(h.cap(u).untypedFreeIndex == 0x10000)
        #expect(h.error(rootCNode, .cnodeRevoke, [u, 64]) == .noError)
        h.k.physmap.storeWord(base, 0x1111)
        h.k.physmap.storeWord(base + 0xFFF8, 0x2222)

        // Every preemption point now sees a pending interrupt.
        h.k.hal.interruptAfterChecks = 0
        let dest = h.allocSlot()
        let args = retypeArgs(ObjectType.endpoint.rawValue, offset: dest)
        let info = MessageInfo(label: InvocationLabel.untypedRetype.rawValue, extraCaps: 1, length: 6)
        h.load(h.root, cptr: u, info: info, mrs: args, caps: [rootCNode])
        let result = h.k.handleInvocation(isCall: true, isBlocking: true)
        #expect(result == .preempted)
        #expect(h.root.pointee.state == .restart)
        let lowered = h.cap(u).untypedFreeIndex
        #expect(lowered > 0 && lowered < 0x10000, "free index 0x\(String(lowered, radix: 16))")
        #expect(lowered & 0xFF == 0, "lowered a 256-byte chunk at a time")
        #expect(h.cap(dest).isNull, "no object created yet")
        #expect(h.k.physmap.loadWord(base + 0xFFF8) == 0, "top chunk zeroed")
        #expect(h.k.physmap.loadWord(base) == 0x1111, "bottom chunk not reached yet")
        // The kernel finishes the entry: the root re-executes the syscall when it runs.
        h.k.schedule()
        h.k.activateThread()
        h.check()
        #expect(h.k.currentThread == h.root)
        #expect(h.root.pointee.nextIP == KernelHarness.syscallSite, "restarts at the syscall")

        // Through the whole entry path too: still preempted, still restarting, index not raised.
        h.syscall(.call, cptr: u, info: info, mrs: args, caps: [rootCNode])
        #expect(h.root.pointee.nextIP == KernelHarness.syscallSite)
        #expect(h.cap(u).untypedFreeIndex <= lowered)
        #expect(h.cap(dest).isNull)

        // No more interrupts: the retype completes from the base.
        h.k.hal.interruptAfterChecks = nil
        let r = h.invoke(u, .untypedRetype, args, caps: [rootCNode])
        #expect(r.error == .noError)
        #expect(r.mrs == [])
        #expect(h.root.pointee.nextIP == KernelHarness.syscallSite + 2)
        #expect(h.cap(dest).type == .endpoint && h.cap(dest).paddr == base)
        #expect(h.cap(u).untypedFreeIndex == 16)
        #expect(h.k.physmap.loadWord(base) == 0)
    }
}
