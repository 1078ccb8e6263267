// SPDX-License-Identifier: Apache-2.0
//
// The console driver: the only task that touches COM1's ports. It programs the 16550
// (8N1, FIFOs, received-data interrupt, OUT2), takes IRQ 4 through a notification bound to
// its TCB, drains the receive FIFO into lines, acks the IRQ, and serves clients over IPC:
// Write (bytes out through THR, waiting for THRE before each FIFO-sized burst) and
// ReadLine (the next complete line; a reader that has to wait is kept as a saved reply
// cap and answered when the line arrives — several may wait, in order).

import UMKGuest

/// The console driver's protocol and its CSpace layout.
public enum ConsoleDriver {
    /// Request labels.
    public enum Request: UInt64 {
        /// MR0 = byte count, MR1... = bytes (8 per word). Reply: MR0 = bytes written.
        case write = 1
        /// Reply: MR0 = byte count, MR1... = the line without its newline.
        case readLine = 2
    }

    /// Slots in the driver's own CSpace: the common ones (DriverSlot), then reply caps.
    public enum Slot {
        public static let endpoint = DriverSlot.endpoint
        public static let ioPort = DriverSlot.ioPort
        public static let irqHandler = DriverSlot.irqHandler
        public static let cnode = DriverSlot.cnode
        public static let firstReply: CPtr = 8
        public static let replyCount: UInt64 = 32
    }

    /// The badge of the IRQ notification (bound to the driver's TCB); client badges must
    /// not have this bit.
    public static let irqBadge: UInt64 = 1 << 62
    /// The longest line one reply carries (longer input is split).
    public static let maxLine = (MessageLimits.maxLength - 1) * 8

    static let base: UInt16 = 0x3F8

    /// The driver's entry: arg0 = its CNode's radix.
    public static let main: ThreadEntry = { radix, _ in
        var driver = State(slots: DriverSlots(cnodeRadix: radix))
        driver.initialiseUART()
        driver.serve()
    }

    /// The `console` program of a manifest: its server channel, port and IRQ grants come from
    /// its start info.
    public static let program: Program = { info in
        guard let slots = DriverSlots(startInfo: info) else {
            debugPrint("\(info.name): the console program needs a server channel, ports 0x3F8-0x3FF and IRQ 4\n")
            return 1
        }
        var driver = State(slots: slots)
        driver.initialiseUART()
        driver.serve()
        return 0
    }

    struct State {
        let slots: DriverSlots
        var cnodeRadix: UInt64 { slots.cnodeRadix }
        var lines: [[UInt8]] = []
        var partial: [UInt8] = []
        /// The last byte ended a line with CR: a following LF belongs to the same end.
        var afterCR = false
        var readers: [CPtr] = []
        var freeReplySlots: [CPtr] = []
        /// Interrupts taken and acknowledged (reported by tests through the debug console).
        var interrupts = 0

        init(slots: DriverSlots) {
            self.slots = slots
            freeReplySlots = (0..<Slot.replyCount).map { slots.firstReply + $0 }.reversed()
        }

        func out(_ offset: UInt16, _ value: UInt8) {
            _ = IOPort.out8(slots.ioPort, port: base + offset, value)
        }
        func inb(_ offset: UInt16) -> UInt8 {
            (try? IOPort.in8(slots.ioPort, port: base + offset).get()) ?? 0
        }

        func initialiseUART() {
            out(1, 0x00)            // no interrupts while programming
            out(3, 0x80)            // DLAB: divisor 1 = 115200 baud
            out(0, 0x01)
            out(1, 0x00)
            out(3, 0x03)            // 8N1
            out(2, 0x07)            // FIFOs on, both cleared
            out(4, 0x0B)            // DTR, RTS, OUT2 (the PC's IRQ gate)
            out(1, 0x01)            // received-data interrupt
        }

        mutating func serve() {
            var (msg, badge) = seL4.recv(slots.endpoint)
            while true {
                if badge & irqBadge != 0 {
                    handleInterrupt()
                    (msg, badge) = seL4.recv(slots.endpoint)
                    continue
                }
                switch Request(rawValue: msg.label) {
                case .write:
                    let count = min(Int(IPCBuffer.getMR(0)), (Int(msg.length) - 1) * 8)
                    let bytes = count > 0 ? IPCBuffer.getBytes(count, from: 1) : []
                    transmit(bytes)
                    IPCBuffer.setMR(0, UInt64(bytes.count))
                    (msg, badge) = seL4.replyRecv(slots.endpoint, MessageInfo(label: 0, length: 1))
                case .readLine:
                    if !lines.isEmpty {
                        let info = putLine(lines.removeFirst())
                        (msg, badge) = seL4.replyRecv(slots.endpoint, info)
                    } else if let slot = freeReplySlots.popLast() {
                        if CNode.saveCaller(slots.cnode, index: slot, depth: cnodeRadix) == .noError {
                            readers.append(slot)
                            (msg, badge) = seL4.recv(slots.endpoint)
                        } else {
                            freeReplySlots.append(slot)
                            (msg, badge) = seL4.replyRecv(slots.endpoint, MessageInfo(label: KernelError.illegalOperation.rawValue, length: 0))
                        }
                    } else {
                        // Too many readers waiting: say so rather than keep the caller forever.
                        (msg, badge) = seL4.replyRecv(slots.endpoint, MessageInfo(label: KernelError.notEnoughMemory.rawValue, length: 0))
                    }
                case nil:
                    (msg, badge) = seL4.replyRecv(slots.endpoint, MessageInfo(label: KernelError.illegalOperation.rawValue, length: 0))
                }
            }
        }

        func transmit(_ bytes: [UInt8]) {
            var i = 0
            while i < bytes.count {
                // THRE: the transmit FIFO is empty, room for 16 bytes.
                while inb(5) & 0x20 == 0 {}
                for b in bytes[i..<min(i + 16, bytes.count)] { out(0, b) }
                i += 16
            }
        }

        func putLine(_ line: [UInt8]) -> MessageInfo {
            IPCBuffer.setMR(0, UInt64(line.count))
            let words = IPCBuffer.setBytes(line, from: 1)
            return MessageInfo(label: 0, length: UInt64(1 + words))
        }

        mutating func handleInterrupt() {
            interrupts += 1
            // Drain the FIFO: every byte while LSR.DR is set.
            while inb(5) & 0x01 != 0 {
                let b = inb(0)
                if b == UInt8(ascii: "\n") && afterCR {
                    afterCR = false          // the LF of a CR LF pair
                } else if b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r") {
                    lines.append(partial)
                    partial = []
                    afterCR = b == UInt8(ascii: "\r")
                } else {
                    afterCR = false
                    partial.append(b)
                    if partial.count == maxLine {
                        lines.append(partial)
                        partial = []
                    }
                }
            }
            _ = IRQHandler.ack(slots.irqHandler)
            while !lines.isEmpty, !readers.isEmpty {
                let slot = readers.removeFirst()
                seL4.send(slot, putLine(lines.removeFirst()))
                freeReplySlots.append(slot)
            }
        }
    }
}
