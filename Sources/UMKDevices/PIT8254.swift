// SPDX-License-Identifier: Apache-2.0
//
// An 8254 PIT subset, as a PC has it at 0x40-0x43 with channel 0 on IRQ 0: the control
// word (channel 0; latch, lobyte, hibyte and lo/hi access; binary counting), mode 0
// (interrupt on terminal count: one edge, then the counter keeps counting down through
// 0xFFFF as the chip's does) and mode 2 (rate generator: one edge every `reload` input
// clocks). The input clock is the PC's 1.193182 MHz; a reload of 0 means 65536. Time comes
// from the backend (host monotonic or virtual nanoseconds), so the model is the same in
// both clock modes. Other channels, modes 1, 3, 4, 5 and BCD are not modelled: a control
// word that selects them stops channel 0, so no interrupt comes that a driver did not ask
// for.

/// Channel 0 of the PIT.
public struct PIT8254: Sendable {
    /// The chip's input clock in Hz.
    public static let frequency: UInt64 = 1_193_182
    public static let channel0Port: UInt16 = 0x40
    public static let controlPort: UInt16 = 0x43

    public enum Mode: UInt8, Sendable { case interruptOnTerminalCount = 0, rateGenerator = 2 }

    public private(set) var mode: Mode? = nil
    /// Access mode of the control word: 1 low byte, 2 high byte, 3 low then high.
    public private(set) var access: UInt8 = 3
    /// The reload value in input clocks (1...65536), once written.
    public private(set) var reload: UInt64 = 0x10000
    /// When counting began (nanoseconds), nil while the channel is stopped.
    public private(set) var loadTime: UInt64? = nil
    /// Interrupt edges produced since counting began.
    var edges: UInt64 = 0
    var lowByte: UInt8 = 0
    var writeHigh = false
    var readHigh = false
    var latched: UInt16? = nil

    public init() {}

    /// Nanoseconds after the load at which input clock `clocks` has elapsed (rounded up).
    public static func nanoseconds(clocks: UInt64) -> UInt64 {
        let (high, low) = clocks.multipliedFullWidth(by: 1_000_000_000)
        let (q, r) = frequency.dividingFullWidth((high, low))
        return r == 0 ? q : q + 1
    }

    /// Input clocks elapsed between `loadTime` and `now`.
    static func clocks(since start: UInt64, now: UInt64) -> UInt64 {
        guard now > start else { return 0 }
        let (high, low) = (now - start).multipliedFullWidth(by: frequency)
        return UInt64(1_000_000_000).dividingFullWidth((high, low)).quotient
    }

    /// When the next interrupt edge is due (nanoseconds), if one is.
    public var nextDeadline: UInt64? {
        guard let start = loadTime, let mode else { return nil }
        switch mode {
        case .interruptOnTerminalCount:
            return edges == 0 ? start + Self.nanoseconds(clocks: reload) : nil
        case .rateGenerator:
            return start + Self.nanoseconds(clocks: reload * (edges + 1))
        }
    }

    /// True if the output produced an interrupt edge by `now` (several missed periods are
    /// one edge, as the PIC's request latch holds one).
    public mutating func expire(now: UInt64) -> Bool {
        guard let deadline = nextDeadline, now >= deadline, let start = loadTime else { return false }
        switch mode {
        case .interruptOnTerminalCount:
            edges = 1
        case .rateGenerator:
            edges = Self.clocks(since: start, now: now) / reload
        case nil:
            return false
        }
        return true
    }

    /// The counting element's value at `now`.
    func count(now: UInt64) -> UInt16 {
        guard let start = loadTime, let mode else { return UInt16(truncatingIfNeeded: reload) }
        let elapsed = Self.clocks(since: start, now: now)
        switch mode {
        case .interruptOnTerminalCount:
            return UInt16(truncatingIfNeeded: reload &- elapsed)
        case .rateGenerator:
            return UInt16(truncatingIfNeeded: reload - elapsed % reload)
        }
    }

    /// A guest read of `port` at `now`.
    public mutating func read(_ port: UInt16, now: UInt64) -> UInt8 {
        guard port == Self.channel0Port else { return 0xFF }
        let value = latched ?? count(now: now)
        switch access {
        case 1:
            latched = nil
            return UInt8(value & 0xFF)
        case 2:
            latched = nil
            return UInt8(value >> 8)
        default:
            if readHigh {
                readHigh = false
                latched = nil
                return UInt8(value >> 8)
            }
            readHigh = true
            if latched == nil { latched = value }   // the high byte pairs with this low byte
            return UInt8(value & 0xFF)
        }
    }

    /// A guest write of `value` to `port` at `now`.
    public mutating func write(_ port: UInt16, _ value: UInt8, now: UInt64) {
        switch port {
        case Self.controlPort:
            let channel = value >> 6, rw = (value >> 4) & 3, m = (value >> 1) & 7
            guard channel == 0 else { return }   // channels 1, 2 and read-back: not modelled
            if rw == 0 {
                if latched == nil { latched = count(now: now) }
                return
            }
            access = rw
            writeHigh = false
            readHigh = false
            latched = nil
            loadTime = nil
            edges = 0
            mode = switch m {
            case 0: .interruptOnTerminalCount
            case 2, 6: .rateGenerator
            default: nil
            }
        case Self.channel0Port:
            switch access {
            case 1:
                load(UInt64(value), now: now)
            case 2:
                load(UInt64(value) << 8, now: now)
            default:
                if writeHigh {
                    writeHigh = false
                    load(UInt64(lowByte) | UInt64(value) << 8, now: now)
                } else {
                    lowByte = value
                    writeHigh = true
                    // Mode 0 stops counting when the first byte of a new count arrives.
                    if mode == .interruptOnTerminalCount { loadTime = nil }
                }
            }
        default:
            break
        }
    }

    mutating func load(_ count: UInt64, now: UInt64) {
        reload = count == 0 ? 0x10000 : count
        guard mode != nil else { return }
        loadTime = now
        edges = 0
    }
}
