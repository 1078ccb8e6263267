// SPDX-License-Identifier: Apache-2.0
//
// The kernel's loop, the same on every machine (seL4 src/arch/x86/c_traps.c: entry →
// handle → restore_user_context). A machine's entry glue saves the thread's registers in
// its TCB and reports why it came back (`KernelEvent`); `handle` runs the event through
// the kernel and then `resumeNext` decides what runs and how:
// - host events are taken first (the scheduling tick, device lines), and when nothing can
//   run the machine waits for an interrupt a handler waits on, or the run ends;
// - a thread back from a syscall gets its results; one stopped by a fault or an interrupt
//   gets every register back;
// - a thread in Restart re-executes its syscall here, without going out to user mode, as
//   re-executing the syscall instruction would;
// - a thread that starts fresh needs an address space the machine can run it in and an
//   entry point, or it is reported and stopped; the word its first call or push writes
//   must be mapped writable, or it takes a VMFault there (its pager may map it); it then
//   starts with every register exactly as its TCB holds them (seL4's WriteRegisters).
// The machine then restores the chosen thread (`HAL.restore`).

import UMKABI

extension Kernel {
    /// One kernel entry by the current thread: handles `event`, then chooses the thread to
    /// resume and has the machine restore it. Returns it, or nil when the run is over (a
    /// halt, a stop the machine asked for, or nothing left that could ever run).
    @inline(__always)
    public func handle(_ event: KernelEvent) -> TCBRef? {
        handle(event, by: currentThread)
    }

    /// `handle(_:)` for a machine's entry glue that has the current thread at hand (it
    /// saved its registers), which spares reading it again.
    @inline(__always)
    func handle(_ event: KernelEvent, by t: TCBRef) -> TCBRef? {
        hal.noteKernelEntry()
        switch event {
        case .syscall(let number):
            if trace.enabled { traceSyscall(t, number) }
            // seL4's x86_64 convention: the number in RDX; the IP is the syscall's own (a
            // restart re-executes it), the next IP the instruction after it.
            t.pointee[.rdx] = UInt64(bitPattern: number)
            t.pointee[.rip] = hal.syscallIP
            t.pointee.nextIP = hal.syscallNextIP
            t.pointee.userEntry = .syscall
            handleSyscall(number)
        case .syscallTrap(let number):
            if trace.enabled { traceSyscall(t, number) }
            // Resumed as after an exception (every register back); a restart re-executes
            // the instruction, as on seL4.
            t.pointee.userEntry = .exception
            handleSyscall(number)
        case .vmFault(let address, let fsr, let instructionFault):
            t.pointee.userEntry = .exception
            if !fastpathVMFault(address: address, fsr: fsr, instructionFault: instructionFault) {
                handleVMFaultEvent(address: address, fsr: fsr, instructionFault: instructionFault)
            }
        case .userException(let number, let code):
            t.pointee.userEntry = .exception
            handleUserLevelFault(number: number, code: code)
        case .interrupt:
            // The thread stays Running and resumes where it was; the events are taken on
            // the way out.
            t.pointee.userEntry = .exception
        }
        return resumeNext()
    }

    /// Chooses the thread to resume and how, takes host events and waits while nothing
    /// can run; the machine restores the thread chosen. Nil when the run is over.
    public func resumeNext() -> TCBRef? {
        while true {
            if isHalted || hal.mustStop { return nil }
            if hal.hasPendingEvents() { serviceInterrupts() }
            let n = currentThread
            if n == idleThread {
                if trace.enabled { traceRun(n) }
                // Nothing can run: wait in the host for an interrupt a handler waits on, or
                // stop if none can come.
                guard hal.idle(handledLines: linesWithHandlers) else { return nil }
                serviceInterrupts()
                continue
            }
            guard let how = resumption(of: n) else { continue }
            if trace.enabled { traceRun(n) }
            hal.restore(n, how, asid: vspaceASID(of: n))
            return n
        }
    }

