// SPDX-License-Identifier: Apache-2.0
//
// The timer server: the only task that touches the PIT. It keeps time from channel 0 in
// mode 0 (interrupt on terminal count), programmed for the nearest deadline (at most
// 0x7FFF input clocks, about 27 ms, ahead); reading the count back gives the time elapsed
// since programming, including how late the interrupt was taken, since the 8254 keeps
// counting down through zero (a count above the programmed one has wrapped). An interrupt
// whose count has not run out is a stale one (the channel was reprogrammed after it came)
// and is only acknowledged. Clients Call to sleep for a delay or until a deadline (the
// reply comes when it passes: many may wait at once, each as a saved reply cap in a queue
// ordered by deadline, then by arrival) or to read the time.

import UMKGuest

/// The timer server's protocol and its CSpace layout.
public enum TimerServer {
    /// Request labels; times are nanoseconds on the server's clock.
    public enum Request: UInt64 {
        /// MR0 = delay. Reply when it has passed: MR0 = the time then.
        case sleepFor = 1
        /// MR0 = deadline. Reply when it has passed: MR0 = the time then.
        case sleepUntil = 2
        /// Reply: MR0 = the time now.
        case now = 3
    }

    /// Slots in the server's own CSpace: the common ones (DriverSlot), then reply caps.
    public enum Slot {
        public static let endpoint = DriverSlot.endpoint
        public static let ioPort = DriverSlot.ioPort
        public static let irqHandler = DriverSlot.irqHandler
        public static let cnode = DriverSlot.cnode
        public static let firstReply: CPtr = 8
        public static let replyCount: UInt64 = 240
    }

    /// The badge of the IRQ notification bound to the server's TCB.
    public static let irqBadge: UInt64 = 1 << 62

    /// The server's entry: arg0 = its CNode's radix.
    public static let main: ThreadEntry = { radix, _ in
        var server = State(slots: DriverSlots(cnodeRadix: radix))
        server.reprogram(now: 0)
        server.serve()
    }

    /// The `timer` program of a manifest: its server channel, port and IRQ grants come from
    /// its start info.
    public static let program: Program = { info in
        guard let slots = DriverSlots(startInfo: info) else {
            debugPrint("\(info.name): the timer program needs a server channel, ports 0x40-0x43 and IRQ 0\n")
            return 1
        }
        var server = State(slots: slots)
        server.reprogram(now: 0)
        server.serve()
        return 0
    }

    struct Timer {
        var deadline: UInt64
        var sequence: UInt64
        var reply: CPtr
    }

    struct State {
        let slots: DriverSlots
        var cnodeRadix: UInt64 { slots.cnodeRadix }
        /// Server time when the PIT was last programmed, and the count it was given.
        var base: UInt64 = 0
        var programmed: UInt64 = 0
        /// The longest one-shot: half the counter, so a late reading is told from an early one.
        static let maxCount: UInt64 = 0x7FFF
        var queue: [Timer] = []
        var sequence: UInt64 = 0
        var freeReplySlots: [CPtr] = []

        init(slots: DriverSlots) {
            self.slots = slots
            freeReplySlots = (0..<Slot.replyCount).map { slots.firstReply + $0 }.reversed()
        }

        static func nanoseconds(_ clocks: UInt64) -> UInt64 { clocks * 1_000_000_000 / PIT8254Clock.frequency }
        static func clocks(_ ns: UInt64) -> UInt64 {
            let (high, low) = ns.multipliedFullWidth(by: PIT8254Clock.frequency)
            let (q, r) = UInt64(1_000_000_000).dividingFullWidth((high, low))
            return r == 0 ? q : q + 1
        }

        func out(_ port: UInt16, _ value: UInt8) { _ = IOPort.out8(slots.ioPort, port: port, value) }
        func inb(_ port: UInt16) -> UInt64 { UInt64((try? IOPort.in8(slots.ioPort, port: port).get()) ?? 0) }

        /// The clocks counted since programming (0...programmed + 0x8000).
        func elapsedClocks() -> UInt64 {
            guard programmed > 0 else { return 0 }
            out(0x43, 0x00)   // latch channel 0
            let count = inb(0x40) | inb(0x40) << 8
            if count == 0 { return programmed }
            return count > programmed ? programmed + (0x10000 - count) : programmed - count
        }

        /// The time now: the base plus the clocks counted since programming.
        func current() -> UInt64 { base + Self.nanoseconds(elapsedClocks()) }

        /// Programs a one-shot for the nearest deadline from `now`.
        mutating func reprogram(now: UInt64) {
            base = now
            let wait = queue.first.map { $0.deadline > now ? Self.clocks($0.deadline - now) : 1 } ?? Self.maxCount
            programmed = min(max(wait, 1), Self.maxCount)
            out(0x43, 0x30)   // channel 0, lo/hi, mode 0, binary
            out(0x40, UInt8(programmed & 0xFF))
            out(0x40, UInt8(programmed >> 8))
        }

