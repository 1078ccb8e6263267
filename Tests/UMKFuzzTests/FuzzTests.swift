// SPDX-License-Identifier: Apache-2.0
//
// The fuzzer itself: every byte string decodes, the decoding is stable and canonical, a
// reset returns the world to the same state, the oracles hold on a short seeded campaign,
// and every regression input checked in under Fuzz/Regressions replays clean.

import Foundation
import Testing
import UMKABI
@testable import UMKFuzz
@testable import UMKernel

@Suite("Fuzzing", .serialized)
struct FuzzTests {
    @Test("any bytes decode; a program's canonical encoding decodes back to it")
    func decodeEncode() {
        var random = FuzzRandom(seed: 42)
        var mutator = FuzzMutator(seed: 7)
        for _ in 0..<2000 {
            let bytes = (0..<random.below(200)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let p = SyscallProgram(decoding: bytes)
            #expect(SyscallProgram(decoding: p.encoded) == p)
            let q = mutator.program()
            #expect(SyscallProgram(decoding: q.encoded) == q)
        }
        #expect(SyscallProgram(decoding: []).calls.isEmpty)
    }

    @Test("the decoder is stable: these bytes mean this program, in every version")
    func stableDecoding() {
        // op 0x10 (Call by t1), held cap #3, label 1 (UntypedRetype), length 3, no caps,
        // args: small 4, interesting #9, held #2; then an interrupt on IRQ 5; then a
        // raw syscall -9 by t2 on slot 7, label 0, length 0.
        let bytes: [UInt8] = [0x10, 0x03, 0x01, 0x03, 0x00, 0x04, 0x89, 0xC2, 0x0F, 0x05, 0x2E, 0xF7, 0xE7, 0x00, 0x00, 0x00]
        let p = SyscallProgram(decoding: bytes)
        #expect(p.calls == [
            .syscall(FuzzSyscall(thread: 1, number: -1, cptr: .held(3), label: 1, length: 3,
                                 args: [.small(4), .interesting(9), .held(2)], caps: [])),
            .interrupt(5),
            .syscall(FuzzSyscall(thread: 2, number: -9, cptr: .slot(7), label: 0, length: 0, args: [], caps: [])),
        ])
        #expect(p.description.contains("t1 call cptr=held#3 untypedRetype length=3 args=[4, 0x9, held#2]"))
    }

    @Test("a run starts from the snapshot: the same program gives the same trace and the same RAM every time")
    func resetIsExact() throws {
        let world = FuzzWorld()
        var mutator = FuzzMutator(seed: 99)
        for _ in 0..<50 {
            let p = mutator.program()
            let a = try world.run(p, trace: true)
            let ramA = world.kernel.physmap.words()
            // Something else in between, so a reset that forgot a word would show.
            _ = try world.run(mutator.program())
            let b = try world.run(p, trace: true)
            #expect(a.trace == b.trace)
            #expect(a.features == b.features)
            #expect(world.kernel.physmap.words() == ramA, "RAM after the same program differs")
        }
    }

    @Test("reference decision: a Call on an empty slot replies InvalidCapability(0) and the oracle sees it")
    func emptySlotReference() throws {
        let world = FuzzWorld()
        // Slot 20 of CSpace A is empty.
        let p = SyscallProgram(calls: [.syscall(FuzzSyscall(thread: 0, number: -1, cptr: .raw(20), label: 5, length: 0,
                                                            args: [], caps: []))])
        let outcome = try world.run(p, trace: true)
        #expect(outcome.trace.first?.contains("reply invalidCapability") == true, "\(outcome.trace)")
    }

    @Test("reference decision: a failed lookup with no fault endpoint stops the thread; NBSend drops it")
    func lookupFaultReference() throws {
        let world = FuzzWorld()
        // CSpace A's guard is 59 zero bits: a CPtr with high bits set misses it.
        func call(_ number: Int64) -> SyscallProgram {
            SyscallProgram(calls: [.syscall(FuzzSyscall(thread: 0, number: number, cptr: .raw(1 << 40), label: 1, length: 0,
                                                        args: [], caps: []))])
        }
        let t0 = world.threadName(world.threads[0])
        let faulted = try world.run(call(Syscall.call.rawValue), trace: true)
        #expect(faulted.trace.first?.contains("(lookup fails): \(t0) inactive") == true, "\(faulted.trace)")
        let dropped = try world.run(call(Syscall.nbSend.rawValue), trace: true)
        #expect(dropped.trace.first?.contains("(lookup fails): \(t0) running") == true, "\(dropped.trace)")
    }

    @Test("a call's issuer is a thread the scheduler could run: below the root's priority, fuzz threads wait")
    func issuerRespectsPriority() throws {
        let world = FuzzWorld()
        func lower(_ thread: UInt8) -> FuzzCall {
            // TCB_SetPriority of the thread's own TCB (slot 2 of CSpace A for T0, 3 for T1, 2 of B
            // for T2) to 10, with itself (MCP 100) as the authority.
            let own: UInt64 = thread == 1 ? 3 : 2
            return .syscall(FuzzSyscall(thread: thread, number: -1, cptr: .raw(own),
                                        label: InvocationLabel.tcbSetPriority.rawValue, length: 1,
                                        args: [.raw(10)], caps: [.raw(own)]))
        }
        let emptySlotCall = FuzzCall.syscall(FuzzSyscall(thread: 0, number: -1, cptr: .raw(20), label: 5, length: 0,
                                                         args: [], caps: []))
        // T0 below T1 and T2: its call is made by one of them.
        let first = try world.run(SyscallProgram(calls: [lower(0), emptySlotCall]), trace: true)
        // (A trace line names the intended thread first and the issuer after the cap.)
        let t0 = world.threadName(world.threads[0])
        #expect(first.trace.count == 2 && first.trace[0].contains("): \(t0) running"), "\(first.trace)")
        #expect(!first.trace[1].contains("): \(t0) "), "\(first.trace)")
        // All three below the root (priority 50): the root runs and no fuzz thread can.
        let all = try world.run(SyscallProgram(calls: [lower(0), lower(1), lower(2), emptySlotCall]), trace: true)
        #expect(all.trace.count == 4 && all.trace[3].hasSuffix("skipped: no fuzz thread can run"), "\(all.trace)")
    }

    @Test("the oracles catch a broken kernel state: a corrupted derivation link fails the invariant check")
    func oraclesCanFail() {
        let world = FuzzWorld()
        world.restore()
        // Point the first fuzz thread's CSpace root slot's CDT link at a non-slot address.
        let s = world.threads[0].slot(.cTable)
        s.pointee.next = 0x10
        #expect(throws: FuzzFailure.self) { try world.checkInvariants(at: 0) }
        world.restore()
        #expect(throws: Never.self) { try world.checkInvariants(at: 0) }
    }

    @Test("a short seeded campaign (3000 programs) holds every oracle and finds coverage")
    func shortCampaign() {
        var campaign = FuzzCampaign(seed: 2026)
        for _ in 0..<3000 {
            let p = campaign.nextProgram()
            if let failure = campaign.execute(p) {
                let minimal = campaign.minimize(p, failure: failure)
                Issue.record("\(failure)\n\(minimal)")
                return
            }
        }
        #expect(campaign.coverage.count > 500)
        #expect(campaign.syscalls > 10_000)
    }

    @Test("every checked-in regression input replays with every oracle holding")
    func regressions() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Regressions")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasPrefix(".") && $0 != "README.md" }
        #expect(!names.isEmpty)
        let world = FuzzWorld()
        // Each input still reaches what it was found for.
        let occupied = try world.run(SyscallProgram(decoding: [UInt8](try Data(contentsOf: dir.appendingPathComponent(
            "retype-into-occupied-slots.bin")))), trace: true)
        #expect(occupied.trace.first?.contains("(untyped)") == true && occupied.trace.first?.contains("reply deleteFirst") == true,
                "\(occupied.trace)")
        for name in names.sorted() {
            let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))
            #expect(throws: Never.self, "\(name)") { _ = try world.run(SyscallProgram(decoding: bytes)) }
        }
    }
}
