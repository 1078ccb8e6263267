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
        put("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n")
    }

    /// The kernel's track (interrupts).
    static let kernelTrack: UInt64 = 0

    // Writing: bytes straight into `pending` (a message costs several events; building
    // Strings for them cost microseconds).

    mutating func put(_ s: StaticString) {
        // SAFETY: the buffer is the static string's own bytes, read here only.
        s.withUTF8Buffer { unsafe pending.append(contentsOf: $0) }
    }

    mutating func put(_ v: UInt64) {
        if v >= 10 { put(v / 10) }
        pending.append(UInt8(ascii: "0") + UInt8(v % 10))
    }

    /// Nanoseconds as microseconds with three decimals.
    mutating func putMicroseconds(_ ns: UInt64) {
        put(ns / 1000)
        pending.append(UInt8(ascii: "."))
        let frac = ns % 1000
        if frac < 100 { pending.append(UInt8(ascii: "0")) }
        if frac < 10 { pending.append(UInt8(ascii: "0")) }
        put(frac)
    }

    mutating func putDigit(_ d: UInt8) {
        pending.append(d < 10 ? UInt8(ascii: "0") + d : UInt8(ascii: "a") + d - 10)
    }

    mutating func putHex(_ v: UInt64) {
        put("\"0x")
        var shift = 60
        while shift > 0 && (v >> UInt64(shift)) & 0xF == 0 { shift -= 4 }
        while shift >= 0 {
            putDigit(UInt8((v >> UInt64(shift)) & 0xF))
            shift -= 4
        }
        put("\"")
    }

    /// A JSON string.
    mutating func putQuoted(_ s: String) {
        pending.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): put("\\\"")
            case UInt8(ascii: "\\"): put("\\\\")
            case 0..<0x20:
                put("\\u00")
                putDigit(b >> 4)
                putDigit(b & 0xF)
            default: pending.append(b)
            }
        }
        pending.append(UInt8(ascii: "\""))
    }

    /// Starts an event object: where it starts, or nil if the size limit was reached.
    mutating func open() -> Int? {
        guard !truncated else { return nil }
        let mark = pending.count
        if !first { put(",\n") }
        pending.append(UInt8(ascii: "{"))
        return mark
    }

    /// Ends the event opened at `mark`; past the limit it is taken back and the trace stops.
    mutating func close(_ mark: Int) {
        pending.append(UInt8(ascii: "}"))
        if written + pending.count > limit {
            pending.removeSubrange(mark...)
            truncated = true
        } else {
            first = false
        }
    }

    /// `"ph":PH,"pid":1,"tid":T,"ts":TS` after an event's name.
    mutating func putPlace(_ phase: StaticString, _ thread: UInt64, _ time: UInt64) {
        put(",\"ph\":\""); put(phase); put("\",\"pid\":1,\"tid\":"); put(thread)
        put(",\"ts\":"); putMicroseconds(time)
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
        if let m = open() {
            put("\"name\":\"running\""); putPlace("X", running, runStart)
            put(",\"dur\":"); putMicroseconds(time &- runStart)
            close(m)
        }
        running = 0
    }

    /// A syscall on `thread`'s track: its name, cap, and for message-passing ones the
    /// message's label and length.
    public mutating func syscall(_ thread: UInt64, at time: UInt64, _ name: StaticString, cap: UInt64,
                                 message: (label: UInt64, length: UInt64)?) {
        threads.insert(thread)
        guard let m = open() else { return }
        put("\"name\":\""); put(name); put("\""); putPlace("i", thread, time)
        put(",\"s\":\"t\",\"args\":{\"cap\":"); putHex(cap)
        if let message {
            put(",\"label\":"); putHex(message.label); put(",\"length\":"); put(message.length)
        }
        put("}")
        close(m)
    }

    /// A moment on `thread`'s track, with arguments.
    public mutating func instant(_ thread: UInt64, at time: UInt64, _ name: String, _ args: [(String, String)] = []) {
        threads.insert(thread)
        guard let m = open() else { return }
        put("\"name\":"); putQuoted(name); putPlace("i", thread, time)
        put(",\"s\":\"t\",\"args\":{")
        for (i, (key, value)) in args.enumerated() {
            if i > 0 { put(",") }
            putQuoted(key); put(":"); putQuoted(value)
        }
        put("}")
        close(m)
    }

    /// A message from `sender` to `receiver`: a slice on each track and the arrow between.
    public mutating func message(_ kind: StaticString, from sender: UInt64, to receiver: UInt64, at time: UInt64, badge: UInt64) {
        threads.insert(sender)
        threads.insert(receiver)
        let id = nextFlow
        nextFlow += 1
        // A zero-length slice on each track for the arrow to bind to, then the arrow's
        // start (on the sender's) and end (on the receiver's).
        for receiving in [false, true] {
            guard let m = open() else { return }
            put("\"name\":\""); put(kind); if receiving { put(" received") }
            put("\""); putPlace("X", receiving ? receiver : sender, time)
            put(",\"dur\":0,\"args\":{\"badge\":"); putHex(badge); put("}")
            close(m)
            guard let f = open() else { return }
            put("\"name\":\""); put(kind); put("\""); putPlace(receiving ? "f" : "s", receiving ? receiver : sender, time)
            put(",\"id\":"); put(id); put(",\"cat\":\"ipc\"")
            if receiving { put(",\"bp\":\"e\"") }
            close(f)
        }
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
        if let m = open() {
            put("\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{\"name\":\"umk\"}")
            close(m)
        }
        for t in [Self.kernelTrack] + threads.sorted().filter({ $0 != Self.kernelTrack }) {
            guard let m = open() else { break }
            put("\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":"); put(t)
            put(",\"args\":{\"name\":"); putQuoted(t == Self.kernelTrack ? "kernel" : name(t)); put("}")
            close(m)
        }
        put("\n]}\n")
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
