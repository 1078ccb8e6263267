// SPDX-License-Identifier: Apache-2.0
//
// x86_64 paging objects (sel4-semantics.md §2.6): PDPT/PD/PT Map checks, Page Map rights,
// remaps and errors, Unmap, GetAddress, unmapping by deletion and by unmapping a table,
// ASIDControl MakePool and ASIDPool Assign. The root VSpace (ASID 1) has a PDPT, PD and PT
// only around 0x400000 (the PT covers 0x400000-0x5FFFFF).

import Testing
import UMKABI
@testable import UMKernel

private let rootCNode = KernelHarness.rootCNode
private let rootVSpace = InitialCap.initThreadVSpace.rawValue
private let rootASID: UInt64 = 1
/// Inside the root's existing page table, clear of the boot objects and thread buffers.
private let freeVaddr: UInt64 = 0x5A_0000
/// PML4 slot 1: no PDPT there in the root VSpace.
private let farVaddr: UInt64 = 1 << 39

private func mapping(_ h: KernelHarness, _ vaddr: UInt64, asid: UInt64 = rootASID) -> FrameMapping? {
    h.k.hal.mappings[asid]?[vaddr]
}

private func mapPage(_ h: KernelHarness, _ frame: UInt64, _ vaddr: UInt64, _ rights: CapRights = .readWrite,
                     vspace: UInt64 = rootVSpace) -> Reply {
    h.invoke(frame, .x86PageMap, [vaddr, rights.rawValue, 0], caps: [vspace])
}

private func mapTable(_ h: KernelHarness, _ table: UInt64, _ label: InvocationLabel, _ vaddr: UInt64,
                      vspace: UInt64 = rootVSpace) -> Reply {
    h.invoke(table, label, [vaddr, 0], caps: [vspace])
}

/// A new PML4 with an ASID from the root's pool.
private func newVSpace(_ h: KernelHarness) -> UInt64 {
    let pml4 = h.retype(.pml4)[0]
    #expect(h.error(InitialCap.initThreadASIDPool.rawValue, .x86ASIDPoolAssign, caps: [pml4]) == .noError)
    return pml4
}

@Suite("x86_64 MMU")
struct X86MMUTests {
    // MARK: - Paging structures

    @Test("PDPT, PageDirectory and PageTable Map build a path that a frame can then use")
    func tableMapsBuildPath() {
        let h = KernelHarness()
        let pdpt = h.retype(.pdpt)[0], pd = h.retype(.pageDirectory)[0], pt = h.retype(.pageTable)[0]
        let f = h.retype(.smallPage)[0]
        #expect(mapPage(h, f, farVaddr).error == .failedLookup)
        #expect(mapTable(h, pd, .x86PageDirectoryMap, farVaddr).error == .failedLookup, "no PDPT yet")
        #expect(mapTable(h, pt, .x86PageTableMap, farVaddr).error == .failedLookup, "no PDPT yet")
        #expect(mapTable(h, pdpt, .x86PDPTMap, farVaddr).error == .noError)
        #expect(mapTable(h, pt, .x86PageTableMap, farVaddr).error == .failedLookup, "no PD yet")
        #expect(mapTable(h, pd, .x86PageDirectoryMap, farVaddr).error == .noError)
        #expect(mapPage(h, f, farVaddr).error == .failedLookup, "no PT yet")
        #expect(mapTable(h, pt, .x86PageTableMap, farVaddr).error == .noError)
        #expect(mapPage(h, f, farVaddr).error == .noError)
        #expect(mapping(h, farVaddr)?.paddr == h.cap(f).paddr)
        #expect(mapping(h, farVaddr)?.rights == .readWrite)
        #expect(h.cap(pdpt).isMapped && h.cap(pd).isMapped && h.cap(pt).isMapped)
        #expect(h.cap(pt).mappedASID == rootASID)
    }

