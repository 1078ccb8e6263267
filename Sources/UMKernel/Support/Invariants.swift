// SPDX-License-Identifier: Apache-2.0
//
// The kernel's invariant checker (swift-collections' _checkInvariants in spirit), run by
// tests after every operation and by the fuzzer after every syscall: the derivation tree
// is a well-formed list, every cap names a live object of its type inside RAM, endpoint,
// notification and ready queues are consistent with thread states, the scheduler bitmap
// matches the queues, untyped watermarks cover their children, and the allocated I/O
// ports are exactly the IOPort caps' ranges.

import UMKABI

/// A broken kernel invariant: a kernel bug, described.
public struct InvariantViolation: Error, CustomStringConvertible {
    public var description: String
}

extension Kernel {
    /// Checks every invariant; throws the first violation found.
    public func checkInvariants() throws(InvariantViolation) {
        func fail(_ m: String) -> InvariantViolation { InvariantViolation(description: m) }
        var slotSet = SlotSet(ramSize: physmap.size)
        let slots = liveSlots(into: &slotSet)
        let threads = allThreads
        let threadSet = Set(threads.map(\.paddr))

        // CDT links.
        for s in slots {
            let cte = s.pointee
            if cte.cap.isNull {
                if cte.prev != 0 || cte.next != 0 { throw fail("null cap at \(hex(s.paddr)) has CDT links") }
                continue
            }
            if cte.prev != 0 {
                guard slotSet.contains(cte.prev) else { throw fail("slot \(hex(s.paddr)) prev \(hex(cte.prev)) is not a live slot") }
                if slot(cte.prev).pointee.next != s.paddr { throw fail("slot \(hex(s.paddr)): prev.next mismatch") }
            }
            if cte.next != 0 {
                guard slotSet.contains(cte.next) else { throw fail("slot \(hex(s.paddr)) next \(hex(cte.next)) is not a live slot") }
                if slot(cte.next).pointee.prev != s.paddr { throw fail("slot \(hex(s.paddr)): next.prev mismatch") }
            }
            try checkCapObject(cte.cap, at: s, threads: threadSet)
        }
        // No cycles: every chain ends within the number of live slots.
        for s in slots where s.pointee.prev == 0 && !s.pointee.cap.isNull {
            var n = 0, p = s.pointee.next
            while p != 0 {
                n += 1
                if n > slots.count { throw fail("CDT cycle from \(hex(s.paddr))") }
                p = slot(p).pointee.next
            }
        }
        // Untyped watermarks cover their descendants.
        for s in slots where s.pointee.cap.type == .untyped {
            let u = s.pointee.cap
            var p = s.pointee.next
            while p != 0, isMDBParentOf(s, slot(p)) {
                let c = slot(p).pointee.cap
                if c.isPhysical && c.type != .zombie {
                    let top = c.paddr + (UInt64(1) << c.objectSizeBits)
                    if c.paddr < u.paddr || top > u.paddr + u.untypedFreeIndex {
                        throw fail("cap at \(hex(p)) (\(c.type)) outside the watermark of untyped \(hex(u.paddr))")
                    }
                }
                p = slot(p).pointee.next
            }
            if u.untypedFreeIndex > UInt64(1) << u.untypedSizeBits { throw fail("untyped \(hex(u.paddr)) free index past its end") }
        }

        // The allocated-ports bitmap is exactly the union of the IOPort caps' ranges.
        var held = [UInt64](repeating: 0, count: 1024)
        for s in slots where s.pointee.cap.type == .ioPort {
            let c = s.pointee.cap
            if c.ioPortFirst > c.ioPortLast { throw fail("IOPort cap at \(hex(s.paddr)) with first > last") }
            for p in c.ioPortFirst...c.ioPortLast { held[Int(p >> 6)] |= 1 << (p & 63) }
        }
        for w in 0..<1024 where physmap.loadWord(KernelLayout.ioPortBitmap + UInt64(w) * 8) != held[w] {
            throw fail("allocated I/O ports (word \(w)) differ from the IOPort caps' ranges")
        }

        try checkQueues(threads)
        try checkScheduler(threads)
    }

