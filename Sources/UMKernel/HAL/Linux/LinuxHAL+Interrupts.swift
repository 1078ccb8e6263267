// SPDX-License-Identifier: Apache-2.0
//
// Interrupts, devices and time on the Linux backend. Host signals (CShims/interrupts.c)
// only record events; the kernel takes them here, on its own stack, before it resumes a
// guest: timer expiries become the kernel's tick and the PIT's edge, readable console
// input fills the UART, SIGUSR1/SIGUSR2 raise IRQs 5 and 6. In virtual time the same
// events are taken at kernel entries only and recorded (or replayed), so a run repeats.

import CShims
import UMKDevices

extension LinuxHAL {
    /// Nanoseconds since the machine started, on the run's clock.
    public var now: UInt64 {
        switch options.clock {
        case .realtime: umk_monotonic_ns() &- hostStart
        case .virtual: virtualNow
        }
    }

    var isRealtime: Bool { options.clock == .realtime }

    /// The console's host name (a pseudo-terminal's path, a socket's), if it has one.
    public var consoleName: String { console.name }

    public mutating func isInterruptPending() -> Bool {
        // Virtual time takes events at kernel entries only, so long operations are
        // preempted at the same points in every run.
        isRealtime && umk_events_peek() != 0
    }

    public mutating func takeInterrupts(unmasked: UInt64) -> UInt64 {
        feedUART()
        devices.advance(to: now)
        syncPITTimer()
        return devices.takeInterrupts(unmasked: unmasked)
    }

    /// The PIT's next edge, kept for the per-exit check (computing it divides).
    mutating func notePITDeadline() {
        pitDeadline = devices.pit.nextDeadline ?? .max
    }

    public mutating func ioPortIn(_ port: UInt16, width: Int) -> UInt32 {
        let value = devices.read(port, width: width, now: now)
        feedUART()
        return value
    }

    public mutating func ioPortOut(_ port: UInt16, width: Int, value: UInt32) {
        devices.write(port, width: width, value: value, now: now)
        let sent = devices.uart.takeTransmitted()
        if !sent.isEmpty {
            consoleOutput += sent
            console.write(sent)
            watchOutput(sent)
        }
        feedUART()
        syncPITTimer()
    }

    /// Moves backlogged host input into the UART's FIFO while it has room.
    mutating func feedUART() {
        guard !inputBacklog.isEmpty else { return }
        let n = min(devices.uart.receiveRoom, inputBacklog.count)
        guard n > 0 else { return }
        for b in inputBacklog[0..<n] { devices.uart.receive(b) }
        inputBacklog.removeFirst(n)
    }

    /// Keeps the host's PIT timer armed for the PIT's next edge (real time), and the cached
    /// deadline the virtual-time check compares against.
    mutating func syncPITTimer() {
        notePITDeadline()
        guard isRealtime, interruptsInstalled else { return }
        let deadline = devices.pit.nextDeadline
        guard deadline != armedPITDeadline else { return }
        armedPITDeadline = deadline
        if let d = deadline {
            let t = now
            _ = umk_timer_arm(Int32(UMK_TIMER_PIT), d > t ? d - t : 1, 0)
        } else {
            _ = umk_timer_arm(Int32(UMK_TIMER_PIT), 0, 0)
        }
    }

    /// Installs the interrupt signals and timers (on the thread that runs guests).
    mutating func installInterrupts() throws(HostError) {
        _ = try LinuxSyscalls.check(umk_interrupts_install(isRealtime ? 1 : 0), "interrupt signals")
        interruptsInstalled = true
        updateNextReplayDue()
        if console.input >= 0 && options.replay == nil {
            // A console that cannot signal (a regular file) is still read when idle.
            _ = umk_input_watch(console.input)
            // Input already waiting raises no signal: take it now (recorded at entry 0).
            readConsole()
        }
        armTick(true)
    }

    mutating func uninstallInterrupts() {
        guard interruptsInstalled else { return }
        umk_interrupts_uninstall()
        interruptsInstalled = false
        tickArmed = false
        armedPITDeadline = nil
    }

