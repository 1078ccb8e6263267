// SPDX-License-Identifier: Apache-2.0
//
// Device memory as seL4 hands it out: device untypeds in BootInfo at the machine's non-RAM
// addresses, retyped into frames only, never a thread's IPC buffer.

import Testing
import UMKABI
@testable import UMKernel

@Suite("Device memory")
struct DeviceMemoryTests {
    /// Two device regions above 16 MiB of RAM: 64 KiB, and 12 KiB (8 + 4 in aligned blocks).
    static func harness() -> KernelHarness {
        var config = BootConfig()
        config.deviceRegions = [(paddr: 0xD000_0000, size: 0x3000), (paddr: 0xC000_0000, size: 0x1_0000)]
        return KernelHarness(config: config)
    }

    /// The slot of the device untyped at `paddr`.
    static func deviceUntyped(_ h: KernelHarness, _ paddr: UInt64) -> UInt64? {
        let info = h.boot.bootInfo
        return info.untypedList.firstIndex { $0.isDevice && $0.paddr == paddr }.map { info.untyped.start + UInt64($0) }
    }

    @Test("DEVICE0001 BootInfo lists each device region as device untypeds at its addresses, in aligned power-of-two blocks, after RAM's")
    func bootInfoLists() {
        let h = Self.harness()
        let devices = h.boot.bootInfo.untypedList.filter(\.isDevice)
        #expect(devices.map(\.paddr) == [0xC000_0000, 0xD000_0000, 0xD000_2000])
        #expect(devices.map(\.sizeBits) == [16, 13, 12])
        #expect(h.boot.bootInfo.untypedList.prefix { !$0.isDevice }.allSatisfy { $0.paddr < h.k.physmap.size })
        for d in devices {
            let cap = h.cap(Self.deviceUntyped(h, d.paddr)!)
            #expect(cap.type == .untyped && cap.untypedIsDevice && cap.paddr == d.paddr)
        }
    }

    @Test("DEVICE0002 a device untyped retypes into frames (device frames) and smaller device untypeds, into nothing else: InvalidArgument 1")
    func retypeRules() {
        let h = Self.harness()
        let untyped = Self.deviceUntyped(h, 0xC000_0000)!
        let cnode = InitialCap.initThreadCNode.rawValue
        for type in [ObjectType.endpoint, .notification, .tcb, .cnode, .pml4, .pageTable, .pageDirectory, .pdpt] {
            let slot = h.allocSlot()
            let r = h.invoke(untyped, .untypedRetype, [type.rawValue, type == .cnode ? 4 : 0, 0, 0, slot, 1], caps: [cnode])
            #expect(r.error == .invalidArgument && r.mrs == [1], "\(type): \(r)")
        }
        let frames = h.allocSlot()
        _ = h.allocSlot()
        #expect(h.error(untyped, .untypedRetype, [ObjectType.smallPage.rawValue, 0, 0, 0, frames, 2], caps: [cnode]) == .noError)
        #expect(h.cap(frames).type == .frame && h.cap(frames).frameIsDevice && h.cap(frames).paddr == 0xC000_0000)
        #expect(h.cap(frames + 1).paddr == 0xC000_1000)
        let smaller = h.allocSlot()
        #expect(h.error(untyped, .untypedRetype, [ObjectType.untyped.rawValue, 12, 0, 0, smaller, 1], caps: [cnode]) == .noError)
        #expect(h.cap(smaller).untypedIsDevice)
    }

    @Test("DEVICE0003 a device frame cannot be a thread's IPC buffer: TCB_SetIPCBuffer and TCB_Configure answer IllegalOperation")
    func notAnIPCBuffer() {
        let h = Self.harness()
        let untyped = Self.deviceUntyped(h, 0xC000_0000)!
        let cnode = InitialCap.initThreadCNode.rawValue
        let frame = h.allocSlot()
        #expect(h.error(untyped, .untypedRetype, [ObjectType.smallPage.rawValue, 0, 0, 0, frame, 1], caps: [cnode]) == .noError)
        let tcb = h.retype(.tcb)[0]
        #expect(h.error(tcb, .tcbSetIPCBuffer, [0x42_0000], caps: [frame]) == .illegalOperation)
        #expect(h.error(tcb, .tcbConfigure, [0, 0, 0, 0x42_0000],
                        caps: [cnode, InitialCap.initThreadVSpace.rawValue, frame]) == .illegalOperation)
        // A RAM frame is fine.
        let ram = h.retype(.smallPage)[0]
        #expect(h.error(tcb, .tcbSetIPCBuffer, [0x42_0000], caps: [ram]) == .noError)
    }
}
