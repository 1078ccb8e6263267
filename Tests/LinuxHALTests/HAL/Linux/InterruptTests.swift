// SPDX-License-Identifier: Apache-2.0
//
// Interrupts, drivers, preemption and the two clocks on real guests: the console driver
// takes host input through IRQ 4 and acks it; equal-priority compute-bound tasks are
// round-robined by the kernel's tick in real time; a tick that lands in host library code
// waits until the guest is back in its own code; the timer server wakes 100 clients in
// deadline order; a virtual-time run replayed from its recording prints the same bytes.

import Foundation
import Testing
import CShims
import Servers
import UMKBench
import UMKGuest
import UMKTestSupport
@testable import UMKernel

/// Boots `root` on a machine with `options`; returns the run, the debug output and what
/// the guest sent through the UART.
func runMachine(ramMiB: UInt64 = 64, options: MachineOptions, _ root: ThreadEntry) throws
    -> (result: LinuxRunResult, output: String, console: String, hal: LinuxHAL) {
    let k = Kernel(hal: try LinuxHAL(ramSize: ramMiB << 20, echo: false, options: options))
    defer { k.hal.release() }
    let r = try k.runGuests(root: root)
    return (r, k.hal.outputText, String(decoding: k.hal.consoleOutput, as: UTF8.self), k.hal)
}

/// A pipe: (read end, write end).
func makePipe() -> (Int32, Int32) {
    var fds: [Int32] = [0, 0]
    precondition(pipe(&fds) == 0)
    return (fds[0], fds[1])
}

func writeAll(_ fd: Int32, _ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}

enum InterruptPrograms {
    nonisolated(unsafe) static var cyclesPerMillisecond: UInt64 = 2_600_000
    nonisolated(unsafe) static var firstRun = [UInt64](repeating: 0, count: 4)
    nonisolated(unsafe) static var resumes = [Int](repeating: 0, count: 4)
    nonisolated(unsafe) static var observedIPs: [UInt64] = []
    nonisolated(unsafe) static var wakeOrder: [(index: UInt64, deadline: UInt64, woke: UInt64)] = []
    /// Host monotonic time at each client's wake-up, and the server's and host's time when
    /// the deadlines were set (to check the server's clock against the host's).
    nonisolated(unsafe) static var hostWake = [UInt64](repeating: 0, count: 100)
    nonisolated(unsafe) static var clockPair: (server: UInt64, host: UInt64) = (0, 0)

    static func startDriver(_ alloc: inout ObjectAllocator, _ entry: ThreadEntry, _ name: String, prio: UInt64,
                            ports: ClosedRange<UInt16>, irq: UInt64, badge: UInt64) -> CPtr? {
        do {
            return try alloc.startDriver(entry, name: name, priority: prio, ports: ports, irq: irq, irqBadge: badge).endpoint
        } catch {
            guestCheck(false, "\(error)")
            return nil
        }
    }

    // MARK: Console

