// SPDX-License-Identifier: Apache-2.0
//
// Real guests: capability transfer, Suspend/Resume, Read/WriteRegisters of a blocked
// thread, exclusivity across guests, and ten thousand threads.

import Foundation
import Testing
import CShims
import UMKGuest
import UMKTestSupport
@testable import UMKernel

/// Shared state the exclusivity test's guests access through `inout`.
nonisolated(unsafe) var sharedArray: [Int] = []

/// Holds an `inout` access to `array` open while `body` runs.
@inline(never)
func withOpenAccess(_ array: inout [Int], _ body: () -> Void) {
    array.append(1)
    body()
    array.append(2)
}

enum ThreadPrograms {
    // MARK: Cap transfer

    /// A task that receives a cap and uses it: signals through the notification it got.
    static let receiver: ThreadEntry = { _, _ in
        IPCBuffer.setCapReceivePath(root: 4, index: 5, depth: 8)
        let (msg, badge) = seL4.recv(1)
        guestCheck(msg.extraCaps == 1 && badge == 0x33, "receiver: extraCaps \(msg.extraCaps) badge \(badge)")
        guestCheck(seL4.debugCapIdentify(5) == 6, "receiver: slot 5 holds no notification")
        seL4.signal(5)
        _ = seL4.wait(2)
    }