    @Test("mapping an already mapped table gives InvalidCapability(0)")
    func tableAlreadyMapped() {
        let h = KernelHarness()
        let pt = h.retype(.pageTable)[0]
        #expect(mapTable(h, pt, .x86PageTableMap, 0x60_0000).error == .noError)
        let r = mapTable(h, pt, .x86PageTableMap, 0x80_0000)
        #expect(r.error == .invalidCapability)
        #expect(r.mrs.first == 0)
        // The boot PT, PD and PDPT are mapped too.
        let paging = h.boot.bootInfo.userImagePaging.start
        for (i, label) in [InvocationLabel.x86PDPTMap, .x86PageDirectoryMap, .x86PageTableMap].enumerated() {
            let r = mapTable(h, paging + UInt64(i), label, farVaddr)
            #expect(r.error == .invalidCapability, "\(label)")
            #expect(r.mrs.first == 0)
        }
    }

    @Test("mapping a table into a VSpace without an ASID gives InvalidCapability(1)")
    func tableVSpaceNotAssigned() {
        let h = KernelHarness()
        let pml4 = h.retype(.pml4)[0]
        for (type, label) in [(ObjectType.pdpt, InvocationLabel.x86PDPTMap), (.pageDirectory, .x86PageDirectoryMap),
                              (.pageTable, .x86PageTableMap)] {
            let table = h.retype(type)[0]
            let r = mapTable(h, table, label, 0, vspace: pml4)
            #expect(r.error == .invalidCapability, "\(label)")
            #expect(r.mrs.first == 1)
        }
        // Not a PML4 at all.
        let pt = h.retype(.pageTable)[0]
        let r = mapTable(h, pt, .x86PageTableMap, 0x60_0000, vspace: InitialCap.initThreadTCB.rawValue)
        #expect(r.error == .invalidCapability)
        #expect(r.mrs.first == 1)
    }

    @Test("mapping a table where one is already present gives DeleteFirst")
    func tableSlotOccupied() {
        let h = KernelHarness()
        let pdpt = h.retype(.pdpt)[0], pd = h.retype(.pageDirectory)[0], pt = h.retype(.pageTable)[0]
        #expect(mapTable(h, pdpt, .x86PDPTMap, 0).error == .deleteFirst)
        #expect(mapTable(h, pd, .x86PageDirectoryMap, 0).error == .deleteFirst)
        #expect(mapTable(h, pt, .x86PageTableMap, 0x40_0000).error == .deleteFirst)
        // The vaddr is rounded down to the table's coverage.
        #expect(mapTable(h, pt, .x86PageTableMap, 0x45_6789).error == .deleteFirst)
        #expect(!h.cap(pt).isMapped)
    }

    @Test("mapping a table above the user top gives InvalidArgument(0)")
    func tableAboveUserTop() {
        let h = KernelHarness()
        let pdpt = h.retype(.pdpt)[0]
        let r = mapTable(h, pdpt, .x86PDPTMap, 0xFFFF_8000_0000_0000)
        #expect(r.error == .invalidArgument)
        #expect(r.mrs.first == 0)
    }

    // MARK: - Page Map

    @Test("Page_Map at a misaligned vaddr gives AlignmentError")
    func pageMapAlignment() {
        let h = KernelHarness()
        let f = h.retype(.smallPage)[0]
        #expect(mapPage(h, f, freeVaddr + 0x800).error == .alignmentError)
        #expect(!h.cap(f).isMapped)
        #expect(mapping(h, freeVaddr) == nil)
    }

    @Test("Page_Map rights are the cap's rights masked by the requested ones")
    func pageMapRightsMasking() {
        let h = KernelHarness()
        let f = h.retype(.smallPage)[0]
        // A read-only copy maps read-only even when RW is asked for.
        let ro = h.allocSlot()
        #expect(h.error(rootCNode, .cnodeCopy, [ro, 64, f, 64, CapRights.read.rawValue], caps: [rootCNode]) == .noError)
        #expect(mapPage(h, ro, freeVaddr, .readWrite).error == .noError)
        #expect(mapping(h, freeVaddr)?.rights == .readOnly)
        #expect(mapping(h, freeVaddr)?.paddr == h.cap(f).paddr)
        // A RW cap asked for Read only.
        let f2 = h.retype(.smallPage)[0]
        #expect(mapPage(h, f2, freeVaddr + 0x1000, .read).error == .noError)
        #expect(mapping(h, freeVaddr + 0x1000)?.rights == .readOnly)
        // Write without Read: kernel only.
        let f3 = h.retype(.smallPage)[0]
        #expect(mapPage(h, f3, freeVaddr + 0x2000, .write).error == .noError)
        #expect(mapping(h, freeVaddr + 0x2000)?.rights == .kernelOnly)
        // RW cap, RW request.
        let f4 = h.retype(.smallPage)[0]
        #expect(mapPage(h, f4, freeVaddr + 0x3000, .readWrite).error == .noError)
        #expect(mapping(h, freeVaddr + 0x3000)?.rights == .readWrite)
    }

