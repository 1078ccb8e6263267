// SPDX-License-Identifier: Apache-2.0
//
// The world a fuzz program runs in, on the deterministic backend: the boot state plus, built
// by the root task with ordinary invocations, three threads in two CSpaces and two
// VSpaces holding endpoints (plain and badged), notifications, untyped memory, frames, TCB
// caps across spaces, IRQControl, IOPortControl, the domain cap and an ASID pool. A
// snapshot of RAM and the backend's state is taken once; every program starts from it
// (kernel state lives in RAM, so a reset is a memory copy, not a reboot).
//
// Oracles, checked while a program runs: the invariant checker after every call; no kernel
// trap (a trap ends the process, which the campaign catches in a child); every error a
// kernel object replies with is one of seL4's; simple cases match a reference decision
// (a Call on an empty slot with no extra caps replies InvalidCapability(0)); objects never
// overlap and untyped watermarks stay within their untyped; and revoking every boot
// untyped at the end leaves exactly what revoking them right after setup leaves.

import UMKABI
import UMKernel

/// A program that broke an oracle.
public struct FuzzFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// Which oracle (`invariant`, `error-code`, `reference`, `overlap`, `revoke`).
    public var oracle: String
    /// The call during or after which it broke (the program's length: at the end).
    public var call: Int
    public var message: String
    /// The trace up to the failure, when one was asked for.
    public var trace: [String] = []
    public var description: String { "\(oracle) at call \(call): \(message)" }
}

/// What a program did: its coverage features and, if asked, a readable trace.
public struct FuzzOutcome: Sendable {
    public var features: [UInt32] = []
    public var trace: [String] = []
    /// Syscalls and interrupts actually issued (calls with no thread to run are skipped).
    public var issued = 0
}

/// The fuzzer's machine: a booted kernel with the fuzz threads, and its snapshot.
public struct FuzzWorld {
    public let kernel: Kernel<SimulatedHAL>
    let boot: BootResult
    /// The fuzz threads (TCB addresses).
    public let threads: [TCBRef]
    let snapshot: [UInt64]
    let halSnapshot: SimulatedHAL
    /// The root CNode after revoking every boot untyped, right after setup.
    private(set) var revokedState: [RootSlotState]
    /// Check invariants after every call (the default) or only at the end.
    public var checkEveryCall = true

    /// What one root CNode slot holds, for comparing states.
    struct RootSlotState: Equatable {
        var index: UInt64
        var type: CapType
        var word: UInt64
    }

    /// Small, so the reset (a copy of all of RAM) is cheap.
    public static let ramSize: UInt64 = 1 << 20
    static let threadPriority: UInt64 = 100
    static let rootPriority: UInt64 = 50

    public init() {
        kernel = Kernel(hal: SimulatedHAL(ramSize: Self.ramSize))
        var config = BootConfig()
        config.cnodeSizeBits = 8
        boot = kernel.boot(config)
        threads = FuzzWorld.build(kernel, boot)
        snapshot = kernel.physmap.words()
        halSnapshot = kernel.hal
        revokedState = []
        // The reference end state: revoke everything right after setup.
        revokeBootUntypeds()
        let reference = rootState()
        restore()
        revokedState = reference
    }

    /// Restores RAM and the backend to the snapshot.
    public func restore() {
        kernel.physmap.restore(words: snapshot)
        kernel.hal = halSnapshot
    }

    // MARK: Setup