    static let capTransferRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let ep = alloc.make(.endpoint), let ntfn = alloc.make(.notification), let park = alloc.make(.notification),
              let badged = alloc.slot(), let task = alloc.makeTask(priority: 100) else { return guestCheck(false, "setup") }
        guestCheck(alloc.give(task, ep, at: 1, rights: [.read]) == .noError, "give ep")
        guestCheck(alloc.give(task, park, at: 2, rights: .read) == .noError, "give park")
        // The task's own CNode in its slot 4 (no guard: depth 8 names a slot), to receive into.
        guestCheck(alloc.give(task, task.cnode, at: 4) == .noError, "give cnode")
        guestCheck(CNode.mint(alloc.root, destIndex: badged, destDepth: 64, srcRoot: alloc.root, srcIndex: ntfn,
                              srcDepth: 64, rights: .write, badge: 0x5) == .noError, "mint")
        guestCheck(startThread(task.tcb, entry: ThreadPrograms.receiver, stackTop: task.stackTop) == .noError, "start")
        // Send the badged notification cap with Grant; the receiver signals through it.
        let granting = alloc.slot()!
        guestCheck(CNode.mint(alloc.root, destIndex: granting, destDepth: 64, srcRoot: alloc.root, srcIndex: ep,
                              srcDepth: 64, rights: .all, badge: 0x33) == .noError, "mint ep")
        IPCBuffer.setCap(0, badged)
        seL4.send(granting, MessageInfo(label: 0, extraCaps: 1, length: 0))
        let word = seL4.wait(ntfn)
        debugPrint("root: signalled through the transferred cap, word 0x\(String(word, radix: 16))\n")
        seL4.debugHalt()
    }

    // MARK: Suspend, Resume, registers

    static let blocker: ThreadEntry = { _, _ in
        let (_, badge) = seL4.recv(1)
        debugPrint("blocker: received badge \(badge)\n")
        _ = seL4.wait(2)
    }

    static let rewritten: ThreadEntry = { a, b in
        debugPrint("rewritten: started with \(a) and \(b)\n")
        seL4.signal(3)
        _ = seL4.wait(2)
    }

    static let registersRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let ep = alloc.make(.endpoint), let park = alloc.make(.notification), let done = alloc.make(.notification),
              let task = alloc.makeTask(priority: 100) else { return guestCheck(false, "setup") }
        guestCheck(alloc.give(task, ep, at: 1, rights: .all) == .noError, "give ep")
        guestCheck(alloc.give(task, park, at: 2, rights: .read) == .noError, "give park")
        guestCheck(alloc.give(task, done, at: 3, rights: .write) == .noError, "give done")
        guestCheck(startThread(task.tcb, entry: ThreadPrograms.blocker, stackTop: task.stackTop) == .noError, "start")
        // Let it run and block in Recv (the root lowers itself below it for a moment).
        guestCheck(TCB.setPriority(InitialCap.initThreadTCB.rawValue, authority: InitialCap.initThreadTCB.rawValue,
                                   priority: 50) == .noError, "lower")
        guestCheck(TCB.setPriority(InitialCap.initThreadTCB.rawValue, authority: InitialCap.initThreadTCB.rawValue,
                                   priority: 255) == .noError, "raise")
        // Read the blocked thread's registers: it stopped in the syscall stub, on its stack.
        guard case .success(let regs) = TCB.readRegisters(task.tcb, suspendSource: false) else {
            return guestCheck(false, "ReadRegisters")
        }
        let rip = regs[UserRegister.rip.rawValue], rsp = regs[UserRegister.rsp.rawValue]
        debugPrint("root: blocked thread rip \(rip == umk_syscall_address() ? "at the syscall" : "elsewhere"), rsp in stack \(rsp < task.stackTop && rsp > task.stackTop - 0x10000)\n")
        guestCheck(regs[UserRegister.rdi.rawValue] == 1, "rdi holds the endpoint CPtr")
        // Suspend and Resume: the Recv restarts and blocks again; a Send then reaches it.
        guestCheck(TCB.suspend(task.tcb) == .noError, "suspend")
        guestCheck(TCB.resume(task.tcb) == .noError, "resume")
        guestCheck(TCB.setPriority(InitialCap.initThreadTCB.rawValue, authority: InitialCap.initThreadTCB.rawValue,
                                   priority: 50) == .noError, "lower again")
        seL4.send(ep, MessageInfo(label: 0, length: 0))
        // Rewrite the (now parked) thread's registers: it starts over at a new entry.
        guestCheck(TCB.suspend(task.tcb) == .noError, "suspend 2")
        guestCheck(startThread(task.tcb, entry: ThreadPrograms.rewritten, stackTop: task.stackTop, arg0: 7, arg1: 9) == .noError,
                   "rewrite")
        _ = seL4.wait(done)
        debugPrint("root: done\n")
        seL4.debugHalt()
    }

    // MARK: Exclusivity

    /// Opens an access to the shared array, then blocks in a Call inside it.
    static let holder: ThreadEntry = { _, _ in
        withOpenAccess(&sharedArray) {
            _ = seL4.call(1, MessageInfo(label: 0, length: 0))
        }
        _ = seL4.wait(2)
    }

    static let exclusivityRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let ep = alloc.make(.endpoint), let park = alloc.make(.notification),
              let task = alloc.makeTask(priority: 100) else { return guestCheck(false, "setup") }
        guestCheck(alloc.give(task, ep, at: 1, rights: .all) == .noError, "give ep")
        guestCheck(alloc.give(task, park, at: 2, rights: .read) == .noError, "give park")
        guestCheck(startThread(task.tcb, entry: ThreadPrograms.holder, stackTop: task.stackTop) == .noError, "start")
        // Receive the call: the holder is now blocked inside its open access.
        _ = seL4.recv(ep)
        // The root touches the same array: with one access set per guest, no conflict.
        sharedArray.append(3)
        withOpenAccess(&sharedArray) {}
        // Suspend the holder mid-access; the array stays usable.
        guestCheck(TCB.suspend(task.tcb) == .noError, "suspend holder")
        sharedArray.append(4)
        debugPrint("root: shared array \(sharedArray)\n")
        seL4.debugHalt()
    }

    // MARK: Many threads

    static let threadCount: UInt64 = 10_000

    /// Sends its index, then parks.
    static let worker: ThreadEntry = { index, _ in
        IPCBuffer.setMR(0, index)
        seL4.send(1, MessageInfo(label: 0, length: 1))
        _ = seL4.wait(2)
    }

    static let manyThreadsRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        // 10,000 TCBs and their frames need more than the boot CNode's 4096 slots.
        guard alloc.enlargeCSpace(radix: 17) else { return guestCheck(false, "enlarge the CSpace") }
        guard let ep = alloc.make(.endpoint), let park = alloc.make(.notification),
              let cspace = alloc.make(.cnode, sizeBits: 2) else { return guestCheck(false, "setup") }
        // All workers share one small CSpace: 1 = the endpoint, 2 = the parking notification.
        guestCheck(CNode.copy(cspace, destIndex: 1, destDepth: 2, srcRoot: alloc.root, srcIndex: ep, srcDepth: 64,
                              rights: .write) == .noError, "cspace ep")
        guestCheck(CNode.copy(cspace, destIndex: 2, destDepth: 2, srcRoot: alloc.root, srcIndex: park, srcDepth: 64,
                              rights: .read) == .noError, "cspace park")
        guard case .success(let own) = VSpace.addressRange(InitialCap.initThreadVSpace.rawValue) else {
            return guestCheck(false, "address range")
        }
        let stackPages: UInt64 = 4
        var sum: UInt64 = 0
        for i in 0..<threadCount {
            // Each worker: a TCB in the root's VSpace with its own stack and IPC buffer.
            let base = own.lowerBound + 0x1_0000_0000 + i * (stackPages + 2) * 0x1000
            guard let tcb = alloc.make(.tcb),
                  let frames = alloc.mapFrames(vspace: InitialCap.initThreadVSpace.rawValue, at: base, count: stackPages + 1) else {
                return guestCheck(false, "out of memory at worker \(i)")
            }
            guestCheck(TCB.configure(tcb, faultEP: 0, cspaceRoot: cspace, cspaceRootData: 62, vspaceRoot: InitialCap.initThreadVSpace.rawValue,
                                     vspaceRootData: 0, buffer: base, bufferFrame: frames[0]) == .noError, "configure \(i)")
            guestCheck(TCB.setPriority(tcb, authority: InitialCap.initThreadTCB.rawValue, priority: 10) == .noError, "prio")
            guestCheck(startThread(tcb, entry: ThreadPrograms.worker, stackTop: base + (stackPages + 1) * 0x1000, arg0: i) == .noError,
                       "start \(i)")
        }
        for _ in 0..<threadCount {
            _ = seL4.recv(ep)
            sum &+= IPCBuffer.getMR(0)
        }
        debugPrint("root: \(threadCount) workers reported, sum \(sum)\n")
        seL4.debugHalt()
    }
}