    static let consoleRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let console = startDriver(&alloc, ConsoleDriver.main, "console", prio: 200, ports: 0x3F8...0x3FF,
                                        irq: 4, badge: ConsoleDriver.irqBadge) else { return }
        guestCheck(ConsoleClient.write(console, "ready\n"), "write")
        for _ in 0..<3 {
            guard let line = ConsoleClient.readLine(console) else { return guestCheck(false, "readLine") }
            debugPrint("got: \(line)\n")
        }
        seL4.debugHalt()
    }

    // MARK: Rules from a guest

    static let rulesRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        let control = InitialCap.ioPortControl.rawValue
        guard let a = alloc.slot(), let b = alloc.slot(), let h = alloc.slot(), let n = alloc.make(.notification) else {
            return guestCheck(false, "slots")
        }
        guestCheck(IOPortControl.issue(control, first: 0x3FF, last: 0x3F8, root: alloc.root, index: a, depth: 64) == .invalidArgument, "backwards")
        guestCheck(IOPortControl.issue(control, first: 0x3F8, last: 0x3FB, root: alloc.root, index: a, depth: 64) == .noError, "issue")
        guestCheck(IOPortControl.issue(control, first: 0x3FB, last: 0x3FF, root: alloc.root, index: b, depth: 64) == .revokeFirst, "overlap")
        guestCheck(IOPort.out8(a, port: 0x3FF, 1) == .illegalOperation, "outside")
        guestCheck(IOPort.in16(a, port: 0x3FB) == .failure(.illegalOperation), "straddles the end")
        guestCheck(IOPort.out8(a, port: 0x3F9, 0) == .noError, "inside")
        guestCheck(IOPort.in8(a, port: 0x3FA) == .success(0x01), "IIR: nothing pending")
        guestCheck(IRQControl.get(InitialCap.irqControl.rawValue, irq: 16, root: alloc.root, index: h, depth: 64) == .rangeError, "irq 16")
        guestCheck(IRQControl.get(InitialCap.irqControl.rawValue, irq: 6, root: alloc.root, index: h, depth: 64) == .noError, "irq 6")
        guestCheck(IRQControl.get(InitialCap.irqControl.rawValue, irq: 6, root: alloc.root, index: b, depth: 64) == .revokeFirst, "irq 6 again")
        guestCheck(IRQHandler.setNotification(h, notification: a) == .invalidCapability, "not a notification")
        guestCheck(IRQHandler.setNotification(h, notification: n) == .noError, "set")
        guestCheck(IRQHandler.ack(h) == .noError, "ack")
        guestCheck(IRQHandler.clear(h) == .noError, "clear")
        debugPrint("rules ok\n")
        seL4.debugHalt()
    }

    // MARK: Preemption

    /// Spins for `arg1` cycles in its own code, counting the times it was switched away.
    static let spinner: ThreadEntry = { index, budget in
        let i = Int(index)
        let start = umk_cycles()
        firstRun[i] = start
        var last = start
        let gap = cyclesPerMillisecond * 2
        while true {
            let t = umk_cycles()
            if t &- last > gap { resumes[i] += 1 }
            last = t
            if t &- start > budget { break }
        }
        seL4.signal(1)
        _ = seL4.wait(2)
    }


    static let roundRobinRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let done = alloc.make(.notification), let park = alloc.make(.notification) else { return guestCheck(false, "setup") }
        var tasks: [Task] = []
        for i in 0..<3 {
            guard let t = alloc.makeTask(priority: 100, offset: 0x1000_0000 + UInt64(i) << 24) else { return guestCheck(false, "task") }
            guestCheck(alloc.give(t, done, at: 1) == .noError && alloc.give(t, park, at: 2) == .noError, "give")
            tasks.append(t)
        }
        let budget = cyclesPerMillisecond * 300
        for (i, t) in tasks.enumerated() {
            guestCheck(startThread(t.tcb, entry: spinner, stackTop: t.stackTop, arg0: UInt64(i), arg1: budget) == .noError, "start")
        }
        for _ in 0..<3 { _ = seL4.wait(done) }
        debugPrint("all spun\n")
        seL4.debugHalt()
    }

    /// Alternates between libc's memset (a few hundred µs) and as long in its own code.
    static let libraryCaller: ThreadEntry = { _, budget in
        let size = 2 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        let start = umk_cycles()
        firstRun[0] = start
        while umk_cycles() &- start < budget {
            let before = umk_cycles()
            memset(buffer, Int32(before & 0xFF), size)
            let spent = umk_cycles() &- before
            let resume = umk_cycles()
            while umk_cycles() &- resume < spent {}
        }
        buffer.deallocate()
        seL4.signal(1)
        _ = seL4.wait(2)
    }

    /// Reads the library caller's registers whenever it runs: where was it switched?
    static let observer: ThreadEntry = { _, budget in
        let start = umk_cycles()
        firstRun[1] = start
        var last = start
        while umk_cycles() &- start < budget {
            let t = umk_cycles()
            if t &- last > cyclesPerMillisecond {
                // The other thread ran since: it was switched out somewhere.
                switch TCB.readRegisters(3, suspendSource: false) {
                case .success(let regs): observedIPs.append(regs[UserRegister.rip.rawValue])
                case .failure(let e): guestCheck(false, "ReadRegisters: \(e)")
                }
            }
            last = t
        }
        seL4.signal(1)
        _ = seL4.wait(2)
    }

    static let libraryRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let done = alloc.make(.notification), let park = alloc.make(.notification),
              let caller = alloc.makeTask(priority: 100, offset: 0x1000_0000, stackPages: 64),
              let watcher = alloc.makeTask(priority: 100, offset: 0x2000_0000) else { return guestCheck(false, "setup") }
        for t in [caller, watcher] {
            guestCheck(alloc.give(t, done, at: 1) == .noError && alloc.give(t, park, at: 2) == .noError, "give")
        }
        guestCheck(alloc.give(watcher, caller.tcb, at: 3) == .noError, "give tcb")
        let budget = cyclesPerMillisecond * 300
        guestCheck(startThread(caller.tcb, entry: libraryCaller, stackTop: caller.stackTop, arg1: budget) == .noError, "start")
        guestCheck(startThread(watcher.tcb, entry: observer, stackTop: watcher.stackTop, arg1: budget) == .noError, "start")
        for _ in 0..<2 { _ = seL4.wait(done) }
        debugPrint("library test done\n")
        seL4.debugHalt()
    }

    // MARK: User signals

    /// Waits for IRQ 6 (SIGUSR2) twice, acking in between, then halts.
    static let userSignalRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let ntfn = alloc.make(.notification), let handler = alloc.slot(), let badged = alloc.slot() else {
            return guestCheck(false, "setup")
        }
        guestCheck(IRQControl.get(InitialCap.irqControl.rawValue, irq: 6, root: alloc.root, index: handler, depth: 64) == .noError, "get")
        guestCheck(CNode.mint(alloc.root, destIndex: badged, destDepth: 64, srcRoot: alloc.root, srcIndex: ntfn, srcDepth: 64,
                              rights: .all, badge: 0x60) == .noError, "mint")
        guestCheck(IRQHandler.setNotification(handler, notification: badged) == .noError, "set")
        IRQBenchSystem.waitingFor.store(1, ordering: .sequentiallyConsistent)
        let first = seL4.wait(ntfn)
        guestCheck(IRQHandler.ack(handler) == .noError, "ack")
        IRQBenchSystem.waitingFor.store(2, ordering: .sequentiallyConsistent)
        let second = seL4.wait(ntfn)
        debugPrint("IRQ 6 twice: 0x\(String(first, radix: 16)) 0x\(String(second, radix: 16))\n")
        seL4.debugHalt()
    }

    // MARK: Timer server

    /// A client: sleeps until its deadline, then reports (index, deadline, wake time).
    static let sleeper: ThreadEntry = { index, deadline in
        let woke = TimerClient.sleep(1, until: deadline)
        hostWake[Int(index)] = umk_monotonic_ns()
        IPCBuffer.setMR(0, index)
        IPCBuffer.setMR(1, deadline)
        IPCBuffer.setMR(2, woke)
        _ = seL4.call(2, MessageInfo(label: 0, length: 3))
        _ = seL4.wait(3)
    }

    static let timerRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guestCheck(alloc.enlargeCSpace(radix: 14), "enlarge")
        guard let timer = startDriver(&alloc, TimerServer.main, "timer", prio: 250, ports: 0x40...0x43, irq: 0,
                                      badge: TimerServer.irqBadge),
              let collector = alloc.make(.endpoint), let park = alloc.make(.notification) else { return guestCheck(false, "setup") }
        var clients: [Task] = []
        for i in 0..<100 {
            guard let t = alloc.makeTask(priority: 150, offset: 0x1000_0000 + UInt64(i) << 24, stackPages: 8) else {
                return guestCheck(false, "client \(i)")
            }
            guestCheck(alloc.give(t, timer, at: 1) == .noError && alloc.give(t, collector, at: 2) == .noError
                       && alloc.give(t, park, at: 3) == .noError, "give")
            clients.append(t)
        }
        // Deadlines 0.5 ms apart in a scrambled order, starting 100 ms from now.
        let serverNow = TimerClient.now(timer)
        clockPair = (serverNow, umk_monotonic_ns())
        let t0 = serverNow + 100_000_000
        for (i, t) in clients.enumerated() {
            let deadline = t0 + UInt64((i * 37) % 100) * 500_000
            guestCheck(startThread(t.tcb, entry: sleeper, stackTop: t.stackTop, arg0: UInt64(i), arg1: deadline) == .noError, "start")
        }
        for _ in 0..<100 {
            _ = seL4.recv(collector)
            wakeOrder.append((IPCBuffer.getMR(0), IPCBuffer.getMR(1), IPCBuffer.getMR(2)))
            seL4.reply(MessageInfo(label: 0, length: 0))
        }
        debugPrint("timers done\n")
        seL4.debugHalt()
    }

    // MARK: Determinism

    /// Reads lines from the console; for each, sleeps a line-dependent time and echoes it
    /// with the timer's clock. "quit" ends the run.
    static let echoRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let console = startDriver(&alloc, ConsoleDriver.main, "console", prio: 200, ports: 0x3F8...0x3FF,
                                        irq: 4, badge: ConsoleDriver.irqBadge),
              let timer = startDriver(&alloc, TimerServer.main, "timer", prio: 250, ports: 0x40...0x43, irq: 0,
                                      badge: TimerServer.irqBadge) else { return }
        var n = 0
        while let line = ConsoleClient.readLine(console) {
            n += 1
            let woke = TimerClient.sleep(timer, nanoseconds: UInt64(line.utf8.count) * 1_000_000)
            ConsoleClient.write(console, "\(n): \(line) at \(woke)\n")
            debugPrint("echo \(n) \(line) \(woke)\n")
            if line == "quit" { break }
        }
        seL4.debugHalt()
    }
}