    private func checkCapObject(_ cap: Capability, at s: SlotRef, threads: Set<UInt64>) throws(InvariantViolation) {
        func fail(_ m: String) -> InvariantViolation { InvariantViolation(description: "cap at \(hex(s.paddr)): " + m) }
        if cap.isPhysical {
            let bits = cap.objectSizeBits
            // Device memory lies outside RAM: only device untypeds and device frames, which
            // the kernel never reads or writes, may point there.
            let device = (cap.type == .untyped && cap.untypedIsDevice) || (cap.type == .frame && cap.frameIsDevice)
            if !device {
                guard physmap.contains(cap.paddr, length: UInt64(1) << bits) else { throw fail("\(cap.type) object outside RAM") }
            }
            if cap.type != .zombie && cap.paddr & lowMask(min(bits, 12)) != 0 { throw fail("\(cap.type) object misaligned") }
        }
        switch cap.type {
        case .thread:
            if !threads.contains(cap.paddr) { throw fail("thread cap to a dead TCB \(hex(cap.paddr))") }
        case .reply:
            if !threads.contains(cap.paddr) { throw fail("reply cap to a dead TCB") }
            if !cap.replyMaster && tcb(cap.paddr).pointee.state != .blockedOnReply {
                throw fail("reply cap to a thread not BlockedOnReply")
            }
        case .endpoint:
            let ep = endpoint(cap.paddr).pointee
            if (ep.state == .idle) != (ep.head == 0) { throw fail("endpoint state/queue mismatch") }
        case .notification:
            let n = notification(cap.paddr).pointee
            if (n.state == .waiting) != (n.head == 0 ? false : true) { throw fail("notification state/queue mismatch") }
            if n.boundTCB != 0 && tcb(n.boundTCB).pointee.boundNotification != cap.paddr { throw fail("notification binding not mutual") }
        case .cnode:
            if cap.cnodeRadix == 0 && cap.cnodeGuardSize == 0 { throw fail("CNode cap with no level bits") }
        default:
            break
        }
    }

    private func checkQueues(_ threads: [TCBRef]) throws(InvariantViolation) {
        func fail(_ m: String) -> InvariantViolation { InvariantViolation(description: m) }
        for t in threads {
            let st = t.pointee.state
            switch st {
            case .blockedOnSend, .blockedOnReceive:
                let ep = endpoint(t.pointee.blockingObject)
                let expected: Endpoint.State = st == .blockedOnSend ? .send : .recv
                if ep.pointee.state != expected { throw fail("\(t.name) \(st) on endpoint in state \(ep.pointee.state)") }
                if !queuedThreads(endpoint: ep.paddr).contains(t) { throw fail("\(t.name) \(st) but not in the endpoint queue") }
            case .blockedOnNotification:
                let n = notification(t.pointee.blockingObject)
                if n.pointee.state != .waiting { throw fail("\(t.name) waits on a notification not Waiting") }
                if !queuedThreads(notification: n.paddr).contains(t) { throw fail("\(t.name) not in its notification queue") }
            default:
                if t.pointee.epNext != 0 || t.pointee.epPrev != 0 { throw fail("\(t.name) \(st) has endpoint queue links") }
            }
            if st.isStopped || st == .blockedOnReply, t.pointee.inReadyQueue != 0 {
                throw fail("\(t.name) is \(st) but in a ready queue")
            }
            let bound = t.pointee.boundNotification
            if bound != 0 && notification(bound).pointee.boundTCB != t.paddr { throw fail("\(t.name) binding not mutual") }
        }
        // Queue link consistency, endpoint and notification queues.
        for t in threads where t.pointee.state == .blockedOnSend || t.pointee.state == .blockedOnReceive
            || t.pointee.state == .blockedOnNotification {
            let isEP = t.pointee.state != .blockedOnNotification
            let obj = t.pointee.blockingObject
            let q = isEP ? queuedThreads(endpoint: obj) : queuedThreads(notification: obj)
            var prev: UInt64 = 0
            for member in q {
                if member.pointee.epPrev != prev { throw fail("queue prev link broken at \(member.name)") }
                if member.pointee.blockingObject != obj { throw fail("\(member.name) queued on an object it is not blocked on") }
                prev = member.paddr
            }
            let tail = isEP ? endpoint(obj).pointee.tail : notification(obj).pointee.tail
            if tail != prev { throw fail("queue tail mismatch") }
        }
    }