    /// The kernel's periodic tick on (while guests run) or off (while idle), real time only.
    mutating func armTick(_ on: Bool) {
        guard isRealtime, interruptsInstalled, on != tickArmed else { return }
        tickArmed = on
        let period = options.tickNanoseconds
        _ = umk_timer_arm(Int32(UMK_TIMER_TICK), on ? period : 0, on ? period : 0)
    }

    /// Called at every kernel entry: virtual time moves on.
    @inline(__always) public mutating func noteKernelEntry() {
        entries &+= 1
        if case .virtual(let step) = options.clock { virtualNow &+= step }
    }

    /// True if host events or virtual deadlines wait to be taken. Checked on every exit
    /// to a guest: one load of the event word in real time, a few compares in virtual time
    /// (mutating only for in-place access; see `window(asid:)`).
    @inline(__always) public mutating func hasPendingEvents() -> Bool {
        // Every look is a point where host input may be taken: the count stamps recordings
        // (one kernel exit may look more than once, so kernel entries would not do).
        stamp &+= 1
        if umk_events_peek() != 0 || heldEvents != 0 { return true }
        guard case .virtual = options.clock else { return false }
        return virtualNow >= nextVirtualTick || virtualNow >= pitDeadline || stamp >= nextReplayDue
    }

    /// The entry of the next replayed event due on the way out of an entry (not at idle).
    mutating func updateNextReplayDue() {
        nextReplayDue = .max
        guard let replay = options.replay, replayIndex < replay.count, !replay[replayIndex].idle else { return }
        nextReplayDue = replay[replayIndex].entry
    }

    /// Takes the recorded host events into the devices. Returns true if the kernel's
    /// scheduling tick is due.
    public mutating func takeEvents() -> Bool {
        let events = umk_events_take() | heldEvents
        if events & UMK_EVENT_STOP != 0 {
            stopReason = umk_stop_reason() == UMK_STOP_TIME_LIMIT ? .timeLimit : .interrupted
        }
        heldEvents = 0
        var tick = false
        switch options.clock {
        case .realtime:
            tick = events & UMK_EVENT_TICK != 0
            raiseUserSignals(events)
            if events & UMK_EVENT_INPUT != 0 { readConsole() }
        case .virtual:
            if let replay = options.replay {
                while replayIndex < replay.count, !replay[replayIndex].idle, replay[replayIndex].entry <= stamp {
                    apply(replay[replayIndex].event)
                    replayIndex += 1
                }
                updateNextReplayDue()
            } else {
                if events & UMK_EVENT_USR1 != 0 { record(.irq(5)) }
                if events & UMK_EVENT_USR2 != 0 { record(.irq(6)) }
                raiseUserSignals(events)
                if events & UMK_EVENT_INPUT != 0 { readConsole() }
            }
            if virtualNow >= nextVirtualTick {
                tick = true
                let period = options.tickNanoseconds
                nextVirtualTick += (virtualNow - nextVirtualTick) / period * period + period
            }
        }
        return tick
    }

    /// Live virtual time: user signals that woke the idle wait are taken (and recorded) now.
    mutating func recordIdleSignals() {
        guard umk_events_peek() & (UMK_EVENT_USR1 | UMK_EVENT_USR2) != 0 else { return }
        let all = umk_events_take()
        // The other events stay for the next take (input that came with the signal).
        heldEvents |= all & ~(UMK_EVENT_USR1 | UMK_EVENT_USR2)
        let events = all & (UMK_EVENT_USR1 | UMK_EVENT_USR2)
        if events & UMK_EVENT_USR1 != 0 { record(.irq(PCDevices.userSignalIRQs.0), idle: true) }
        if events & UMK_EVENT_USR2 != 0 { record(.irq(PCDevices.userSignalIRQs.1), idle: true) }
        raiseUserSignals(events)
    }

