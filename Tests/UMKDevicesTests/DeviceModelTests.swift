// SPDX-License-Identifier: Apache-2.0
//
// The device models on their own: the 16550's registers and interrupt causes, the 8254's
// counting and edges.

import Testing
@testable import UMKDevices

@Suite("16550 UART model")
struct UARTModelTests {
    @Test("DLAB switches offsets 0 and 1 to the divisor latch")
    func divisorLatch() {
        var u = UART16550()
        u.write(3, 0x80)
        u.write(0, 0x01)
        u.write(1, 0x00)
        #expect(u.divisor == 1)
        let (dll, dlm) = (u.read(0), u.read(1))
        #expect(dll == 1 && dlm == 0)
        u.write(3, 0x03)
        let ier = u.read(1)
        #expect(ier == 0)   // IER again
        let sent = u.takeTransmitted()
        #expect(sent.isEmpty)
    }

    @Test("THRE interrupt: raised when enabled, cleared by reading IIR, raised again by a write")
    func transmitEmptyInterrupt() {
        var u = UART16550()
        u.write(4, UART16550.mcrOut2)
        #expect(!u.interruptAsserted)
        u.write(1, UART16550.ierTransmitEmpty)
        #expect(u.interruptAsserted)
        let iir = u.read(2)
        #expect(iir & 0x0F == 0x02)
        #expect(!u.interruptAsserted)
        u.write(0, 0x41)
        #expect(u.interruptAsserted)
        let sent = u.takeTransmitted()
        #expect(sent == [0x41])
    }

    @Test("a full FIFO overruns: the byte is dropped, LSR.OE reported once, line status outranks data")
    func overrun() {
        var u = UART16550()
        for i in 0..<17 { u.receive(UInt8(i)) }
        u.write(4, UART16550.mcrOut2)
        u.write(1, UART16550.ierReceivedData | UART16550.ierLineStatus)
        let iir1 = u.read(2), lsr1 = u.read(5), lsr2 = u.read(5), iir2 = u.read(2)
        #expect(iir1 & 0x0F == 0x06)
        #expect(lsr1 & 0x03 == 0x03)
        #expect(lsr2 & 0x02 == 0)
        #expect(iir2 & 0x0F == 0x04)
        var got: [UInt8] = []
        while u.read(5) & 1 != 0 { got.append(u.read(0)) }
        #expect(got == Array(0..<16))
    }

    @Test("loopback: a transmitted byte is received, nothing reaches the host")
    func loopback() {
        var u = UART16550()
        u.write(4, UART16550.mcrLoopback)
        u.write(0, 0x5A)
        let sent = u.takeTransmitted(), received = u.read(0)
        #expect(sent.isEmpty)
        #expect(received == 0x5A)
    }
}

@Suite("8254 PIT model")
struct PITModelTests {
    @Test("mode 0 counts down through zero and wraps, with one edge at terminal count")
    func modeZeroWraps() {
        var p = PIT8254()
        p.write(0x43, 0x30, now: 0)
        p.write(0x40, 100, now: 0)
        p.write(0x40, 0, now: 0)
        let tc = PIT8254.nanoseconds(clocks: 100)
        #expect(p.nextDeadline == tc)
        let early = p.expire(now: tc - 1), atTC = p.expire(now: tc), later = p.expire(now: tc * 10)
        #expect(!early && atTC && !later)
        // 10 clocks past terminal count the counter reads 65526.
        let t = PIT8254.nanoseconds(clocks: 110)
        p.write(0x43, 0x00, now: t)
        let lo = UInt16(p.read(0x40, now: t + 5000)), hi = UInt16(p.read(0x40, now: t + 5000))
        #expect(lo | hi << 8 == 65526)
    }

    @Test("mode 2 has one edge per period; missed periods are one edge; a reload of 0 is 65536")
    func modeTwoPeriods() {
        var p = PIT8254()
        p.write(0x43, 0x34, now: 0)
        p.write(0x40, 0, now: 0)
        p.write(0x40, 0, now: 0)
        #expect(p.reload == 0x10000)
        let period = PIT8254.nanoseconds(clocks: 0x10000)
        let first = p.expire(now: period), again = p.expire(now: period + 1), missed = p.expire(now: period * 5 + 10)
        #expect(first && !again && missed)
        #expect(p.nextDeadline! > period * 5)
        // A new control word stops the channel until a count is written.
        p.write(0x43, 0x34, now: period * 6)
        #expect(p.nextDeadline == nil)
    }

    @Test("an unmodelled mode or channel raises nothing")
    func unmodelled() {
        var p = PIT8254()
        p.write(0x43, 0x36 | 0x08, now: 0)   // mode 5 (0b101 in bits 3..1 = 0x0A) is not modelled
        p.write(0x43, 0x3A, now: 0)
        p.write(0x40, 10, now: 0)
        p.write(0x40, 0, now: 0)
        #expect(p.nextDeadline == nil)
        p.write(0x43, 0x74, now: 0)   // channel 1
        #expect(p.mode == nil)
    }
}