    private func checkScheduler(_ threads: [TCBRef]) throws(InvariantViolation) {
        func fail(_ m: String) -> InvariantViolation { InvariantViolation(description: m) }
        var queued = Set<UInt64>()
        for prio in 0..<256 {
            let q = readyQueue(priority: UInt64(prio))
            let bit = globals.pointee.bitmapL2[prio >> 6] & (1 << UInt64(prio & 63)) != 0
            if bit != !q.isEmpty { throw fail("bitmap bit for priority \(prio) does not match its queue") }
            var prev: UInt64 = 0
            for t in q {
                if t.pointee.schedPrev != prev { throw fail("ready queue \(prio) prev link broken") }
                if t.pointee.priority != UInt64(prio) { throw fail("\(t.name) in queue \(prio) with priority \(t.pointee.priority)") }
                if t.pointee.inReadyQueue == 0 { throw fail("\(t.name) in a queue but not marked queued") }
                if !t.pointee.state.isRunnable { throw fail("\(t.name) in a ready queue while \(t.pointee.state)") }
                if t == currentThread { throw fail("the current thread is in a ready queue (Benno)") }
                queued.insert(t.paddr)
                prev = t.paddr
            }
            if globals.pointee.readyQueues[prio].tail != prev { throw fail("ready queue \(prio) tail mismatch") }
        }
        for i in 0..<4 where (globals.pointee.bitmapL1 >> UInt64(i)) & 1 != (globals.pointee.bitmapL2[i] != 0 ? 1 : 0) {
            throw fail("bitmap level 1 bit \(i) does not match level 2")
        }
        if schedulerAction == .resumeCurrentThread {
            for t in threads where t.pointee.state.isRunnable && t != currentThread && !queued.contains(t.paddr) {
                throw fail("runnable \(t.name) is neither running nor queued")
            }
        }
    }

    /// Every slot reachable from the threads and the IRQ node (CNodes, zombies, CDT links).
    package func liveSlots() -> [SlotRef] {
        var seen = SlotSet(ramSize: physmap.size)
        return liveSlots(into: &seen)
    }

    func liveSlots(into seen: inout SlotSet) -> [SlotRef] {
        var result: [SlotRef] = []
        var work: [UInt64] = []
        for t in allThreads {
            for i in 0..<TCBSlot.count { work.append(t.paddr + (i << ObjectSize.slotBits)) }
        }
        for i in 0..<KernelLayout.irqCount { work.append(irqSlot(i).paddr) }
        while let p = work.popLast() {
            guard p != 0, physmap.contains(p, length: 32), seen.insert(p) else { continue }
            let s = slot(p)
            result.append(s)
            let cte = s.pointee
            if cte.prev != 0 { work.append(cte.prev) }
            if cte.next != 0 { work.append(cte.next) }
            switch cte.cap.type {
            case .cnode:
                for i in 0..<(UInt64(1) << cte.cap.cnodeRadix) { work.append(cte.cap.paddr + (i << ObjectSize.slotBits)) }
            case .zombie:
                for i in 0..<cte.cap.zombieRemaining { work.append(cte.cap.paddr + (i << ObjectSize.slotBits)) }
            default:
                break
            }
        }
        return result
    }
}

/// A set of slot addresses as one bit per 32-byte slot of RAM: the checker runs after every
/// fuzzed syscall, where hashing every live slot would dominate.
struct SlotSet {
    var words: [UInt64]
    init(ramSize: UInt64) { words = [UInt64](repeating: 0, count: Int(ramSize >> 11) + 1) }
    /// Inserts `paddr`; false if it was there (or is not a slot address).
    mutating func insert(_ paddr: UInt64) -> Bool {
        guard paddr & 31 == 0 else { return false }
        let i = Int(paddr >> 11), bit = UInt64(1) << ((paddr >> 5) & 63)
        guard i < words.count, words[i] & bit == 0 else { return false }
        words[i] |= bit
        return true
    }
    func contains(_ paddr: UInt64) -> Bool {
        let i = Int(paddr >> 11)
        return paddr & 31 == 0 && i < words.count && words[i] & (1 << ((paddr >> 5) & 63)) != 0
    }
}