    @Test("re-mapping a frame at the same vaddr changes its rights")
    func pageRemapSameVaddr() {
        let h = KernelHarness()
        let f = h.retype(.smallPage)[0]
        #expect(mapPage(h, f, freeVaddr, .readWrite).error == .noError)
        #expect(mapping(h, freeVaddr)?.rights == .readWrite)
        #expect(mapPage(h, f, freeVaddr, .read).error == .noError)
        #expect(mapping(h, freeVaddr)?.rights == .readOnly)
        #expect(mapPage(h, f, freeVaddr, .readWrite).error == .noError)
        #expect(mapping(h, freeVaddr)?.rights == .readWrite)
        #expect(h.cap(f).mappedAddress == freeVaddr)
    }

    @Test("mapping a mapped frame at a different vaddr gives InvalidArgument(0)")
    func pageMapDifferentVaddr() {
        let h = KernelHarness()
        let f = h.retype(.smallPage)[0]
        #expect(mapPage(h, f, freeVaddr).error == .noError)
        let r = mapPage(h, f, freeVaddr + 0x1000)
        #expect(r.error == .invalidArgument)
        #expect(r.mrs.first == 0)
        #expect(mapping(h, freeVaddr + 0x1000) == nil)
        #expect(mapping(h, freeVaddr) != nil)
    }

    @Test("mapping a mapped frame into another ASID gives InvalidCapability(1); a copy can be mapped there")
    func pageMapDifferentASID() {
        let h = KernelHarness()
        let other = newVSpace(h)
        let otherASID = h.cap(other).mappedASID
        #expect(otherASID != rootASID && otherASID != 0)
        let f = h.retype(.smallPage)[0]
        #expect(mapPage(h, f, freeVaddr).error == .noError)
        let r = mapPage(h, f, freeVaddr, vspace: other)
        #expect(r.error == .invalidCapability)
        #expect(r.mrs.first == 1)
        // A copy of the cap is unmapped and may be mapped elsewhere (here: a fresh VSpace
        // has no tables, so the lookup fails rather than the cap check).
        let copy = h.allocSlot()
        #expect(h.error(rootCNode, .cnodeCopy, [copy, 64, f, 64, CapRights.all.rawValue], caps: [rootCNode]) == .noError)
        #expect(!h.cap(copy).isMapped)
        #expect(mapPage(h, copy, freeVaddr, vspace: other).error == .failedLookup)
    }

    @Test("Page_Map into a VSpace without an ASID gives InvalidCapability(1)")
    func pageMapUnassignedVSpace() {
        let h = KernelHarness()
        let pml4 = h.retype(.pml4)[0]
        let f = h.retype(.smallPage)[0]
        let r = mapPage(h, f, freeVaddr, vspace: pml4)
        #expect(r.error == .invalidCapability)
        #expect(r.mrs.first == 1)
    }

    @Test("Page_Map past the kernel's USER_TOP gives InvalidArgument(0); the last user page is mappable")
    func pageMapPastUserTop() {
        let h = KernelHarness()
        let f = h.retype(.smallPage)[0]
        let r = mapPage(h, f, VSpaceLayout.kernelUserTop + 1)
        #expect(r.error == .invalidArgument)
        #expect(r.mrs.first == 0)
        // seL4_UserTop is the last page: it passes the range check and fails only for want
        // of a page table there.
        #expect(mapPage(h, f, VSpaceLayout.userTop).error == .failedLookup)
    }

