// SPDX-License-Identifier: Apache-2.0
//
// The two-word capability layout, written as tests (seL4 keeps it in a .bf file): every
// field reads back what was written and no field disturbs another.

import Testing
import UMKABI
@testable import UMKernel

@Suite("Capability layout")
struct CapabilityTests {
    @Test("type and physical address share word 0 without overlap")
    func typeAndAddress() {
        for type in CapType.allCases {
            let c = Capability(type, paddr: 0xFFF_FFFF_F000, fields: 0x7FFF, word1: ~0)
            #expect(c.type == type)
            #expect(c.paddr == 0xFFF_FFFF_F000)
            #expect(c.hasType(type))
        }
        #expect(Capability.null.isNull && Capability.null.word0 == 0 && Capability.null.word1 == 0)
    }

    @Test("untyped: size bits, device flag and free index")
    func untyped() {
        var c = Capability.untyped(paddr: 0x10_0000, sizeBits: 47, isDevice: true, freeIndex: 0x40)
        #expect(c.untypedSizeBits == 47 && c.untypedIsDevice && c.untypedFreeIndex == 0x40)
        c.untypedFreeIndex = 1 << 47
        #expect(c.untypedSizeBits == 47 && c.untypedIsDevice && c.paddr == 0x10_0000)
    }

    @Test("endpoint and notification: rights and a full-word badge")
    func endpoint() {
        var c = Capability.endpoint(paddr: 0x2000, badge: ~0, rights: [.read, .grantReply])
        #expect(c.rights == [.read, .grantReply] && c.badge == ~0)
        c.rights = .all
        #expect(c.rights == .all && c.badge == ~0 && c.type == .endpoint && c.paddr == 0x2000)
        let n = Capability.notification(paddr: 0x3000, badge: 5, rights: .readWrite)
        #expect(n.type == .notification && n.badge == 5 && n.rights == .readWrite)
    }

    @Test("CNode: radix, guard size and a 64-bit guard")
    func cnode() {
        var c = Capability.cnode(paddr: 0x8000, radix: 12, guardSize: 52, guard: 0xABC)
        #expect(c.cnodeRadix == 12 && c.cnodeGuardSize == 52 && c.cnodeGuard == 0xABC)
        c.cnodeGuardSize = 63
        #expect(c.cnodeRadix == 12 && c.cnodeGuardSize == 63 && c.paddr == 0x8000)
    }

    @Test("reply: master and canGrant flags name the caller TCB")
    func reply() {
        let c = Capability.reply(tcb: 0x9000, master: true, canGrant: false)
        #expect(c.replyMaster && !c.replyCanGrant && c.paddr == 0x9000)
        #expect(Capability.reply(tcb: 0x9000, master: false, canGrant: true).replyCanGrant)
    }

    @Test("frames: size, VM rights, device flag and the mapping")
    func frame() {
        var c = Capability.frame(paddr: 0x20_0000, size: .large, rights: .readOnly, isDevice: true)
        #expect(c.frameSize == .large && c.frameVMRights == .readOnly && c.frameIsDevice && !c.isMapped)
        c.setMapping(asid: 0xFFF, vaddr: 0x7FFF_FFE0_0000)
        #expect(c.isMapped && c.mappedASID == 0xFFF && c.mappedAddress == 0x7FFF_FFE0_0000)
        #expect(c.frameSize == .large && c.frameVMRights == .readOnly && c.frameIsDevice)
        c.setMapping(asid: 0, vaddr: 0)
        #expect(!c.isMapped)
    }

    @Test("tables and PML4: mapped flag and ASID")
    func tables() {
        var pt = Capability.table(.pageTable, paddr: 0x5000)
        pt.setMapping(asid: 3, vaddr: 0x40_0000)
        #expect(pt.isMapped && pt.mappedASID == 3 && pt.mappedAddress == 0x40_0000 && pt.paddr == 0x5000)
        var pml4 = Capability.table(.pml4, paddr: 0x6000)
        #expect(!pml4.isMapped)
        pml4.setMapping(asid: 1, vaddr: 0)
        #expect(pml4.isMapped && pml4.mappedASID == 1)
    }

    @Test("zombie, IRQ handler, ASID pool and I/O port fields")
    func others() {
        let z = Capability.zombie(paddr: 0x7000, zombieType: Capability.zombieTCB, remaining: 5)
        #expect(z.zombieType == 64 && z.zombieRemaining == 5 && z.objectSizeBits == ObjectSize.tcbBits)
        #expect(Capability.zombie(paddr: 0x7000, zombieType: 8, remaining: 256).objectSizeBits == 8 + ObjectSize.slotBits)
        #expect(Capability.irqHandler(irq: 15).irq == 15)
        #expect(Capability.asidPool(paddr: 0x1000, asidBase: 7 << 9).asidBase == 7 << 9)
        let io = Capability.ioPort(first: 0x3F8, last: 0x3FF)
        #expect(io.ioPortFirst == 0x3F8 && io.ioPortLast == 0x3FF)
    }

    @Test("a slot's derivation links keep their flags apart from the next pointer")
    func slotLinks() {
        var s = Slot.empty
        s.next = 0xABC0
        s.revocable = true
        s.firstBadged = true
        #expect(s.next == 0xABC0 && s.revocable && s.firstBadged)
        s.next = 0x1_0020
        #expect(s.next == 0x1_0020 && s.revocable && s.firstBadged)
        s.revocable = false
        #expect(s.next == 0x1_0020 && !s.revocable && s.firstBadged)
        #expect(MemoryLayout<Slot>.size == 32)
    }

    @Test("a cap's tag and a TCB's state word decode as their raw values do; unknown ones as null and inactive")
    func tagDecoding() {
        for raw in UInt64(0)..<64 {
            #expect(CapType.decode(raw) == (CapType(rawValue: raw) ?? .null))
            #expect(ThreadState.decode(raw) == (ThreadState(rawValue: raw) ?? .inactive))
        }
        for t in CapType.allCases {
            #expect(Capability(t, paddr: 0x1000).type == t)
        }
    }
}
