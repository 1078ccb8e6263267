// SPDX-License-Identifier: Apache-2.0
//
// x86 I/O ports (seL4 ioport.c): IOPortControl_Issue hands out a cap for a port range no
// other cap holds; IOPort In/Out 8/16/32 reach the devices only inside the cap's range.
// Error codes and their order as seL4's decode functions check them.

import Testing
import UMKABI
import UMKDevices
@testable import UMKernel

private let rootCNode = KernelHarness.rootCNode
private let control = InitialCap.ioPortControl.rawValue

private func issue(_ h: KernelHarness, _ first: UInt64, _ last: UInt64, into dest: UInt64) -> Reply {
    h.invoke(control, .x86IOPortControlIssue, [first, last, dest, 64], caps: [rootCNode])
}

@Suite("I/O ports")
struct IOPortTests {
    @Test("Issue gives an IOPort cap for the range, a child of IOPortControl")
    func issueGivesCap() {
        let h = KernelHarness()
        let dest = h.allocSlot()
        #expect(issue(h, 0x3F8, 0x3FF, into: dest).error == .noError)
        #expect(h.cap(dest).type == .ioPort)
        #expect(h.cap(dest).ioPortFirst == 0x3F8 && h.cap(dest).ioPortLast == 0x3FF)
        h.check()
    }

    @Test("Issue: wrong label IllegalOperation; fewer than 4 args or no CNode cap TruncatedMessage")
    func issueDecodeErrors() {
        let h = KernelHarness()
        #expect(h.error(control, .x86IOPortIn8, [0x3F8, 0x3FF, h.allocSlot(), 64], caps: [rootCNode]) == .illegalOperation)
        #expect(h.error(control, .x86IOPortControlIssue, [0x3F8, 0x3FF, h.allocSlot()], caps: [rootCNode]) == .truncatedMessage)
        #expect(h.error(control, .x86IOPortControlIssue, [0x3F8, 0x3FF, h.allocSlot(), 64]) == .truncatedMessage)
    }

    @Test("Issue with last < first gives InvalidArgument(1), checked before the destination")
    func issueBackwards() {
        let h = KernelHarness()
        let r = issue(h, 0x40, 0x3F, into: InitialCap.initThreadTCB.rawValue)
        #expect(r.error == .invalidArgument)
        #expect(r.mrs == [1])
    }

    @Test("Issue of a range overlapping an issued one gives RevokeFirst, before the slot is looked at")
    func issueOverlap() {
        let h = KernelHarness()
        #expect(issue(h, 0x40, 0x43, into: h.allocSlot()).error == .noError)
        #expect(issue(h, 0x43, 0x50, into: InitialCap.initThreadTCB.rawValue).error == .revokeFirst)
        #expect(issue(h, 0x30, 0x40, into: h.allocSlot()).error == .revokeFirst)
        // A disjoint range is fine.
        #expect(issue(h, 0x44, 0x47, into: h.allocSlot()).error == .noError)
    }

    @Test("Issue into an occupied slot gives DeleteFirst; a bad destination gives FailedLookup")
    func issueDestination() {
        let h = KernelHarness()
        #expect(issue(h, 0x60, 0x64, into: InitialCap.initThreadTCB.rawValue).error == .deleteFirst)
        let r = h.invoke(control, .x86IOPortControlIssue, [0x60, 0x64, 5, 3], caps: [rootCNode])
        #expect(r.error == .failedLookup)
        // Neither attempt allocated the ports.
        #expect(issue(h, 0x60, 0x64, into: h.allocSlot()).error == .noError)
    }

    @Test("the ports are free again once the last cap to the range is deleted, not before")
    func deleteFreesRange() {
        let h = KernelHarness()
        let first = h.allocSlot()
        #expect(issue(h, 0x3F8, 0x3FF, into: first).error == .noError)
        let copy = h.allocSlot()
        #expect(h.error(rootCNode, .cnodeCopy, [copy, 64, first, 64, CapRights.all.rawValue], caps: [rootCNode]) == .noError)
        #expect(h.error(rootCNode, .cnodeDelete, [first, 64]) == .noError)
        #expect(issue(h, 0x3F8, 0x3F8, into: h.allocSlot()).error == .revokeFirst)
        #expect(h.error(rootCNode, .cnodeDelete, [copy, 64]) == .noError)
        #expect(issue(h, 0x3F8, 0x3F8, into: h.allocSlot()).error == .noError)
    }

    @Test("IOPortControl cannot be copied (its derived cap is null)")
    func controlNotCopyable() {
        let h = KernelHarness()
        let dest = h.allocSlot()
        let e = h.error(rootCNode, .cnodeCopy, [dest, 64, control, 64, CapRights.all.rawValue], caps: [rootCNode])
        #expect(e != .noError)
        #expect(h.cap(dest).isNull)
    }