/// The register probe: threads started at umk_trap_probe_registers by WriteRegisters.
enum ProbePrograms {
    /// Frame registers in the order the probe saves them (rsp and rflags last).
    static let order: [UserRegister] = [.rax, .rbx, .rcx, .rdx, .rsi, .rdi, .rbp, .r8, .r9, .r10, .r11, .r12, .r13,
                                        .r14, .r15, .rsp, .rflags]

    static let blocked: ThreadEntry = { _, _ in
        _ = seL4.recv(3)
        debugPrint("blocked: should not return from its Recv\n")
    }

    /// Writes distinct values into every frame register of `tcb` with resume, the IP at the
    /// probe; waits for the probe's ud2 and compares what it saw. Returns the mismatches.
    static func probe(_ tcb: CPtr, stackTop: UInt64, seed: UInt64, faults: CPtr) -> [String] {
        var regs = [UInt64](repeating: 0, count: UserRegister.count)
        for (i, r) in order.enumerated() { regs[r.rawValue] = seed &+ UInt64(i) &* 0x0101_0101_0101 }
        regs[UserRegister.rsp.rawValue] = stackTop - 0x128          // not on a 16-byte boundary
        regs[UserRegister.rflags.rawValue] = 0x2C3                   // CF, ZF, SF and IF set
        regs[UserRegister.rip.rawValue] = UInt64(UInt(bitPattern: unsafeBitCast(umk_trap_probe_registers as @convention(c) () -> Void, to: UnsafeRawPointer.self)))
        umk_probe_reset()
        guard TCB.writeRegisters(tcb, resumeTarget: true, registers: regs) == .noError else { return ["writeRegisters"] }
        let (msg, _) = seL4.recv(faults)
        guard msg.label == FaultType.userException.rawValue else { return ["fault label \(msg.label)"] }
        let seen = (0..<order.count).map { umk_probe_word(Int32($0)) }
        var wrong: [String] = []
        for (i, r) in order.enumerated() where seen[i] != regs[r.rawValue] {
            wrong.append("\(r) \(hex(seen[i])) not \(hex(regs[r.rawValue]))")
        }
        // The thread stays stopped in its fault (no reply).
        return wrong
    }

