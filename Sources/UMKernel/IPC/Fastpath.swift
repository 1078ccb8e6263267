// SPDX-License-Identifier: Apache-2.0
//
// The IPC fastpath (seL4 src/fastpath/fastpath.c, non-MCS): Call and ReplyRecv in the
// common case — short message, no caps, a partner waiting, direct switch allowed — and
// Signal to a waiting thread of higher priority (seL4's MCS fastpath_signal, here without
// scheduling contexts), and a VMFault delivered to a fault handler waiting to receive it
// (no seL4 counterpart: its message fits the registers as a short Call's does), each as a
// straight run of checks followed by the transfer. Any failed check falls back to the
// slowpath, whose observable result is the same; FastpathTests compare the two on random
// states, all of RAM byte for byte.
//
// No allocation, no ARC, no host calls, on the whole path from the guest's call into
// umk_syscall to the next guest running (the Linux entry glue, these functions, the kernel
// loop's resumeNext with the machine's restore, and the stub): scripts/fastpath-trace.sh
// single-steps that path in gdb on a release build and fails if it ever leaves the
// binary's own code (a PLT stub, the Swift runtime, libc, the dynamic linker) or names
// swift_retain/release, an allocator, a lock or a syscall. On Swift 6.3.1 it runs 476
// instructions for a Call, 465 for a ReplyRecv and 544 for a Signal (5 of them keep the
// Syscall User Dispatch selector), none outside umk (CI runs it). `umk bench` measures
// them at 52-78 TSC cycles one way on a 2-core x86_64 host.

import UMKABI

extension Kernel {
    /// Tries the fastpath; false if the slowpath must handle the syscall.
    @inline(__always)
    func fastpath(isCall: Bool) -> Bool {
        isCall ? fastpathCall() : fastpathReplyRecv()
    }

    /// A valid VSpace root for a direct switch: a PML4 with an ASID.
    @inline(__always) private func hasValidVTable(_ t: TCBRef) -> Bool {
        let cap = t.slot(.vTable).pointee.cap
        return cap.hasType(.pml4) && cap.tableMappedFlag
    }

    /// The endpoint cap `cptr` names in `t`'s CSpace, or nil.
    @inline(__always) private func endpointCap(_ t: TCBRef, _ cptr: UInt64) -> Capability? {
        let cap = lookupFastpath(t.slot(.cTable).pointee.cap, cptr)
        return cap.hasType(.endpoint) ? cap : nil
    }

    /// seL4: lookup_fp — resolveAddressBits over all 64 bits, reduced to the cap found: any
    /// failure gives the null cap and the slowpath looks again and reports it. The same
    /// walk, guard by guard, without building a result or a failure.
    @inline(__always) private func lookupFastpath(_ root: Capability, _ cptr: UInt64) -> Capability {
        var node = root
        var bits: UInt64 = 64
        guard node.hasType(.cnode) else { return Capability(word0: 0, word1: 0) }
        while true {
            let radix = node.cnodeRadix
            let guardSize = node.cnodeGuardSize
            let level = radix &+ guardSize
            // (level ≥ 1 and bits ≤ 64 keep the offset's shift below 64; the guard's is 64
            // only for an empty guard, which &>> makes 0 and the mask then clears, as the
            // slowpath's >> 64 gives 0.)
            guard level != 0, level <= bits,
                  (cptr &>> (bits &- guardSize)) & lowMask(guardSize) == node.cnodeGuard else { return Capability(word0: 0, word1: 0) }
            let offset = (cptr &>> (bits &- level)) & lowMask(radix)
            let cap = slot(node.paddr &+ (offset << ObjectSize.slotBits)).pointee.cap
            bits &-= level
            if bits == 0 || !cap.hasType(.cnode) { return cap }
            node = cap
        }
    }

    /// seL4: fastpath_copy_mrs — the register MRs only (length ≤ 4 on the fastpath).
    @inline(__always) private func copyRegisterMRs(_ length: UInt64, from: TCBRef, to: TCBRef) {
        if length > 0 { to.pointee[.r10] = from.pointee[.r10] }
        if length > 1 { to.pointee[.r8] = from.pointee[.r8] }
        if length > 2 { to.pointee[.r9] = from.pointee[.r9] }
        if length > 3 { to.pointee[.r15] = from.pointee[.r15] }
    }

    /// Takes `dest`, the head of `ep`'s queue of receivers, off it.
    @inline(__always) private func dequeueHead(_ ep: EndpointRef, _ dest: TCBRef) {
        let next = dest.pointee.epNext
        if next != 0 {
            tcb(next).pointee.epPrev = 0
            ep.pointee.head = next
        } else {
            ep.pointee = Endpoint(headAndState: 0, tail: 0)
        }
        dest.pointee.epNext = 0
        dest.pointee.epPrev = 0
    }

