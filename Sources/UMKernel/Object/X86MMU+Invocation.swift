// SPDX-License-Identifier: Apache-2.0
//
// x86_64 paging objects (seL4 src/arch/x86/kernel/vspace.c, 64/kernel/vspace.c): PML4 →
// PDPT → PD → PT, each a 4 KiB table of 512 entries in RAM; 4 KiB, 2 MiB and 1 GiB
// frames; ASID pools. The kernel keeps the page tables exactly as hardware would read
// them and reports every frame mapping and unmapping to the HAL, which mirrors it into the
// VSpace's host window (Linux) or records it (tests).
//
// Entry format: present [0], writable [1], user [2], large/huge page [7], address [51:12].

import UMKABI

/// Page-table entry bits.
enum PTE {
    static let present: UInt64 = 1 << 0
    static let writable: UInt64 = 1 << 1
    static let user: UInt64 = 1 << 2
    static let pageSize: UInt64 = 1 << 7
    static let addressMask: UInt64 = 0x000F_FFFF_FFFF_F000

    static func frame(_ paddr: UInt64, _ rights: VMRights, large: Bool) -> UInt64 {
        var e = (paddr & addressMask) | present
        // seL4: WritableFromVMRights — kernel-only mappings are writable, by the kernel.
        if rights != .readOnly { e |= writable }
        if rights != .kernelOnly { e |= user }
        if large { e |= pageSize }
        return e
    }
    static func table(_ paddr: UInt64) -> UInt64 { (paddr & addressMask) | present | writable | user }
    static func rights(_ e: UInt64) -> VMRights {
        e & user == 0 ? .kernelOnly : (e & writable != 0 ? .readWrite : .readOnly)
    }
}

/// Bit offsets of each paging level's index in a virtual address.
enum PagingLevel {
    static let pml4: UInt64 = 39
    static let pdpt: UInt64 = 30
    static let pd: UInt64 = 21
    static let pt: UInt64 = 12
}

extension Kernel {
    // MARK: - Walking the tables

    @inline(__always) func entrySlot(_ table: UInt64, _ vaddr: UInt64, _ level: UInt64) -> UInt64 {
        table + ((vaddr >> level) & 511) * 8
    }

    /// seL4: findVSpaceForASID.
    func findVSpace(asid: UInt64) -> Result<UInt64, LookupFailure> {
        let pool = globals.pointee.asidTable[Int((asid >> 9) & 7)]
        guard asid >> 12 == 0, pool != 0 else { return .failure(.invalidRoot) }
        let vspace = physmap.loadWord(pool + (asid & 511) * 8)
        guard vspace != 0 else { return .failure(.invalidRoot) }
        return .success(vspace)
    }

    /// seL4: lookupPDPTSlot — the PML4 entry must point to a PDPT.
    func lookupPDPTSlot(_ pml4: UInt64, _ vaddr: UInt64) -> Result<UInt64, LookupFailure> {
        let e = physmap.loadWord(entrySlot(pml4, vaddr, PagingLevel.pml4))
        guard e & PTE.present != 0 else { return .failure(.missingCapability(bitsLeft: PagingLevel.pml4)) }
        return .success(entrySlot(e & PTE.addressMask, vaddr, PagingLevel.pdpt))
    }

    /// seL4: lookupPDSlot — the PDPT entry must point to a page directory.
    func lookupPDSlot(_ pml4: UInt64, _ vaddr: UInt64) -> Result<UInt64, LookupFailure> {
        lookupPDPTSlot(pml4, vaddr).flatMap { s in
            let e = physmap.loadWord(s)
            guard e & PTE.present != 0, e & PTE.pageSize == 0 else {
                return .failure(.missingCapability(bitsLeft: PagingLevel.pdpt))
            }
            return .success(entrySlot(e & PTE.addressMask, vaddr, PagingLevel.pd))
        }
    }

    /// seL4: lookupPTSlot — the PD entry must point to a page table.
    func lookupPTSlot(_ pml4: UInt64, _ vaddr: UInt64) -> Result<UInt64, LookupFailure> {
        lookupPDSlot(pml4, vaddr).flatMap { s in
            let e = physmap.loadWord(s)
            guard e & PTE.present != 0, e & PTE.pageSize == 0 else {
                return .failure(.missingCapability(bitsLeft: PagingLevel.pd))
            }
            return .success(entrySlot(e & PTE.addressMask, vaddr, PagingLevel.pt))
        }
    }

