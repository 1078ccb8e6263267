// SPDX-License-Identifier: Apache-2.0
//
// The root task's environment, built as seL4's boot code builds it (src/kernel/boot.c,
// src/arch/x86/kernel/boot.c): initial caps in slots 1-11, a 4096-slot root CNode, a
// VSpace with an ASID from the first pool, the BootInfo frame and IPC buffer mapped, a
// stack below them with an unmapped guard page, the root's program image if it is one
// (its pages and the paging structures they need, as userImageFrames and
// userImagePaging), and every remaining byte of RAM handed
// over as untyped caps in naturally aligned power-of-two blocks, listed in BootInfo. The
// root's addresses lie in its VSpace's address range (its host window on Linux), which
// an extra BootInfo chunk of umk's states.

import UMKABI

/// Where the root task's boot objects go in its VSpace, and how big its stack is. Addresses
/// are offsets from the start of the root VSpace's address range (0 on the simulated
/// machine, the window's host address on Linux).
public struct BootConfig: Sendable {
    /// Offset of the BootInfo frame; the IPC buffer follows BootInfo's extra pages.
    public var bootInfoAddress: UInt64 = 0x40_0000
    /// Stack pages, mapped below `stackTop` with an unmapped guard page beneath them.
    public var stackPages: UInt64 = 16
    /// Offset of the top of the root task's stack (exclusive); the root starts with rsp 8
    /// below it, as a function called with BootInfo's address in rdi.
    public var stackTop: UInt64 = 0x50_0000
    /// The root task's entry point (the HAL decides what an address means).
    public var entry: UInt64 = 0x1000
    /// log2 of the root CNode's slots (seL4: CONFIG_ROOT_CNODE_SIZE_BITS, 12 here; the
    /// fuzzer boots with a smaller one so checking every slot after every call stays cheap).
    public var cnodeSizeBits: UInt64 = UInt64(RootTask.cnodeSizeBits)
    /// Extra BootInfo chunks (seL4_BootInfoHeader id, payload words), mapped read-write
    /// right after the BootInfo frame as seL4 maps its extra BootInfo pages; umk's boot
    /// modules (the boot plan) travel this way.
    public var extraBootInfo: [(id: UInt64, words: [UInt64])] = []
    /// The root task's program image, if it is one (seL4's boot loads the root task's
    /// ELF): its pages are mapped where the image goes in the root's range (a static PIE
    /// at TaskLayout.imageBase) with its segments' rights, their frames listed in
    /// BootInfo's userImageFrames, and the root starts at its entry point instead of
    /// `entry`. The caller checked that it fits the range.
    public var rootImage: RootImage?
    /// The root's entry function's arguments after BootInfo's address (rsi, rdx, …): the
    /// machine's own (on Linux, the syscall entry a program image calls).
    public var entryArguments: [UInt64] = []
    /// Device memory: physical ranges outside RAM (page aligned, disjoint) the root task
    /// gets as device untypeds, as seL4's boot lists a machine's non-RAM regions. What is
    /// behind them is the machine's (on Linux, a host shared-memory object or file).
    public var deviceRegions: [(paddr: UInt64, size: UInt64)] = []
    public init() {}

    /// A root task's ELF image and the bytes it was parsed from.
    public struct RootImage: Sendable {
        public var file: [UInt8]
        public var elf: ELFImage
        public init(file: [UInt8], elf: ELFImage) { self.file = file; self.elf = elf }
    }

    /// Bytes of extra BootInfo (BootInfo.extraLen): each chunk is a 2-word header and its
    /// words; the kernel adds the address-range chunk (2 words) after the given ones.
    public var extraLength: UInt64 { extraBootInfo.reduce(32) { $0 + 16 + UInt64($1.words.count) * 8 } }
    /// 4 KiB pages the extra BootInfo takes.
    public var extraPages: UInt64 { (extraLength + 0xFFF) >> 12 }
    /// The IPC buffer's offset: it follows BootInfo and its extra pages.
    public var ipcBufferAddress: UInt64 { bootInfoAddress + 0x1000 * (1 + extraPages) }

    /// Adds an extra BootInfo chunk, moving the stack up past the IPC buffer and a guard
    /// page if the extra pages now reach it.
    public mutating func addExtraBootInfo(id: UInt64, words: [UInt64]) {
        extraBootInfo.append((id, words))
        let lowest = ipcBufferAddress + 0x2000
        if stackTop - stackPages * 0x1000 < lowest { stackTop = lowest + stackPages * 0x1000 }
    }
}

