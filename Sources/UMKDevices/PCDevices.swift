// SPDX-License-Identifier: Apache-2.0
//
// The devices behind umk's I/O ports, with the PC's port and IRQ assignments: COM1 (a
// 16550 UART) at 0x3F8-0x3FF on IRQ 4, the PIT's channel 0 at 0x40-0x43 on IRQ 0. A port
// nothing answers reads as all ones and ignores writes, as an empty ISA bus does. Wider
// accesses are byte accesses to consecutive ports (how an 8-bit device sees them).
// Both backends own one and feed it time and host input.

/// The machine's port-mapped devices.
public struct PCDevices: Sendable {
    public static let uartBase: UInt16 = 0x3F8
    public static let uartIRQ: UInt64 = 4
    public static let pitIRQ: UInt64 = 0
    /// Host SIGUSR1/SIGUSR2 (or scripted events) raise these lines.
    public static let userSignalIRQs: (UInt64, UInt64) = (5, 6)

    public var uart = UART16550()
    public var pit = PIT8254()
    /// Edge-triggered lines raised and not yet taken by the kernel.
    public var latchedLines: UInt64 = 0

    public init() {}

    /// Reads `width` bytes (1, 2 or 4) starting at `port`, little-endian.
    public mutating func read(_ port: UInt16, width: Int, now: UInt64) -> UInt32 {
        var value: UInt32 = 0
        for i in 0..<width {
            let p = port &+ UInt16(i)
            value |= UInt32(readByte(p, now: now)) << (8 * i)
        }
        return value
    }

    /// Writes `width` bytes (1, 2 or 4) of `value` starting at `port`, little-endian.
    public mutating func write(_ port: UInt16, width: Int, value: UInt32, now: UInt64) {
        for i in 0..<width {
            writeByte(port &+ UInt16(i), UInt8(truncatingIfNeeded: value >> (8 * i)), now: now)
        }
    }

    mutating func readByte(_ port: UInt16, now: UInt64) -> UInt8 {
        switch port {
        case Self.uartBase...(Self.uartBase + 7): uart.read(port - Self.uartBase)
        case PIT8254.channel0Port...PIT8254.controlPort: pit.read(port, now: now)
        default: 0xFF
        }
    }

    mutating func writeByte(_ port: UInt16, _ value: UInt8, now: UInt64) {
        switch port {
        case Self.uartBase...(Self.uartBase + 7): uart.write(port - Self.uartBase, value)
        case PIT8254.channel0Port...PIT8254.controlPort: pit.write(port, value, now: now)
        default: break
        }
    }

    /// Latches the PIT's edge if it expired by `now`.
    public mutating func advance(to now: UInt64) {
        if pit.expire(now: now) { latchedLines |= 1 << Self.pitIRQ }
    }

    /// Lines asserted among `unmasked`: the UART's level and latched edges (which are
    /// consumed when taken; a masked line's edge waits).
    public mutating func takeInterrupts(unmasked: UInt64) -> UInt64 {
        var lines = latchedLines & unmasked
        latchedLines &= ~lines
        if uart.interruptAsserted && unmasked & (1 << Self.uartIRQ) != 0 { lines |= 1 << Self.uartIRQ }
        return lines
    }
}
