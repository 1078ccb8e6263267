// SPDX-License-Identifier: Apache-2.0

import Testing
import UMKABI

@Suite("MessageInfo")
struct MessageInfoTests {
    @Test("fields pack as seL4's bitfield: label 52 | capsUnwrapped 3 | extraCaps 2 | length 7")
    func packing() {
        let info = MessageInfo(label: 0xABCDE, capsUnwrapped: 5, extraCaps: 3, length: 120)
        #expect(info.word == 0xABCDE << 12 | 5 << 9 | 3 << 7 | 120)
        #expect(info.label == 0xABCDE && info.capsUnwrapped == 5 && info.extraCaps == 3 && info.length == 120)
    }

    @Test("each field is truncated to its width")
    func truncation() {
        let info = MessageInfo(label: ~0, capsUnwrapped: 9, extraCaps: 4, length: 200)
        #expect(info.label == (1 << 52) - 1)
        #expect(info.capsUnwrapped == 1 && info.extraCaps == 0 && info.length == 200 & 0x7F)
    }

    @Test("setters change one field only")
    func setters() {
        var info = MessageInfo(label: 1, capsUnwrapped: 2, extraCaps: 1, length: 4)
        info.length = 9
        info.label = 77
        info.extraCaps = 2
        info.capsUnwrapped = 7
        #expect(info == MessageInfo(label: 77, capsUnwrapped: 7, extraCaps: 2, length: 9))
    }
}

@Suite("ABI numbers")
struct ABINumberTests {
    @Test("syscall numbers count down from -1 as seL4's non-MCS syscall.xml")
    func syscalls() {
        let expected: [Syscall] = [.call, .replyRecv, .send, .nbSend, .recv, .reply, .yield, .nbRecv,
                                   .debugPutChar, .debugDumpScheduler, .debugHalt, .debugCapIdentify,
                                   .debugSnapshot, .debugNameThread]
        for (i, s) in expected.enumerated() { #expect(s.rawValue == -Int64(i + 1)) }
    }

    @Test("invocation labels follow seL4's x86_64 order without holes")
    func labels() {
        #expect(InvocationLabel.untypedRetype.rawValue == 1)
        #expect(InvocationLabel.tcbSetFlags.rawValue == 16)
        #expect(InvocationLabel.cnodeRevoke.rawValue == 17)
        #expect(InvocationLabel.cnodeSaveCaller.rawValue == 25)
        #expect(InvocationLabel.x86PDPTMap.rawValue == InvocationLabel.genericCount)
        #expect(InvocationLabel.x86PageMap.rawValue == 39)
        #expect(InvocationLabel.x86ASIDPoolAssign.rawValue == 43)
        // seL4's labels without holes, then umk's own far above them.
        let values = InvocationLabel.allCases.map(\.rawValue)
        #expect(values.filter { $0 < InvocationLabel.count } == Array(0..<InvocationLabel.count))
        #expect(values.filter { $0 >= InvocationLabel.count } == [InvocationLabel.umkVSpaceGetAddressRange.rawValue])
        #expect(InvocationLabel.umkVSpaceGetAddressRange.rawValue >> 16 == 0x554D)
    }

    @Test("error codes, object types, fault types and rights bits are seL4's")
    func constants() {
        #expect(KernelError.allCases.map(\.rawValue) == Array(0...10))
        #expect(ObjectType.allCases.map(\.rawValue) == Array(0..<ObjectType.count))
        #expect(ObjectType.pml4.rawValue == 6 && ObjectType.smallPage.rawValue == 8)
        #expect(FaultType.vmFault.rawValue == 5 && FaultType.capFault.rawValue == 1)
        #expect(CapRights.write.rawValue == 1 && CapRights.read.rawValue == 2)
        #expect(CapRights.grant.rawValue == 4 && CapRights.grantReply.rawValue == 8)
        #expect(InitialCap.initThreadIPCBuffer.rawValue == 10 && InitialCap.count == 16)
        #expect(IPCBufferLayout.receiveDepth == 127 && IPCBufferLayout.capsOrBadges == 122)
        #expect(FaultLayout.UnknownSyscall.length == 19 && FaultLayout.VMFault.length == 4)
    }

    @Test("lookup failures encode as seL4 puts them in messages")
    func lookupFailureWords() {
        let cases: [LookupFailure] = [.invalidRoot, .missingCapability(bitsLeft: 3),
                                      .depthMismatch(bitsLeft: 5, bitsFound: 9),
                                      .guardMismatch(bitsLeft: 64, guardFound: 0x12, guardSize: 8)]
        for c in cases { #expect(LookupFailure(words: c.words) == c) }
        #expect(LookupFailure.depthMismatch(bitsLeft: 5, bitsFound: 9).words == [3, 5, 9])
    }
}

@Suite("BootInfo")
struct BootInfoTests {
    @Test("encode and decode round-trip at seL4's offsets")
    func roundTrip() {
        var info = BootInfo()
        info.ipcBuffer = 0x40_1000
        info.empty = SlotRegion(start: 40, end: 4096)
        info.untyped = SlotRegion(start: 20, end: 23)
        info.untypedList = [UntypedDescriptor(paddr: 0x10_0000, sizeBits: 20, isDevice: false),
                            UntypedDescriptor(paddr: 0x20_0000, sizeBits: 21, isDevice: true),
                            UntypedDescriptor(paddr: 0x40_0000, sizeBits: 22, isDevice: false)]
        info.initThreadCNodeSizeBits = 12
        var bytes = [UInt64](repeating: 0, count: BootInfoLayout.size / 8)
        info.encode { bytes[$0 / 8] = $1 }
        #expect(bytes[BootInfoLayout.ipcBuffer / 8] == 0x40_1000)
        #expect(bytes[BootInfoLayout.untypedList / 8 + 2] == 0x20_0000)
        #expect(bytes[BootInfoLayout.untypedList / 8 + 3] == 21 | 1 << 8)
        #expect(BootInfo { bytes[$0 / 8] } == info)
    }
}