extension LinuxGuests {
    @Suite("Interrupts and devices")
    struct InterruptTests {
        @Test("IRQ0001 the console driver receives host input through IRQ 4 and acks it (real time)")
        func consoleInput() throws {
            let (inRead, inWrite) = makePipe()
            let (outRead, outWrite) = makePipe()
            defer { close(inRead); close(inWrite); close(outRead) }
            writeAll(inWrite, "first line\nsec")
            // The rest arrives while the system runs (idle, waiting on the driver).
            let writer = Thread {
                usleep(30_000)
                writeAll(inWrite, "ond line\n")
                usleep(30_000)
                writeAll(inWrite, "third\n")
            }
            writer.start()
            var options = MachineOptions(clock: .realtime, console: .descriptors(input: inRead, output: outWrite))
            options.tickNanoseconds = 4_000_000
            let (r, out, console, _) = try runMachine(options: options, InterruptPrograms.consoleRoot)
            close(outWrite)
            #expect(r.halted, "\(out)")
            #expect(out.hasPrefix("got: first line\ngot: second line\ngot: third\n"), "\(out)")
            #expect(console == "ready\n")
            var buffer = [UInt8](repeating: 0, count: 64)
            let n = read(outRead, &buffer, 64)
            #expect(String(decoding: buffer[0..<max(n, 0)], as: UTF8.self) == "ready\n")
        }

