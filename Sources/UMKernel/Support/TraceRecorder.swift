// SPDX-License-Identifier: Apache-2.0
//
// What the kernel did, in the Chrome trace event format (JSON) that Perfetto and
// chrome://tracing open: one track per thread (its TCB), a slice for each stretch a
// thread ran, instants for its syscalls (name, cap, label, length), the errors the kernel
// answered, its faults and preemptions, interrupts on the kernel's own track, and an
// arrow from sender to receiver for every message (calls, replies, notifications of a
// fault). Time stamps are the machine's clock: virtual time in a virtual-time run, host
// time in real time. The text is handed to the machine in pieces as it grows (the
// kernel's `traceFlush`), so memory stays bounded; past the size limit events are
// dropped and the trace says so.

import UMKABI

/// The trace of a run being written.
public struct TraceRecorder: Sendable {
    /// True while events are recorded (the kernel's hooks test only this).
    public private(set) var enabled = false
    /// Text not handed out yet.
    var pending: [UInt8] = []
    /// Bytes written so far, and the most there may be.
    var written = 0
    var limit = Int.max
    public private(set) var truncated = false
    var first = true
    /// The thread running since `runStart`, 0 for none.
    var running: UInt64 = 0
    var runStart: UInt64 = 0
    /// Threads seen, for their track names at the end.
    var threads: Set<UInt64> = []
    var nextFlow: UInt64 = 1
    /// True while the kernel delivers an interrupt (its signals are the kernel's).
    var inInterrupt = false

    /// Who sends a signal now: the kernel while it delivers an interrupt, else `current`.
    func signalSource(_ current: UInt64) -> UInt64 { inInterrupt ? Self.kernelTrack : current }

    public init() {}

    /// Starts recording; at most `limitBytes` of events.
    public mutating func start(limitBytes: Int = .max) {
        enabled = true
        limit = limitBytes
        append("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n")
    }

    /// The kernel's track (interrupts).
    static let kernelTrack: UInt64 = 0

    static func microseconds(_ ns: UInt64) -> String {
        let frac = ns % 1000
        return "\(ns / 1000)." + (frac < 10 ? "00" : frac < 100 ? "0" : "") + "\(frac)"
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case _ where ch.value < 0x20: out += "\\u00" + (ch.value < 16 ? "0" : "") + String(ch.value, radix: 16)
            default: out.unicodeScalars.append(ch)
            }
        }
        return out + "\""
    }

    mutating func append(_ text: String) {
        pending.append(contentsOf: text.utf8)
    }

    /// One event object (its fields, without braces).
    mutating func event(_ fields: String) {
        guard !truncated else { return }
        let text = (first ? "" : ",\n") + "{" + fields + "}"
        if written + pending.count + text.utf8.count > limit {
            truncated = true
            return
        }
        first = false
        append(text)
    }

    /// `thread` runs from `time` on (the one before it stops).
    public mutating func run(_ thread: UInt64, at time: UInt64) {
        guard thread != running else { return }
        endRun(at: time)
        running = thread
        runStart = time
        if thread != 0 { threads.insert(thread) }
    }

    mutating func endRun(at time: UInt64) {
        guard running != 0 else { return }
        event("\"name\":\"running\",\"ph\":\"X\",\"pid\":1,\"tid\":\(running),\"ts\":\(Self.microseconds(runStart)),"
              + "\"dur\":\(Self.microseconds(time &- runStart))")
        running = 0
    }

    /// A moment on `thread`'s track, with arguments.
    public mutating func instant(_ thread: UInt64, at time: UInt64, _ name: String, _ args: [(String, String)] = []) {
        threads.insert(thread)
        let a = args.map { "\(Self.quote($0.0)):\(Self.quote($0.1))" }.joined(separator: ",")
        event("\"name\":\(Self.quote(name)),\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":\(thread),\"ts\":\(Self.microseconds(time)),"
              + "\"args\":{\(a)}")
    }

    /// A message from `sender` to `receiver`: a slice on each track and the arrow between.
    public mutating func message(_ kind: String, from sender: UInt64, to receiver: UInt64, at time: UInt64, badge: UInt64) {
        threads.insert(sender)
        threads.insert(receiver)
        let id = nextFlow
        nextFlow += 1
        let ts = Self.microseconds(time)
        event("\"name\":\(Self.quote(kind)),\"ph\":\"X\",\"pid\":1,\"tid\":\(sender),\"ts\":\(ts),\"dur\":0,"
              + "\"args\":{\"badge\":\"\(hex(badge))\"}")
        event("\"name\":\(Self.quote(kind)),\"ph\":\"s\",\"id\":\(id),\"cat\":\"ipc\",\"pid\":1,\"tid\":\(sender),\"ts\":\(ts)")
        event("\"name\":\(Self.quote(kind + " received")),\"ph\":\"X\",\"pid\":1,\"tid\":\(receiver),\"ts\":\(ts),\"dur\":0,"
              + "\"args\":{\"badge\":\"\(hex(badge))\"}")
        event("\"name\":\(Self.quote(kind)),\"ph\":\"f\",\"bp\":\"e\",\"id\":\(id),\"cat\":\"ipc\",\"pid\":1,\"tid\":\(receiver),\"ts\":\(ts)")
    }

    /// Closes the trace at `time`: the last slice, every track's name (`name` of a thread).
    public mutating func finish(at time: UInt64, name: (UInt64) -> String) {
        guard enabled else { return }
        endRun(at: time)
        let wasTruncated = truncated
        truncated = false
        limit = .max
        if wasTruncated {
            instant(Self.kernelTrack, at: time, "trace truncated: the size limit was reached; later events are not here")
        }
        event("\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{\"name\":\"umk\"}")
        event("\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"name\":\"kernel\"}")
        for t in threads.sorted() where t != Self.kernelTrack {
            event("\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":\(t),\"args\":{\"name\":\(Self.quote(name(t)))}")
        }
        append("\n]}\n")
        enabled = false
        truncated = wasTruncated
    }

    /// The text recorded since the last call.
    public mutating func take() -> [UInt8] {
        let out = pending
        written += out.count
        pending.removeAll(keepingCapacity: true)
        return out
    }
}