    mutating func raiseUserSignals(_ events: UInt64) {
        if events & UMK_EVENT_USR1 != 0 { devices.latchedLines |= 1 << PCDevices.userSignalIRQs.0 }
        if events & UMK_EVENT_USR2 != 0 { devices.latchedLines |= 1 << PCDevices.userSignalIRQs.1 }
    }

    mutating func apply(_ event: RecordedInput.Event) {
        switch event {
        case .input(let bytes): inputBacklog += bytes
        case .irq(let irq): devices.latchedLines |= 1 << irq
        }
        feedUART()
    }

    /// Reads what the console has; in virtual time the bytes are recorded at this entry.
    mutating func readConsole(idle: Bool = false) {
        let before = console.input
        let read = console.readAvailable()
        if console.input != before && options.replay == nil {
            // A socket console's client arrived: its input signals from now on.
            _ = umk_input_watch(console.input)
        }
        guard let bytes = read else { return }
        guard !bytes.isEmpty else { return }
        if case .virtual = options.clock { record(.input(bytes), idle: idle) }
        inputBacklog += bytes
        feedUART()
    }

    mutating func record(_ event: RecordedInput.Event, idle: Bool = false) {
        guard recordFD >= 0 else { return }
        console.writeLine(RecordedInput(entry: stamp, idle: idle, event: event).line, to: recordFD)
    }

    /// Replay: applies the events recorded while idle at this entry.
    mutating func applyIdleEvents() {
        guard let replay = options.replay else { return }
        while replayIndex < replay.count, replay[replayIndex].idle, replay[replayIndex].entry <= stamp {
            apply(replay[replayIndex].event)
            replayIndex += 1
        }
        updateNextReplayDue()
    }

    /// Waits until an interrupt can be delivered, when no thread can run. `lines` are the
    /// IRQ lines a handler waits on; false if none of them can ever fire (the system is
    /// finished).
    public mutating func idle(handledLines lines: UInt64) -> Bool {
        let pit = lines & (1 << PCDevices.pitIRQ) != 0 ? devices.pit.nextDeadline : nil
        let wantsInput = lines & (1 << PCDevices.uartIRQ) != 0
        let wantsSignals = lines & (1 << PCDevices.userSignalIRQs.0 | 1 << PCDevices.userSignalIRQs.1) != 0
        switch options.clock {
        case .realtime:
            // Backlogged input cannot wake anyone: the UART has no room for it until a guest
            // (and none can run) drains the FIFO or raises RTS.
            let inputOpen = wantsInput && !console.inputClosed && console.input >= 0
            guard pit != nil || inputOpen || wantsSignals else { return false }
            armTick(false)
            let t = now
            let timeout: Int64 = pit.map { $0 > t ? Int64($0 - t) : 0 } ?? -1
            _ = umk_idle_wait(inputOpen ? console.input : -1, timeout)
            armTick(true)
            if inputOpen { readConsole() }
            return true
        case .virtual:
            let live = options.replay == nil
            let inputOpen = live && wantsInput && !console.inputClosed && console.input >= 0
            if let d = pit {
                // Nothing runs until the next deadline: time jumps there. Live host input
                // gets a moment of real time first (so waiting for it does not spin); what
                // arrives is recorded as taken while idle at this entry.
                if inputOpen || (live && wantsSignals) {
                    _ = umk_idle_wait(inputOpen ? console.input : -1, 1_000_000)
                    if inputOpen { readConsole(idle: true) }
                    recordIdleSignals()
                }
                applyIdleEvents()
                if d > virtualNow { virtualNow = d }
                return true
            }
            if let replay = options.replay {
                guard replayIndex < replay.count else { return false }
                // An event due at a later entry can never come: nothing runs to get there.
                if !replay[replayIndex].idle { return false }
                applyIdleEvents()
                return true
            }
            guard inputOpen || wantsSignals else { return false }
            _ = umk_idle_wait(inputOpen ? console.input : -1, -1)
            if inputOpen { readConsole(idle: true) }
            recordIdleSignals()
            return true
        }
    }
}
