// SPDX-License-Identifier: Apache-2.0
//
// Guest faults on the Linux backend: a SIGSEGV or a processor exception in a guest stops
// it and becomes seL4's fault message to its fault endpoint; the handler's reply restarts
// or resumes it with every register restored. The root task is the fault handler here.

import Testing
import CShims
import Glibc
import UMKGuest
import UMKTestSupport
@testable import UMKernel

enum FaultPrograms {
    /// The heap's offset into a faulting task's address range.
    static let heap: UInt64 = 0x4000_0000

    /// Reads then writes fresh memory at `heap` (arg0; the pager maps it), then parks.
    static let toucher: ThreadEntry = { heap, _ in
        let p = UnsafeMutablePointer<UInt64>(bitPattern: UInt(heap))!
        let first = p.pointee
        p.pointee = 0xBEEF
        debugPrint("toucher: read \(first), then wrote and read \(p.pointee)\n")
        seL4.signal(2)
        _ = seL4.wait(3)
    }

    /// Builds a task with fault endpoint slot 1 (badge 0x77) and `done`/park notifications,
    /// started with the address of its heap in arg0.
    static func faultingTask(_ alloc: inout ObjectAllocator, ep: CPtr, done: CPtr, park: CPtr,
                             entry: ThreadEntry, badge: UInt64 = 0x77) -> Task? {
        guard let task = alloc.makeTask(priority: 100, faultEP: 1) else { return nil }
        guard alloc.give(task, ep, at: 1, rights: [.write, .grant], badge: badge) == .noError,
              alloc.give(task, done, at: 2, rights: .write) == .noError,
              alloc.give(task, park, at: 3, rights: .read) == .noError,
              startThread(task.tcb, entry: entry, stackTop: task.stackTop, arg0: task.address(heap)) == .noError else {
            return nil
        }
        return task
    }

