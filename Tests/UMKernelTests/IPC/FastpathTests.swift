// SPDX-License-Identifier: Apache-2.0
//
// The fastpath must be invisible: on any state, either it declines and leaves RAM as it
// was, or it leaves RAM exactly as the slowpath would. Since all kernel state lives in RAM,
// comparing RAM byte for byte compares everything. States are generated at random (fixed
// seeds) across the conditions the fastpath checks.

import Testing
import UMKABI
@testable import UMKernel

/// A small deterministic generator (SplitMix64), so failures replay.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Fastpath")
struct FastpathTests {
    /// A random state around one endpoint (or notification): threads in various states and
    /// priorities.
    struct World {
        var h: KernelHarness
        /// The object's original cap.
        var ep: UInt64
        var caps: [UInt64]
        var threads: [TCBRef]
    }

    func makeWorld(_ rng: inout SplitMix64, around type: ObjectType = .endpoint) -> World {
        let h = KernelHarness(ramMiB: 4)
        let ep = h.retype(type)[0]
        let ntfn = h.retype(.notification)[0]
        // Caps to the object with random rights and badges.
        var caps: [UInt64] = [ep]
        for _ in 0..<3 {
            let s = h.allocSlot()
            let rights = CapRights(rawValue: rng.next() & 0xF)
            _ = h.error(InitialCap.initThreadCNode.rawValue, .cnodeMint,
                        [s, 64, ep, 64, rights.rawValue, rng.next() % 4], caps: [InitialCap.initThreadCNode.rawValue])
            caps.append(s)
        }
        var threads: [TCBRef] = []
        for i in 0..<4 {
            let prio = [100, 100, 120, 80][Int(rng.next() % 4)]
            let t = h.makeThread(priority: UInt64(prio), resume: true, name: "t\(i)")
            threads.append(h.tcbRef(t))
        }
        // Sometimes the first thread has a bound notification, maybe with a signal pending.
        if rng.next() % 4 == 0 {
            let t = threads[0]
            h.k.bindNotification(t, h.k.notification(h.cap(ntfn).paddr))
            if rng.next() % 2 == 0 {
                h.k.sendSignal(h.k.notification(h.cap(ntfn).paddr), badge: 1)
            }
        }
        // The root steps aside so that the test threads are the highest runnable ones.
        #expect(h.error(InitialCap.initThreadTCB.rawValue, .tcbSetPriority, [1], caps: [InitialCap.initThreadTCB.rawValue]) == .noError)
        return World(h: h, ep: ep, caps: caps, threads: threads)
    }

    /// Runs the slowpath from the current state, then the fastpath from the same state:
    /// taken, it must leave RAM exactly as the slowpath did; declined, untouched. Both
    /// results pass the invariant checker. Returns whether the fastpath was taken.
    func agree(_ h: KernelHarness, _ path: String, slow: () -> Void, fast: () -> Bool) -> Bool {
        let before = h.snapshot()
        slow()
        h.check()
        let afterSlowpath = h.snapshot()
        h.restore(before)
        guard fast() else {
            #expect(h.snapshot() == before, "a declined \(path) fastpath changed state")
            return false
        }
        #expect(h.snapshot() == afterSlowpath, "fastpath \(path) diverged from the slowpath")
        h.check()
        return true
    }

    /// Lets each of the first `count` threads receive on the endpoint, in turn.
    func receive(_ w: World, _ count: Int, with cap: UInt64) {
        for t in w.threads.prefix(count) {
            w.h.run(t)
            w.h.syscall(.recv, cptr: cap)
        }
    }

    @Test("Call: fastpath and slowpath leave identical RAM on random states")
    func callAgreesWithSlowpath() {
        var rng = SplitMix64(state: 0xCA11)
        var hits = 0
        for _ in 0..<40 {
            let w = makeWorld(&rng)
            let h = w.h
            receive(w, Int(rng.next() % 3), with: w.ep)
            // A caller with a random message.
            guard let caller = w.threads.last(where: { $0.pointee.state.isRunnable }) else { continue }
            h.run(caller)
            let length = rng.next() % 7
            let extra = rng.next() % 4 == 0 ? 1 : 0
            let cap = w.caps[Int(rng.next() % UInt64(w.caps.count))]
            let mrs = (0..<length).map { _ in rng.next() }
            h.load(caller, cptr: cap, info: MessageInfo(label: rng.next() % 100, extraCaps: UInt64(extra), length: length),
                   mrs: mrs, caps: extra == 1 ? [cap] : [])
            if agree(h, "Call", slow: { h.k.handleSyscallSlowpath(Syscall.call.rawValue) },
                     fast: { h.k.fastpath(isCall: true) }) {
                hits += 1
            }
        }
        #expect(hits >= 5, "the fastpath was taken \(hits) times")
    }

