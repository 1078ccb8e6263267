// SPDX-License-Identifier: Apache-2.0

import Testing
import UMKABI
import UMKTestSupport
@testable import UMKernel

@Suite("Boot state")
struct BootStateTests {
    @Test("initial caps sit in seL4's slots")
    func initialSlots() {
        let h = KernelHarness()
        #expect(h.cap(InitialCap.initThreadTCB.rawValue).type == .thread)
        #expect(h.cap(InitialCap.initThreadCNode.rawValue).type == .cnode)
        #expect(h.cap(InitialCap.initThreadCNode.rawValue).cnodeRadix == 12)
        #expect(h.cap(InitialCap.initThreadCNode.rawValue).cnodeGuardSize == 52)
        #expect(h.cap(InitialCap.initThreadVSpace.rawValue).type == .pml4)
        #expect(h.cap(InitialCap.irqControl.rawValue).type == .irqControl)
        #expect(h.cap(InitialCap.asidControl.rawValue).type == .asidControl)
        #expect(h.cap(InitialCap.initThreadASIDPool.rawValue).type == .asidPool)
        #expect(h.cap(InitialCap.ioPortControl.rawValue).type == .ioPortControl)
        #expect(h.cap(InitialCap.ioSpace.rawValue).isNull)
        #expect(h.cap(InitialCap.bootInfoFrame.rawValue).type == .frame)
        #expect(h.cap(InitialCap.initThreadIPCBuffer.rawValue).type == .frame)
        #expect(h.cap(InitialCap.domain.rawValue).type == .domain)
        #expect(h.k.currentThread == h.root)
        #expect(h.root.pointee.priority == 255 && h.root.pointee.mcp == 255)
    }

    @Test("the root task starts as a function called with BootInfo's address: rdi, rip at the entry, rsp 8 below the stack top")
    func rootStartRegisters() {
        let h = KernelHarness()
        let config = BootConfig()
        #expect(h.root.pointee[.rdi] == config.bootInfoAddress)
        #expect(h.root.pointee[.rip] == config.entry && h.root.pointee.nextIP == config.entry)
        #expect(h.root.pointee[.rsp] == config.stackTop - 8)
        #expect(h.root.pointee.userEntry == .notStarted)
    }

    @Test("BootInfo lists the untypeds, covering free RAM in aligned power-of-two blocks")
    func bootInfoUntypeds() {
        let h = KernelHarness()
        let frame = h.boot.bootInfoFrame
        let info = BootInfo { h.k.physmap.loadWord(frame + UInt64($0)) }
        #expect(info == h.boot.bootInfo)
        #expect(info.initThreadCNodeSizeBits == 12)
        #expect(info.empty.end == 4096)
        #expect(info.untyped.count == UInt64(info.untypedList.count))
        var covered: UInt64 = 0
        for (i, d) in info.untypedList.enumerated() {
            #expect(d.paddr & ((1 << UInt64(d.sizeBits)) - 1) == 0)
            let cap = h.cap(info.untyped.start + UInt64(i))
            #expect(cap.type == .untyped && cap.paddr == d.paddr && cap.untypedSizeBits == UInt64(d.sizeBits))
            covered += 1 << UInt64(d.sizeBits)
        }
        #expect(covered > 15 << 20)
        #expect(info.untypedList.last.map { $0.paddr + (1 << UInt64($0.sizeBits)) } == h.k.physmap.size)
    }

    @Test("the root task's BootInfo, IPC buffer and stack are mapped; rdi holds BootInfo's address")
    func rootMappings() {
        let h = KernelHarness()
        let m = h.k.hal.mappings[1] ?? [:]
        #expect(m[0x40_0000]?.paddr == h.boot.bootInfoFrame)
        // The extra BootInfo page (umk's address-range chunk), then the IPC buffer.
        #expect(m[0x40_1000] != nil && m[0x40_2000] != nil)
        #expect(m[0x4F_F000] != nil)
        #expect(m[0x4F_0000 - 0x1000] == nil, "guard page below the stack")
        #expect(h.root.pointee[.rdi] == 0x40_0000)
        #expect(h.root.pointee.ipcBuffer == 0x40_2000)
    }

    @Test("BOOT0001 a root image: its pages at TaskLayout.imageBase with their segments' rights, relocated, in userImageFrames; the root starts at its entry with the machine's arguments")
    func rootImage() throws {
        let file = TinyELF().bytes
        let elf = try ELFImage(bytes: file)
        var config = BootConfig()
        config.rootImage = BootConfig.RootImage(file: file, elf: elf)
        config.entryArguments = [0x5151]
        let k = Kernel(hal: SimulatedHAL(ramSize: 16 << 20))
        let boot = k.boot(config)
        let base = TaskLayout.imageBase
        let m = k.hal.mappings[1] ?? [:]
        #expect(m[base]?.rights == .readOnly && m[base + 0x1000]?.rights == .readOnly)
        #expect(m[base + 0x2000]?.rights == .readWrite && m[base + 0x3000]?.rights == .readWrite, "bss page")
        // The text's ret, and the relocated word (bias + 0x1000).
        #expect(k.physmap.loadByte(m[base + 0x1000]!.paddr) == 0xC3)
        #expect(k.physmap.loadWord(m[base + 0x2000]!.paddr + UInt64(TinyELF.fixed - 0x2000)) == base + 0x1000)
        #expect(boot.rootThread.pointee[.rip] == base + 0x1000 && boot.rootThread.pointee[.rsi] == 0x5151)
        // Every image frame and the 16 stack pages are in userImageFrames; the image's new
        // tables (a page directory and a page table) in userImagePaging.
        let frames = boot.bootInfo.userImageFrames
        #expect(frames.count == 4 + config.stackPages)
        let cnode = boot.rootThread.slot(.cTable).pointee.cap.paddr
        func cap(_ i: UInt64) -> Capability { k.slot(cnode + i * 32).pointee.cap }
        let images = (frames.start..<frames.end).map(cap)
        #expect(images.contains { $0.type == .frame && $0.mappedAddress == base + 0x2000 })
        let paging = (boot.bootInfo.userImagePaging.start..<boot.bootInfo.userImagePaging.end).map(cap)
        #expect(paging.contains { $0.type == .pageDirectory && $0.mappedAddress == base })
        #expect(paging.contains { $0.type == .pageTable && $0.mappedAddress == base })
    }

    @Test("BOOT0002 SetTLSBase (seL4's CONFIG_SET_TLS_BASE_SELF syscall) sets the caller's TLS base")
    func setTLSBase() {
        let h = KernelHarness()
        h.syscall(.setTLSBase, cptr: 0x7000_1000)
        #expect(h.root.pointee[.fsBase] == 0x7000_1000)
        #expect(h.k.currentThread == h.root)
    }
}
