// SPDX-License-Identifier: Apache-2.0
//
// Endpoint IPC (sel4-semantics.md §1.3-1.8, §2.4): rendezvous, FIFO queues, badges,
// message lengths, Call/Reply/ReplyRecv and reply caps, capability transfer and
// unwrapping, kernel-object invocations through Send and Call, and lookup failures.

import Testing
import UMKABI
@testable import UMKernel

private let rootCNode = KernelHarness.rootCNode
/// A CPtr whose guard bits do not match the root CNode's guard (0): a lookup failure.
private let badCPtr: UInt64 = 1 << 20

/// A new thread at `priority`, sharing the root CSpace and VSpace.
private func thread(_ h: KernelHarness, _ priority: UInt64 = 100, faultEP: UInt64 = 0) -> TCBRef {
    h.run(h.root)
    return h.tcbRef(h.makeThread(priority: priority, faultEP: faultEP))
}

/// Sets `t`'s receive slot (receiveCNode, receiveIndex, receiveDepth) to `slot` of the root CNode.
private func setReceiveSlot(_ h: KernelHarness, _ t: TCBRef, _ slot: UInt64) {
    let b = h.bufferPaddr(t)!
    h.k.physmap.storeWord(b + UInt64(IPCBufferLayout.receiveCNode) * 8, rootCNode)
    h.k.physmap.storeWord(b + UInt64(IPCBufferLayout.receiveIndex) * 8, slot)
    h.k.physmap.storeWord(b + UInt64(IPCBufferLayout.receiveDepth) * 8, 64)
}

private func bufferWord(_ h: KernelHarness, _ t: TCBRef, _ index: Int) -> UInt64 {
    h.k.physmap.loadWord(h.bufferPaddr(t)! + UInt64(index) * 8)
}

private func epState(_ h: KernelHarness, _ ep: UInt64) -> Endpoint.State {
    h.k.endpoint(h.cap(ep).paddr).pointee.state
}

private func queue(_ h: KernelHarness, _ ep: UInt64) -> [TCBRef] {
    h.k.queuedThreads(endpoint: h.cap(ep).paddr)
}

@Suite("Endpoint IPC")
struct EndpointIPCTests {
    // MARK: - Rendezvous