    static let pagerRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let ep = alloc.make(.endpoint), let done = alloc.make(.notification), let park = alloc.make(.notification),
              let task = faultingTask(&alloc, ep: ep, done: done, park: park, entry: toucher) else {
            return guestCheck(false, "setup")
        }
        // The read fault: label VMFault, the very address the guest used, not a fetch, #PF code.
        let (msg, badge) = seL4.recv(ep)
        let addr = IPCBuffer.getMR(1)
        debugPrint("pager: label \(msg.label) length \(msg.length) badge 0x\(String(badge, radix: 16)) addr-is-pointer \(addr == task.address(heap)) in-window \(task.addressRange.contains(addr)) fetch \(IPCBuffer.getMR(2)) fsr \(IPCBuffer.getMR(3))\n")
        guard let frame = alloc.make(.smallPage), alloc.map(frame, vspace: task.vspace, vaddr: addr, rights: .readWrite) else {
            return guestCheck(false, "map")
        }
        seL4.reply(MessageInfo(label: 0, length: 0))
        _ = seL4.wait(done)
        debugPrint("pager: done\n")
        seL4.debugHalt()
    }

    /// Write fault and execute fault, each reported; the handler does not reply.
    static let writer: ThreadEntry = { heap, _ in
        UnsafeMutablePointer<UInt64>(bitPattern: UInt(heap))!.pointee = 1
    }
    static let jumper: ThreadEntry = { heap, _ in
        let f = unsafeBitCast(UnsafeRawPointer(bitPattern: UInt(heap + 0x2000))!,
                              to: (@convention(c) () -> Void).self)
        f()
    }

    static let kindsRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let ep = alloc.make(.endpoint), let done = alloc.make(.notification), let park = alloc.make(.notification),
              let first = faultingTask(&alloc, ep: ep, done: done, park: park, entry: writer, badge: 1) else {
            return guestCheck(false, "setup")
        }
        var (msg, badge) = seL4.recv(ep)
        debugPrint("write: badge \(badge) label \(msg.label) addr-is-pointer \(IPCBuffer.getMR(1) == first.address(heap)) fetch \(IPCBuffer.getMR(2)) write \(IPCBuffer.getMR(3) & 2 != 0)\n")
        guard let second = faultingTask(&alloc, ep: ep, done: done, park: park, entry: jumper, badge: 2) else {
            return guestCheck(false, "second task")
        }
        (msg, badge) = seL4.recv(ep)
        // A fetch fault's IP is the address it jumped to; the call came from host text.
        let target = second.address(heap + 0x2000)
        debugPrint("fetch: badge \(badge) label \(msg.label) addr-is-pointer \(IPCBuffer.getMR(1) == target) ip-is-pointer \(IPCBuffer.getMR(0) == target) fetch \(IPCBuffer.getMR(2))\n")
        seL4.debugHalt()
    }

    // MARK: UserException

    static let checker: ThreadEntry = { _, _ in
        let mismatches = umk_trap_check_registers()
        debugPrint("checker: register mismatches 0x\(String(mismatches, radix: 16))\n")
        umk_trap_ud2()
        debugPrint("checker: resumed after a second ud2\n")
        seL4.signal(2)
        _ = seL4.wait(3)
    }

    static let exceptionRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let ep = alloc.make(.endpoint), let done = alloc.make(.notification), let park = alloc.make(.notification),
              let task = faultingTask(&alloc, ep: ep, done: done, park: park, entry: checker) else {
            return guestCheck(false, "setup")
        }
        // Each ud2: label UserException, MR0 FaultIP, MR1 SP, MR2 FLAGS, MR3 vector 6.
        for round in 1...2 {
            let (msg, _) = seL4.recv(ep)
            let ip = IPCBuffer.getMR(0), sp = IPCBuffer.getMR(1), flags = IPCBuffer.getMR(2)
            debugPrint("exception \(round): label \(msg.label) length \(msg.length) vector \(IPCBuffer.getMR(3))\n")
            if round == 1 {
                // Read the stopped thread's registers: the full set is there.
                if case .success(let regs) = TCB.readRegisters(task.tcb, suspendSource: false) {
                    debugPrint("registers: rbx 0x\(String(regs[UserRegister.rbx.rawValue], radix: 16)) r15 0x\(String(regs[UserRegister.r15.rawValue], radix: 16))\n")
                }
            }
            // Resume past the 2-byte ud2 with the same SP and FLAGS.
            IPCBuffer.setMR(0, ip + 2)
            IPCBuffer.setMR(1, sp)
            IPCBuffer.setMR(2, flags)
            seL4.reply(MessageInfo(label: 0, length: 3))
        }
        _ = seL4.wait(done)
        seL4.debugHalt()
    }

    /// A reply with a non-zero label leaves the thread stopped.
    static let stopRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let ep = alloc.make(.endpoint), let done = alloc.make(.notification), let park = alloc.make(.notification),
              faultingTask(&alloc, ep: ep, done: done, park: park, entry: checker) != nil else {
            return guestCheck(false, "setup")
        }
        _ = seL4.recv(ep)
        seL4.reply(MessageInfo(label: 1, length: 0))
        // The checker stays Inactive: a resume would restart it at the faulting ud2.
        let word = seL4.poll(done)
        debugPrint("stopped: done word \(word)\n")
        seL4.debugHalt()
    }

    // MARK: Crashes reported while others keep serving

    static let wild: ThreadEntry = { _, _ in
        UnsafeMutablePointer<UInt64>(bitPattern: 0x10)!.pointee = 1
    }
    static let divider: ThreadEntry = { _, _ in
        debugPrint("divider: \(umk_trap_divide(1, 0))\n")
    }
    static let illegal: ThreadEntry = { _, _ in umk_trap_ud2() }
    static let overflow: ThreadEntry = { depth, _ in
        recurse(depth)
    }
    @inline(never) static func recurse(_ n: UInt64) {
        var buffer = (n, n, n, n, n, n, n, n)
        withUnsafeMutablePointer(to: &buffer) { _ in recurse(n &+ 1) }
    }

    static let server: ThreadEntry = { _, _ in
        var (msg, _) = seL4.recv(1)
        while true {
            IPCBuffer.setMR(0, IPCBuffer.getMR(0) &+ 1)
            (msg, _) = seL4.replyRecv(1, MessageInfo(label: 0, length: 1))
            _ = msg
        }
    }
    static let client: ThreadEntry = { _, _ in
        var n: UInt64 = 0
        while true {
            IPCBuffer.setMR(0, n)
            seL4.call(1, MessageInfo(label: 0, length: 1))
            n = IPCBuffer.getMR(0)
            if n % 100 == 0 { seL4.signal(2) }
        }
    }

    static let crashesRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let faults = alloc.make(.endpoint), let service = alloc.make(.endpoint), let progress = alloc.make(.notification),
              let park = alloc.make(.notification), let srv = alloc.makeTask(priority: 60),
              let cli = alloc.makeTask(priority: 60) else { return guestCheck(false, "setup") }
        guestCheck(alloc.give(srv, service, at: 1, rights: [.read, .write, .grant]) == .noError, "srv")
        guestCheck(alloc.give(cli, service, at: 1, rights: [.write, .grantReply]) == .noError, "cli")
        guestCheck(alloc.give(cli, progress, at: 2, rights: .write) == .noError, "cli progress")
        guestCheck(startThread(srv.tcb, entry: server, stackTop: srv.stackTop) == .noError, "start srv")
        guestCheck(startThread(cli.tcb, entry: client, stackTop: cli.stackTop) == .noError, "start cli")
        let crashers: [(ThreadEntry, String)] = [(wild, "wild pointer"), (divider, "divide by zero"),
                                                 (illegal, "illegal instruction"), (overflow, "stack overflow")]
        for (i, (entry, name)) in crashers.enumerated() {
            guard let t = faultingTask(&alloc, ep: faults, done: progress, park: park, entry: entry, badge: UInt64(i + 1)) else {
                return guestCheck(false, "crasher \(i)")
            }
            let (msg, badge) = seL4.recv(faults)
            debugPrint("report: \(name): badge \(badge) label \(msg.label) word1 0x\(String(IPCBuffer.getMR(msg.label == 5 ? 1 : 3), radix: 16))\n")
            guestCheck(TCB.suspend(t.tcb) == .noError, "stop \(name)")
            // The service pair keeps going: wait for more of its progress.
            _ = seL4.wait(progress)
        }
        // A thread whose TLS base points at nothing: its first TLS access is its own
        // VMFault there; umk's signal handling switches back to the host's FS base.
        guard let t = alloc.makeTask(priority: 100, faultEP: 1),
              alloc.give(t, faults, at: 1, rights: [.write, .grant], badge: 9) == .noError else {
            return guestCheck(false, "TLS task")
        }
        let probe = UInt64(UInt(bitPattern: unsafeBitCast(umk_trap_read_fs as @convention(c) () -> Void, to: UnsafeRawPointer.self)))
        guestCheck(startThread(t.tcb, ip: probe, stackTop: t.stackTop, arguments: [], tlsBase: 0x1000) == .noError, "start")
        let (msg, badge) = seL4.recv(faults)
        debugPrint("report: foreign TLS: badge \(badge) label \(msg.label) word1 0x\(String(IPCBuffer.getMR(1), radix: 16))\n")
        guestCheck(TCB.suspend(t.tcb) == .noError, "stop foreign TLS")
        // A TLS base the host cannot load (seL4 stores it unchecked): the thread's own fault.
        guard let u = alloc.makeTask(priority: 100, faultEP: 1),
              alloc.give(u, faults, at: 1, rights: [.write, .grant], badge: 10) == .noError,
              startThread(u.tcb, ip: probe, stackTop: u.stackTop, arguments: []) == .noError,
              TCB.setTLSBase(u.tcb, 0x8000_0000_0000_0000) == .noError else { return guestCheck(false, "bad TLS task") }
        let (msg2, badge2) = seL4.recv(faults)
        debugPrint("report: unloadable TLS: badge \(badge2) faulted \(msg2.label == 5 || msg2.label == 3)\n")
        _ = seL4.wait(progress)
        debugPrint("service still running\n")
        seL4.debugHalt()
    }
}