        @Test("IRQ0002 IOPort and IRQ error rules through real syscalls")
        func rules() throws {
            let (r, out, _, _) = try runMachine(options: MachineOptions(), InterruptPrograms.rulesRoot)
            #expect(r.halted && out.hasPrefix("rules ok\n"), "\(out)")
        }

        @Test("PREEMPT0001 equal-priority compute-bound tasks are round-robined by the tick (real time)")
        func roundRobin() throws {
            InterruptPrograms.cyclesPerMillisecond = calibrateCycles()
            InterruptPrograms.firstRun = [0, 0, 0, 0]
            InterruptPrograms.resumes = [0, 0, 0, 0]
            let (r, out, _, _) = try runMachine(options: MachineOptions(clock: .realtime), InterruptPrograms.roundRobinRoot)
            #expect(r.halted, "\(out)")
            let first = InterruptPrograms.firstRun[0..<3]
            let spread = first.max()! - first.min()!
            // Without preemption the second would start 300 ms after the first; with a
            // 20 ms slice all three start within a few slices.
            #expect(spread < InterruptPrograms.cyclesPerMillisecond * 150, "start spread \(spread / InterruptPrograms.cyclesPerMillisecond) ms")
            for i in 0..<3 {
                #expect(InterruptPrograms.resumes[i] >= 3, "spinner \(i) resumed \(InterruptPrograms.resumes[i]) times")
            }
        }