        /// Answers every timer whose deadline has passed, in order.
        mutating func expire(now: UInt64) {
            while let first = queue.first, first.deadline <= now {
                queue.removeFirst()
                IPCBuffer.setMR(0, now)
                seL4.send(first.reply, MessageInfo(label: 0, length: 1))
                freeReplySlots.append(first.reply)
            }
        }

        mutating func serve() {
            var (msg, badge) = seL4.recv(slots.endpoint)
            while true {
                if badge & irqBadge != 0 {
                    let elapsed = elapsedClocks()
                    if elapsed >= programmed {
                        let now = base + Self.nanoseconds(elapsed)
                        expire(now: now)
                        reprogram(now: now)
                    }
                    _ = IRQHandler.ack(slots.irqHandler)
                    (msg, badge) = seL4.recv(slots.endpoint)
                    continue
                }
                // The argument first: reading the PIT makes calls that reuse the MRs.
                let argument = msg.length >= 1 ? IPCBuffer.getMR(0) : 0
                let now = current()
                switch Request(rawValue: msg.label) {
                case .now:
                    IPCBuffer.setMR(0, now)
                    (msg, badge) = seL4.replyRecv(slots.endpoint, MessageInfo(label: 0, length: 1))
                case .sleepFor, .sleepUntil:
                    guard msg.length >= 1 else {
                        (msg, badge) = seL4.replyRecv(slots.endpoint, MessageInfo(label: KernelError.truncatedMessage.rawValue, length: 0))
                        continue
                    }
                    let sum = now.addingReportingOverflow(argument)
                    let deadline = msg.label == Request.sleepFor.rawValue ? (sum.overflow ? .max : sum.partialValue) : argument
                    if deadline <= now {
                        IPCBuffer.setMR(0, now)
                        (msg, badge) = seL4.replyRecv(slots.endpoint, MessageInfo(label: 0, length: 1))
                        continue
                    }
                    guard let slot = freeReplySlots.popLast() else {
                        (msg, badge) = seL4.replyRecv(slots.endpoint, MessageInfo(label: KernelError.notEnoughMemory.rawValue, length: 0))
                        continue
                    }
                    guard CNode.saveCaller(slots.cnode, index: slot, depth: cnodeRadix) == .noError else {
                        freeReplySlots.append(slot)
                        (msg, badge) = seL4.replyRecv(slots.endpoint, MessageInfo(label: KernelError.notEnoughMemory.rawValue, length: 0))
                        continue
                    }
                    sequence += 1
                    let timer = Timer(deadline: deadline, sequence: sequence, reply: slot)
                    // Ordered by deadline, then by arrival.
                    var lo = 0, hi = queue.count
                    while lo < hi {
                        let mid = (lo + hi) / 2
                        if queue[mid].deadline <= deadline { lo = mid + 1 } else { hi = mid }
                    }
                    queue.insert(timer, at: lo)
                    if lo == 0 {
                        // A new nearest deadline: the rest of the current count is time passed.
                        reprogram(now: current())
                    }
                    (msg, badge) = seL4.recv(slots.endpoint)
                case nil:
                    (msg, badge) = seL4.replyRecv(slots.endpoint, MessageInfo(label: KernelError.illegalOperation.rawValue, length: 0))
                }
            }
        }
    }
}

/// The 8254's input clock, as guests see it.
public enum PIT8254Clock {
    public static let frequency: UInt64 = 1_193_182
}

/// A client's side of the timer server's protocol.
public enum TimerClient {
    /// Sleeps `nanoseconds`; returns the server's time at wake-up.
    @discardableResult
    public static func sleep(_ endpoint: CPtr, nanoseconds: UInt64) -> UInt64 {
        IPCBuffer.setMR(0, nanoseconds)
        _ = seL4.call(endpoint, MessageInfo(label: TimerServer.Request.sleepFor.rawValue, length: 1))
        return IPCBuffer.getMR(0)
    }
    /// Sleeps until `deadline`; returns the server's time at wake-up.
    @discardableResult
    public static func sleep(_ endpoint: CPtr, until deadline: UInt64) -> UInt64 {
        IPCBuffer.setMR(0, deadline)
        _ = seL4.call(endpoint, MessageInfo(label: TimerServer.Request.sleepUntil.rawValue, length: 1))
        return IPCBuffer.getMR(0)
    }
    /// The server's time now.
    public static func now(_ endpoint: CPtr) -> UInt64 {
        _ = seL4.call(endpoint, MessageInfo(label: TimerServer.Request.now.rawValue, length: 0))
        return IPCBuffer.getMR(0)
    }
}