    @Test("Send to a waiting receiver delivers the message and wakes the receiver")
    func sendToWaitingReceiver() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let s = thread(h), r = thread(h)
        h.run(r)
        h.syscall(.recv, cptr: ep)
        #expect(r.pointee.state == .blockedOnReceive)
        #expect(epState(h, ep) == .recv)
        h.run(s)
        h.syscall(.send, cptr: ep, info: MessageInfo(label: 0x42, length: 3), mrs: [11, 22, 33])
        #expect(r.pointee.state == .running)
        #expect(s.pointee.state == .running)
        let m = h.reply(r)
        #expect(m.label == 0x42)
        #expect(m.mrs == [11, 22, 33])
        #expect(m.badge == 0)
        #expect(epState(h, ep) == .idle)
        #expect(queue(h, ep).isEmpty)
    }

    @Test("Send with no receiver blocks the sender; a later Recv takes the message and wakes it")
    func sendBlocksUntilRecv() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let s = thread(h), r = thread(h)
        h.run(s)
        h.syscall(.send, cptr: ep, info: MessageInfo(label: 7, length: 2), mrs: [5, 6])
        #expect(s.pointee.state == .blockedOnSend)
        #expect(epState(h, ep) == .send)
        #expect(queue(h, ep) == [s])
        h.run(r)
        h.syscall(.recv, cptr: ep)
        #expect(r.pointee.state == .running)
        #expect(s.pointee.state == .running)
        let m = h.reply(r)
        #expect(m.label == 7)
        #expect(m.mrs == [5, 6])
        #expect(epState(h, ep) == .idle)
    }

    @Test("blocked senders are served in FIFO order")
    func senderQueueIsFIFO() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let senders = [thread(h), thread(h), thread(h)]
        let r = thread(h)
        for (i, s) in senders.enumerated() {
            h.run(s)
            h.syscall(.send, cptr: ep, info: MessageInfo(label: UInt64(i + 1), length: 1), mrs: [UInt64(100 + i)])
            #expect(s.pointee.state == .blockedOnSend)
        }
        #expect(queue(h, ep) == senders)
        for i in 0..<3 {
            h.run(r)
            h.syscall(.recv, cptr: ep)
            let m = h.reply(r)
            #expect(m.label == UInt64(i + 1))
            #expect(m.mrs == [UInt64(100 + i)])
            #expect(senders[i].pointee.state == .running)
            #expect(queue(h, ep) == Array(senders[(i + 1)...]))
        }
        #expect(epState(h, ep) == .idle)
    }

    @Test("blocked receivers are served in FIFO order")
    func receiverQueueIsFIFO() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let receivers = [thread(h), thread(h)]
        let s = thread(h)
        for r in receivers {
            h.run(r)
            h.syscall(.recv, cptr: ep)
        }
        #expect(queue(h, ep) == receivers)
        h.run(s)
        h.syscall(.send, cptr: ep, info: MessageInfo(label: 1, length: 0))
        #expect(receivers[0].pointee.state == .running)
        #expect(receivers[1].pointee.state == .blockedOnReceive)
        #expect(h.reply(receivers[0]).label == 1)
    }

    // MARK: - Badges and lengths

    @Test("the sender cap's badge arrives in the receiver's badge register")
    func badgeDelivered() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let badged = h.mint(ep, badge: 0xBEEF)
        let s = thread(h), r = thread(h)
        h.run(r)
        h.syscall(.recv, cptr: ep)
        h.run(s)
        h.syscall(.send, cptr: badged, info: MessageInfo(label: 0, length: 0))
        #expect(h.reply(r).badge == 0xBEEF)
        // The other order: the badge is recorded with the blocked sender.
        h.run(s)
        h.syscall(.send, cptr: badged, info: MessageInfo(label: 0, length: 0))
        h.run(r)
        h.syscall(.recv, cptr: ep)
        #expect(h.reply(r).badge == 0xBEEF)
        // An unbadged cap delivers badge 0.
        h.run(r)
        h.syscall(.recv, cptr: ep)
        h.run(s)
        h.syscall(.send, cptr: ep, info: MessageInfo(label: 0, length: 0))
        #expect(h.reply(r).badge == 0)
    }

    @Test("messages longer than 4 MRs travel through the IPC buffers")
    func longMessage() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let s = thread(h), r = thread(h)
        let words: [UInt64] = (0..<10).map { 0x1000 + $0 }
        h.run(r)
        h.syscall(.recv, cptr: ep)
        h.run(s)
        h.syscall(.send, cptr: ep, info: MessageInfo(label: 3, length: 10), mrs: words)
        let m = h.reply(r)
        #expect(m.info.length == 10)
        #expect(m.mrs == words)
        #expect(bufferWord(h, r, IPCBufferLayout.msg + 9) == 0x1009)
    }

    @Test("message lengths above 120 are clamped to 120")
    func lengthClamped() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let s = thread(h), r = thread(h)
        let words: [UInt64] = (0..<120).map { 0xA000 + $0 }
        h.run(r)
        h.syscall(.recv, cptr: ep)
        h.run(s)
        h.syscall(.send, cptr: ep, info: MessageInfo(label: 1, length: 127), mrs: words)
        let m = h.reply(r)
        #expect(m.info.length == 120)
        #expect(m.mrs == words)
        #expect(bufferWord(h, r, IPCBufferLayout.userData) == 0, "nothing written past msg[119]")
    }

    // MARK: - Call, Reply, ReplyRecv

    @Test("Call gives the receiver a reply cap in its caller slot; the caller is BlockedOnReply")
    func callInstallsReplyCap() {
        for slowpath in [false, true] {
            let h = KernelHarness()
            let ep = h.retype(.endpoint)[0]
            let c = thread(h), r = thread(h)
            h.run(r)
            h.syscall(.recv, cptr: ep)
            h.run(c)
            h.syscall(.call, cptr: ep, info: MessageInfo(label: 5, length: 1), mrs: [9], slowpath: slowpath)
            #expect(c.pointee.state == .blockedOnReply, "slowpath \(slowpath)")
            #expect(r.pointee.state == .running)
            let m = h.reply(r)
            #expect(m.label == 5 && m.mrs == [9])
            let callerCap = r.slot(.caller).pointee.cap
            #expect(callerCap.type == .reply)
            #expect(callerCap.paddr == c.paddr)
            #expect(!callerCap.replyMaster)
        }
    }

    @Test("Call to a queued receiver (caller first) also leaves a reply cap and BlockedOnReply")
    func callerQueuedFirst() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let c = thread(h), r = thread(h)
        h.run(c)
        h.syscall(.call, cptr: ep, info: MessageInfo(label: 5, length: 1), mrs: [9])
        #expect(c.pointee.state == .blockedOnSend)
        h.run(r)
        h.syscall(.recv, cptr: ep)
        #expect(c.pointee.state == .blockedOnReply)
        #expect(r.slot(.caller).pointee.cap.type == .reply)
        #expect(r.slot(.caller).pointee.cap.paddr == c.paddr)
        #expect(h.reply(r).mrs == [9])
    }

    @Test("Reply delivers the reply, wakes the caller and consumes the reply cap")
    func replyWakesCaller() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let c = thread(h), r = thread(h)
        h.run(r)
        h.syscall(.recv, cptr: ep)
        h.run(c)
        h.syscall(.call, cptr: ep, info: MessageInfo(label: 5, length: 1), mrs: [9])
        h.run(r)
        h.syscall(.reply, info: MessageInfo(label: 6, length: 6), mrs: [1, 2, 3, 4, 5, 6])
        #expect(c.pointee.state == .running)
        #expect(r.pointee.state == .running)
        let m = h.reply(c)
        #expect(m.label == 6)
        #expect(m.mrs == [1, 2, 3, 4, 5, 6])
        #expect(m.badge == 0)
        #expect(r.slot(.caller).pointee.cap.isNull)
        // A second Reply has no caller: a no-op.
        h.run(r)
        h.syscall(.reply, info: MessageInfo(label: 9, length: 0))
        #expect(h.reply(c).label == 6)
    }

    @Test("ReplyRecv replies to the caller and blocks receiving on the endpoint")
    func replyRecv() {
        for slowpath in [false, true] {
            let h = KernelHarness()
            let ep = h.retype(.endpoint)[0]
            let c = thread(h), r = thread(h)
            h.run(r)
            h.syscall(.recv, cptr: ep)
            h.run(c)
            h.syscall(.call, cptr: ep, info: MessageInfo(label: 5, length: 1), mrs: [9])
            h.run(r)
            h.syscall(.replyRecv, cptr: ep, info: MessageInfo(label: 8, length: 2), mrs: [70, 71], slowpath: slowpath)
            #expect(c.pointee.state == .running, "slowpath \(slowpath)")
            #expect(r.pointee.state == .blockedOnReceive)
            #expect(queue(h, ep) == [r])
            #expect(r.slot(.caller).pointee.cap.isNull)
            let m = h.reply(c)
            #expect(m.label == 8 && m.mrs == [70, 71])
        }
    }

    @Test("Call on an endpoint cap without Grant or GrantReply delivers, then leaves the caller Inactive")
    func callWithoutGrantIsInactive() {
        // Receiver waiting first.
        do {
            let h = KernelHarness()
            let ep = h.retype(.endpoint)[0]
            let noGrant = h.mint(ep, rights: .readWrite)
            let c = thread(h), r = thread(h)
            h.run(r)
            h.syscall(.recv, cptr: ep)
            h.run(c)
            h.syscall(.call, cptr: noGrant, info: MessageInfo(label: 4, length: 1), mrs: [44])
            #expect(h.reply(r).mrs == [44])
            #expect(r.pointee.state == .running)
            #expect(c.pointee.state == .inactive)
            #expect(r.slot(.caller).pointee.cap.isNull)
        }
        // Caller queued first.
        do {
            let h = KernelHarness()
            let ep = h.retype(.endpoint)[0]
            let noGrant = h.mint(ep, rights: .readWrite)
            let c = thread(h), r = thread(h)
            h.run(c)
            h.syscall(.call, cptr: noGrant, info: MessageInfo(label: 4, length: 1), mrs: [44])
            #expect(c.pointee.state == .blockedOnSend)
            h.run(r)
            h.syscall(.recv, cptr: ep)
            #expect(h.reply(r).mrs == [44])
            #expect(c.pointee.state == .inactive)
            #expect(r.slot(.caller).pointee.cap.isNull)
        }
    }

    @Test("Call with GrantReply alone still creates a reply cap")
    func callWithGrantReply() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let gr = h.mint(ep, rights: [.read, .write, .grantReply])
        let c = thread(h), r = thread(h)
        h.run(r)
        h.syscall(.recv, cptr: ep)
        h.run(c)
        h.syscall(.call, cptr: gr, info: MessageInfo(label: 4, length: 0))
        #expect(c.pointee.state == .blockedOnReply)
        #expect(r.slot(.caller).pointee.cap.type == .reply)
    }

    @Test("Recv discards an unsaved reply cap; the caller stays BlockedOnReply")
    func recvDiscardsReplyCap() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let c = thread(h), r = thread(h)
        h.run(r)
        h.syscall(.recv, cptr: ep)
        h.run(c)
        h.syscall(.call, cptr: ep, info: MessageInfo(label: 5, length: 0))
        #expect(r.slot(.caller).pointee.cap.type == .reply)
        h.run(r)
        h.syscall(.recv, cptr: ep)
        #expect(r.pointee.state == .blockedOnReceive)
        #expect(r.slot(.caller).pointee.cap.isNull)
        #expect(c.pointee.state == .blockedOnReply)
    }

    // MARK: - Non-blocking

    @Test("NBSend with no receiver drops the message silently")
    func nbSendDrops() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let s = thread(h), r = thread(h)
        h.run(s)
        h.syscall(.nbSend, cptr: ep, info: MessageInfo(label: 3, length: 1), mrs: [1])
        #expect(s.pointee.state == .running)
        #expect(epState(h, ep) == .idle)
        #expect(queue(h, ep).isEmpty)
        // Nothing is left for a receiver.
        h.run(r)
        r.pointee[.rdi] = 0xFFFF
        h.syscall(.nbRecv, cptr: ep)
        #expect(h.reply(r).badge == 0)
        #expect(r.pointee.state == .running)
    }

    @Test("NBSend to a waiting receiver delivers")
    func nbSendDelivers() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let badged = h.mint(ep, badge: 3)
        let s = thread(h), r = thread(h)
        h.run(r)
        h.syscall(.recv, cptr: ep)
        h.run(s)
        h.syscall(.nbSend, cptr: badged, info: MessageInfo(label: 3, length: 1), mrs: [1])
        #expect(r.pointee.state == .running)
        #expect(h.reply(r).mrs == [1])
        #expect(h.reply(r).badge == 3)
    }

    @Test("NBRecv with nothing pending returns at once with badge 0")
    func nbRecvEmpty() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let r = thread(h)
        h.run(r)
        let t = h.syscall(.nbRecv, cptr: ep)
        #expect(t == r)
        #expect(r.pointee.state == .running)
        #expect(h.reply(r).badge == 0)
        #expect(epState(h, ep) == .idle)
    }

    @Test("NBRecv takes a queued sender's message")
    func nbRecvTakesSender() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let badged = h.mint(ep, badge: 0x99)
        let s = thread(h), r = thread(h)
        h.run(s)
        h.syscall(.send, cptr: badged, info: MessageInfo(label: 2, length: 1), mrs: [8])
        h.run(r)
        h.syscall(.nbRecv, cptr: ep)
        #expect(h.reply(r).badge == 0x99)
        #expect(h.reply(r).mrs == [8])
        #expect(s.pointee.state == .running)
    }

    // MARK: - Capability transfer

    @Test("with Grant, an extra cap lands in the receiver's receive slot")
    func capTransferWithGrant() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let n = h.retype(.notification)[0]
        let s = thread(h), r = thread(h)
        let dest = h.allocSlot()
        setReceiveSlot(h, r, dest)
        h.run(r)
        h.syscall(.recv, cptr: ep)
        h.run(s)
        h.syscall(.send, cptr: ep, info: MessageInfo(label: 1, extraCaps: 1, length: 0), caps: [n])
        let m = h.reply(r)
        #expect(m.info.extraCaps == 1)
        #expect(m.info.capsUnwrapped == 0)
        #expect(h.cap(dest).type == .notification)
        #expect(h.cap(dest).paddr == h.cap(n).paddr)
        #expect(h.cap(n).type == .notification, "the sender keeps its cap")
    }

    @Test("without Grant no cap is transferred and extraCaps is 0")
    func capTransferWithoutGrant() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let noGrant = h.mint(ep, rights: [.read, .write, .grantReply])
        let n = h.retype(.notification)[0]
        let s = thread(h), r = thread(h)
        let dest = h.allocSlot()
        setReceiveSlot(h, r, dest)
        h.run(r)
        h.syscall(.recv, cptr: ep)
        h.run(s)
        h.syscall(.send, cptr: noGrant, info: MessageInfo(label: 1, extraCaps: 1, length: 1), mrs: [5], caps: [n])
        let m = h.reply(r)
        #expect(m.mrs == [5], "the message itself goes through")
        #expect(m.info.extraCaps == 0)
        #expect(h.cap(dest).isNull)
    }

    @Test("a cap to the endpoint the message travels on is unwrapped: badge in caps_or_badges, capsUnwrapped bit")
    func capUnwrapping() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let badged = h.mint(ep, badge: 0x77)
        let n = h.retype(.notification)[0]
        let s = thread(h), r = thread(h)
        let dest = h.allocSlot()
        setReceiveSlot(h, r, dest)
        // Unwrapped only: the receive slot is not consumed.
        h.run(r)
        h.syscall(.recv, cptr: ep)
        h.run(s)
        h.syscall(.send, cptr: ep, info: MessageInfo(label: 1, extraCaps: 1, length: 0), caps: [badged])
        var m = h.reply(r)
        #expect(m.info.extraCaps == 1)
        #expect(m.info.capsUnwrapped == 0b1)
        #expect(bufferWord(h, r, IPCBufferLayout.capsOrBadges) == 0x77)
        #expect(h.cap(dest).isNull)
        // An unwrapped cap then a transferred one.
        h.run(r)
        h.syscall(.recv, cptr: ep)
        h.run(s)
        h.syscall(.send, cptr: ep, info: MessageInfo(label: 1, extraCaps: 2, length: 0), caps: [badged, n])
        m = h.reply(r)
        #expect(m.info.extraCaps == 2)
        #expect(m.info.capsUnwrapped == 0b01)
        #expect(bufferWord(h, r, IPCBufferLayout.capsOrBadges) == 0x77)
        #expect(h.cap(dest).type == .notification)
    }

    @Test("a cap to a different endpoint is transferred, not unwrapped")
    func otherEndpointNotUnwrapped() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let other = h.retype(.endpoint)[0]
        let s = thread(h), r = thread(h)
        let dest = h.allocSlot()
        setReceiveSlot(h, r, dest)
        h.run(r)
        h.syscall(.recv, cptr: ep)
        h.run(s)
        h.syscall(.send, cptr: ep, info: MessageInfo(label: 1, extraCaps: 1, length: 0), caps: [other])
        let m = h.reply(r)
        #expect(m.info.extraCaps == 1)
        #expect(m.info.capsUnwrapped == 0)
        #expect(h.cap(dest).type == .endpoint)
        #expect(h.cap(dest).paddr == h.cap(other).paddr)
    }

    @Test("only one receive slot: a second cap needing a slot stops the transfer")
    func oneReceiveSlot() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let ns = h.retype(.notification, count: 2)
        let s = thread(h), r = thread(h)
        let dest = h.allocSlot()
        let spare = h.allocSlot()
        setReceiveSlot(h, r, dest)
        h.run(r)
        h.syscall(.recv, cptr: ep)
        h.run(s)
        h.syscall(.send, cptr: ep, info: MessageInfo(label: 1, extraCaps: 2, length: 0), caps: ns)
        let m = h.reply(r)
        #expect(m.info.extraCaps == 1)
        #expect(h.cap(dest).paddr == h.cap(ns[0]).paddr)
        #expect(h.cap(spare).isNull)
    }

    @Test("an occupied receive slot receives no cap")
    func occupiedReceiveSlot() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let n = h.retype(.notification)[0]
        let occupant = h.retype(.endpoint)[0]
        let s = thread(h), r = thread(h)
        setReceiveSlot(h, r, occupant)
        h.run(r)
        h.syscall(.recv, cptr: ep)
        h.run(s)
        h.syscall(.send, cptr: ep, info: MessageInfo(label: 1, extraCaps: 1, length: 0), caps: [n])
        #expect(h.reply(r).info.extraCaps == 0)
        #expect(h.cap(occupant).type == .endpoint)
    }

    // MARK: - Kernel objects and lookups

    @Test("invoking a kernel object with Send discards its error; Call returns it")
    func sendDiscardsErrors() {
        let h = KernelHarness()
        // Untyped has no CNode_Copy method: IllegalOperation.
        let info = MessageInfo(label: InvocationLabel.cnodeCopy.rawValue, length: 0)
        let t = h.syscall(.send, cptr: h.untypedSlot, info: info)
        #expect(t == h.root)
        #expect(h.root.pointee.state == .running)
        #expect(h.reply(h.root).label == InvocationLabel.cnodeCopy.rawValue, "no error reply written")
        #expect(h.error(h.untypedSlot, .cnodeCopy) == .illegalOperation)
        // NBSend discards too.
        h.syscall(.nbSend, cptr: h.untypedSlot, info: info)
        #expect(h.reply(h.root).label == InvocationLabel.cnodeCopy.rawValue)
    }

    @Test("invoking an empty slot gives InvalidCapability with MR0 = 0")
    func emptySlotInvalidCapability() {
        let h = KernelHarness()
        let empty = h.allocSlot()
        let r = h.invoke(empty, .cnodeCopy, [1, 2, 3, 4, 5])
        #expect(r.error == .invalidCapability)
        #expect(r.mrs.first == 0)
        #expect(h.root.pointee.state == .running)
    }

    @Test("Call on a CPtr whose lookup fails sends a CapFault to the fault endpoint")
    func callLookupFailureFaults() {
        let h = KernelHarness()
        let fep = h.retype(.endpoint)[0]
        let handler = thread(h)
        let t = thread(h, faultEP: fep)
        h.run(handler)
        h.syscall(.recv, cptr: fep)
        h.run(t)
        h.syscall(.call, cptr: badCPtr, info: MessageInfo(label: 0, length: 0))
        #expect(handler.pointee.state == .running)
        let m = h.reply(handler)
        #expect(m.label == FaultType.capFault.rawValue)
        #expect(m.mrs.count > 2 && m.mrs[1] == badCPtr && m.mrs[2] == 0)
        #expect(t.pointee.state == .blockedOnReply)
    }

    @Test("Send on a CPtr whose lookup fails also faults")
    func sendLookupFailureFaults() {
        let h = KernelHarness()
        let fep = h.retype(.endpoint)[0]
        let handler = thread(h)
        let t = thread(h, faultEP: fep)
        h.run(handler)
        h.syscall(.recv, cptr: fep)
        h.run(t)
        h.syscall(.send, cptr: badCPtr, info: MessageInfo(label: 0, length: 0))
        #expect(h.reply(handler).label == FaultType.capFault.rawValue)
        #expect(t.pointee.state == .blockedOnReply)
    }

    @Test("NBSend on a CPtr whose lookup fails does nothing")
    func nbSendLookupFailureSilent() {
        let h = KernelHarness()
        let fep = h.retype(.endpoint)[0]
        let handler = thread(h)
        let t = thread(h, faultEP: fep)
        h.run(handler)
        h.syscall(.recv, cptr: fep)
        h.run(t)
        h.syscall(.nbSend, cptr: badCPtr, info: MessageInfo(label: 0, length: 0))
        #expect(t.pointee.state == .running)
        #expect(t.pointee.fault.type == 0)
        #expect(handler.pointee.state == .blockedOnReceive)
        #expect(queue(h, fep) == [handler])
        #expect(h.k.hal.outputText.isEmpty)
    }

    @Test("a send-phase extra-cap lookup failure faults on Send")
    func extraCapLookupFailureFaults() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let fep = h.retype(.endpoint)[0]
        let handler = thread(h)
        let t = thread(h, faultEP: fep)
        h.run(handler)
        h.syscall(.recv, cptr: fep)
        h.run(t)
        h.syscall(.send, cptr: ep, info: MessageInfo(label: 0, extraCaps: 1, length: 0), caps: [badCPtr])
        let m = h.reply(handler)
        #expect(m.label == FaultType.capFault.rawValue)
        #expect(m.mrs.count > 1 && m.mrs[1] == badCPtr)
        #expect(epState(h, ep) == .idle)
    }
}
