// SPDX-License-Identifier: Apache-2.0
//
// UMKGuest's invocation wrappers, each called from a real guest and checked by its effect,
// so argument order and encoding match the kernel's decoders.

import Testing
import UMKGuest
import UMKTestSupport
@testable import UMKernel

enum InvocationPrograms {
    static func expect(_ e: KernelError, _ what: String) {
        guestCheck(e == .noError, "\(what): \(e)")
    }

    static let root: ThreadEntry = { bootInfo, _ in
        let info = readBootInfo(at: bootInfo)
        var alloc = ObjectAllocator(bootInfo: info)
        let r = alloc.root
        let tcbCap = InitialCap.initThreadTCB.rawValue
        guard let ep = alloc.make(.endpoint), let ntfn = alloc.make(.notification), let a = alloc.slot(),
              let b = alloc.slot(), let c = alloc.slot() else { return guestCheck(false, "setup") }
        // CNode: copy with fewer rights, mint a badge, move, mutate (illegal on EPs), rotate.
        expect(CNode.copy(r, destIndex: a, destDepth: 64, srcRoot: r, srcIndex: ep, srcDepth: 64, rights: .read), "copy")
        expect(CNode.move(r, destIndex: b, destDepth: 64, srcRoot: r, srcIndex: a, srcDepth: 64), "move")
        guestCheck(seL4.debugCapIdentify(a) == 0 && seL4.debugCapIdentify(b) == 4, "move left the cap at b")
        guestCheck(CNode.mutate(r, destIndex: a, destDepth: 64, srcRoot: r, srcIndex: b, srcDepth: 64, badge: 1) == .illegalOperation,
                   "mutate of an endpoint cap")
        expect(CNode.mint(r, destIndex: c, destDepth: 64, srcRoot: r, srcIndex: ep, srcDepth: 64, rights: .all, badge: 9), "mint")
        guestCheck(CNode.rotate(r, destIndex: a, destDepth: 64, destBadge: 0, pivotRoot: r, pivotIndex: b, pivotDepth: 64,
                                pivotBadge: 0, srcRoot: r, srcIndex: c, srcDepth: 64) == .illegalOperation,
                   "rotate cannot re-badge endpoint caps")
        // Rotate CNode caps: pivot → dest, src → pivot.
        guard let x = alloc.make(.cnode, sizeBits: 1), let y = alloc.make(.untyped, sizeBits: 4), let d = alloc.slot() else {
            return guestCheck(false, "rotate setup")
        }
        expect(CNode.rotate(r, destIndex: d, destDepth: 64, destBadge: 0, pivotRoot: r, pivotIndex: x, pivotDepth: 64,
                            pivotBadge: 0, srcRoot: r, srcIndex: y, srcDepth: 64), "rotate")
        guestCheck(seL4.debugCapIdentify(d) == 10 && seL4.debugCapIdentify(x) == 2 && seL4.debugCapIdentify(y) == 0, "rotate moved")
        expect(CNode.cancelBadgedSends(r, index: c, depth: 64), "cancelBadgedSends")
        expect(CNode.revoke(r, index: ep, depth: 64), "revoke")
        guestCheck(seL4.debugCapIdentify(b) == 0 && seL4.debugCapIdentify(c) == 0, "revoke removed the copies")
        expect(CNode.delete(r, index: ep, depth: 64), "delete")
        expect(CNode.saveCaller(r, index: ep, depth: 64), "saveCaller with no caller")
        // Frames and tables: map where the root has no tables yet, read the address, unmap.
        let vspace = InitialCap.initThreadVSpace.rawValue
        guard case .success(let own) = VSpace.addressRange(vspace) else { return guestCheck(false, "address range") }
        guard let frame = alloc.make(.smallPage), alloc.map(frame, vspace: vspace, vaddr: own.lowerBound + 0x3000_0000,
                                                            rights: .readWrite) else {
            return guestCheck(false, "map a frame")
        }
        IPCBuffer.store(own.lowerBound + 0x3000_0010, 0xABCD)
        guard case .success(let paddr) = Page.getAddress(frame) else { return guestCheck(false, "getAddress") }
        debugPrint("frame at 0x\(String(paddr, radix: 16))\n")
        expect(Page.unmap(frame), "unmap")
        // TCBs: a thread that binds, reads its flags, has its TLS base and registers set.
        guard let t = alloc.make(.tcb), let t2 = alloc.make(.tcb) else { return guestCheck(false, "tcbs") }
        expect(TCB.setSpace(t, faultEP: 0, cspaceRoot: r, cspaceRootData: 0, vspaceRoot: InitialCap.initThreadVSpace.rawValue,
                            vspaceRootData: 0), "setSpace")
        expect(TCB.setIPCBuffer(t, buffer: 0, bufferFrame: frame), "setIPCBuffer")
        expect(TCB.setMCPriority(t, authority: tcbCap, mcp: 100), "setMCPriority")
        expect(TCB.setSchedParams(t, authority: tcbCap, mcp: 100, priority: 50), "setSchedParams")
        expect(TCB.bindNotification(t, notification: ntfn), "bind")
        expect(TCB.unbindNotification(t), "unbind")
        expect(TCB.setTLSBase(t, 0x1234), "setTLSBase")
        guestCheck(TCB.setFlags(t, clear: 0, set: 1) == .success(1), "setFlags")
        var regs = [UInt64](repeating: 0, count: UserRegister.count)
        regs[UserRegister.rbx.rawValue] = 77
        regs[UserRegister.fsBase.rawValue] = 0x5678
        expect(TCB.writeRegisters(t, resumeTarget: false, registers: regs), "writeRegisters")
        expect(TCB.copyRegisters(t2, source: t, suspendSource: false, resumeTarget: false, transferFrame: true,
                                 transferInteger: true), "copyRegisters")
        guard case .success(let copied) = TCB.readRegisters(t2, suspendSource: false) else { return guestCheck(false, "read") }
        guestCheck(copied[UserRegister.rbx.rawValue] == 77 && copied[UserRegister.fsBase.rawValue] == 0x5678, "copied registers")
        expect(TCB.suspend(t), "suspend")
        expect(DomainSet.set(InitialCap.domain.rawValue, domain: 0, thread: t), "domain set")
        // IRQs: a handler for line 5 signalling a notification.
        guard let handler = alloc.slot() else { return guestCheck(false, "slot") }
        expect(IRQControl.get(InitialCap.irqControl.rawValue, irq: 5, root: r, index: handler, depth: 64), "IRQControl get")
        expect(IRQHandler.setNotification(handler, notification: ntfn), "setNotification")
        expect(IRQHandler.ack(handler), "ack")
        expect(IRQHandler.clear(handler), "clear")
        // ASIDs: a second pool from a 4 KiB untyped.
        guard let u = alloc.make(.untyped, sizeBits: 12), let pool = alloc.slot() else { return guestCheck(false, "untyped") }
        expect(ASIDControl.makePool(InitialCap.asidControl.rawValue, untyped: u, root: r, index: pool, depth: 64), "makePool")
        guard let vs = alloc.make(.pml4) else { return guestCheck(false, "pml4") }
        expect(ASIDPool.assign(pool, vspace: vs), "assign")
        debugPrint("invocations ok\n")
        seL4.debugHalt()
    }
}

@Suite("UMKGuest invocations", .serialized)
struct InvocationsTests {
    @Test("GUEST0002 every invocation wrapper reaches its kernel method with seL4's argument order")
    func wrappers() throws {
        let (r, out) = try runSystem(InvocationPrograms.root)
        #expect(r.halted, "\(out)")
        #expect(!out.contains("FAIL"), "\(out)")
        #expect(out.contains("invocations ok"), "\(out)")
    }
}