    /// Blocks `current` on its reply and gives `dest` a reply cap to it (seL4:
    /// setupCallerCap, the cap as fastpath_call makes it).
    @inline(__always) private func blockOnReply(_ current: TCBRef, to dest: TCBRef) {
        current.pointee.state = .blockedOnReply
        let replySlot = current.slot(.reply)
        let callerSlot = dest.slot(.caller)
        var caller = Slot.empty
        caller.cap = .reply(tcb: current.paddr, master: false, canGrant: dest.pointee.blockingCanGrant)
        caller.prev = replySlot.paddr
        callerSlot.pointee = caller
        replySlot.pointee.next = callerSlot.paddr
    }

    /// The receiver at the head of `ep`'s queue if a Call to it may switch to it directly:
    /// a valid VSpace, no higher-priority thread passed over, the same domain.
    @inline(__always) private func directReceiver(_ ep: EndpointRef, from current: TCBRef) -> TCBRef? {
        guard ep.pointee.state == .recv else { return nil }
        let dest = tcb(ep.pointee.head)
        guard hasValidVTable(dest) else { return nil }
        let destPrio = dest.pointee.priority
        guard destPrio >= current.pointee.priority || isHighestPriority(destPrio),
              dest.pointee.domain == globals.pointee.currentDomain else { return nil }
        return dest
    }

    /// A VMFault of the current thread delivered to the handler waiting on its fault
    /// endpoint, when it may run at once (the checks of a fastpath Call): the fault
    /// message is four words, all in the receiver's message registers. No seL4 fastpath
    /// does this; the slowpath's handleFault, sendIPC, doFaultTransfer, setupCallerCap,
    /// possibleSwitchTo and schedule reduced to their effects in that case (FastpathTests
    /// compare the two, as for the others). umk bench vmfault, six runs alternating with
    /// the slowpath alone: about 100 cycles less a fault (median differences -384 to +24).
    @inline(never) func fastpathVMFault(address: UInt64, fsr: UInt64, instructionFault: Bool) -> Bool {
        guard !trace.enabled else { return false }
        let current = currentThread
        // An endpoint cap with Write, and Grant or GrantReply (else a double fault).
        guard let epCap = endpointCap(current, current.pointee.faultEndpoint), epCap.rights.contains(.write),
              epCap.rights.contains(.grant) || epCap.rights.contains(.grantReply) else { return false }
        let ep = endpoint(epCap.paddr)
        guard let dest = directReceiver(ep, from: current) else { return false }

        current.pointee.fault = .vmFault(address: address, fsr: fsr, instructionFault: instructionFault)
        dequeueHead(ep, dest)
        blockOnReply(current, to: dest)
        // seL4's VMFault message: IP, address, instruction fetch, FSR.
        dest.pointee[.r10] = current.pointee[.rip]
        dest.pointee[.r8] = address
        dest.pointee[.r9] = instructionFault ? 1 : 0
        dest.pointee[.r15] = fsr
        dest.pointee.state = .running
        currentThread = dest
        dest.pointee[.rsi] = MessageInfo(label: FaultType.vmFault.rawValue, length: 4).word
        dest.pointee[.rdi] = epCap.badge
        return true
    }

    // The fastpaths stay functions of their own (scripts/fastpath-trace.sh finds them by
    // name; inlined into handleSyscall they would go unchecked).
    @inline(never) private func fastpathCall() -> Bool {
        let current = currentThread
        let info = MessageInfo(word: current.pointee[.rsi])
        // No extra caps, a short message, and no fault being delivered.
        guard info.word & 0x1FF <= 4, current.pointee.fault.type == 0 else { return false }
        // An endpoint cap with Write.
        guard let epCap = endpointCap(current, current.pointee[.rdi]), epCap.rights.contains(.write) else { return false }
        // Grant or GrantReply, so a reply cap can be made.
        guard epCap.rights.contains(.grant) || epCap.rights.contains(.grantReply) else { return false }
        // A receiver waiting that may run at once.
        let ep = endpoint(epCap.paddr)
        guard let dest = directReceiver(ep, from: current) else { return false }

        dequeueHead(ep, dest)
        blockOnReply(current, to: dest)
        copyRegisterMRs(info.length, from: current, to: dest)
        dest.pointee.state = .running
        currentThread = dest
        var out = info
        out.capsUnwrapped = 0
        dest.pointee[.rsi] = out.word
        dest.pointee[.rdi] = epCap.badge
        return true
    }