    /// Builds the fuzz threads with the root task's own invocations.
    static func build(_ k: Kernel<SimulatedHAL>, _ boot: BootResult) -> [TCBRef] {
        let driver = SimulatedGuest(kernel: k, boot: boot)
        let cnode = InitialCap.initThreadCNode.rawValue
        let list = boot.bootInfo.untypedList
        let untyped = boot.bootInfo.untyped.start + UInt64(list.indices.max { list[$0].sizeBits < list[$1].sizeBits }!)
        var next = boot.bootInfo.empty.start
        func retype(_ type: ObjectType, _ bits: UInt64 = 0, _ n: UInt64 = 1) -> UInt64 {
            defer { next += n }
            driver.invoke(untyped, .untypedRetype, [type.rawValue, bits, 0, 0, next, n], caps: [cnode])
            return next
        }
        let ua = retype(.untyped, 16), ub = retype(.untyped, 16)
        let cnA = retype(.cnode, 5), cnB = retype(.cnode, 5)
        let pml4A = retype(.pml4), pml4B = retype(.pml4)
        let tcbs = retype(.tcb, 0, 3)
        let eps = retype(.endpoint, 0, 2), ntfns = retype(.notification, 0, 2)
        let frames = retype(.smallPage, 0, 5)
        let base: UInt64 = 0x1000_0000
        for (pml4, tables) in [(pml4A, retype(.pdpt)), (pml4B, retype(.pdpt))] {
            driver.invoke(InitialCap.initThreadASIDPool.rawValue, .x86ASIDPoolAssign, [], caps: [pml4])
            driver.invoke(tables, .x86PDPTMap, [base, 0], caps: [pml4])
            driver.invoke(retype(.pageDirectory), .x86PageDirectoryMap, [base, 0], caps: [pml4])
            driver.invoke(retype(.pageTable), .x86PageTableMap, [base, 0], caps: [pml4])
        }
        // IPC buffers: T0 and T1 in VSpace A, T2 in B; one more frame in each.
        let placement: [(UInt64, UInt64, UInt64)] = [(frames, pml4A, base), (frames + 1, pml4A, base + 0x1000),
                                                     (frames + 2, pml4B, base), (frames + 3, pml4A, base + 0x2000),
                                                     (frames + 4, pml4B, base + 0x1000)]
        for (f, pml4, vaddr) in placement {
            driver.invoke(f, .x86PageMap, [vaddr, CapRights.readWrite.rawValue, 0], caps: [pml4])
        }
        let spaces = [(cnA, pml4A, frames, base), (cnA, pml4A, frames + 1, base + 0x1000), (cnB, pml4B, frames + 2, base)]
        for (i, (cn, pml4, buffer, vaddr)) in spaces.enumerated() {
            driver.invoke(tcbs + UInt64(i), .tcbConfigure, [0, 59, 0, vaddr], caps: [cn, pml4, buffer])
            driver.invoke(tcbs + UInt64(i), .tcbSetSchedParams, [threadPriority, threadPriority],
                          caps: [InitialCap.initThreadTCB.rawValue])
        }
        func put(_ dest: UInt64, _ index: UInt64, _ src: UInt64, badge: UInt64? = nil, move: Bool = false) {
            if move {
                driver.invoke(dest, .cnodeMove, [index, 5, src, 64], caps: [cnode])
            } else if let badge {
                driver.invoke(dest, .cnodeMint, [index, 5, src, 64, CapRights.all.rawValue, badge], caps: [cnode])
            } else {
                driver.invoke(dest, .cnodeCopy, [index, 5, src, 64, CapRights.all.rawValue], caps: [cnode])
            }
        }
        // CSpace A.
        put(cnA, 1, cnA, badge: 59)
        put(cnA, 2, tcbs); put(cnA, 3, tcbs + 1)
        put(cnA, 4, eps); put(cnA, 5, eps, badge: 0x11)
        put(cnA, 6, ntfns); put(cnA, 7, ntfns, badge: 0x3)
        put(cnA, 8, eps + 1)
        put(cnA, 9, ua)
        put(cnA, 10, pml4A)
        put(cnA, 11, frames + 3)
        put(cnA, 12, InitialCap.irqControl.rawValue, move: true)
        put(cnA, 13, InitialCap.ioPortControl.rawValue, move: true)
        put(cnA, 14, tcbs + 2)
        put(cnA, 15, InitialCap.domain.rawValue)
        put(cnA, 16, InitialCap.initThreadASIDPool.rawValue)
        // CSpace B.
        put(cnB, 1, cnB, badge: 59)
        put(cnB, 2, tcbs + 2)
        put(cnB, 3, eps, badge: 0x22)
        put(cnB, 4, ntfns, badge: 0x5)
        put(cnB, 5, ub)
        put(cnB, 6, pml4B)
        put(cnB, 7, frames + 4)
        put(cnB, 8, tcbs)
        put(cnB, 9, eps + 1)
        put(cnB, 10, ntfns + 1)
        for i in 0..<UInt64(3) { driver.invoke(tcbs + i, .tcbResume, []) }
        // The root steps aside: the fuzz threads run; the root runs only when all block.
        driver.invoke(InitialCap.initThreadTCB.rawValue, .tcbSetPriority, [rootPriority], caps: [InitialCap.initThreadTCB.rawValue])
        let rootCNode = boot.rootThread.slot(.cTable).pointee.cap.paddr
        return (0..<UInt64(3)).map { k.tcb(k.slot(rootCNode + ((tcbs + $0) << ObjectSize.slotBits)).pointee.cap.paddr) }
    }