        @Test("PREEMPT0002 a thread inside a host library call is switched only back in its own code")
        func libraryCall() throws {
            InterruptPrograms.cyclesPerMillisecond = calibrateCycles()
            InterruptPrograms.observedIPs = []
            let (r, out, _, _) = try runMachine(options: MachineOptions(clock: .realtime), InterruptPrograms.libraryRoot)
            #expect(r.halted, "\(out)")
            // The caller blocked in its final Wait reports the syscall stub: not a preemption.
            let ips = InterruptPrograms.observedIPs.filter { $0 != umk_syscall_address() }
            #expect(ips.count >= 3, "the caller was switched \(ips.count) times: \(out)")
            #expect(umk_unsafe_range_count() > 0)
            for ip in ips {
                // Checked independently of umk's own ranges: the loader names the object.
                let object = loadedObject(containing: ip)
                #expect(!object.contains("libc.so"), "switched at 0x\(String(ip, radix: 16)) inside \(object)")
                #expect(umk_pc_preemptible(ip) == 1, "switched at 0x\(String(ip, radix: 16)) inside host code")
            }
            // The ticks did land inside memset and were retried.
            #expect(umk_deferred_count() > 0)
        }

        @Test("IRQ0003 SIGUSR2 from another host thread is IRQ 6: signalled with the handler's badge, again after Ack")
        func userSignal() throws {
            IRQBenchSystem.waitingFor.store(0, ordering: .sequentiallyConsistent)
            let pid = getpid()
            let sender = Thread {
                for n in 1...2 {
                    while IRQBenchSystem.waitingFor.load(ordering: .sequentiallyConsistent) < n { usleep(100) }
                    usleep(2_000)
                    // Process-directed, as `kill -USR2` from a shell would be.
                    kill(pid, SIGUSR2)
                }
            }
            sender.start()
            let (r, out, _, _) = try runMachine(options: MachineOptions(clock: .realtime), InterruptPrograms.userSignalRoot)
            #expect(r.halted, "\(out)")
            #expect(out.hasPrefix("IRQ 6 twice: 0x60 0x60\n"), "\(out)")
        }