    /// seL4 (MCS): fastpath_signal, here for the non-MCS kernel — Send or NBSend on a
    /// notification cap that wakes a waiter of higher priority, which runs at once. The
    /// slowpath's handleInvocation, sendSignal, possibleSwitchTo and schedule reduced to
    /// their effects in that case: the waiter leaves the queue running with the badge, the
    /// sender goes to the head of its ready queue (Restart, then Running again, leaves its
    /// state as it was) and the waiter becomes current.
    @inline(never) func fastpathSignal() -> Bool {
        let current = currentThread
        // No extra caps: nothing to look up in the IPC buffer (whose lookup has no effect).
        guard (current.pointee[.rsi] >> 7) & 0x3 == 0 else { return false }
        // A notification cap with Write.
        let cap = lookupFastpath(current.slot(.cTable).pointee.cap, current.pointee[.rdi])
        guard cap.hasType(.notification), cap.rights.contains(.write) else { return false }
        let n = notification(cap.paddr)
        // A thread waiting on it.
        guard n.pointee.state == .waiting else { return false }
        let dest = tcb(n.pointee.head)
        // It runs next: higher priority, same domain, no other scheduler decision pending.
        guard dest.pointee.priority > current.pointee.priority,
              dest.pointee.domain == globals.pointee.currentDomain,
              globals.pointee.schedulerActionWord == 0,
              current.pointee.state == .running, current != idleThread else { return false }

        // Wake the waiter with the badge.
        var q = queue(of: n)
        tcbEPDequeue(dest, &q)
        setQueue(of: n, q)
        if q.head == 0 { n.pointee.state = .idle }
        dest.pointee.state = .running
        dest.pointee[.rdi] = cap.badge
        // Switch: the sender is preempted to the head of its queue.
        tcbSchedEnqueue(current)
        tcbSchedDequeue(dest)
        currentThread = dest
        return true
    }

    @inline(never) private func fastpathReplyRecv() -> Bool {
        let current = currentThread
        let info = MessageInfo(word: current.pointee[.rsi])
        guard info.word & 0x1FF <= 4, current.pointee.fault.type == 0 else { return false }
        // An endpoint cap with Read.
        guard let epCap = endpointCap(current, current.pointee[.rdi]), epCap.rights.contains(.read) else { return false }
        // Nothing pending on the bound notification.
        let bound = current.pointee.boundNotification
        if bound != 0 && notification(bound).pointee.state == .active { return false }
        let ep = endpoint(epCap.paddr)
        // No sender waiting.
        guard ep.pointee.state != .send else { return false }
        // A reply cap to a caller that is not delivering a fault (a VMFault's reply has a
        // fastpath of its own, out of line).
        let callerSlot = current.slot(.caller)
        let callerCap = callerSlot.pointee.cap
        guard callerCap.hasType(.reply), !callerCap.replyMaster else { return false }
        let caller = tcb(callerCap.paddr)
        guard caller.pointee.fault.type == 0 else { return replyRecvRestarting(current, caller, callerSlot, epCap, ep) }
        guard hasValidVTable(caller) else { return false }
        // The caller is the highest-priority runnable thread, in this domain.
        guard isHighestPriority(caller.pointee.priority) else { return false }
        guard caller.pointee.domain == globals.pointee.currentDomain else { return false }

        receiveDroppingReply(current, callerSlot, epCap, ep)
        copyRegisterMRs(info.length, from: current, to: caller)
        caller.pointee.state = .running
        currentThread = caller
        var out = info
        out.capsUnwrapped = 0
        caller.pointee[.rsi] = out.word
        caller.pointee[.rdi] = 0
        return true
    }

    /// Blocks `current` receiving on `ep` and deletes its reply cap in `callerSlot` (the
    /// caller's master loses its only child).
    @inline(__always) private func receiveDroppingReply(_ current: TCBRef, _ callerSlot: SlotRef, _ epCap: Capability,
                                                         _ ep: EndpointRef) {
        current.pointee.state = .blockedOnReceive
        current.pointee.blockingObject = ep.paddr
        current.pointee.blockingCanGrant = epCap.rights.contains(.grant)
        let tail = ep.pointee.tail
        current.pointee.epNext = 0
        current.pointee.epPrev = tail
        if tail == 0 {
            ep.pointee.head = current.paddr
        } else {
            tcb(tail).pointee.epNext = current.paddr
        }
        ep.pointee.tail = current.paddr
        ep.pointee.state = .recv
        slot(callerSlot.pointee.prev).pointee.next = 0
        callerSlot.pointee = .empty
    }

    /// The rest of a fastpath ReplyRecv whose caller is delivering a fault: for a VMFault
    /// (seL4: handleFaultReply) the reply's message is not looked at and the faulter
    /// restarts at the faulting instruction (activateThread's Restart), if it can run now
    /// (the checks of a ReplyRecv to a Call's caller, which runs none of this). umk bench
    /// vmfault, six runs alternating with the slowpath for it: about 300 cycles less a
    /// fault (median differences -680 to -88).
    @inline(never) private func replyRecvRestarting(_ current: TCBRef, _ caller: TCBRef, _ callerSlot: SlotRef,
                                                    _ epCap: Capability, _ ep: EndpointRef) -> Bool {
        guard caller.pointee.fault.type == FaultType.vmFault.rawValue, hasValidVTable(caller),
              isHighestPriority(caller.pointee.priority),
              caller.pointee.domain == globals.pointee.currentDomain else { return false }
        receiveDroppingReply(current, callerSlot, epCap, ep)
        caller.pointee.fault = FaultRecord()
        caller.pointee.nextIP = caller.pointee[.rip]
        caller.pointee.state = .running
        currentThread = caller
        return true
    }
}