    @Test("VSPACE0001 a machine's narrower range refuses Page_Map and table maps outside it as above USER_TOP: InvalidArgument(0)")
    func mapsOutsideTheRange() {
        let h = KernelHarness()
        // The root's range, narrower than USER_TOP, as a window bounds one.
        h.k.hal.addressRanges[rootASID] = 0x40_0000..<0x70_0000
        let f = h.retype(.smallPage)[0], big = h.retype(.largePage)[0], pt = h.retype(.pageTable)[0]
        for vaddr in [UInt64(0x3F_F000), 0x70_0000, farVaddr] {
            let r = mapPage(h, f, vaddr)
            #expect(r.error == .invalidArgument && r.mrs.first == 0, "Page_Map at \(hex(vaddr))")
        }
        // A large page starting inside but reaching past the end is refused; a table too.
        let r = mapPage(h, big, 0x60_0000)
        #expect(r.error == .invalidArgument && r.mrs.first == 0)
        let t = mapTable(h, pt, .x86PageTableMap, 0x70_0000)
        #expect(t.error == .invalidArgument && t.mrs.first == 0)
        // Inside it, the map goes through; GetAddressRange answers the range.
        #expect(mapPage(h, f, freeVaddr).error == .noError)
        let g = h.invoke(rootVSpace, .umkVSpaceGetAddressRange)
        #expect(g.error == .noError && Array(g.mrs.prefix(2)) == [0x40_0000, 0x70_0000])
    }

    @Test("VSPACE0002 GetAddressRange: seL4's whole user range by default; a PML4 without an ASID is InvalidCapability(0); other labels are illegal")
    func getAddressRange() {
        let h = KernelHarness()
        let g = h.invoke(rootVSpace, .umkVSpaceGetAddressRange)
        #expect(g.error == .noError && Array(g.mrs.prefix(2)) == [0, VSpaceLayout.kernelUserTop + 1])
        let pml4 = h.retype(.pml4)[0]
        let r = h.invoke(pml4, .umkVSpaceGetAddressRange)
        #expect(r.error == .invalidCapability && r.mrs.first == 0)
        #expect(h.error(rootVSpace, .x86PageMap) == .illegalOperation)
    }

    // MARK: - Unmap, GetAddress, deletion

    @Test("Page_Unmap removes the HAL mapping and is idempotent")
    func pageUnmapIdempotent() {
        let h = KernelHarness()
        let f = h.retype(.smallPage)[0]
        #expect(mapPage(h, f, freeVaddr).error == .noError)
        #expect(mapping(h, freeVaddr) != nil)
        #expect(h.error(f, .x86PageUnmap) == .noError)
        #expect(mapping(h, freeVaddr) == nil)
        #expect(!h.cap(f).isMapped)
        #expect(h.error(f, .x86PageUnmap) == .noError)
        #expect(mapping(h, freeVaddr) == nil)
        // Unmapped, it can be mapped again elsewhere.
        #expect(mapPage(h, f, freeVaddr + 0x1000).error == .noError)
        #expect(mapping(h, freeVaddr + 0x1000)?.paddr == h.cap(f).paddr)
    }

    @Test("Page_Unmap of a never-mapped frame succeeds")
    func pageUnmapNeverMapped() {
        let h = KernelHarness()
        let f = h.retype(.smallPage)[0]
        #expect(h.error(f, .x86PageUnmap) == .noError)
    }

    @Test("Page_GetAddress returns the physical address in MR0")
    func pageGetAddress() {
        let h = KernelHarness()
        let f = h.retype(.smallPage)[0]
        let r = h.invoke(f, .x86PageGetAddress)
        #expect(r.error == .noError)
        #expect(r.mrs == [h.cap(f).paddr])
        let boot = h.invoke(InitialCap.bootInfoFrame.rawValue, .x86PageGetAddress)
        #expect(boot.mrs == [h.boot.bootInfoFrame])
    }