    @Test("In/Out: no args TruncatedMessage; Out with one arg TruncatedMessage; other labels IllegalOperation")
    func portDecodeErrors() {
        let h = KernelHarness()
        let port = h.allocSlot()
        #expect(issue(h, 0x3F8, 0x3FF, into: port).error == .noError)
        #expect(h.error(port, .x86IOPortIn8) == .truncatedMessage)
        // The label is checked before the length, as seL4 does.
        #expect(h.error(port, .cnodeCopy) == .illegalOperation)
        #expect(h.error(port, .x86IOPortOut8, [0x3F8]) == .truncatedMessage)
        #expect(h.error(port, .cnodeCopy, [0x3F8]) == .illegalOperation)
        #expect(h.error(port, .x86IOPortControlIssue, [0x3F8, 0x3FF, 1, 64]) == .illegalOperation)
    }

    @Test("an access reaching outside the cap's range gives IllegalOperation, at either end and by width")
    func outsideRange() {
        let h = KernelHarness()
        let port = h.allocSlot()
        #expect(issue(h, 0x3F8, 0x3FF, into: port).error == .noError)
        #expect(h.error(port, .x86IOPortIn8, [0x3F7]) == .illegalOperation)
        #expect(h.error(port, .x86IOPortIn8, [0x400]) == .illegalOperation)
        #expect(h.error(port, .x86IOPortIn16, [0x3FF]) == .illegalOperation)
        #expect(h.error(port, .x86IOPortIn32, [0x3FD]) == .illegalOperation)
        #expect(h.error(port, .x86IOPortOut32, [0x3FD, 0]) == .illegalOperation)
        #expect(h.error(port, .x86IOPortIn32, [0x3FC]) == .noError)
        #expect(h.error(port, .x86IOPortOut8, [0x3FF, 0x55]) == .noError)
        // The port number is the low 16 bits of the argument.
        #expect(h.error(port, .x86IOPortIn8, [0x1_03F8]) == .noError)
    }

    @Test("In returns the device's value in MR0 (length 1, label 0); Out writes it")
    func inOutReachDevice() {
        let h = KernelHarness()
        let port = h.allocSlot()
        #expect(issue(h, 0x3F8, 0x3FF, into: port).error == .noError)
        // The scratch register keeps what is written.
        #expect(h.error(port, .x86IOPortOut8, [0x3FF, 0x1A5]) == .noError)
        let r = h.invoke(port, .x86IOPortIn8, [0x3FF])
        #expect(r.label == 0 && r.info.length == 1)
        #expect(r.mrs == [0xA5])
        // A byte to THR goes to the console.
        #expect(h.error(port, .x86IOPortOut8, [0x3F8, UInt64(UInt8(ascii: "k"))]) == .noError)
        #expect(h.k.hal.console == [UInt8(ascii: "k")])
        // A 16-bit read of LSR/MSR returns both bytes.
        let lsr = h.invoke(port, .x86IOPortIn16, [0x3FD]).mrs[0]
        #expect(lsr & 0xFF == 0x60)   // THRE | TEMT, no data
        #expect(lsr >> 8 == 0xB0)
        // A port nothing answers reads as all ones.
        let bus = h.allocSlot()
        #expect(issue(h, 0x80, 0x83, into: bus).error == .noError)
        #expect(h.invoke(bus, .x86IOPortIn32, [0x80]).mrs == [0xFFFF_FFFF])
    }
}

@Suite("Devices and IRQs")
struct DeviceIRQTests {
    /// A handler for `irq` bound to a fresh notification with `badge`; returns (handler, ntfn).
    func bind(_ h: KernelHarness, irq: UInt64, badge: UInt64) -> (UInt64, UInt64) {
        let handler = h.allocSlot()
        #expect(h.error(InitialCap.irqControl.rawValue, .irqIssueIRQHandler, [irq, handler, 64], caps: [rootCNode]) == .noError)
        let n = h.retype(.notification)[0]
        #expect(h.error(handler, .irqSetIRQHandler, caps: [h.mint(n, badge: badge)]) == .noError)
        return (handler, n)
    }

