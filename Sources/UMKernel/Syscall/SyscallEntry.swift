// SPDX-License-Identifier: Apache-2.0
//
// The syscall entry (seL4 src/api/syscall.c, non-MCS): the current thread's registers
// hold the syscall (x86_64 convention: CPtr in RDI, message info in RSI, MR0-3 in R10, R8,
// R9, R15). Send-phase syscalls look up and invoke a cap; errors are replied only to Call;
// a lookup failure is a CapFault (never for NBSend). Every entry ends with schedule() and
// activateThread(), so the kernel returns with the thread to run next in `currentThread`.

import UMKABI

extension Kernel {
    /// Handle a syscall by the current thread. The HAL has saved the thread's registers,
    /// with `rip` at the syscall (where a restart re-executes it) and `nextIP` after it.
    public func handleSyscall(_ number: Int64) {
        // The fastpath's two syscalls are tested by number before anything is decoded.
        if number == Syscall.call.rawValue || number == Syscall.replyRecv.rawValue, !trace.enabled,
           fastpath(isCall: number == Syscall.call.rawValue) {
            return
        }
        if number == Syscall.send.rawValue || number == Syscall.nbSend.rawValue, !trace.enabled, fastpathSignal() {
            return
        }
        if let sys = Syscall(rawValue: number), !sys.isDebug {
            switch sys {
            case .send: handleInvocationEntry(isCall: false, isBlocking: true)
            case .nbSend: handleInvocationEntry(isCall: false, isBlocking: false)
            case .call: handleInvocationEntry(isCall: true, isBlocking: true)
            case .recv: handleRecv(blocking: true)
            case .reply: handleReply()
            case .replyRecv:
                handleReply()
                handleRecv(blocking: true)
            case .nbRecv: handleRecv(blocking: false)
            case .yield: handleYield()
            default: break
            }
        } else {
            handleUnknownSyscall(number)
        }
        schedule()
        activateThread()
    }

    /// The slowpath alone (the fastpath's reference behaviour, used by tests).
    public func handleSyscallSlowpath(_ number: Int64) {
        switch Syscall(rawValue: number) {
        case .call: handleInvocationEntry(isCall: true, isBlocking: true)
        case .send: handleInvocationEntry(isCall: false, isBlocking: true)
        case .nbSend: handleInvocationEntry(isCall: false, isBlocking: false)
        case .replyRecv:
            handleReply()
            handleRecv(blocking: true)
        default:
            handleSyscall(number)
            return
        }
        schedule()
        activateThread()
    }

    private func handleInvocationEntry(isCall: Bool, isBlocking: Bool) {
        if handleInvocation(isCall: isCall, isBlocking: isBlocking) == .preempted {
            handlePendingInterrupts()
        }
    }

    /// seL4: handleInvocation.
    func handleInvocation(isCall: Bool, isBlocking: Bool) -> KernelException? {
        let thread = currentThread
        let info = messageInfo(thread.pointee[.rsi])
        let cptr = thread.pointee[.rdi]
        let s: SlotRef
        switch lookupSlot(thread, cptr) {
        case .failure(let f):
            if isBlocking { handleFault(thread, .capFault(address: cptr, inReceivePhase: false, f)) }
            return nil
        case .success(let found): s = found
        }
        let buffer = ipcBuffer(of: thread, isReceiver: false)
        let extraCaps: ExtraCaps
        switch lookupExtraCaps(thread, buffer, info) {
        case .failure(let e):
            if isBlocking { handleFault(thread, .capFault(address: e.cptr, inReceivePhase: false, e.failure)) }
            return nil
        case .success(let caps): extraCaps = caps
        }
        var length = Int(info.length)
        if length > MessageLimits.fastMessageRegisters && buffer == nil { length = MessageLimits.fastMessageRegisters }
        let inv = Invocation(label: info.label, length: length, cptr: cptr, slot: s, cap: s.pointee.cap,
                             extraCaps: extraCaps, isBlocking: isBlocking, isCall: isCall, buffer: buffer,
                             thread: thread)
        do throws(KernelException) {
            try decodeInvocation(inv)
        } catch {
            switch error {
            case .preempted:
                return .preempted
            case .syscallError(let e):
                if trace.enabled { traceError(thread, e.code) }
                if isCall { replyFromKernelError(thread, e) }
                return nil
            }
        }
        if thread.pointee.state == .restart {
            if isCall { replyFromKernelSuccessEmpty(thread) }
            setThreadState(thread, .running)
        }
        return nil
    }