    @Test("deleting a mapped frame cap unmaps it")
    func deleteFrameUnmaps() {
        let h = KernelHarness()
        let f = h.retype(.smallPage)[0]
        #expect(mapPage(h, f, freeVaddr).error == .noError)
        #expect(h.error(rootCNode, .cnodeDelete, [f, 64]) == .noError)
        #expect(h.cap(f).isNull)
        #expect(mapping(h, freeVaddr) == nil)
        // The page table entry is free for another frame.
        let g = h.retype(.smallPage)[0]
        #expect(mapPage(h, g, freeVaddr).error == .noError)
        #expect(mapping(h, freeVaddr)?.paddr == h.cap(g).paddr)
    }

    @Test("unmapping a page table removes its frames' mappings; a later Page_Unmap of such a frame is harmless")
    func pageTableUnmapDropsFrames() {
        let h = KernelHarness()
        let pt = h.retype(.pageTable)[0]
        #expect(mapTable(h, pt, .x86PageTableMap, 0x60_0000).error == .noError)
        let f1 = h.retype(.smallPage)[0], f2 = h.retype(.smallPage)[0]
        #expect(mapPage(h, f1, 0x60_1000).error == .noError)
        #expect(mapPage(h, f2, 0x6F_F000).error == .noError)
        #expect(mapping(h, 0x60_1000) != nil && mapping(h, 0x6F_F000) != nil)
        #expect(h.error(pt, .x86PageTableUnmap) == .noError)
        #expect(!h.cap(pt).isMapped)
        #expect(mapping(h, 0x60_1000) == nil)
        #expect(mapping(h, 0x6F_F000) == nil)
        // Frames outside that table are untouched.
        #expect(mapping(h, 0x40_0000)?.paddr == h.boot.bootInfoFrame)
        #expect(h.error(f1, .x86PageUnmap) == .noError)
        #expect(!h.cap(f1).isMapped)
        #expect(mapping(h, 0x60_1000) == nil)
        // The region now has no page table.
        #expect(mapPage(h, f1, 0x60_1000).error == .failedLookup)
        // The table can be mapped again; then the frame too.
        #expect(mapTable(h, pt, .x86PageTableMap, 0x60_0000).error == .noError)
        #expect(mapPage(h, f1, 0x60_1000).error == .noError)
        #expect(mapping(h, 0x60_1000)?.paddr == h.cap(f1).paddr)
    }

    @Test("deleting a mapped page table cap removes its frames' mappings")
    func deletePageTableDropsFrames() {
        let h = KernelHarness()
        let pt = h.retype(.pageTable)[0]
        #expect(mapTable(h, pt, .x86PageTableMap, 0x60_0000).error == .noError)
        let f = h.retype(.smallPage)[0]
        #expect(mapPage(h, f, 0x60_1000).error == .noError)
        #expect(h.error(rootCNode, .cnodeDelete, [pt, 64]) == .noError)
        #expect(mapping(h, 0x60_1000) == nil)
        #expect(h.error(f, .x86PageUnmap) == .noError)
        #expect(!h.cap(f).isMapped)
    }

    // MARK: - ASIDs

    @Test("ASIDControl_MakePool needs a 4 KiB untyped: otherwise InvalidCapability(1)")
    func makePoolUntypedSize() {
        let h = KernelHarness()
        let big = h.retype(.untyped, sizeBits: 13)[0]
        let small = h.retype(.untyped, sizeBits: 11)[0]
        for u in [big, small] {
            let dest = h.allocSlot()
            let r = h.invoke(InitialCap.asidControl.rawValue, .x86ASIDControlMakePool, [dest, 64], caps: [u, rootCNode])
            #expect(r.error == .invalidCapability)
            #expect(r.mrs.first == 1)
            #expect(h.cap(dest).isNull)
        }
        // Not an untyped at all.
        let ep = h.retype(.endpoint)[0]
        let r = h.invoke(InitialCap.asidControl.rawValue, .x86ASIDControlMakePool, [h.allocSlot(), 64], caps: [ep, rootCNode])
        #expect(r.error == .invalidCapability)
        #expect(r.mrs.first == 1)
    }