    static let root: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let faults = alloc.make(.endpoint), let park = alloc.make(.notification),
              let fresh = alloc.makeTask(priority: 100, faultEP: 1), let used = alloc.makeTask(priority: 100, faultEP: 1) else {
            return guestCheck(false, "setup")
        }
        for task in [fresh, used] {
            guestCheck(alloc.give(task, faults, at: 1, rights: [.write, .grant]) == .noError, "fault endpoint")
            guestCheck(alloc.give(task, park, at: 3, rights: .read) == .noError, "park")
        }
        // A thread that never ran.
        let w1 = probe(fresh.tcb, stackTop: fresh.stackTop, seed: 0x1000_0000_0000_0001, faults: faults)
        guestCheck(w1.isEmpty, "never-run thread: \(w1)")
        // A thread that ran and is blocked in Recv when its registers are rewritten.
        guestCheck(startThread(used.tcb, entry: blocked, stackTop: used.stackTop) == .noError, "start")
        seL4.yield()
        let w2 = probe(used.tcb, stackTop: used.stackTop, seed: 0x2000_0000_0000_0002, faults: faults)
        guestCheck(w2.isEmpty, "rewritten blocked thread: \(w2)")
        debugPrint("probe: every register as written\n")
        seL4.debugHalt()
    }

    /// Blocks in a Recv on slot 3 with marked callee-saved registers.
    static let markedWaiter: ThreadEntry = { _, _ in
        var io = umk_syscall_io_t()
        io.number = Syscall.recv.rawValue
        io.cptr = 3
        umk_trap_syscall_marked(&io)
    }

    /// ReadRegisters of a thread blocked in a syscall: the callee-saved registers it had.
    static let readBlockedRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let park = alloc.make(.endpoint), let task = alloc.makeTask(priority: 100) else { return guestCheck(false, "setup") }
        guestCheck(alloc.give(task, park, at: 3, rights: .read) == .noError, "park")
        guestCheck(startThread(task.tcb, entry: markedWaiter, stackTop: task.stackTop) == .noError, "start")
        _ = TCB.setPriority(InitialCap.initThreadTCB.rawValue, authority: InitialCap.initThreadTCB.rawValue, priority: 50)
        guard case .success(let regs) = TCB.readRegisters(task.tcb, suspendSource: false) else { return guestCheck(false, "read") }
        let marked = [UserRegister.rbx, .rbp, .r12, .r13, .r14].map { regs[$0.rawValue] }
        debugPrint("blocked: \(marked.map { hex($0) }.joined(separator: " ")), rdx \(Int64(bitPattern: regs[UserRegister.rdx.rawValue]))\n")
        seL4.debugHalt()
    }
}

extension LinuxGuests {
@Suite("Guest threads on Linux")
struct GuestThreadTests {
    @Test("IPC0002 a cap sent with Grant lands in the receiver's slot and works there")
    func capTransfer() throws {
        let (r, out) = try runSystem(ThreadPrograms.capTransferRoot)
        #expect(r.halted, "\(out)")
        #expect(!out.contains("FAIL"), "\(out)")
        #expect(out.contains("signalled through the transferred cap, word 0x5"))
    }

    @Test("THREADS0001 Read/WriteRegisters of a blocked thread, and Suspend/Resume restarting its Recv")
    func registersAndSuspend() throws {
        let (r, out) = try runSystem(ThreadPrograms.registersRoot)
        #expect(r.halted, "\(out)")
        #expect(!out.contains("FAIL"), "\(out)")
        #expect(out.contains("blocked thread rip at the syscall, rsp in stack true"))
        #expect(out.contains("blocker: received badge 0"))
        #expect(out.contains("rewritten: started with 7 and 9"))
        #expect(out.contains("root: done"))
    }

    @Test("EXCL0001 a guest blocked (then suspended) inside an open inout access does not trip exclusivity checking")
    func exclusivityPerGuest() async {
        await #expect(processExitsWith: .success) {
            sharedArray = []
            let (r, out) = try! runSystem(ThreadPrograms.exclusivityRoot)
            guard r.halted, out.contains("root: shared array [1, 3, 1, 2, 4]") else { fatalError(out) }
        }
    }