extension LinuxGuests {
    @Suite("Guest faults")
    struct GuestFaultTests {
        @Test("VMFAULT0001 a read fault goes to the fault handler as a VMFault; after the map and reply the guest sees zeroed memory")
        func pager() throws {
            let (r, out) = try runSystem(FaultPrograms.pagerRoot)
            #expect(r.halted, "\(out)")
            #expect(out.contains("pager: label 5 length 4 badge 0x77 addr-is-pointer true in-window true fetch 0 fsr 4"), "\(out)")
            #expect(out.contains("toucher: read 0, then wrote and read 48879"), "\(out)")
            #expect(out.contains("pager: done"))
        }

        @Test("VMFAULT0002 write and instruction-fetch faults carry their flags")
        func faultKinds() throws {
            let (r, out) = try runSystem(FaultPrograms.kindsRoot)
            #expect(r.halted, "\(out)")
            #expect(out.contains("write: badge 1 label 5 addr-is-pointer true fetch 0 write true"), "\(out)")
            #expect(out.contains("fetch: badge 2 label 5 addr-is-pointer true ip-is-pointer true fetch 1"), "\(out)")
        }

        @Test("EXCEPTION0001 ud2 is a UserException; a label-0 reply resumes with every register and the FP state restored")
        func userException() throws {
            let (r, out) = try runSystem(FaultPrograms.exceptionRoot)
            #expect(r.halted, "\(out)")
            #expect(out.contains("exception 1: label 3 length 5 vector 6"), "\(out)")
            #expect(out.contains("registers: rbx 0x1002 r15 0x100f"), "\(out)")
            #expect(out.contains("checker: register mismatches 0x0"), "\(out)")
            #expect(out.contains("exception 2: label 3 length 5 vector 6"), "\(out)")
            #expect(out.contains("checker: resumed after a second ud2"), "\(out)")
        }