    /// Tells the HAL that every frame under a table (mapped at `base`) is gone.
    func unmapFramesUnder(table: UInt64, level: UInt64, base: UInt64, asid: UInt64) {
        for i in 0..<UInt64(512) {
            let e = physmap.loadWord(table + i * 8)
            guard e & PTE.present != 0 else { continue }
            let vaddr = base + (i << level)
            if level == PagingLevel.pt || e & PTE.pageSize != 0 {
                hal.unmapFrame(asid: asid, vaddr: vaddr, sizeBits: level)
            } else {
                unmapFramesUnder(table: e & PTE.addressMask, level: level - 9, base: vaddr, asid: asid)
            }
        }
    }

    // MARK: - Decode

    func decodeX86MMUInvocation(_ inv: Invocation) throws(KernelException) {
        switch inv.cap.type {
        case .pml4:
            throw .syscallError(.illegalOperation)
        case .pdpt, .pageDirectory, .pageTable:
            try decodePagingTableInvocation(inv)
        case .frame:
            try decodeFrameInvocation(inv)
        case .asidControl:
            try decodeASIDControlInvocation(inv)
        case .asidPool:
            try decodeASIDPoolInvocation(inv)
        default:
            throw .syscallError(.illegalOperation)
        }
    }

    /// The VSpace an extra cap names: a PML4 with an ASID that still maps to it.
    private func checkedVSpace(_ cap: Capability) throws(KernelException) -> (pml4: UInt64, asid: UInt64) {
        guard cap.type == .pml4, cap.isMapped else { throw .syscallError(.invalidCapability(1)) }
        return (cap.paddr, cap.mappedASID)
    }

    private func checkASIDMapsTo(_ asid: UInt64, _ pml4: UInt64) throws(KernelException) {
        switch findVSpace(asid: asid) {
        case .failure(let f): throw .syscallError(.failedLookup(source: false, f))
        case .success(let v): if v != pml4 { throw .syscallError(.invalidCapability(1)) }
        }
    }

    /// PDPT, PageDirectory and PageTable Map/Unmap.
    private func decodePagingTableInvocation(_ inv: Invocation) throws(KernelException) {
        let cap = inv.cap
        let (mapLabel, unmapLabel, level): (InvocationLabel, InvocationLabel, UInt64) = switch cap.type {
        case .pdpt: (.x86PDPTMap, .x86PDPTUnmap, PagingLevel.pml4)
        case .pageDirectory: (.x86PageDirectoryMap, .x86PageDirectoryUnmap, PagingLevel.pdpt)
        default: (.x86PageTableMap, .x86PageTableUnmap, PagingLevel.pd)
        }
        if inv.label == unmapLabel.rawValue {
            guard isFinalCapability(inv.slot) else { throw .syscallError(.revokeFirst) }
            setThreadState(inv.thread, .restart)
            if cap.isMapped {
                unmapTable(cap)
                physmap.zero(cap.paddr, length: 4096)
            }
            var c = cap
            c.setMapping(asid: 0, vaddr: 0)
            inv.slot.pointee.cap = c
            return
        }
        guard inv.label == mapLabel.rawValue else { throw .syscallError(.illegalOperation) }
        guard inv.length >= 2, let vspaceCap = extraCap(inv, 0) else { throw .syscallError(.truncatedMessage) }
        guard !cap.isMapped else { throw .syscallError(.invalidCapability(0)) }
        let vaddr = arg(inv, 0) & ~lowMask(level)
        let (pml4, asid) = try checkedVSpace(vspaceCap.cap)
        guard vaddr <= min(VSpaceLayout.kernelUserTop, hal.userTop) else { throw .syscallError(.invalidArgument(0)) }
        try checkASIDMapsTo(asid, pml4)
        let entry: UInt64
        switch cap.type {
        case .pdpt:
            entry = entrySlot(pml4, vaddr, PagingLevel.pml4)
        case .pageDirectory:
            switch lookupPDPTSlot(pml4, vaddr) {
            case .failure(let f): throw .syscallError(.failedLookup(source: false, f))
            case .success(let s): entry = s
            }
        default:
            switch lookupPDSlot(pml4, vaddr) {
            case .failure(let f): throw .syscallError(.failedLookup(source: false, f))
            case .success(let s): entry = s
            }
        }
        guard physmap.loadWord(entry) & PTE.present == 0 else { throw .syscallError(.deleteFirst) }
        setThreadState(inv.thread, .restart)
        physmap.storeWord(entry, PTE.table(cap.paddr))
        var c = cap
        c.setMapping(asid: asid, vaddr: vaddr)
        inv.slot.pointee.cap = c
    }