    /// How `n`, the current thread, resumes; nil if the kernel handled it instead (a
    /// Restart re-issued, a thread that cannot start stopped or faulted) and must choose
    /// again.
    @inline(__always) func resumption(of n: TCBRef) -> Resumption? {
        // The raw word, compared without decoding (every exit asks).
        let entry = n.pointee.userEntryWord
        let nextIP = n.pointee.nextIP
        switch entry {
        case UserEntry.syscall.rawValue where nextIP == hal.syscallNextIP:
            return .syscallReturn
        case UserEntry.syscall.rawValue where nextIP == hal.syscallIP:
            // Restart: the syscall runs again, as re-executing the instruction would, and
            // completes like any other entry (back to after the syscall).
            n.pointee.nextIP = hal.syscallNextIP
            handleSyscall(Int64(bitPattern: n.pointee[.rdx]))
            return nil
        default:
            // Registers that put a thread not in a syscall at the syscall stub (copied from
            // a thread blocked in one, or a fault reply) would run the stub without a
            // syscall block: the thread takes an invalid-opcode UserException instead.
            if nextIP == hal.syscallIP || nextIP == hal.syscallNextIP {
                handleUserLevelFault(number: 6, code: 0)
                return nil
            }
            if entry == UserEntry.exception.rawValue && nextIP != 0 {
                // Back from a fault or an interrupt, if its address space is still there.
                guard hasAddressSpace(n) else {
                    stopUnrunnable(n)
                    return nil
                }
                return .exceptionReturn
            }
            return startResumption(of: n, first: entry == UserEntry.notStarted.rawValue)
        }
    }

    /// The ASID of `n`'s VSpace, if its VSpace root is a PML4 with one.
    @inline(__always) func vspaceASID(of n: TCBRef) -> UInt64? {
        let vspace = n.slot(.vTable).pointee.cap
        return vspace.hasType(.pml4) && vspace.tableMappedFlag ? vspace.mappedASID : nil
    }

    /// True if `n`'s VSpace has an ASID the machine runs threads in.
    func hasAddressSpace(_ n: TCBRef) -> Bool {
        vspaceASID(of: n).map { hal.hasAddressSpace(asid: $0) } ?? false
    }

    /// Reports and stops a thread that cannot run: no address space or no entry point.
    func stopUnrunnable(_ n: TCBRef) {
        hal.debugPrint("umk: thread \"\(n.name)\" cannot start (no VSpace window or no entry point); stopped\n")
        suspend(n)
        schedule()
        activateThread()
    }

    /// A fresh start of `n` at its IP and stack, if it can start there.
    func startResumption(of n: TCBRef, first: Bool) -> Resumption? {
        guard let asid = vspaceASID(of: n), hal.hasAddressSpace(asid: asid), n.pointee.nextIP != 0 else {
            stopUnrunnable(n)
            return nil
        }
        // The machine starts the thread exactly as its registers say and writes nothing on
        // its stack, but a stack the thread cannot write is caught here, before it runs:
        // the word below its rsp, where its first call or push goes, must be
        // mapped writable, or the thread takes a VMFault there (its pager may map it). A
        // stack pointer outside its address space never reaches host memory this way.
        let rsp = n.pointee[.rsp]
        let frameAddress = rsp &- 8
        guard frameAddress < rsp, hal.addressRange(asid: asid).contains(frameAddress),
              hal.isMappedWritable(asid: asid, vaddr: frameAddress) else {
            handleVMFaultEvent(address: frameAddress, fsr: 0x6, instructionFault: false)
            return nil
        }
        n.pointee.userEntry = .started
        return .start(first: first)
    }

    /// Takes the host's events: the kernel's tick, then every unmasked line a device or
    /// signal raised; then chooses the thread to run.
    func serviceInterrupts() {
        if hal.takeEvents() { timerTick() }
        deliverInterrupts()
        schedule()
        activateThread()
    }

    /// IRQ lines with a handler that can deliver them now (a notification, unmasked).
    var linesWithHandlers: UInt64 {
        var lines: UInt64 = 0
        for irq in 0..<KernelLayout.irqCount where irqState(irq) == .signal && !isIRQMasked(irq) {
            if irqSlot(irq).pointee.cap.type == .notification { lines |= 1 << irq }
        }
        return lines
    }
}