        @Test("EXCEPTION0002 a reply with a non-zero label leaves the faulter stopped")
        func nonZeroLabelStops() throws {
            let (r, out) = try runSystem(FaultPrograms.stopRoot)
            #expect(r.halted, "\(out)")
            #expect(out.contains("stopped: done word 0"), "\(out)")
            #expect(!out.contains("register mismatches"), "\(out)")
        }

        @Test("CRASH0001 a wild pointer, a divide by zero, an illegal instruction and a stack overflow are each reported while a service keeps running")
        func crashesAreReported() throws {
            let (r, out) = try runSystem(FaultPrograms.crashesRoot)
            #expect(r.halted, "\(out)")
            #expect(out.contains("report: wild pointer: badge 1 label 5 word1 0x10"), "\(out)")
            #expect(out.contains("report: divide by zero: badge 2 label 3 word1 0x0"), "\(out)")
            #expect(out.contains("report: illegal instruction: badge 3 label 3 word1 0x6"), "\(out)")
            #expect(out.contains("report: foreign TLS: badge 9 label 5 word1 0x1000"), "\(out)")
            #expect(out.contains("report: unloadable TLS: badge 10 faulted true"), "\(out)")
            #expect(out.contains("report: stack overflow: badge 4 label 5"), "\(out)")
            #expect(out.contains("service still running"), "\(out)")
        }
    }
}

enum UnknownSyscallPrograms {
    /// Makes syscall number -50, which no kernel defines; prints what came back.
    static let caller: ThreadEntry = { _, _ in
        var io = umk_syscall_io_t()
        io.number = -50
        io.cptr = 7
        umk_syscall(&io)
        debugPrint("caller: emulated syscall returned \(io.cptr)\n")
        seL4.signal(2)
        _ = seL4.wait(3)
    }

    static let root: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let ep = alloc.make(.endpoint), let done = alloc.make(.notification), let park = alloc.make(.notification),
              FaultPrograms.faultingTask(&alloc, ep: ep, done: done, park: park, entry: caller) != nil else {
            return guestCheck(false, "setup")
        }
        // UnknownSyscall: label 2, 19 MRs, MR18 the number, MR5 rdi, MR15 FaultIP.
        let (msg, _) = seL4.recv(ep)
        let number = Int64(bitPattern: IPCBuffer.getMR(18)), rdi = IPCBuffer.getMR(5), ip = IPCBuffer.getMR(15)
        debugPrint("handler: label \(msg.label) length \(msg.length) syscall \(number) rdi \(rdi) ip-is-stub \(ip == umk_syscall_address())\n")
        // Emulate it: the result in rdi, and resume after the call instead of re-executing.
        let words = (0..<18).map { IPCBuffer.getMR($0) }
        for (i, w) in words.enumerated() { IPCBuffer.setMR(i, w) }
        IPCBuffer.setMR(5, rdi * 100)
        IPCBuffer.setMR(15, ip + 1)
        seL4.reply(MessageInfo(label: 0, length: 18))
        _ = seL4.wait(done)
        seL4.debugHalt()
    }
}

extension LinuxGuests.GuestFaultTests {
    @Test("SYSCALL0001 an unknown syscall is a fault; a label-0 reply that moves FaultIP past the call emulates it")
    func unknownSyscallEmulated() throws {
        let (r, out) = try runSystem(UnknownSyscallPrograms.root)
        #expect(r.halted, "\(out)")
        #expect(out.contains("handler: label 2 length 19 syscall -50 rdi 7 ip-is-stub true"), "\(out)")
        #expect(out.contains("caller: emulated syscall returned 700"), "\(out)")
    }

    @Test("KERNEL0001 a fault signal while no guest runs is a kernel bug: reported, then abort")
    func faultInKernelAborts() async {
        await #expect(processExitsWith: .signal(SIGABRT)) {
            _ = umk_faults_install({ _ in nil })
            raise(SIGSEGV)
        }
    }
}

enum StartPrograms {
    static let child: ThreadEntry = { _, _ in
        debugPrint("child: started on a stack the pager provided\n")
        seL4.signal(2)
        _ = seL4.wait(3)
    }

