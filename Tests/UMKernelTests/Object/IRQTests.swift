// SPDX-License-Identifier: Apache-2.0
//
// IRQs (sel4-semantics.md §2.7): IRQControl_Get hands out one handler cap per legacy IRQ;
// a handler names a notification; an interrupt signals it with the cap's badge and masks
// the line until Ack; deleting the handler cap frees the IRQ.

import Testing
import UMKABI
@testable import UMKernel

private let rootCNode = KernelHarness.rootCNode
private let irqControl = InitialCap.irqControl.rawValue

private func getHandler(_ h: KernelHarness, _ irq: UInt64, into dest: UInt64) -> Reply {
    h.invoke(irqControl, .irqIssueIRQHandler, [irq, dest, 64], caps: [rootCNode])
}

@Suite("IRQs")
struct IRQTests {
    @Test("IRQControl_Get issues a handler cap for an IRQ in 0...15")
    func getIssuesHandler() {
        let h = KernelHarness()
        for irq: UInt64 in [0, 15] {
            let dest = h.allocSlot()
            #expect(getHandler(h, irq, into: dest).error == .noError)
            #expect(h.cap(dest).type == .irqHandler)
            #expect(h.cap(dest).irq == irq)
        }
    }

    @Test("IRQControl_Get with irq > 15 gives RangeError(0, 15)")
    func getRangeError() {
        let h = KernelHarness()
        let dest = h.allocSlot()
        let r = getHandler(h, 16, into: dest)
        #expect(r.error == .rangeError)
        #expect(r.mrs == [0, 15])
        #expect(h.cap(dest).isNull)
    }

    @Test("IRQControl_Get for an IRQ that already has a handler gives RevokeFirst")
    func getTwice() {
        let h = KernelHarness()
        #expect(getHandler(h, 4, into: h.allocSlot()).error == .noError)
        let dest = h.allocSlot()
        #expect(getHandler(h, 4, into: dest).error == .revokeFirst)
        #expect(h.cap(dest).isNull)
    }

    @Test("IRQControl_Get into an occupied slot gives DeleteFirst")
    func getDestOccupied() {
        let h = KernelHarness()
        #expect(getHandler(h, 6, into: InitialCap.initThreadTCB.rawValue).error == .deleteFirst)
        // The IRQ stays free.
        #expect(getHandler(h, 6, into: h.allocSlot()).error == .noError)
    }

    @Test("IRQHandler_SetNotification with a non-notification cap gives InvalidCapability(0)")
    func setHandlerNotNotification() {
        let h = KernelHarness()
        let handler = h.allocSlot()
        #expect(getHandler(h, 3, into: handler).error == .noError)
        let ep = h.retype(.endpoint)[0]
        let r = h.invoke(handler, .irqSetIRQHandler, caps: [ep])
        #expect(r.error == .invalidCapability)
        #expect(r.mrs.first == 0)
        // A notification cap without Write is refused the same way.
        let n = h.retype(.notification)[0]
        let readOnly = h.mint(n, rights: .read)
        let r2 = h.invoke(handler, .irqSetIRQHandler, caps: [readOnly])
        #expect(r2.error == .invalidCapability)
        #expect(r2.mrs.first == 0)
    }

    @Test("an interrupt signals the handler's notification with its badge and masks the line until Ack")
    func interruptSignalsAndMasks() {
        let h = KernelHarness()
        let handler = h.allocSlot()
        #expect(getHandler(h, 3, into: handler).error == .noError)
        let n = h.retype(.notification)[0]
        let badged = h.mint(n, badge: 0x8)
        #expect(h.error(handler, .irqSetIRQHandler, caps: [badged]) == .noError)
        let w = h.tcbRef(h.makeThread(priority: 100))
        h.run(w)
        h.syscall(.recv, cptr: n)
        #expect(w.pointee.state == .blockedOnNotification)
        #expect(!h.k.isIRQMasked(3))
        h.k.handleInterruptEntry(3)
        h.check()
        #expect(w.pointee.state == .running)
        #expect(h.reply(w).badge == 0x8)
        #expect(h.k.isIRQMasked(3))
        // While masked, another interrupt does not signal.
        h.k.handleInterruptEntry(3)
        h.check()
        #expect(h.k.notification(h.cap(n).paddr).pointee.state == .idle)
        // Ack unmasks.
        h.run(h.root)
        #expect(h.error(handler, .irqAckIRQ) == .noError)
    }

