// SPDX-License-Identifier: Apache-2.0
//
// The FIFO queue of blocked threads that endpoints and notifications keep (seL4
// tcbEPAppend / tcbEPDequeue), linked through the TCBs' epNext/epPrev words.

extension Kernel {
    /// seL4: tcbEPAppend.
    func tcbEPAppend(_ t: TCBRef, _ q: inout QueueLinks) {
        if q.head == 0 { q.head = t.paddr } else { tcb(q.tail).pointee.epNext = t.paddr }
        t.pointee.epPrev = q.tail
        t.pointee.epNext = 0
        q.tail = t.paddr
    }

    /// seL4: tcbEPDequeue.
    func tcbEPDequeue(_ t: TCBRef, _ q: inout QueueLinks) {
        let prev = t.pointee.epPrev, next = t.pointee.epNext
        if prev != 0 { tcb(prev).pointee.epNext = next } else { q.head = next }
        if next != 0 { tcb(next).pointee.epPrev = prev } else { q.tail = prev }
        t.pointee.epPrev = 0
        t.pointee.epNext = 0
    }

    func queue(of ep: EndpointRef) -> QueueLinks { QueueLinks(head: ep.pointee.head, tail: ep.pointee.tail) }
    func setQueue(of ep: EndpointRef, _ q: QueueLinks) { ep.pointee.head = q.head; ep.pointee.tail = q.tail }
    func queue(of n: NotificationRef) -> QueueLinks { QueueLinks(head: n.pointee.head, tail: n.pointee.tail) }
    func setQueue(of n: NotificationRef, _ q: QueueLinks) { n.pointee.head = q.head; n.pointee.tail = q.tail }

    /// The threads queued on an endpoint, head first (for tests and dumps).
    public func queuedThreads(endpoint paddr: UInt64) -> [TCBRef] {
        var result: [TCBRef] = []
        var p = endpoint(paddr).pointee.head
        while p != 0 { result.append(tcb(p)); p = tcb(p).pointee.epNext }
        return result
    }

    /// The threads waiting on a notification, head first (for tests and dumps).
    public func queuedThreads(notification paddr: UInt64) -> [TCBRef] {
        var result: [TCBRef] = []
        var p = notification(paddr).pointee.head
        while p != 0 { result.append(tcb(p)); p = tcb(p).pointee.epNext }
        return result
    }
}