    @Test("ASIDControl_MakePool: 7 more pools fit after boot's; the 8th more gives DeleteFirst")
    func makePoolLimit() {
        let h = KernelHarness()
        let untypeds = h.retype(.untyped, sizeBits: 12, count: 8)
        var pools: [UInt64] = []
        for u in untypeds.prefix(7) {
            let dest = h.allocSlot()
            #expect(h.error(InitialCap.asidControl.rawValue, .x86ASIDControlMakePool, [dest, 64], caps: [u, rootCNode]) == .noError)
            #expect(h.cap(dest).type == .asidPool)
            pools.append(dest)
        }
        #expect(Set(pools.map { h.cap($0).asidBase }).count == 7)
        #expect(!pools.map { h.cap($0).asidBase }.contains(0), "pool 0 is boot's")
        let dest = h.allocSlot()
        #expect(h.error(InitialCap.asidControl.rawValue, .x86ASIDControlMakePool, [dest, 64], caps: [untypeds[7], rootCNode])
            == .deleteFirst)
        #expect(h.cap(dest).isNull)
        // A new pool hands out ASIDs from its own range.
        let pml4 = h.retype(.pml4)[0]
        #expect(h.error(pools[0], .x86ASIDPoolAssign, caps: [pml4]) == .noError)
        #expect(h.cap(pml4).mappedASID == h.cap(pools[0]).asidBase)
    }

    @Test("ASIDControl_MakePool into an occupied slot gives DeleteFirst")
    func makePoolDestOccupied() {
        let h = KernelHarness()
        let u = h.retype(.untyped, sizeBits: 12)[0]
        #expect(h.error(InitialCap.asidControl.rawValue, .x86ASIDControlMakePool, [InitialCap.initThreadTCB.rawValue, 64],
                        caps: [u, rootCNode]) == .deleteFirst)
    }

    @Test("ASIDPool_Assign gives a PML4 an ASID; assigning it again gives InvalidCapability(1)")
    func asidPoolAssign() {
        let h = KernelHarness()
        let pml4 = h.retype(.pml4)[0]
        #expect(!h.cap(pml4).isMapped)
        #expect(h.error(InitialCap.initThreadASIDPool.rawValue, .x86ASIDPoolAssign, caps: [pml4]) == .noError)
        let asid = h.cap(pml4).mappedASID
        #expect(h.cap(pml4).isMapped)
        #expect(asid != 0 && asid != rootASID)
        #expect(h.k.hal.assignedASIDs[asid] == h.cap(pml4).paddr)
        let r = h.invoke(InitialCap.initThreadASIDPool.rawValue, .x86ASIDPoolAssign, caps: [pml4])
        #expect(r.error == .invalidCapability)
        #expect(r.mrs.first == 1)
        // The root VSpace already has one too.
        #expect(h.error(InitialCap.initThreadASIDPool.rawValue, .x86ASIDPoolAssign, caps: [rootVSpace]) == .invalidCapability)
        // Not a PML4.
        let pt = h.retype(.pageTable)[0]
        #expect(h.error(InitialCap.initThreadASIDPool.rawValue, .x86ASIDPoolAssign, caps: [pt]) == .invalidCapability)
        // A second PML4 gets a different ASID.
        let pml4b = h.retype(.pml4)[0]
        #expect(h.error(InitialCap.initThreadASIDPool.rawValue, .x86ASIDPoolAssign, caps: [pml4b]) == .noError)
        #expect(h.cap(pml4b).mappedASID != asid)
    }

    @Test("ASIDPool_Assign when the machine has no address space left gives DeleteFirst and changes nothing")
    func asidPoolMachineFull() {
        let h = KernelHarness()
        let pml4 = h.retype(.pml4)[0]
        h.k.hal.addressSpaceLimit = h.k.hal.assignedASIDs.count
        #expect(h.error(InitialCap.initThreadASIDPool.rawValue, .x86ASIDPoolAssign, caps: [pml4]) == .deleteFirst)
        #expect(!h.cap(pml4).isMapped)
        #expect(h.k.hal.assignedASIDs.count == 1)
        // With room again, the same VSpace gets its ASID.
        h.k.hal.addressSpaceLimit = nil
        #expect(h.error(InitialCap.initThreadASIDPool.rawValue, .x86ASIDPoolAssign, caps: [pml4]) == .noError)
    }
}
