// SPDX-License-Identifier: Apache-2.0
//
// A 16550 UART subset, as a PC has it at 0x3F8 (COM1): the registers a polled or
// interrupt-driven driver touches, with the same bits, so a driver written against it
// drives the real chip. Transmission is instantaneous (the transmit holding register is
// always empty again after a write); received bytes wait in a 16-byte FIFO (a byte that
// finds it full sets Overrun and is dropped, as the chip does), fed by a host side that
// honours RTS flow control. The interrupt output
// follows the chip's priority order and is gated by MCR.OUT2, as on every PC.
// Host-independent: the backend feeds `receive` and drains `takeTransmitted`.

/// The UART's register state.
public struct UART16550: Sendable {
    /// Register offsets from the base port.
    public enum Register: UInt16 {
        case data = 0              // RBR (read) / THR (write); DLL with DLAB
        case interruptEnable = 1   // IER; DLM with DLAB
        case interruptID = 2       // IIR (read) / FCR (write)
        case lineControl = 3       // LCR
        case modemControl = 4      // MCR
        case lineStatus = 5        // LSR
        case modemStatus = 6       // MSR
        case scratch = 7           // SCR
    }
    /// IER bits.
    public static let ierReceivedData: UInt8 = 0x01
    public static let ierTransmitEmpty: UInt8 = 0x02
    public static let ierLineStatus: UInt8 = 0x04
    /// LSR bits.
    public static let lsrDataReady: UInt8 = 0x01
    public static let lsrOverrun: UInt8 = 0x02
    public static let lsrTransmitEmpty: UInt8 = 0x20
    public static let lsrTransmitterIdle: UInt8 = 0x40
    /// LCR.DLAB selects the divisor latch at offsets 0 and 1.
    public static let lcrDLAB: UInt8 = 0x80
    /// MCR.OUT2 connects the interrupt output to the PIC on a PC.
    public static let mcrOut2: UInt8 = 0x08
    /// MCR.RTS: the driver is ready to receive (the host holds input until it is set).
    public static let mcrRTS: UInt8 = 0x02
    public static let mcrLoopback: UInt8 = 0x10
    /// The receive FIFO's depth.
    public static let fifoDepth = 16

    public private(set) var interruptEnable: UInt8 = 0
    public private(set) var lineControl: UInt8 = 0x03
    public private(set) var modemControl: UInt8 = 0
    public private(set) var scratch: UInt8 = 0
    public private(set) var divisor: UInt16 = 12   // 9600 baud, a BIOS's default
    public private(set) var fifoEnabled = false
    var receiveFIFO: [UInt8] = []
    var overrun = false
    /// Set when the transmitter became empty with its interrupt enabled; cleared by reading
    /// IIR while it is the reported cause, or by writing THR.
    var transmitInterrupt = false
    /// Bytes written to THR not yet taken by the backend.
    var transmitted: [UInt8] = []

    public init() {}

    /// True if the chip's interrupt output is asserted (and gated through OUT2).
    public var interruptAsserted: Bool {
        modemControl & Self.mcrOut2 != 0 && interruptCause != nil
    }

    /// Free room in the receive FIFO for a host that follows hardware flow control: none
    /// until the driver raises RTS (so input typed before the driver programmed the chip
    /// is not lost to its FIFO reset), then what the FIFO has free.
    public var receiveRoom: Int {
        modemControl & Self.mcrRTS == 0 ? 0 : Self.fifoDepth - receiveFIFO.count
    }

    /// A byte arrived from the host side.
    public mutating func receive(_ byte: UInt8) {
        if receiveFIFO.count >= Self.fifoDepth {
            overrun = true
        } else {
            receiveFIFO.append(byte)
        }
    }

    /// Bytes the guest transmitted since the last call.
    public mutating func takeTransmitted() -> [UInt8] {
        defer { transmitted.removeAll(keepingCapacity: true) }
        return transmitted
    }

    /// The highest-priority pending interrupt's IIR identification, if any.
    var interruptCause: UInt8? {
        if interruptEnable & Self.ierLineStatus != 0 && overrun { return 0x06 }
        if interruptEnable & Self.ierReceivedData != 0 && !receiveFIFO.isEmpty { return 0x04 }
        if interruptEnable & Self.ierTransmitEmpty != 0 && transmitInterrupt { return 0x02 }
        return nil
    }

    var dlab: Bool { lineControl & Self.lcrDLAB != 0 }

    /// A guest read of register `offset`.
    public mutating func read(_ offset: UInt16) -> UInt8 {
        switch Register(rawValue: offset & 7)! {
        case .data:
            if dlab { return UInt8(divisor & 0xFF) }
            return receiveFIFO.isEmpty ? 0 : receiveFIFO.removeFirst()
        case .interruptEnable:
            return dlab ? UInt8(divisor >> 8) : interruptEnable
        case .interruptID:
            let fifoBits: UInt8 = fifoEnabled ? 0xC0 : 0
            guard let cause = interruptCause else { return fifoBits | 0x01 }
            if cause == 0x02 { transmitInterrupt = false }
            return fifoBits | cause
        case .lineControl:
            return lineControl
        case .modemControl:
            return modemControl
        case .lineStatus:
            var lsr = Self.lsrTransmitEmpty | Self.lsrTransmitterIdle
            if !receiveFIFO.isEmpty { lsr |= Self.lsrDataReady }
            if overrun { lsr |= Self.lsrOverrun }
            overrun = false
            return lsr
        case .modemStatus:
            // CTS, DSR and DCD asserted: a terminal is always there. In loopback the
            // outputs feed back (RTS→CTS, DTR→DSR, OUT1→RI, OUT2→DCD).
            if modemControl & Self.mcrLoopback != 0 {
                let m = modemControl
                return (m & 0x02) << 3 | (m & 0x01) << 5 | (m & 0x04) << 4 | (m & 0x08) << 4
            }
            return 0xB0
        case .scratch:
            return scratch
        }
    }

    /// A guest write of `value` to register `offset`.
    public mutating func write(_ offset: UInt16, _ value: UInt8) {
        switch Register(rawValue: offset & 7)! {
        case .data:
            if dlab {
                divisor = divisor & 0xFF00 | UInt16(value)
                return
            }
            if modemControl & Self.mcrLoopback != 0 {
                receive(value)
            } else {
                transmitted.append(value)
            }
            // The byte is gone at once: the holding register is empty again.
            transmitInterrupt = interruptEnable & Self.ierTransmitEmpty != 0
        case .interruptEnable:
            if dlab {
                divisor = divisor & 0x00FF | UInt16(value) << 8
                return
            }
            let was = interruptEnable
            interruptEnable = value & 0x0F
            // Enabling the THRE interrupt with the register empty raises it at once.
            if was & Self.ierTransmitEmpty == 0 && interruptEnable & Self.ierTransmitEmpty != 0 {
                transmitInterrupt = true
            }
            if interruptEnable & Self.ierTransmitEmpty == 0 { transmitInterrupt = false }
        case .interruptID:
            fifoEnabled = value & 0x01 != 0
            if value & 0x02 != 0 { receiveFIFO.removeAll() }
        case .lineControl:
            lineControl = value
        case .modemControl:
            modemControl = value & 0x1F
        case .lineStatus, .modemStatus:
            break   // read-only on the chip (factory test writes ignored)
        case .scratch:
            scratch = value
        }
    }
}