/// The result of boot: what the root task finds, for the HAL and for tests.
public struct BootResult: Sendable {
    public var rootThread: TCBRef
    public var bootInfo: BootInfo
    /// Physical address of the BootInfo frame.
    public var bootInfoFrame: UInt64
}

extension Kernel {
    /// Builds the root task and makes it the current thread. RAM must be fresh.
    public func boot(_ config: BootConfig = BootConfig()) -> BootResult {
        precondition(config.stackPages >= 1 && config.stackTop - config.stackPages * 4096 - 4096 >= config.ipcBufferAddress + 4096,
                     "boot: stack overlaps BootInfo/IPC buffer")
        precondition(config.bootInfoAddress >> 30 == (config.stackTop - 1) >> 30, "boot: root objects must share one page directory")
        var next = KernelLayout.reservedTop
        func carve(_ bits: UInt64) -> UInt64 {
            let p = alignUp(next, bits)
            next = p + (UInt64(1) << bits)
            precondition(next <= physmap.size, "boot: RAM too small for the root task")
            return p
        }
        let cnodeBits = config.cnodeSizeBits
        let rootCNode = carve(cnodeBits + ObjectSize.slotBits)
        let rootTCB = carve(ObjectSize.tcbBits)
        // Page tables for every 2 MiB the root's objects touch, from BootInfo to the stack top.
        let tableCount = Int(((config.stackTop - 1) >> 21) - (config.bootInfoAddress >> 21) + 1)
        let pml4 = carve(12), pdpt = carve(12), pd = carve(12)
        var pts: [UInt64] = []
        for _ in 0..<tableCount { pts.append(carve(12)) }
        let asidPool = carve(ObjectSize.asidPoolBits)
        let bootInfoFrame = carve(12), ipcBufferFrame = carve(12)
        var extraFrames: [UInt64] = []
        for _ in 0..<config.extraPages { extraFrames.append(carve(12)) }
        var stackFrames: [UInt64] = []
        for _ in 0..<config.stackPages { stackFrames.append(carve(12)) }
        var imageFrames: [UInt64] = []
        for _ in 0..<(config.rootImage.map { $0.elf.memoryBytes >> 12 } ?? 0) { imageFrames.append(carve(12)) }

        let cnodeCap = Capability.cnode(paddr: rootCNode, radix: cnodeBits, guardSize: 64 - cnodeBits)
        func rootSlot(_ i: UInt64) -> SlotRef { slot(rootCNode + (i << ObjectSize.slotBits)) }
        func provide(_ i: UInt64, _ cap: Capability) {
            var cte = Slot.empty
            cte.cap = cap
            cte.revocable = true
            cte.firstBadged = true
            rootSlot(i).pointee = cte
        }

        // The VSpace: ASID 1 of pool 0 (ASID 0 is never used).
        globals.pointee.asidTable[0] = asidPool
        let asid: UInt64 = 1
        physmap.storeWord(asidPool + asid * 8, pml4)
        hal.assignASID(asid, vspace: pml4)
        // Every address of the root's lies in its VSpace's range.
        let range = hal.addressRange(asid: asid)
        var config = config
        config.bootInfoAddress += range.lowerBound
        config.stackTop += range.lowerBound
        precondition(config.stackTop <= range.upperBound, "boot: the root's stack lies outside its address range")
        physmap.storeWord(entrySlot(pml4, config.bootInfoAddress, PagingLevel.pml4), PTE.table(pdpt))
        physmap.storeWord(entrySlot(pdpt, config.bootInfoAddress, PagingLevel.pdpt), PTE.table(pd))
        let firstTable = config.bootInfoAddress & ~lowMask(21)
        for (i, pt) in pts.enumerated() {
            physmap.storeWord(entrySlot(pd, firstTable + UInt64(i) << 21, PagingLevel.pd), PTE.table(pt))
        }
        // Tables the root image needs beyond the boot objects', made as its pages are mapped.
        var imageTables: [Capability] = []
        func table(for vaddr: UInt64) -> UInt64 {
            var table = pml4
            for (level, type) in [(PagingLevel.pml4, CapType.pdpt), (PagingLevel.pdpt, .pageDirectory), (PagingLevel.pd, .pageTable)] {
                let e = entrySlot(table, vaddr, level), word = physmap.loadWord(e)
                if word & PTE.present != 0 {
                    table = word & PTE.addressMask
                    continue
                }
                let t = carve(12)
                physmap.storeWord(e, PTE.table(t))
                var cap = Capability.table(type, paddr: t)
                cap.setMapping(asid: asid, vaddr: vaddr & ~lowMask(level))
                imageTables.append(cap)
                table = t
            }
            return table
        }
        func mapFrame(_ paddr: UInt64, _ vaddr: UInt64, rights: VMRights = .readWrite) -> Capability {
            physmap.storeWord(entrySlot(table(for: vaddr), vaddr, PagingLevel.pt), PTE.frame(paddr, rights, large: false))
            hal.mapFrame(asid: asid, vaddr: vaddr, paddr: paddr, sizeBits: 12, rights: rights)
            var cap = Capability.frame(paddr: paddr, size: .small)
            cap.setMapping(asid: asid, vaddr: vaddr)
            return cap
        }
        var pml4Cap = Capability.table(.pml4, paddr: pml4)
        pml4Cap.setMapping(asid: asid, vaddr: 0)
        var pdptCap = Capability.table(.pdpt, paddr: pdpt)
        pdptCap.setMapping(asid: asid, vaddr: config.bootInfoAddress & ~lowMask(39))
        var pdCap = Capability.table(.pageDirectory, paddr: pd)
        pdCap.setMapping(asid: asid, vaddr: config.bootInfoAddress & ~lowMask(30))
        let ptCaps = pts.enumerated().map { i, pt in
            var c = Capability.table(.pageTable, paddr: pt)
            c.setMapping(asid: asid, vaddr: firstTable + UInt64(i) << 21)
            return c
        }

        provide(InitialCap.initThreadTCB.rawValue, .thread(paddr: rootTCB))
        provide(InitialCap.initThreadCNode.rawValue, cnodeCap)
        provide(InitialCap.initThreadVSpace.rawValue, pml4Cap)
        provide(InitialCap.irqControl.rawValue, .irqControl)
        provide(InitialCap.asidControl.rawValue, .asidControl)
        provide(InitialCap.ioPortControl.rawValue, .ioPortControl)
        provide(InitialCap.initThreadASIDPool.rawValue, .asidPool(paddr: asidPool, asidBase: 0))
        provide(InitialCap.bootInfoFrame.rawValue, mapFrame(bootInfoFrame, config.bootInfoAddress))
        provide(InitialCap.initThreadIPCBuffer.rawValue, mapFrame(ipcBufferFrame, config.ipcBufferAddress))
        provide(InitialCap.domain.rawValue, .domain)

        var info = BootInfo()
        var slotIndex = InitialCap.count
        // Extra BootInfo: header {id, length in bytes including the header}, then the words.
        var extraWords: [UInt64] = []
        for chunk in config.extraBootInfo + [(addressRangeChunkID, [range.lowerBound, range.upperBound])] {
            extraWords += [chunk.id, 16 + UInt64(chunk.words.count) * 8] + chunk.words
        }
        let extraStart = slotIndex
        for (i, frame) in extraFrames.enumerated() {
            for w in 0..<512 where i * 512 + w < extraWords.count {
                physmap.storeWord(frame + UInt64(w) * 8, extraWords[i * 512 + w])
            }
            provide(slotIndex, mapFrame(frame, config.bootInfoAddress + 0x1000 * UInt64(i + 1)))
            slotIndex += 1
        }
        info.extraBIPages = SlotRegion(start: extraStart, end: slotIndex)
        info.extraLength = config.extraLength
        // The image's and the stack's frames are mapped first (making the image's tables),
        // then every paging cap and every frame cap is handed over.
        var frameCaps: [Capability] = []
        if let image = config.rootImage {
            let bias = image.elf.bias(rangeStart: range.lowerBound)
            precondition(image.elf.fits(bias: bias, in: range), "boot: the root image lies outside the root's address range")
            for (page, frame) in zip(image.elf.loadedPages(file: image.file, bias: bias), imageFrames) {
                for w in 0..<512 {
                    let word = (0..<8).reduce(UInt64(0)) { $0 | UInt64(page.bytes[w * 8 + $1]) << (8 * UInt64($1)) }
                    if word != 0 { physmap.storeWord(frame + UInt64(w) * 8, word) }
                }
                frameCaps.append(mapFrame(frame, page.address, rights: page.writable ? .readWrite : .readOnly))
            }
            config.entry = bias + image.elf.entry
        }
        let stackBase = config.stackTop - config.stackPages * 4096
        for (i, frame) in stackFrames.enumerated() { frameCaps.append(mapFrame(frame, stackBase + UInt64(i) * 4096)) }
        let pagingStart = slotIndex
        for cap in [pdptCap, pdCap] + ptCaps + imageTables { provide(slotIndex, cap); slotIndex += 1 }
        info.userImagePaging = SlotRegion(start: pagingStart, end: slotIndex)
        let framesStart = slotIndex
        for cap in frameCaps { provide(slotIndex, cap); slotIndex += 1 }
        info.userImageFrames = SlotRegion(start: framesStart, end: slotIndex)

        // Everything else is untyped, in naturally aligned power-of-two blocks.
        let untypedStart = slotIndex
        var start = next
        let end = physmap.size
        while start < end && info.untypedList.count < BootInfoLayout.maxUntypedCaps {
            var bits = UInt64(63 - (end - start).leadingZeroBitCount)
            if start != 0 { bits = min(bits, UInt64(start.trailingZeroBitCount)) }
            bits = min(bits, ObjectSize.maxUntypedBits)
            if bits >= ObjectSize.minUntypedBits {
                provide(slotIndex, .untyped(paddr: start, sizeBits: bits, isDevice: false))
                info.untypedList.append(UntypedDescriptor(paddr: start, sizeBits: UInt8(bits), isDevice: false))
                slotIndex += 1
            }
            start += UInt64(1) << bits
        }
        // Device memory after RAM's untypeds, in the same aligned blocks (never zeroed,
        // retyped only into frames).
        for region in config.deviceRegions.sorted(by: { $0.paddr < $1.paddr }) {
            var start = region.paddr
            let end = region.paddr + region.size
            while start < end && info.untypedList.count < BootInfoLayout.maxUntypedCaps {
                var bits = UInt64(63 - (end - start).leadingZeroBitCount)
                if start != 0 { bits = min(bits, UInt64(start.trailingZeroBitCount)) }
                bits = min(bits, ObjectSize.maxUntypedBits)
                provide(slotIndex, .untyped(paddr: start, sizeBits: bits, isDevice: true))
                info.untypedList.append(UntypedDescriptor(paddr: start, sizeBits: UInt8(bits), isDevice: true))
                slotIndex += 1
                start += UInt64(1) << bits
            }
        }
        info.untyped = SlotRegion(start: untypedStart, end: slotIndex)
        info.empty = SlotRegion(start: slotIndex, end: UInt64(1) << cnodeBits)
        info.ipcBuffer = config.ipcBufferAddress
        info.initThreadCNodeSizeBits = cnodeBits
        info.initThreadDomain = 0
        info.encode { offset, word in physmap.storeWord(bootInfoFrame + UInt64(offset), word) }

        // The root thread: its own slots are CDT children of the initial caps.
        let t = tcb(rootTCB)
        _ = createObject(.tcb, paddr: rootTCB, userSize: 0, isDevice: false)
        cteInsert(cnodeCap, src: rootSlot(InitialCap.initThreadCNode.rawValue), dest: t.slot(.cTable))
        cteInsert(pml4Cap, src: rootSlot(InitialCap.initThreadVSpace.rawValue), dest: t.slot(.vTable))
        let bufferSource = rootSlot(InitialCap.initThreadIPCBuffer.rawValue)
        // deriveCap of a frame cannot fail: it only drops the mapping.
        let bufferCap = (try? deriveCap(bufferSource, bufferSource.pointee.cap)) ?? .null
        cteInsert(bufferCap, src: bufferSource, dest: t.slot(.ipcBuffer))
        t.pointee.ipcBuffer = config.ipcBufferAddress
        t.pointee.priority = RootTask.priority
        t.pointee.mcp = RootTask.priority
        t.pointee[.rdi] = config.bootInfoAddress
        for (register, value) in zip([UserRegister.rsi, .rdx, .rcx, .r8, .r9], config.entryArguments) { t.pointee[register] = value }
        // The root's entry is a function called with BootInfo's address: it starts, exactly
        // as these registers say, with rsp as after a call (8 below a 16-byte boundary).
        t.pointee[.rsp] = config.stackTop - 8
        t.pointee[.rip] = config.entry
        t.pointee.nextIP = config.entry
        t.setName("rootserver")
        setupReplyMaster(t)
        t.pointee.state = .running
        schedulerAction = .switchToThread(t)
        schedule()
        activateThread()
        return BootResult(rootThread: t, bootInfo: info, bootInfoFrame: bootInfoFrame)
    }
}