    @Test("UART receive: data ready raises IRQ 4 (with IER and OUT2); the line stays up until the FIFO is drained")
    func uartReceiveIRQ() {
        let h = KernelHarness()
        let (handler, n) = bind(h, irq: 4, badge: 0x10)
        let port = h.allocSlot()
        #expect(issue(h, 0x3F8, 0x3FF, into: port).error == .noError)
        let ntfn = h.k.notification(h.cap(n).paddr)
        // Input arrives with the interrupt disabled: nothing is signalled.
        h.k.hal.devices.uart.receive(UInt8(ascii: "a"))
        h.k.hal.devices.uart.receive(UInt8(ascii: "b"))
        h.k.deliverInterrupts()
        #expect(ntfn.pointee.state == .idle)
        // Enable the received-data interrupt: without OUT2 the line is still not connected.
        #expect(h.error(port, .x86IOPortOut8, [0x3F9, 0x01]) == .noError)
        #expect(ntfn.pointee.state == .idle)
        #expect(h.error(port, .x86IOPortOut8, [0x3FC, 0x08]) == .noError)
        #expect(ntfn.pointee.state == .active && ntfn.pointee.word == 0x10)
        #expect(h.k.isIRQMasked(4))
        // IIR names received data; LSR has DR.
        #expect(h.invoke(port, .x86IOPortIn8, [0x3FA]).mrs == [0x04])
        #expect(h.invoke(port, .x86IOPortIn8, [0x3F8]).mrs == [UInt64(UInt8(ascii: "a"))])
        h.syscall(.nbRecv, cptr: n)
        // Ack with a byte still in the FIFO: the level line interrupts again at once.
        #expect(h.error(handler, .irqAckIRQ) == .noError)
        #expect(ntfn.pointee.state == .active)
        #expect(h.invoke(port, .x86IOPortIn8, [0x3F8]).mrs == [UInt64(UInt8(ascii: "b"))])
        #expect(h.invoke(port, .x86IOPortIn8, [0x3FD]).mrs[0] & 1 == 0)
        h.syscall(.nbRecv, cptr: n)
        #expect(h.error(handler, .irqAckIRQ) == .noError)
        // Drained: no further interrupt.
        #expect(ntfn.pointee.state == .idle)
        #expect(h.invoke(port, .x86IOPortIn8, [0x3FA]).mrs == [0x01])
        h.check()
    }

    @Test("PIT mode 2 raises IRQ 0 every period; a masked edge waits for Ack; mode 0 fires once")
    func pitModes() {
        let h = KernelHarness()
        let (handler, n) = bind(h, irq: 0, badge: 0x1)
        let port = h.allocSlot()
        #expect(issue(h, 0x40, 0x43, into: port).error == .noError)
        let ntfn = h.k.notification(h.cap(n).paddr)
        // Mode 2, lo/hi, reload 1193 (about 1 ms).
        #expect(h.error(port, .x86IOPortOut8, [0x43, 0x34]) == .noError)
        #expect(h.error(port, .x86IOPortOut8, [0x40, 1193 & 0xFF]) == .noError)
        #expect(h.error(port, .x86IOPortOut8, [0x40, 1193 >> 8]) == .noError)
        #expect(h.k.hal.devices.pit.nextDeadline == PIT8254.nanoseconds(clocks: 1193))
        h.k.hal.now = 999_000
        h.k.deliverInterrupts()
        #expect(ntfn.pointee.state == .idle)
        h.k.hal.now = 1_000_000
        h.k.deliverInterrupts()
        #expect(ntfn.pointee.state == .active)
        h.syscall(.nbRecv, cptr: n)
        // Three periods later while masked: one edge waits, delivered by Ack.
        h.k.hal.now = 4_000_000
        h.k.deliverInterrupts()
        #expect(ntfn.pointee.state == .idle)
        #expect(h.error(handler, .irqAckIRQ) == .noError)
        #expect(ntfn.pointee.state == .active)
        h.syscall(.nbRecv, cptr: n)
        #expect(h.error(handler, .irqAckIRQ) == .noError)
        // Reading the count: latch command, then low and high byte.
        h.k.hal.now = 4_500_000
        #expect(h.error(port, .x86IOPortOut8, [0x43, 0x00]) == .noError)
        let lo = h.invoke(port, .x86IOPortIn8, [0x40]).mrs[0], hi = h.invoke(port, .x86IOPortIn8, [0x40]).mrs[0]
        let count = lo | hi << 8
        #expect(count > 0 && count <= 1193)
        // Mode 0 (one-shot): one edge at the terminal count, then none.
        #expect(h.error(port, .x86IOPortOut8, [0x43, 0x30]) == .noError)
        #expect(h.error(port, .x86IOPortOut8, [0x40, 0x00]) == .noError)
        #expect(h.error(port, .x86IOPortOut8, [0x40, 0x10]) == .noError)   // 4096 clocks ≈ 3.43 ms
        h.k.hal.now += 3_433_000
        h.k.deliverInterrupts()
        #expect(ntfn.pointee.state == .active)
        h.syscall(.nbRecv, cptr: n)
        #expect(h.error(handler, .irqAckIRQ) == .noError)
        h.k.hal.now += 100_000_000
        h.k.deliverInterrupts()
        #expect(ntfn.pointee.state == .idle)
        #expect(h.k.hal.devices.pit.nextDeadline == nil)
        h.check()
    }
}
