// SPDX-License-Identifier: Apache-2.0
//
// Building a separate task from the root task: its own CNode (radix 8, guard 56, so a
// CPtr is a slot number) and its own VSpace with an ASID, page tables and an IPC buffer.

import Testing
import UMKABI
@testable import UMKernel

/// A task the root built: TCB, CNode and VSpace caps in the root's CSpace.
struct TestTask {
    var tcbSlot: UInt64
    var cnodeSlot: UInt64
    var vspaceSlot: UInt64
    var tcb: TCBRef
    /// The IPC buffer's virtual address in the task's VSpace.
    var bufferVaddr: UInt64
}

extension KernelHarness {
    static let taskRadix: UInt64 = 8
    static let taskBuffer: UInt64 = 0x1000_0000

    /// A new task with its own CSpace and VSpace; `faultEP` is a CPtr in the task's CSpace.
    func makeTask(priority: UInt64, faultEP: UInt64 = 0, name: String,
                  _ sourceLocation: SourceLocation = #_sourceLocation) -> TestTask {
        let cnode = retype(.cnode, sizeBits: Self.taskRadix)[0]
        let pml4 = retype(.pml4)[0]
        let rootCNode = InitialCap.initThreadCNode.rawValue
        #expect(error(InitialCap.initThreadASIDPool.rawValue, .x86ASIDPoolAssign, caps: [pml4]) == .noError,
                sourceLocation: sourceLocation)
        let pdpt = retype(.pdpt)[0], pd = retype(.pageDirectory)[0], pt = retype(.pageTable)[0]
        #expect(error(pdpt, .x86PDPTMap, [Self.taskBuffer, 0], caps: [pml4]) == .noError, sourceLocation: sourceLocation)
        #expect(error(pd, .x86PageDirectoryMap, [Self.taskBuffer, 0], caps: [pml4]) == .noError, sourceLocation: sourceLocation)
        #expect(error(pt, .x86PageTableMap, [Self.taskBuffer, 0], caps: [pml4]) == .noError, sourceLocation: sourceLocation)
        let frame = retype(.smallPage)[0]
        #expect(error(frame, .x86PageMap, [Self.taskBuffer, CapRights.readWrite.rawValue, 0], caps: [pml4]) == .noError,
                sourceLocation: sourceLocation)
        let t = retype(.tcb)[0]
        let guardData: UInt64 = 64 - Self.taskRadix
        #expect(error(t, .tcbConfigure, [faultEP, guardData, 0, Self.taskBuffer], caps: [cnode, pml4, frame]) == .noError,
                sourceLocation: sourceLocation)
        #expect(error(t, .tcbSetSchedParams, [priority, priority], caps: [InitialCap.initThreadTCB.rawValue]) == .noError,
                sourceLocation: sourceLocation)
        _ = rootCNode
        let ref = tcbRef(t)
        ref.setName(name)
        return TestTask(tcbSlot: t, cnodeSlot: cnode, vspaceSlot: pml4, tcb: ref, bufferVaddr: Self.taskBuffer)
    }

    /// Mints the root's cap in `src` into slot `index` of `task`'s CNode.
    func give(_ task: TestTask, _ src: UInt64, at index: UInt64, rights: CapRights = .all, badge: UInt64 = 0,
              _ sourceLocation: SourceLocation = #_sourceLocation) {
        let e = error(task.cnodeSlot, .cnodeMint, [index, Self.taskRadix, src, 64, rights.rawValue, badge],
                      caps: [InitialCap.initThreadCNode.rawValue], sourceLocation)
        #expect(e == .noError, sourceLocation: sourceLocation)
    }

    /// The cap in slot `index` of `task`'s CNode.
    func taskCap(_ task: TestTask, _ index: UInt64) -> Capability {
        k.slot(cap(task.cnodeSlot).paddr + index * 32).pointee.cap
    }

    /// Sets where `t` receives a transferred cap (its IPC buffer words 125-127).
    func setReceiveSlot(_ t: TCBRef, cnode: UInt64, index: UInt64, depth: UInt64) {
        guard let b = bufferPaddr(t, receiver: true) else { return }
        k.physmap.storeWord(b + UInt64(IPCBufferLayout.receiveCNode) * 8, cnode)
        k.physmap.storeWord(b + UInt64(IPCBufferLayout.receiveIndex) * 8, index)
        k.physmap.storeWord(b + UInt64(IPCBufferLayout.receiveDepth) * 8, depth)
    }

    /// A copy of all of RAM (the kernel's whole state).
    func snapshot() -> [UInt8] {
        let size = Int(k.physmap.size)
        return Array(UnsafeRawBufferPointer(start: k.physmap.base, count: size))
    }

    /// Puts RAM back as a snapshot had it.
    func restore(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { k.physmap.base.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    }
}