    /// Starts a thread whose stack top is on an unmapped page: its first frame faults to the
    /// root, which maps the page and replies; then it starts. A stack outside the window
    /// faults too instead of touching host memory.
    static let root: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let ep = alloc.make(.endpoint), let done = alloc.make(.notification), let park = alloc.make(.notification),
              let task = alloc.makeTask(priority: 100, faultEP: 1) else { return guestCheck(false, "setup") }
        guestCheck(alloc.give(task, ep, at: 1, rights: [.write, .grant]) == .noError, "ep")
        guestCheck(alloc.give(task, done, at: 2, rights: .write) == .noError, "done")
        guestCheck(alloc.give(task, park, at: 3, rights: .read) == .noError, "park")
        let top = task.address(FaultPrograms.heap + 0x10000)
        guestCheck(startThread(task.tcb, entry: child, stackTop: top) == .noError, "start")
        let (msg, _) = seL4.recv(ep)
        debugPrint("root: start fault label \(msg.label) at top-16 \(IPCBuffer.getMR(1) == top - 16)\n")
        guard let frame = alloc.make(.smallPage), alloc.map(frame, vspace: task.vspace, vaddr: top - 0x1000, rights: .readWrite) else {
            return guestCheck(false, "map stack")
        }
        seL4.reply(MessageInfo(label: 0, length: 0))
        _ = seL4.wait(done)
        // A stack pointer outside any window is a fault at that address, not a host write.
        guard let t2 = alloc.makeTask(priority: 100, faultEP: 1, offset: 0x2000_0000) else { return guestCheck(false, "t2") }
        guestCheck(alloc.give(t2, ep, at: 1, rights: [.write, .grant]) == .noError, "ep2")
        guestCheck(startThread(t2.tcb, entry: child, stackTop: 0xFFFF_0000_0000) == .noError, "start2")
        let (msg2, _) = seL4.recv(ep)
        debugPrint("root: wild stack fault label \(msg2.label) at 0x\(String(IPCBuffer.getMR(1), radix: 16))\n")
        seL4.debugHalt()
    }
}

extension LinuxGuests.GuestFaultTests {
    @Test("START0001 a thread started on an unmapped stack takes a VMFault there instead of crashing the host")
    func startOnUnmappedStack() throws {
        let (r, out) = try runSystem(StartPrograms.root)
        #expect(r.halted, "\(out)")
        #expect(out.contains("root: start fault label 5 at top-16 true"), "\(out)")
        #expect(out.contains("child: started on a stack the pager provided"), "\(out)")
        #expect(out.contains("root: wild stack fault label 5 at 0xfffefffffff0"), "\(out)")
    }
}

enum StaleSpacePrograms {
    static let waiter: ThreadEntry = { _, _ in
        _ = seL4.recv(4)
        debugPrint("waiter: should not get here\n")
    }

    /// Deletes the VSpace of a thread blocked in Recv, then wakes it: its results cannot be
    /// delivered and it faults on its (gone) stack — a VMFault, not a host crash.
    static let root: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let faults = alloc.make(.endpoint), let ep = alloc.make(.endpoint),
              let task = alloc.makeTask(priority: 100, faultEP: 1) else { return guestCheck(false, "setup") }
        guestCheck(alloc.give(task, faults, at: 1, rights: [.write, .grant]) == .noError, "faults")
        guestCheck(alloc.give(task, ep, at: 4, rights: .read) == .noError, "ep")
        guestCheck(startThread(task.tcb, entry: waiter, stackTop: task.stackTop) == .noError, "start")
        guestCheck(TCB.setPriority(InitialCap.initThreadTCB.rawValue, authority: InitialCap.initThreadTCB.rawValue,
                                   priority: 50) == .noError, "lower")
        // The waiter ran and blocked; delete its VSpace (the last cap: the TCB holds a copy).
        guestCheck(CNode.delete(alloc.root, index: task.vspace, depth: 64) == .noError, "delete vspace")
        guestCheck(TCB.setSpace(task.tcb, faultEP: 1, cspaceRoot: task.cnode, cspaceRootData: 64 - task.cnodeRadix,
                                vspaceRoot: InitialCap.initThreadVSpace.rawValue, vspaceRootData: 0) == .noError, "set space")
        seL4.send(ep, MessageInfo(label: 0, length: 0))
        let (msg, _) = seL4.recv(faults)
        debugPrint("root: the waiter faulted with label \(msg.label)\n")
        seL4.debugHalt()
    }
}

extension LinuxGuests.GuestFaultTests {
    @Test("STALE0001 a thread whose VSpace was deleted while it waited faults when it resumes; the host survives")
    func staleSpace() throws {
        let (r, out) = try runSystem(StaleSpacePrograms.root)
        #expect(r.halted, "\(out)")
        #expect(out.contains("root: the waiter faulted with label 5"), "\(out)")
        #expect(!out.contains("should not get here"), "\(out)")
    }
}
