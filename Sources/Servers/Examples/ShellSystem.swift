// SPDX-License-Identifier: Apache-2.0
//
// A small interactive system: the console driver (COM1, IRQ 4), the timer server (PIT,
// IRQ 0) and a shell task that talks to both over IPC. Commands: `time` (the timer's
// clock), `sleep MS`, `echo TEXT`, `quit` (halts the system). `umk run --system shell`
// boots it on the terminal; in virtual time a run replays exactly from its recording.

import UMKGuest

/// The shell system's programs.
public enum ShellSystem {
    /// Slots in the shell's CSpace.
    enum Slot {
        static let console: CPtr = 1
        static let timer: CPtr = 2
    }

    public static let root: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        do {
            let console = try alloc.startDriver(ConsoleDriver.main, name: "console", priority: 200, ports: 0x3F8...0x3FF,
                                                irq: 4, irqBadge: ConsoleDriver.irqBadge, offset: 0x1000_0000)
            let timer = try alloc.startDriver(TimerServer.main, name: "timer", priority: 250, ports: 0x40...0x43,
                                              irq: 0, irqBadge: TimerServer.irqBadge, offset: 0x2000_0000)
            guard let shell = alloc.makeTask(priority: 100, offset: 0x3000_0000, stackPages: 64) else {
                throw DriverLaunchError(step: "shell task", error: .notEnoughMemory)
            }
            guard alloc.give(shell, console.endpoint, at: Slot.console) == .noError,
                  alloc.give(shell, timer.endpoint, at: Slot.timer) == .noError else {
                throw DriverLaunchError(step: "shell caps", error: .failedLookup)
            }
            seL4.debugNameThread(shell.tcb, "shell")
            guard startThread(shell.tcb, entry: main, stackTop: shell.stackTop) == .noError else {
                throw DriverLaunchError(step: "start shell", error: .illegalOperation)
            }
        } catch {
            debugPrint("init: \(error)\n")
            seL4.debugHalt()
            return
        }
        debugPrint("init: console, timer and shell started\n")
        // The root has nothing left to do: it waits on a notification nobody signals.
        if let idle = alloc.make(.notification) { _ = seL4.wait(idle) }
    }

    static let main: ThreadEntry = { _, _ in
        let console = Slot.console, timer = Slot.timer
        ConsoleClient.write(console, "umk shell: time, sleep MS, echo TEXT, quit\n> ")
        while let line = ConsoleClient.readLine(console) {
            let words = line.split(separator: " ", maxSplits: 1).map(String.init)
            switch words.first ?? "" {
            case "":
                break
            case "time":
                ConsoleClient.write(console, "\(TimerClient.now(timer) / 1_000) us\n")
            case "sleep":
                let ms = words.count > 1 ? UInt64(words[1]) : nil
                if let ms {
                    let before = TimerClient.now(timer)
                    let after = TimerClient.sleep(timer, nanoseconds: ms * 1_000_000)
                    ConsoleClient.write(console, "slept \((after - before) / 1_000) us\n")
                } else {
                    ConsoleClient.write(console, "usage: sleep MS\n")
                }
            case "echo":
                ConsoleClient.write(console, (words.count > 1 ? words[1] : "") + "\n")
            case "quit":
                ConsoleClient.write(console, "bye\n")
                seL4.debugHalt()
            default:
                ConsoleClient.write(console, "unknown command: \(words[0])\n")
            }
            ConsoleClient.write(console, "> ")
        }
        debugPrint("shell: console read failed\n")
        seL4.debugHalt()
    }
}