    // MARK: Running

    /// Restores the snapshot and runs `program`, checking every oracle.
    public func run(_ program: SyscallProgram, trace: Bool = false,
                    onTrace: ((String) -> Void)? = nil) throws(FuzzFailure) -> FuzzOutcome {
        restore()
        var outcome = FuzzOutcome()
        for (i, call) in program.calls.enumerated() {
            do {
                try step(call, index: i, &outcome, trace: trace || onTrace != nil)
                if let onTrace, let last = outcome.trace.last, outcome.trace.count == i + 1 { onTrace(last) }
                if checkEveryCall || i == program.calls.count - 1 { try checkInvariants(at: i) }
            } catch {
                var failure = error
                failure.trace = outcome.trace
                throw failure
            }
        }
        try checkMemory(at: program.calls.count)
        revokeBootUntypeds()
        try checkInvariants(at: program.calls.count)
        let end = rootState()
        if end != revokedState {
            let diff = zip(end, revokedState).first { $0 != $1 }.map { "slot \($0.0.index): \($0.0.type) vs \($0.1.type)" }
                ?? "\(end.count) slots vs \(revokedState.count)"
            throw FuzzFailure(oracle: "revoke", call: program.calls.count,
                              message: "revoking every untyped did not return to the boot state (\(diff))")
        }
        let survivors = kernel.allThreads.filter { $0 != kernel.idleThread && $0 != boot.rootThread }
        if !survivors.isEmpty {
            throw FuzzFailure(oracle: "revoke", call: program.calls.count,
                              message: "\(survivors.count) thread(s) outlived the revoke of every untyped")
        }
        return outcome
    }

    func checkInvariants(at call: Int) throws(FuzzFailure) {
        do {
            try kernel.simulatedCheckInvariants()
        } catch {
            throw FuzzFailure(oracle: "invariant", call: call, message: error.description)
        }
    }