    @Test("EXCL0002 the inline access-set switch uses this thread's head in the Swift runtime, and the runtime when a guest has accesses open")
    func accessSetHead() {
        umk_access_probe()
        guard let slot = umk_access_head() else {
            Issue.record("the probe did not find the access-set head")
            return
        }
        let before = slot.pointee
        var state: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &state) { umk_access_enter($0.baseAddress!.assumingMemoryBound(to: UInt64.self)) }
        // Entered with no accesses of its own: the state remembers the thread's head.
        #expect(state.0 == UInt64(UInt(bitPattern: before)) && state.1 == 0)
        var inside: UnsafeMutableRawPointer? = nil
        withOpenAccess(&sharedArray) {
            inside = slot.pointee
            // Leaving with an access open moves it into the state (through the runtime)...
            withUnsafeMutableBytes(of: &state) { umk_access_exit($0.baseAddress!.assumingMemoryBound(to: UInt64.self)) }
            #expect(slot.pointee == before)
            #expect(state.0 == UInt64(UInt(bitPattern: inside)))
            // ...and entering puts it back, so the access can end.
            withUnsafeMutableBytes(of: &state) { umk_access_enter($0.baseAddress!.assumingMemoryBound(to: UInt64.self)) }
            #expect(slot.pointee == inside)
        }
        #expect(inside != nil && inside != before)
        #expect(slot.pointee == before)
        // With nothing open, leaving changes only the state.
        withUnsafeMutableBytes(of: &state) { umk_access_exit($0.baseAddress!.assumingMemoryBound(to: UInt64.self)) }
        #expect(state.0 == 0 && state.1 == 0 && slot.pointee == before)
    }

    @Test("THREADS0003 a thread started by WriteRegisters begins with every frame register as written, never-run or rewritten while blocked")
    func exactStart() throws {
        let (r, out) = try runSystem(ProbePrograms.root)
        #expect(r.halted, "\(out)")
        #expect(!out.contains("FAIL"), "\(out)")
        #expect(out.contains("probe: every register as written"), "\(out)")
    }

    @Test("THREADS0004 ReadRegisters of a thread blocked in a syscall reports the callee-saved registers it had, and its syscall number in rdx")
    func readBlocked() throws {
        let (r, out) = try runSystem(ProbePrograms.readBlockedRoot)
        #expect(r.halted, "\(out)")
        #expect(out.contains("blocked: 0xb0b000000000001 0xb0b000000000002 0xb0b000000000003 0xb0b000000000004 0xb0b000000000005, rdx -5"),
                "\(out)")
    }

    @Test("THREADS0005 a fresh start's FP image: the ABI's control words, and with XSAVE every component in its initial state (AVX registers cleared, not the last thread's)")
    func freshFPImage() throws {
        let ctx = UnsafeMutablePointer<umk_host_context_t>.allocate(capacity: 1)
        let frame = UnsafeMutablePointer<umk_full_frame_t>.allocate(capacity: 1)
        let area = UnsafeMutableRawPointer.allocate(byteCount: 3456, alignment: 64)
        defer { ctx.deallocate(); frame.deallocate(); area.deallocate() }
        area.initializeMemory(as: UInt8.self, repeating: 0xA5, count: 3456)
        ctx.initialize(to: umk_host_context_t())
        ctx.pointee.fs_base = 0x1234
        frame.initialize(to: umk_full_frame_t())
        frame.pointee.fpstate = UInt64(UInt(bitPattern: area))
        umk_context_init_full(ctx, frame)
        #expect(ctx.pointee.fs_base == 0x1234 && ctx.pointee.kind == UInt64(UMK_CONTEXT_FULL))
        #expect(area.load(as: UInt16.self) == 0x037F && area.load(fromByteOffset: 24, as: UInt32.self) == 0x1F80)
        #expect((0..<16).allSatisfy { area.load(fromByteOffset: 160 + $0 * 16, as: UInt64.self) == 0 }, "xmm registers zero")
        // Linux enables XSAVE wherever the CPU has it.
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        if cpuinfo.contains(" xsave ") {
            #expect(frame.pointee.xsave == 1)
            #expect((0..<8).allSatisfy { area.load(fromByteOffset: 512 + $0 * 8, as: UInt64.self) == 0 }, "XSAVE header: all initial")
        } else {
            #expect(frame.pointee.xsave == 0)
        }
    }

    @Test("THREADS0002 ten thousand threads are created and run to completion within RAM plus a fixed overhead")
    func tenThousandThreads() async {
        await #expect(processExitsWith: .success) {
            let ram: UInt64 = 512 << 20
            let (r, out) = try! runSystem(ramMiB: ram >> 20, ThreadPrograms.manyThreadsRoot)
            let n = ThreadPrograms.threadCount
            guard r.halted, out.contains("root: \(n) workers reported, sum \(n * (n - 1) / 2)") else { fatalError(out) }
            // Resident memory: RAM (what was touched of it) plus a fixed overhead.
            let statm = try! String(contentsOfFile: "/proc/self/statm", encoding: .utf8)
            let pages = UInt64(statm.split(separator: " ")[1])!
            guard pages * 4096 < ram + (128 << 20) else { fatalError("resident \(pages * 4096) bytes") }
        }
    }
}
}