    /// seL4: unmapPageTable / unmapPageDirectory / unmapPDPT — unhook a table from the
    /// VSpace it was mapped in, if it is still hooked there, and drop its frames' host mappings.
    func unmapTable(_ cap: Capability) {
        let asid = cap.mappedASID, vaddr = cap.mappedAddress
        guard case .success(let pml4) = findVSpace(asid: asid) else { return }
        let parentSlot: Result<UInt64, LookupFailure>
        let level: UInt64
        switch cap.type {
        case .pdpt:
            parentSlot = .success(entrySlot(pml4, vaddr, PagingLevel.pml4)); level = PagingLevel.pdpt
        case .pageDirectory:
            parentSlot = lookupPDPTSlot(pml4, vaddr); level = PagingLevel.pd
        default:
            parentSlot = lookupPDSlot(pml4, vaddr); level = PagingLevel.pt
        }
        guard case .success(let s) = parentSlot else { return }
        let e = physmap.loadWord(s)
        guard e & PTE.present != 0, e & PTE.pageSize == 0, e & PTE.addressMask == cap.paddr else { return }
        unmapFramesUnder(table: cap.paddr, level: level, base: vaddr & ~lowMask(level + 9), asid: asid)
        physmap.storeWord(s, 0)
    }

    /// Page Map / Unmap / GetAddress.
    private func decodeFrameInvocation(_ inv: Invocation) throws(KernelException) {
        let cap = inv.cap
        switch InvocationLabel(rawValue: inv.label) {
        case .x86PageMap:
            guard inv.length >= 3, let vspaceCap = extraCap(inv, 0) else { throw .syscallError(.truncatedMessage) }
            let vaddr = arg(inv, 0), rightsMask = arg(inv, 1)
            let sizeBits = cap.frameSize.bits
            let (pml4, asid) = try checkedVSpace(vspaceCap.cap)
            if cap.isMapped {
                guard cap.mappedASID == asid else { throw .syscallError(.invalidCapability(1)) }
                guard cap.mappedAddress == vaddr else { throw .syscallError(.invalidArgument(0)) }
            } else {
                let (top, overflow) = vaddr.addingReportingOverflow(lowMask(sizeBits))
                guard !overflow, top <= min(VSpaceLayout.kernelUserTop, hal.userTop) else {
                    throw .syscallError(.invalidArgument(0))
                }
            }
            try checkASIDMapsTo(asid, pml4)
            let rights = cap.frameVMRights.masked(by: CapRights(rawValue: rightsMask))
            guard vaddr & lowMask(sizeBits) == 0 else { throw .syscallError(.alignmentError) }
            let entry: UInt64
            switch cap.frameSize {
            case .small:
                switch lookupPTSlot(pml4, vaddr) {
                case .failure(let f): throw .syscallError(.failedLookup(source: false, f))
                case .success(let s): entry = s
                }
            case .large:
                switch lookupPDSlot(pml4, vaddr) {
                case .failure(let f): throw .syscallError(.failedLookup(source: false, f))
                case .success(let s): entry = s
                }
                let e = physmap.loadWord(entry)
                if e & PTE.present != 0 && e & PTE.pageSize == 0 { throw .syscallError(.deleteFirst) }
            case .huge:
                switch lookupPDPTSlot(pml4, vaddr) {
                case .failure(let f): throw .syscallError(.failedLookup(source: false, f))
                case .success(let s): entry = s
                }
                let e = physmap.loadWord(entry)
                if e & PTE.present != 0 && e & PTE.pageSize == 0 { throw .syscallError(.deleteFirst) }
            }
            setThreadState(inv.thread, .restart)
            physmap.storeWord(entry, PTE.frame(cap.paddr, rights, large: cap.frameSize != .small))
            var c = cap
            c.setMapping(asid: asid, vaddr: vaddr)
            inv.slot.pointee.cap = c
            hal.mapFrame(asid: asid, vaddr: vaddr, paddr: cap.paddr, sizeBits: sizeBits, rights: rights)
        case .x86PageUnmap:
            setThreadState(inv.thread, .restart)
            if cap.isMapped { unmapPage(cap) }
            var c = cap
            c.setMapping(asid: 0, vaddr: 0)
            inv.slot.pointee.cap = c
        case .x86PageGetAddress:
            setThreadState(inv.thread, .restart)
            if inv.isCall { replyFromKernelSuccess(inv.thread, [cap.paddr]) }
            setThreadState(inv.thread, .running)
        default:
            throw .syscallError(.illegalOperation)
        }
    }

    /// seL4: unmapPage — clear the entry if it still maps this frame there.
    func unmapPage(_ cap: Capability) {
        let asid = cap.mappedASID, vaddr = cap.mappedAddress
        guard case .success(let pml4) = findVSpace(asid: asid) else { return }
        let found: Result<UInt64, LookupFailure> = switch cap.frameSize {
        case .small: lookupPTSlot(pml4, vaddr)
        case .large: lookupPDSlot(pml4, vaddr)
        case .huge: lookupPDPTSlot(pml4, vaddr)
        }
        guard case .success(let s) = found else { return }
        let e = physmap.loadWord(s)
        let isLarge = cap.frameSize != .small
        guard e & PTE.present != 0, (e & PTE.pageSize != 0) == isLarge, e & PTE.addressMask == cap.paddr else { return }
        physmap.storeWord(s, 0)
        hal.unmapFrame(asid: asid, vaddr: vaddr, sizeBits: cap.frameSize.bits)
    }