    /// Runs one call.
    func step(_ call: FuzzCall, index: Int, _ outcome: inout FuzzOutcome, trace: Bool) throws(FuzzFailure) {
        let k = kernel
        switch call {
        case .interrupt(let irq):
            k.simulatedInterrupt(irq == 16 ? nil : UInt64(irq))
            outcome.issued += 1
            outcome.features.append(0x8000_0000 | UInt32(irq) << 8 | UInt32(k.currentThread.pointee.state.rawValue))
            if trace { outcome.trace.append("\(index): \(call) → current \(threadName(k.currentThread))") }
        case .syscall(let s):
            guard let issuer = chooseIssuer(threads[Int(s.thread) % threads.count]) else {
                if trace { outcome.trace.append("\(index): \(call) → skipped: no fuzz thread can run") }
                return
            }
            let held = heldCPtrs(issuer)
            func resolve(_ c: CPtrChoice) -> UInt64 {
                switch c {
                case .held(let n): held.isEmpty ? 0 : held[Int(n) % held.count]
                case .slot(let s): UInt64(s)
                case .raw(let v): v
                }
            }
            let cptr = resolve(s.cptr)
            var mrs: [UInt64] = []
            for i in 0..<Int(min(s.length, 120)) {
                mrs.append(i < s.args.count ? s.args[i].value(heldCPtrs: held) : UInt64(i))
            }
            let caps = s.caps.map(resolve)
            let info = MessageInfo(label: s.label, extraCaps: UInt64(caps.count), length: UInt64(s.length))
            // The reference decision, made before the call.
            let invoked: Capability? = switch k.lookupCap(issuer, cptr) {
            case .success(let c): c
            case .failure: nil
            }
            let expectInvalidCapability = s.number == Syscall.call.rawValue && invoked?.isNull == true && caps.isEmpty
            // A failed lookup is a cap fault (for any blocking send and any receive; NBSend
            // drops it); with no usable fault endpoint that is a double fault, which stops
            // the thread (seL4: handleFault → sendFaultIPC → handleDoubleFault).
            let lookupFaults = invoked == nil && [Syscall.call, .send, .recv, .nbRecv].contains { $0.rawValue == s.number }
            let handlerUsable: Bool = switch k.lookupCap(issuer, issuer.pointee.faultEndpoint) {
            case .success(let h): h.hasType(.endpoint) && h.rights.contains(.write)
                && (h.rights.contains(.grant) || h.rights.contains(.grantReply))
            case .failure: false
            }
            let expectDoubleFault = lookupFaults && !handlerUsable
            SimulatedGuest(kernel: k, boot: boot).load(issuer, cptr: cptr, info: info, mrs: mrs, caps: caps)
            k.simulatedSyscall(s.number)
            outcome.issued += 1
            let state = issuer.pointee.state
            let reply = MessageInfo(word: issuer.pointee[.rsi])
            let objectInvocation = s.number == Syscall.call.rawValue && invoked.map { Self.isKernelObject($0.type) } == true
            if objectInvocation && state == .running && KernelError(rawValue: reply.label) == nil {
                throw FuzzFailure(oracle: "error-code", call: index,
                                  message: "\(invoked!.type) replied label \(reply.label), not one of seL4's errors")
            }
            if expectInvalidCapability && !(state == .running && reply.label == KernelError.invalidCapability.rawValue
                                             && issuer.pointee[.r10] == 0) {
                throw FuzzFailure(oracle: "reference", call: index,
                                  message: "Call on an empty slot: state \(state), label \(reply.label); seL4 replies InvalidCapability(0)")
            }
            if expectDoubleFault && state != .inactive {
                throw FuzzFailure(oracle: "reference", call: index,
                                  message: "a failed lookup with no usable fault endpoint left the thread \(state); seL4 stops it (Inactive)")
            }
            let type = UInt32(invoked?.type.rawValue ?? 63)
            let result = objectInvocation ? UInt32(reply.label & 0xFF) : 0xFF
            outcome.features.append(UInt32(UInt8(bitPattern: Int8(truncatingIfNeeded: s.number))) << 24 | type << 18
                                    | UInt32(s.label & 0x3F) << 12 | result << 4 | UInt32(state.rawValue & 0xF))
            if trace {
                var line = "\(index): \(call) → cptr \(hex(cptr)) (\(invoked.map { "\($0.type)" } ?? "lookup fails")): \(threadName(issuer)) \(state)"
                if s.number == Syscall.call.rawValue && state == .running && invoked.map({ $0.type != .endpoint }) ?? false {
                    line += ", reply \(KernelError(rawValue: reply.label).map { "\($0)" } ?? "label \(reply.label)") length \(reply.length)"
                }
                outcome.trace.append(line)
            }
        }
    }

    func threadName(_ t: TCBRef) -> String {
        if let i = threads.firstIndex(of: t) { return "t\(i)" }
        return t == boot.rootThread ? "root" : (t == kernel.idleThread ? "idle" : "tcb \(hex(t.paddr))")
    }

    static func isKernelObject(_ type: CapType) -> Bool {
        switch type {
        case .endpoint, .notification, .reply, .null, .zombie: false
        default: true
        }
    }