    /// seL4: replyFromKernel_error — label = error, MRs = its detail.
    func replyFromKernelError(_ t: TCBRef, _ e: SyscallError) {
        let buffer = ipcBuffer(of: t, isReceiver: true)
        t.pointee[.rdi] = 0
        var n = 0
        for w in e.words { n = setMR(t, buffer, n, w) }
        t.pointee[.rsi] = MessageInfo(label: e.code.rawValue, length: UInt64(n)).word
    }

    /// seL4: replyFromKernel_success_empty.
    func replyFromKernelSuccessEmpty(_ t: TCBRef) {
        t.pointee[.rdi] = 0
        t.pointee[.rsi] = MessageInfo(label: 0, length: 0).word
    }

    /// A successful invocation's reply with result words (GetAddress, ReadRegisters, ...).
    func replyFromKernelSuccess(_ t: TCBRef, _ words: [UInt64]) {
        let buffer = ipcBuffer(of: t, isReceiver: true)
        t.pointee[.rdi] = 0
        var n = 0
        for w in words { n = setMR(t, buffer, n, w) }
        t.pointee[.rsi] = MessageInfo(label: 0, length: UInt64(n)).word
    }

    /// seL4: handleRecv.
    func handleRecv(blocking: Bool) {
        let thread = currentThread
        let cptr = thread.pointee[.rdi]
        let cap: Capability
        switch lookupCap(thread, cptr) {
        case .failure(let f):
            handleFault(thread, .capFault(address: cptr, inReceivePhase: true, f))
            return
        case .success(let c): cap = c
        }
        switch cap.type {
        case .endpoint:
            guard cap.rights.contains(.read) else {
                handleFault(thread, .capFault(address: cptr, inReceivePhase: true, .missingCapability(bitsLeft: 0)))
                return
            }
            deleteCallerCap(thread)
            receiveIPC(thread, cap, blocking: blocking)
        case .notification:
            let bound = notification(cap.paddr).pointee.boundTCB
            guard cap.rights.contains(.read), bound == 0 || bound == thread.paddr else {
                handleFault(thread, .capFault(address: cptr, inReceivePhase: true, .missingCapability(bitsLeft: 0)))
                return
            }
            receiveSignal(thread, cap, blocking: blocking)
        default:
            handleFault(thread, .capFault(address: cptr, inReceivePhase: true, .missingCapability(bitsLeft: 0)))
        }
    }

    /// seL4: handleReply — reply through the caller slot; nothing if there is no caller.
    func handleReply() {
        let thread = currentThread
        let callerSlot = thread.slot(.caller)
        let callerCap = callerSlot.pointee.cap
        switch callerCap.type {
        case .reply:
            if callerCap.replyMaster { return }
            let caller = tcb(callerCap.paddr)
            precondition(caller != thread, "handleReply: caller must not be the current thread")
            doReplyTransfer(sender: thread, receiver: caller, slot: callerSlot, grant: callerCap.replyCanGrant)
        case .null:
            return
        default:
            fatalError("handleReply: invalid caller cap")
        }
    }

    /// seL4: handleYield (non-MCS) — to the tail of its queue; the time slice is kept.
    func handleYield() {
        let t = currentThread
        tcbSchedDequeue(t)
        tcbSchedAppend(t)
        rescheduleRequired()
    }

    /// Interrupts that arrived during a long operation (seL4: getActiveIRQ + handleInterrupt).
    func handlePendingInterrupts() {
        var pending = globals.pointee.irqPending & ~globals.pointee.irqMasked
        while pending != 0 {
            let irq = UInt64(pending.trailingZeroBitCount)
            pending &= ~(1 << irq)
            globals.pointee.irqPending &= ~(1 << irq)
            handleInterrupt(irq)
        }
    }

    // MARK: - Debug syscalls

    /// seL4: handleUnknownSyscall — the debug syscalls, else an UnknownSyscall fault.
    func handleUnknownSyscall(_ number: Int64) {
        let thread = currentThread
        switch Syscall(rawValue: number) {
        case .debugPutChar:
            hal.debugPutChar(UInt8(truncatingIfNeeded: thread.pointee[.rdi]))
        case .debugDumpScheduler:
            hal.debugPrint(dumpScheduler())
        case .debugHalt:
            hal.debugPrint("umk: halted by \"\(thread.name)\"\n")
            // seL4 ignores DebugHalt's argument; umk makes it the system's exit status.
            haltStatus = thread.pointee[.rdi]
            globals.pointee.halted = 1
            hal.halt()
        case .debugSnapshot:
            // seL4 dumps the system's capDL; umk's machine may keep the capability graph.
            hal.capabilitySnapshot { capabilityGraph() }
        case .debugCapIdentify:
            let cap = (try? lookupCap(thread, thread.pointee[.rdi]).get()) ?? .null
            thread.pointee[.rdi] = cap.type.seL4Tag
        case .debugNameThread:
            debugNameThread(thread)
        case .setTLSBase:
            // seL4 (CONFIG_SET_TLS_BASE_SELF): the caller's TLS_BASE register, unchecked.
            thread.pointee[.fsBase] = thread.pointee[.rdi]
            hal.registersWritten(thread)
        default:
            handleFault(thread, .unknownSyscall(UInt64(bitPattern: number)))
        }
    }