    @Test("ReplyRecv: fastpath and slowpath leave identical RAM on random states, replying to a Call or to a VMFault")
    func replyRecvAgreesWithSlowpath() {
        var rng = SplitMix64(state: 0x5EED)
        var hits = 0, faultHits = 0
        for round in 0..<80 {
            let w = makeWorld(&rng)
            let h = w.h
            // A server receives; a client calls it, or faults to it (odd rounds: the reply
            // then restarts it); the server replies and receives again.
            let server = w.threads[0], client = w.threads[1], faults = round % 2 == 1
            // Usually nothing else competes with the client for the CPU.
            if rng.next() % 4 != 0 {
                h.k.suspend(w.threads[3])
                h.k.schedule()
            }
            h.run(server)
            h.syscall(.recv, cptr: w.ep)
            h.run(client)
            let callCap = w.caps[Int(rng.next() % UInt64(w.caps.count))]
            if faults {
                client.pointee.faultEndpoint = callCap
                client.pointee[.rip] = 0x40_2000 + rng.next() % 0x1000
                client.pointee.userEntry = .exception
                h.k.handleVMFaultEvent(address: rng.next() & 0x7FFF_F000, fsr: rng.next() % 8, instructionFault: false)
            } else {
                h.syscall(.call, cptr: callCap, info: MessageInfo(label: 1, length: rng.next() % 3))
            }
            if rng.next() % 3 == 0 {
                // Another sender queues on the endpoint.
                h.run(w.threads[2])
                h.syscall(.send, cptr: w.ep, info: MessageInfo(label: 2, length: 0))
            } else if rng.next() % 4 != 0 {
                h.k.suspend(w.threads[2])
                h.k.schedule()
            }
            guard server.pointee.state.isRunnable else { continue }
            h.run(server)
            let length = rng.next() % 7
            let recvCap = w.caps[Int(rng.next() % UInt64(w.caps.count))]
            h.load(server, cptr: recvCap, info: MessageInfo(label: 0, length: length), mrs: (0..<length).map { _ in rng.next() })
            if agree(h, "ReplyRecv", slow: { h.k.handleSyscallSlowpath(Syscall.replyRecv.rawValue) },
                     fast: { h.k.fastpath(isCall: false) }) {
                hits += 1
                if faults {
                    // The faulter runs again at its faulting instruction.
                    faultHits += 1
                    #expect(h.k.currentThread == client && client.pointee.nextIP == client.pointee[.rip])
                }
            }
        }
        #expect(hits - faultHits >= 5 && faultHits >= 5, "the fastpath was taken \(hits) times, \(faultHits) to a VMFault")
    }

    @Test("Signal: fastpath and slowpath leave identical RAM on random states, for Send and NBSend")
    func signalAgreesWithSlowpath() {
        var rng = SplitMix64(state: 0x516A)
        var hits = 0
        for round in 0..<60 {
            // Caps to the notification with random rights and badges; waiters wait on the first.
            let w = makeWorld(&rng, around: .notification)
            let h = w.h, ntfn = w.ep, caps = w.caps, threads = w.threads
            // Some threads wait on the notification (or it holds a pending signal).
            for t in threads.prefix(Int(rng.next() % 4)) {
                h.run(t)
                h.syscall(.recv, cptr: ntfn)
            }
            if rng.next() % 8 == 0 {
                h.k.sendSignal(h.k.notification(h.cap(ntfn).paddr), badge: 2)
            }
            guard let sender = threads.last(where: { $0.pointee.state.isRunnable }) else { continue }
            h.run(sender)
            let extra: UInt64 = rng.next() % 5 == 0 ? 1 : 0
            let cap = caps[Int(rng.next() % UInt64(caps.count))]
            let number = round % 2 == 0 ? Syscall.send : Syscall.nbSend
            h.load(sender, cptr: cap, info: MessageInfo(label: rng.next() % 8, extraCaps: extra, length: rng.next() % 3),
                   mrs: [rng.next(), rng.next()], caps: extra == 1 ? [cap] : [])
            if agree(h, "Signal", slow: { h.k.handleSyscallSlowpath(number.rawValue) },
                     fast: { h.k.fastpathSignal() }) {
                hits += 1
            }
        }
        #expect(hits >= 5, "the fastpath was taken \(hits) times")
    }

    @Test("VMFault: the fault fastpath and the slowpath leave identical RAM on random states")
    func vmFaultAgreesWithSlowpath() {
        var rng = SplitMix64(state: 0xFA17)
        var hits = 0
        for _ in 0..<60 {
            let w = makeWorld(&rng)
            let h = w.h
            // Handlers waiting on the endpoint (or none), then a thread faults; its fault
            // endpoint is one of the caps (random rights and badges) or a slot with none.
            receive(w, Int(rng.next() % 3), with: w.ep)
            guard let faulter = w.threads.last(where: { $0.pointee.state.isRunnable }) else { continue }
            h.run(faulter)
            faulter.pointee.faultEndpoint = rng.next() % 6 == 0 ? 0x3F : w.caps[Int(rng.next() % UInt64(w.caps.count))]
            faulter.pointee[.rip] = 0x40_1000 + rng.next() % 0x1000
            faulter.pointee.userEntry = .exception
            let address = rng.next() & 0x7FFF_FFFF_F000, fsr = rng.next() % 32, fetch = rng.next() % 4 == 0
            if agree(h, "VMFault", slow: { h.k.handleVMFaultEvent(address: address, fsr: fsr, instructionFault: fetch) },
                     fast: { h.k.fastpathVMFault(address: address, fsr: fsr, instructionFault: fetch) }) {
                hits += 1
                // The handler got seL4's VMFault message.
                let handler = h.k.currentThread
                #expect(MessageInfo(word: handler.pointee[.rsi]).label == FaultType.vmFault.rawValue)
                #expect(handler.pointee[.r8] == address && handler.pointee[.r15] == fsr)
            }
        }
        #expect(hits >= 5, "the fastpath was taken \(hits) times")
    }
}