    /// The thread that issues a call meant for `wanted`: `wanted` if the scheduler could run
    /// it now (it is runnable, no ready thread has a higher priority, nor the running one),
    /// else the running fuzz thread; if none runs, the root (which runs only then) restarts
    /// `wanted` with Suspend and Resume, as a supervisor would. Nil if still no fuzz thread
    /// runs: a fuzz thread that lowered itself below the root's priority waits, as it would
    /// on seL4.
    func chooseIssuer(_ wanted: TCBRef) -> TCBRef? {
        let k = kernel
        let current = k.currentThread
        if current == wanted { return wanted }
        let currentIsFuzz = threads.contains(current)
        let currentRuns = current != k.idleThread && current.pointee.state.isRunnable
        let prio = wanted.pointee.priority
        if wanted.pointee.state.isRunnable && k.isHighestPriority(prio) && (!currentRuns || prio >= current.pointee.priority) {
            k.simulatedMakeCurrent(wanted)
            return wanted
        }
        if currentIsFuzz { return current }
        if !wanted.pointee.state.isRunnable {
            k.suspend(wanted)
            k.restart(wanted)
            k.schedule()
            k.activateThread()
        }
        return threads.contains(k.currentThread) ? k.currentThread : nil
    }

    /// CPtrs (depth-64 slot numbers) of the caps `t`'s CSpace root CNode holds.
    func heldCPtrs(_ t: TCBRef) -> [UInt64] {
        let root = t.slot(.cTable).pointee.cap
        guard root.type == .cnode, root.cnodeRadix + root.cnodeGuardSize == 64, root.cnodeRadix <= 8 else { return [] }
        var result: [UInt64] = []
        for i in 0..<(UInt64(1) << root.cnodeRadix) where !kernel.slot(root.paddr + (i << ObjectSize.slotBits)).pointee.cap.isNull {
            result.append(i | root.cnodeGuard << root.cnodeRadix)
        }
        return result
    }

    // MARK: End-of-program oracles

    /// Objects never overlap; untyped caps nest or are disjoint.
    func checkMemory(at call: Int) throws(FuzzFailure) {
        var objects: [(base: UInt64, end: UInt64, type: CapType)] = []
        var untypeds: [(base: UInt64, end: UInt64)] = []
        for s in kernel.simulatedLiveSlots() {
            let c = s.pointee.cap
            guard c.isPhysical, c.type != .zombie else { continue }
            let end = c.paddr + (UInt64(1) << c.objectSizeBits)
            if c.type == .untyped { untypeds.append((c.paddr, end)) } else { objects.append((c.paddr, end, c.type)) }
        }
        objects.sort { $0.base < $1.base }
        var last: (base: UInt64, end: UInt64, type: CapType)? = nil
        for o in objects {
            if let l = last, o.base < l.end, !(o.base == l.base && o.end == l.end) {
                throw FuzzFailure(oracle: "overlap", call: call,
                                  message: "\(o.type) at \(hex(o.base)) overlaps \(l.type) at \(hex(l.base))")
            }
            if last == nil || o.end > last!.end { last = o }
        }
        for a in untypeds {
            for b in untypeds where a.base < b.end && b.base < a.end {
                let nested = (a.base <= b.base && b.end <= a.end) || (b.base <= a.base && a.end <= b.end)
                if !nested {
                    throw FuzzFailure(oracle: "overlap", call: call,
                                      message: "untyped \(hex(a.base)) and \(hex(b.base)) overlap without nesting")
                }
            }
        }
    }

    /// Revokes every boot untyped cap (as the root task would), deleting all fuzz objects.
    func revokeBootUntypeds() {
        let rootCNode = boot.rootThread.slot(.cTable).pointee.cap.paddr
        for i in boot.bootInfo.untyped.start..<boot.bootInfo.untyped.end {
            let s = kernel.slot(rootCNode + (i << ObjectSize.slotBits))
            guard s.pointee.cap.type == .untyped else { continue }
            do {
                try kernel.simulatedRevoke(s)
            } catch {
                // The deterministic backend never reports an interrupt: no preemption.
            }
        }
    }

    /// The root CNode's contents (untyped watermarks aside, which revoke does not reset).
    func rootState() -> [RootSlotState] {
        let root = boot.rootThread.slot(.cTable).pointee.cap
        var result: [RootSlotState] = []
        for i in 0..<(UInt64(1) << root.cnodeRadix) {
            let c = kernel.slot(root.paddr + (i << ObjectSize.slotBits)).pointee.cap
            if c.isNull { continue }
            result.append(RootSlotState(index: i, type: c.type, word: c.type == .untyped ? c.paddr : c.word0 ^ c.word1 << 1))
        }
        return result
    }
}