    // MARK: - ASIDs

    private func decodeASIDControlInvocation(_ inv: Invocation) throws(KernelException) {
        guard inv.label == InvocationLabel.x86ASIDControlMakePool.rawValue else { throw .syscallError(.illegalOperation) }
        guard inv.length >= 2, let untyped = extraCap(inv, 0), let root = extraCap(inv, 1) else {
            throw .syscallError(.truncatedMessage)
        }
        let index = arg(inv, 0), depth = arg(inv, 1)
        var pool = 0
        while pool < VSpaceLayout.asidPoolCount && globals.pointee.asidTable[pool] != 0 { pool += 1 }
        guard pool < VSpaceLayout.asidPoolCount else { throw .syscallError(.deleteFirst) }
        let u = untyped.cap
        guard u.type == .untyped, u.untypedSizeBits == ObjectSize.asidPoolBits, !u.untypedIsDevice else {
            throw .syscallError(.invalidCapability(1))
        }
        try ensureNoChildren(untyped.slot)
        let dest = try lookupTargetSlot(root.cap, index, depth)
        try ensureEmptySlot(dest)
        setThreadState(inv.thread, .restart)
        untyped.slot.pointee.cap.untypedFreeIndex = UInt64(1) << u.untypedSizeBits
        physmap.zero(u.paddr, length: UInt64(1) << ObjectSize.asidPoolBits)
        cteInsert(.asidPool(paddr: u.paddr, asidBase: UInt64(pool) << 9), src: untyped.slot, dest: dest)
        globals.pointee.asidTable[pool] = u.paddr
    }

    private func decodeASIDPoolInvocation(_ inv: Invocation) throws(KernelException) {
        guard inv.label == InvocationLabel.x86ASIDPoolAssign.rawValue else { throw .syscallError(.illegalOperation) }
        guard let vspace = extraCap(inv, 0) else { throw .syscallError(.truncatedMessage) }
        guard vspace.cap.type == .pml4, !vspace.cap.isMapped else { throw .syscallError(.invalidCapability(1)) }
        let base = inv.cap.asidBase
        let pool = globals.pointee.asidTable[Int((base >> 9) & 7)]
        guard pool != 0 else { throw .syscallError(.failedLookup(source: false, .invalidRoot)) }
        guard pool == inv.cap.paddr else { throw .syscallError(.invalidCapability(0)) }
        var i: UInt64 = 0
        while i < 512 && (base + i == 0 || physmap.loadWord(pool + i * 8) != 0) { i += 1 }
        guard i < 512 else { throw .syscallError(.deleteFirst) }
        let asid = base + i
        setThreadState(inv.thread, .restart)
        physmap.storeWord(pool + i * 8, vspace.cap.paddr)
        vspace.slot.pointee.cap.setMapping(asid: asid, vaddr: 0)
        hal.assignASID(asid, vspace: vspace.cap.paddr)
    }

    // MARK: - Finalisation

    /// seL4: Arch_finaliseCap — frames unmap on any cap (each cap has its own mapping);
    /// tables, VSpaces and pools only when the final cap goes.
    func finaliseArchCap(_ cap: Capability, final: Bool) {
        switch cap.type {
        case .frame:
            if cap.isMapped { unmapPage(cap) }
        case .pageTable, .pageDirectory, .pdpt:
            if final && cap.isMapped { unmapTable(cap) }
        case .pml4:
            if final && cap.isMapped { deleteASID(cap.mappedASID, vspace: cap.paddr) }
        case .asidPool:
            if final { deleteASIDPool(base: cap.asidBase, pool: cap.paddr) }
        case .ioPort:
            if final { freeIOPortRange(cap) }
        default:
            break
        }
    }

    /// seL4: deleteASID.
    func deleteASID(_ asid: UInt64, vspace: UInt64) {
        let pool = globals.pointee.asidTable[Int((asid >> 9) & 7)]
        guard pool != 0, physmap.loadWord(pool + (asid & 511) * 8) == vspace else { return }
        physmap.storeWord(pool + (asid & 511) * 8, 0)
        hal.releaseASID(asid)
    }

    /// seL4: deleteASIDPool.
    func deleteASIDPool(base: UInt64, pool: UInt64) {
        let index = Int((base >> 9) & 7)
        guard globals.pointee.asidTable[index] == pool else { return }
        for i in 0..<UInt64(512) where physmap.loadWord(pool + i * 8) != 0 {
            hal.releaseASID(base + i)
        }
        globals.pointee.asidTable[index] = 0
    }
}
