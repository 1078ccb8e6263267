// SPDX-License-Identifier: Apache-2.0
//
// Systems that measure interrupts on real guests (`umk bench` runs them):
// - latency: a host thread sends SIGUSR1 (IRQ 5) to the thread that runs guests; a driver
//   thread blocked on the IRQ's notification timestamps when it runs again, then times its
//   IRQHandler_Ack. Optionally a compute-bound task at lower priority keeps the CPU busy,
//   so the signal lands in a running guest rather than an idle host wait.
// - idle: a console driver and a timer server wait for interrupts while nothing else runs;
//   SIGUSR2 (IRQ 6) ends the run. The host measures the CPU the process used meanwhile.

import CShims
import Servers
import Synchronization
import UMKGuest

/// The interrupt benchmarks' programs, shared state and results.
public enum IRQBenchSystem {
    /// Interrupts timed (after 16 warm-up ones).
    nonisolated(unsafe) public static var rounds = 1_000
    /// A lower-priority task spins while the driver waits.
    nonisolated(unsafe) public static var busy = false
    /// TSC cycles from the host's send to the driver running, and of each Ack.
    nonisolated(unsafe) public static var latencies: [UInt64] = []
    nonisolated(unsafe) public static var acks: [UInt64] = []
    /// The host's send time (TSC) of the interrupt in flight.
    public static let sentAt = Atomic<UInt64>(0)
    /// The number of the interrupt the driver is about to wait for (1, 2, ...): the host
    /// sends one signal per number. The idle system sets it to 1 when it is up.
    public static let waitingFor = Atomic<Int>(0)
    /// Set when the run is over (or failed).
    public static let finished = Atomic<Bool>(false)

    static let warmUp = 16

    public static let latencyRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let ntfn = alloc.make(.notification), let done = alloc.make(.notification),
              let handler = alloc.slot(), let badged = alloc.slot(),
              let driver = alloc.makeTask(priority: 200, offset: 0x1000_0000, stackPages: 32) else { return halt("setup") }
        guard IRQControl.get(InitialCap.irqControl.rawValue, irq: 5, root: alloc.root, index: handler, depth: 64) == .noError,
              CNode.mint(alloc.root, destIndex: badged, destDepth: 64, srcRoot: alloc.root, srcIndex: ntfn, srcDepth: 64,
                         rights: .all, badge: 1) == .noError,
              IRQHandler.setNotification(handler, notification: badged) == .noError,
              alloc.give(driver, ntfn, at: 1) == .noError, alloc.give(driver, handler, at: 2) == .noError,
              alloc.give(driver, done, at: 3) == .noError else { return halt("caps") }
        if unsafe busy {
            guard let spinner = alloc.makeTask(priority: 100, offset: 0x2000_0000),
                  startThread(spinner.tcb, entry: spin, stackTop: spinner.stackTop) == .noError else { return halt("spinner") }
        }
        guard startThread(driver.tcb, entry: driverLoop, stackTop: driver.stackTop) == .noError else { return halt("start") }
        _ = seL4.wait(done)
        finished.store(true, ordering: .sequentiallyConsistent)
        seL4.debugHalt()
    }

    static let driverLoop: ThreadEntry = { _, _ in
        var lat = unsafe [UInt64](repeating: 0, count: rounds)
        var ack = unsafe [UInt64](repeating: 0, count: rounds)
        for i in unsafe 0..<(rounds + warmUp) {
            waitingFor.store(i + 1, ordering: .sequentiallyConsistent)
            _ = seL4.wait(1)
            let now = umk_cycles()
            let sent = sentAt.load(ordering: .sequentiallyConsistent)
            let t0 = umk_cycles()
            _ = IRQHandler.ack(2)
            let t1 = umk_cycles()
            if i >= warmUp {
                lat[i - warmUp] = now &- sent
                ack[i - warmUp] = t1 &- t0
            }
        }
        unsafe latencies = lat
        unsafe acks = ack
        seL4.signal(3)
        _ = seL4.wait(1)
    }

    /// Computes in its own code forever.
    static let spin: ThreadEntry = { _, _ in
        var x: UInt64 = 1
        while true { x = x &* 6364136223846793005 &+ 1442695040888963407 }
    }

    /// An idle system: console driver and timer server up, the root waiting for IRQ 6.
    public static let idleRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        do {
            _ = try alloc.startDriver(ConsoleDriver.main, name: "console", priority: 200, ports: 0x3F8...0x3FF,
                                      irq: 4, irqBadge: ConsoleDriver.irqBadge)
            _ = try alloc.startDriver(TimerServer.main, name: "timer", priority: 250, ports: 0x40...0x43,
                                      irq: 0, irqBadge: TimerServer.irqBadge, offset: 0x2000_0000)
        } catch {
            return halt("\(error)")
        }
        guard let ntfn = alloc.make(.notification), let handler = alloc.slot(),
              IRQControl.get(InitialCap.irqControl.rawValue, irq: 6, root: alloc.root, index: handler, depth: 64) == .noError,
              IRQHandler.setNotification(handler, notification: ntfn) == .noError else { return halt("IRQ 6") }
        waitingFor.store(1, ordering: .sequentiallyConsistent)
        _ = seL4.wait(ntfn)
        seL4.debugHalt()
    }

    static func halt(_ why: String) {
        debugPrint("irq bench: \(why)\n")
        finished.store(true, ordering: .sequentiallyConsistent)
        seL4.debugHalt()
    }
}