    @Test("Ack unmasks the line: the next interrupt signals again")
    func ackUnmasks() {
        let h = KernelHarness()
        let handler = h.allocSlot()
        #expect(getHandler(h, 5, into: handler).error == .noError)
        let n = h.retype(.notification)[0]
        let badged = h.mint(n, badge: 0x2)
        #expect(h.error(handler, .irqSetIRQHandler, caps: [badged]) == .noError)
        h.k.handleInterruptEntry(5)
        h.check()
        let ntfn = h.k.notification(h.cap(n).paddr)
        #expect(ntfn.pointee.state == .active)
        #expect(ntfn.pointee.word == 0x2)
        #expect(h.k.isIRQMasked(5))
        #expect(h.error(handler, .irqAckIRQ) == .noError)
        #expect(!h.k.isIRQMasked(5))
        // Poll to clear, then interrupt again.
        h.syscall(.nbRecv, cptr: n)
        #expect(h.reply(h.root).badge == 0x2)
        #expect(ntfn.pointee.state == .idle)
        h.k.handleInterruptEntry(5)
        h.check()
        #expect(ntfn.pointee.state == .active)
        #expect(ntfn.pointee.word == 0x2)
        #expect(h.k.isIRQMasked(5))
    }

    @Test("IRQHandler_Clear removes the notification: interrupts no longer signal it")
    func clearHandler() {
        let h = KernelHarness()
        let handler = h.allocSlot()
        #expect(getHandler(h, 7, into: handler).error == .noError)
        let n = h.retype(.notification)[0]
        #expect(h.error(handler, .irqSetIRQHandler, caps: [n]) == .noError)
        #expect(h.error(handler, .irqClearIRQHandler) == .noError)
        h.k.handleInterruptEntry(7)
        h.check()
        #expect(h.k.notification(h.cap(n).paddr).pointee.state == .idle)
    }

    @Test("deleting the handler cap frees the IRQ for a new Get")
    func deleteHandlerFreesIRQ() {
        let h = KernelHarness()
        let first = h.allocSlot()
        #expect(getHandler(h, 9, into: first).error == .noError)
        let n = h.retype(.notification)[0]
        #expect(h.error(first, .irqSetIRQHandler, caps: [n]) == .noError)
        #expect(getHandler(h, 9, into: h.allocSlot()).error == .revokeFirst)
        #expect(h.error(rootCNode, .cnodeDelete, [first, 64]) == .noError)
        #expect(h.cap(first).isNull)
        let second = h.allocSlot()
        #expect(getHandler(h, 9, into: second).error == .noError)
        #expect(h.cap(second).type == .irqHandler)
        // The old notification binding went with the old handler.
        h.k.handleInterruptEntry(9)
        h.check()
        #expect(h.k.notification(h.cap(n).paddr).pointee.state == .idle)
    }

    @Test("revoking IRQControl frees the IRQs it issued")
    func revokeIRQControlFreesIRQ() {
        let h = KernelHarness()
        #expect(getHandler(h, 10, into: h.allocSlot()).error == .noError)
        #expect(h.error(rootCNode, .cnodeRevoke, [irqControl, 64]) == .noError)
        #expect(getHandler(h, 10, into: h.allocSlot()).error == .noError)
    }
}

@Suite("IRQ masking")
struct IRQMaskingTests {
    @Test("a line is masked while it has no handler; issuing a handler unmasks it, deleting it masks it")
    func maskFollowsHandler() {
        let h = KernelHarness()
        let irqControl = InitialCap.irqControl.rawValue
        #expect(h.k.isIRQMasked(4))
        let handler = h.allocSlot()
        #expect(h.error(irqControl, .irqIssueIRQHandler, [4, handler, 64], caps: [KernelHarness.rootCNode]) == .noError)
        #expect(!h.k.isIRQMasked(4))
        #expect(h.error(KernelHarness.rootCNode, .cnodeDelete, [handler, 64]) == .noError)
        #expect(h.k.isIRQMasked(4))
    }

    @Test("an IRQ raised before its handler exists waits, and is delivered once a handler and notification are set")
    func raisedBeforeHandler() {
        let h = KernelHarness()
        h.k.handleInterruptEntry(5)
        let ntfn = h.retype(.notification)[0]
        let badged = h.mint(ntfn, badge: 0x20)
        let handler = h.allocSlot()
        #expect(h.error(InitialCap.irqControl.rawValue, .irqIssueIRQHandler, [5, handler, 64], caps: [KernelHarness.rootCNode]) == .noError)
        #expect(h.error(handler, .irqSetIRQHandler, caps: [badged]) == .noError)
        #expect(h.error(handler, .irqAckIRQ) == .noError)
        let n = h.k.notification(h.cap(ntfn).paddr).pointee
        #expect(n.state == .active && n.word == 0x20)
    }
}
