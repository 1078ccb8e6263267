// SPDX-License-Identifier: Apache-2.0
//
// Host input of a virtual-time run, recorded so the run can be replayed exactly: each
// event is stamped with the kernel's look for host work at which it was taken (the kernel
// looks on every way out to a guest, a deterministic count), and whether it came
// while the system was idle (before time jumped to the next deadline) or on the way out
// of that entry. A replay delivers the same events at the same points and never reads the
// host. One event per line:
//   <stamp> [idle] input <hex bytes>
//   <stamp> [idle] irq <line>

/// One recorded host event.
public struct RecordedInput: Equatable, Sendable {
    public enum Event: Equatable, Sendable {
        case input([UInt8])
        case irq(UInt64)
    }
    public var entry: UInt64
    /// Taken while no thread could run, before time moved on.
    public var idle: Bool
    public var event: Event

    public init(entry: UInt64, idle: Bool = false, event: Event) {
        self.entry = entry
        self.idle = idle
        self.event = event
    }

    /// The event's line in a recording.
    public var line: String {
        let stamp = idle ? "\(entry) idle" : "\(entry)"
        return switch event {
        case .input(let bytes):
            "\(stamp) input " + bytes.map { b in
                let s = String(b, radix: 16)
                return b < 16 ? "0" + s : s
            }.joined()
        case .irq(let irq):
            "\(stamp) irq \(irq)"
        }
    }

    /// Parses a recording; throws the first bad line's number.
    public static func parse(_ text: String) throws(RecordingError) -> [RecordedInput] {
        var events: [RecordedInput] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingPrefix(while: { $0 == " " })
            if line.isEmpty || line.hasPrefix("#") { continue }
            var parts = line.split(separator: " ")
            let idle = parts.count == 4 && parts[1] == "idle"
            if idle { parts.remove(at: 1) }
            guard parts.count == 3, let entry = UInt64(parts[0]) else { throw RecordingError(line: i + 1) }
            switch parts[1] {
            case "input":
                let hex = Array(parts[2].utf8)
                guard hex.count % 2 == 0 else { throw RecordingError(line: i + 1) }
                var bytes: [UInt8] = []
                for j in stride(from: 0, to: hex.count, by: 2) {
                    guard let b = UInt8(String(decoding: hex[j..<j + 2], as: UTF8.self), radix: 16) else {
                        throw RecordingError(line: i + 1)
                    }
                    bytes.append(b)
                }
                events.append(RecordedInput(entry: entry, idle: idle, event: .input(bytes)))
            case "irq":
                guard let irq = UInt64(parts[2]), irq < 64 else { throw RecordingError(line: i + 1) }
                events.append(RecordedInput(entry: entry, idle: idle, event: .irq(irq)))
            default:
                throw RecordingError(line: i + 1)
            }
        }
        return events
    }
}

/// A recording that does not parse.
public struct RecordingError: Error, CustomStringConvertible {
    public var line: Int
    public var description: String { "line \(line): not a recorded event" }
}