        @Test("CONSOLE0001 the console on a Unix socket: a client connects, types commands and reads the answers")
        func socketConsole() throws {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("umk-\(getpid()).sock").path
            defer { unlink(path) }
            nonisolated(unsafe) var received = ""
            let finished = DispatchSemaphore(value: 0)
            let client = Thread {
                defer { finished.signal() }
                // Connect once umk listens, send commands, read until the goodbye.
                var fd: Int32 = -1
                for _ in 0..<200 {
                    fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
                    var addr = sockaddr_un()
                    addr.sun_family = sa_family_t(AF_UNIX)
                    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                        for (i, b) in path.utf8.enumerated() { raw[i] = b }
                    }
                    let ok = withUnsafePointer(to: &addr) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
                    }
                    if ok == 0 { break }
                    close(fd)
                    fd = -1
                    usleep(5_000)
                }
                guard fd >= 0 else { return }
                writeAll(fd, "echo over the socket\nquit\n")
                var buffer = [UInt8](repeating: 0, count: 4096)
                while !received.contains("bye") {
                    let n = read(fd, &buffer, buffer.count)
                    if n <= 0 { break }
                    received += String(decoding: buffer[0..<n], as: UTF8.self)
                }
                close(fd)
            }
            client.start()
            let (r, out, console, _) = try runMachine(options: MachineOptions(clock: .realtime, console: .unixSocket(path: path)),
                                                      ShellSystem.root)
            #expect(r.halted, "\(out)")
            #expect(console.contains("> over the socket\n"), "\(console)")
            #expect(finished.wait(timeout: .now() + 10) == .success)
            #expect(received.contains("> over the socket\n> bye"), "\(received)")
        }

        @Test("CONSOLE0002 the console on a pseudo-terminal: a user opens its path and talks to the shell")
        func ptyConsole() throws {
            var options = MachineOptions(clock: .realtime, console: .pseudoTerminal)
            options.tickNanoseconds = 4_000_000
            let k = Kernel(hal: try LinuxHAL(ramSize: 64 << 20, echo: false, options: options))
            defer { k.hal.release() }
            let path = k.hal.consoleName
            #expect(path.hasPrefix("/dev/pts/"))
            nonisolated(unsafe) var received = ""
            let finished = DispatchSemaphore(value: 0)
            let user = Thread {
                defer { finished.signal() }
                let fd = open(path, O_RDWR | O_NOCTTY)
                guard fd >= 0 else { return }
                // Raw mode: no echo, no line editing, so the bytes are exactly the shell's.
                var t = termios()
                tcgetattr(fd, &t)
                cfmakeraw(&t)
                tcsetattr(fd, TCSANOW, &t)
                writeAll(fd, "echo through the pty\nquit\n")
                var buffer = [UInt8](repeating: 0, count: 4096)
                var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
                while !received.contains("bye"), poll(&fds, 1, 5_000) > 0 {
                    let n = read(fd, &buffer, buffer.count)
                    if n <= 0 { break }
                    received += String(decoding: buffer[0..<n], as: UTF8.self)
                }
                close(fd)
            }
            user.start()
            let r = try k.runGuests(root: ShellSystem.root)
            #expect(r.halted, "\(k.hal.outputText)")
            #expect(finished.wait(timeout: .now() + 10) == .success)
            #expect(received.contains("> through the pty\n> bye"), "\(received)")
        }

        @Test("TIMER0001 the timer server wakes 100 clients in deadline order (virtual time)")
        func hundredClientsVirtual() throws {
            InterruptPrograms.wakeOrder = []
            let (r, out, _, _) = try runMachine(ramMiB: 256, options: MachineOptions(), InterruptPrograms.timerRoot)
            #expect(r.halted, "\(out)")
            checkWakeOrder(arrivalOrder: true)
        }

        @Test("TIMER0002 the timer server wakes 100 clients in deadline order (real time)")
        func hundredClientsRealtime() throws {
            InterruptPrograms.wakeOrder = []
            let (r, out, _, _) = try runMachine(ramMiB: 256, options: MachineOptions(clock: .realtime), InterruptPrograms.timerRoot)
            #expect(r.halted, "\(out)")
            checkWakeOrder(arrivalOrder: false)
            // The server's clock agrees with the host's: nobody wakes early by host time
            // (1 ms of slack for the clocks' different starting points and rounding).
            let (serverT0, hostT0) = InterruptPrograms.clockPair
            for w in InterruptPrograms.wakeOrder {
                let hostElapsed = InterruptPrograms.hostWake[Int(w.index)] &- hostT0
                #expect(hostElapsed + 1_000_000 >= w.deadline - serverT0,
                        "client \(w.index) woke after \(hostElapsed) ns of host time, deadline \(w.deadline - serverT0) ns")
            }
        }

        /// The server answered in deadline order: sorted by deadline, the wake-up times it
        /// replied with never go down, and none is before its deadline. In virtual time the
        /// reports also arrive in that order; in real time a burst of expirations (the host
        /// was slow) wakes several clients at once, and seL4's scheduler queues woken
        /// threads at the head, so their reports may come in reverse.
        func checkWakeOrder(arrivalOrder: Bool) {
            let order = InterruptPrograms.wakeOrder
            #expect(order.count == 100)
            #expect(Set(order.map(\.index)).count == 100)
            if arrivalOrder {
                #expect(order.map(\.deadline) == order.map(\.deadline).sorted(), "\(order.map(\.index))")
            }
            let byDeadline = order.sorted { $0.deadline < $1.deadline }
            for (a, b) in zip(byDeadline, byDeadline.dropFirst()) {
                #expect(a.woke <= b.woke, "client \(a.index) woke at \(a.woke), after client \(b.index) at \(b.woke)")
            }
            for w in order { #expect(w.woke >= w.deadline, "client \(w.index) woke at \(w.woke) before \(w.deadline)") }
        }

        @Test("DET0001 a virtual-time run with timers and console input replays byte for byte from its recording")
        func replay() throws {
            let recording = FileManager.default.temporaryDirectory.appendingPathComponent("umk-det-\(getpid()).rec").path
            defer { unlink(recording) }
            let (inRead, inWrite) = makePipe()
            let writer = Thread {
                for line in ["alpha", "bravo", "charlie-delta", "quit"] {
                    usleep(15_000)
                    writeAll(inWrite, line + "\n")
                }
            }
            writer.start()
            var live = MachineOptions(console: .descriptors(input: inRead, output: -1))
            live.recordPath = recording
            let first = try runMachine(options: live, InterruptPrograms.echoRoot)
            close(inRead); close(inWrite)
            #expect(first.result.halted, "\(first.output)")
            #expect(first.output.contains("echo 4 quit"), "\(first.output)")
            let events = try RecordedInput.parse(String(contentsOfFile: recording, encoding: .utf8))
            #expect(!events.isEmpty)
            var replay = MachineOptions()
            replay.replay = events
            let second = try runMachine(options: replay, InterruptPrograms.echoRoot)
            let third = try runMachine(options: replay, InterruptPrograms.echoRoot)
            #expect(second.output == first.output)
            #expect(second.console == first.console)
            #expect(third.output == first.output && third.console == first.console)
            #expect(first.console.hasPrefix("1: alpha at "), "\(first.console)")
        }
    }
}

/// The path of the mapping that contains `ip`, from /proc/self/maps.
func loadedObject(containing ip: UInt64) -> String {
    guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return "?" }
    for line in maps.split(separator: "\n") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        let range = fields[0].split(separator: "-")
        guard range.count == 2, let lo = UInt64(range[0], radix: 16), let hi = UInt64(range[1], radix: 16) else { continue }
        if ip >= lo && ip < hi { return fields.count >= 6 ? String(fields[5]) : "[anonymous]" }
    }
    return "?"
}

/// TSC cycles per millisecond on this host.
func calibrateCycles() -> UInt64 {
    let c0 = umk_cycles(), t0 = umk_monotonic_ns()
    usleep(20_000)
    let c1 = umk_cycles(), t1 = umk_monotonic_ns()
    return (c1 - c0) * 1_000_000 / (t1 - t0)
}