    /// seL4 halts the system when DebugNameThread is misused; umk reports it and goes on,
    /// so one confused guest does not stop the others.
    private func debugNameThread(_ thread: TCBRef) {
        let cptr = thread.pointee[.rdi]
        guard case .success(let cap) = lookupCap(thread, cptr), cap.type == .thread else {
            hal.debugPrint("umk: DebugNameThread: cap \(hex(cptr)) is not a TCB; ignored\n")
            return
        }
        guard let buffer = ipcBuffer(of: thread, isReceiver: true) else {
            hal.debugPrint("umk: DebugNameThread: no IPC buffer; ignored\n")
            return
        }
        var bytes: [UInt8] = []
        let limit = UInt64(MessageLimits.maxLength * 8)
        var i: UInt64 = 0
        while i < limit {
            let b = physmap.loadByte(buffer + 8 + i)
            if b == 0 { break }
            bytes.append(b)
            i += 1
        }
        guard i < limit else {
            hal.debugPrint("umk: DebugNameThread: name too long; ignored\n")
            return
        }
        tcb(cap.paddr).setName(String(decoding: bytes, as: UTF8.self))
    }

    /// Every TCB, as seL4's DebugDumpScheduler prints them (debug_dumpScheduler on a
    /// uniprocessor, non-MCS kernel with one domain): name, state, restart IP, priority.
    public func dumpScheduler() -> String {
        var out = "Dumping all tcbs!\n" + padded("Name", 40) + "   " + padded("State", 16) + "   " + padded("IP", 18) + "   Prio\n"
            + String(repeating: "-", count: 88) + "\n"
        for t in allThreads {
            let prio = String(t.pointee.priority)
            out += padded(t.name, 40) + "   " + padded(Self.stateName(t.pointee.state), 16) + "   "
                + padded(hex(t.pointee.nextIP), 18) + "   " + String(repeating: " ", count: max(0, 4 - prio.count)) + prio + "\n"
        }
        return out
    }

    /// Every thread that waits, with what it waits on: the report of a run that ended
    /// because nothing could run any more.
    public func waitingThreads() -> [String] {
        var lines: [String] = []
        for t in allThreads {
            let what: String
            switch t.pointee.state {
            case .blockedOnReceive: what = "receiving on endpoint \(hex(t.pointee.blockingObject))"
            case .blockedOnSend:
                what = "sending on endpoint \(hex(t.pointee.blockingObject)) (badge \(hex(t.pointee.blockingBadge)))"
                    + (t.pointee.blockingIsCall ? ", a call" : "")
            case .blockedOnReply: what = "waiting for the reply to its call or fault message"
            case .blockedOnNotification: what = "waiting on notification \(hex(t.pointee.blockingObject))"
            default: continue
            }
            // A thread in the machine's direct call is at the machine's stub, not its own code.
            let inCall = t.pointee.nextIP == hal.syscallNextIP || t.pointee.nextIP == hal.syscallIP
            let place = inCall ? "in a syscall" : "ip \(hex(t.pointee.nextIP))"
            lines.append("\"\(t.name)\" (priority \(t.pointee.priority), \(place)): \(what)")
        }
        return lines
    }

    /// seL4's names of thread states (debug_printTCB).
    static func stateName(_ s: ThreadState) -> String {
        switch s {
        case .inactive: "inactive"
        case .running: "running"
        case .restart: "restart"
        case .blockedOnReceive: "blocked on recv"
        case .blockedOnSend: "blocked on send"
        case .blockedOnReply: "blocked on reply"
        case .blockedOnNotification: "blocked on ntfn"
        case .idle: "idle"
        }
    }
}

/// `text` cut or padded with spaces to `width` characters.
func padded(_ text: String, _ width: Int) -> String {
    text.count >= width ? String(text.prefix(width)) : text + String(repeating: " ", count: width - text.count)
}
