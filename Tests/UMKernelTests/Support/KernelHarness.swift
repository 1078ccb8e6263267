// SPDX-License-Identifier: Apache-2.0
//
// A booted kernel on the simulated backend, and the moves a test makes with it: issue a
// syscall as the current thread (registers and IPC buffer set as a guest would), read the
// reply, allocate objects from the root task's untyped memory, build threads with their
// own CSpace and VSpace. Every syscall is followed by the invariant checker.

import Testing
import UMKABI
@testable import UMKernel

/// The reply a thread sees after a syscall.
struct Reply: Equatable {
    var info: MessageInfo
    var badge: UInt64
    var mrs: [UInt64]
    var error: KernelError? { KernelError(rawValue: info.label) }
    var label: UInt64 { info.label }
}

final class KernelHarness {
    let k: Kernel<SimulatedHAL>
    let boot: BootResult
    var root: TCBRef { boot.rootThread }
    /// Next empty slot of the root CNode.
    var nextSlot: UInt64
    /// The root CNode slot of the largest untyped, used for allocations.
    let untypedSlot: UInt64
    /// Where test threads' syscalls "are": rip = site, nextIP = site + 2.
    static let syscallSite: UInt64 = SimulatedHAL.syscallSite

    init(ramMiB: UInt64 = 16, config: BootConfig = BootConfig()) {
        k = Kernel(hal: SimulatedHAL(ramSize: ramMiB << 20))
        boot = k.boot(config)
        nextSlot = boot.bootInfo.empty.start
        var best = 0
        for (i, d) in boot.bootInfo.untypedList.enumerated()
        where !d.isDevice && d.sizeBits > boot.bootInfo.untypedList[best].sizeBits {
            best = i
        }
        untypedSlot = boot.bootInfo.untyped.start + UInt64(best)
        check()
    }

    /// Runs the invariant checker; a violation fails the test.
    func check(_ sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try k.checkInvariants()
        } catch {
            Issue.record("invariant violated: \(error.description)", sourceLocation: sourceLocation)
        }
    }

    func allocSlot() -> UInt64 {
        defer { nextSlot += 1 }
        return nextSlot
    }

    // MARK: - Registers and IPC buffers

    func bufferPaddr(_ t: TCBRef, receiver: Bool = false) -> UInt64? { k.ipcBuffer(of: t, isReceiver: receiver) }

    /// Puts a syscall into `t`'s registers (and MRs beyond 4 and extra caps in its buffer).
    func load(_ t: TCBRef, cptr: UInt64, info: MessageInfo, mrs: [UInt64] = [], caps: [UInt64] = []) {
        SimulatedGuest(kernel: k, boot: boot).load(t, cptr: cptr, info: info, mrs: mrs, caps: caps)
    }

    /// Issues `syscall` as the current thread, then checks the invariants.
    @discardableResult
    func syscall(_ s: Syscall, cptr: UInt64 = 0, info: MessageInfo = MessageInfo(label: 0, length: 0),
                 mrs: [UInt64] = [], caps: [UInt64] = [], slowpath: Bool = false,
                 _ sourceLocation: SourceLocation = #_sourceLocation) -> TCBRef {
        let t = k.currentThread
        load(t, cptr: cptr, info: info, mrs: mrs, caps: caps)
        if slowpath { k.handleSyscallSlowpath(s.rawValue) } else { k.handleSyscall(s.rawValue) }
        check(sourceLocation)
        return t
    }

    /// The message as `t` sees it after its syscall returned.
    func reply(_ t: TCBRef) -> Reply {
        let info = MessageInfo(word: t.pointee[.rsi])
        var mrs: [UInt64] = []
        for i in 0..<Int(info.length) {
            if i < 4 {
                mrs.append(t.pointee[messageRegister(i)])
            } else if let b = bufferPaddr(t, receiver: true) {
                mrs.append(k.physmap.loadWord(b + UInt64(1 + i) * 8))
            }
        }
        return Reply(info: info, badge: t.pointee[.rdi], mrs: mrs)
    }

    /// Invokes a kernel object with Call as the current thread; the reply, read back.
    @discardableResult
    func invoke(_ cptr: UInt64, _ label: InvocationLabel, _ args: [UInt64] = [], caps: [UInt64] = [],
                _ sourceLocation: SourceLocation = #_sourceLocation) -> Reply {
        let t = syscall(.call, cptr: cptr,
                        info: MessageInfo(label: label.rawValue, extraCaps: UInt64(caps.count), length: UInt64(args.count)),
                        mrs: args, caps: caps, sourceLocation)
        return reply(t)
    }

    /// The error of an invocation (`.noError` on success).
    func error(_ cptr: UInt64, _ label: InvocationLabel, _ args: [UInt64] = [], caps: [UInt64] = [],
               _ sourceLocation: SourceLocation = #_sourceLocation) -> KernelError {
        let r = invoke(cptr, label, args, caps: caps, sourceLocation)
        return KernelError(rawValue: r.label) ?? .noError
    }

    // MARK: - Objects

    /// Retypes `count` objects into fresh root CNode slots; returns the slots.
    func retype(_ type: ObjectType, sizeBits: UInt64 = 0, count: UInt64 = 1,
                _ sourceLocation: SourceLocation = #_sourceLocation) -> [UInt64] {
        let first = nextSlot
        nextSlot += count
        let r = invoke(untypedSlot, .untypedRetype,
                       [type.rawValue, sizeBits, 0, 0, first, count], caps: [InitialCap.initThreadCNode.rawValue],
                       sourceLocation)
        #expect(r.error == .noError, "retype \(type) failed: \(r)", sourceLocation: sourceLocation)
        return (0..<count).map { first + $0 }
    }

    func slotRef(_ cptr: UInt64) -> SlotRef {
        k.slot(boot.bootInfo.untypedList.isEmpty ? 0 : rootCNodePaddr + cptr * 32)
    }
    var rootCNodePaddr: UInt64 { root.slot(.cTable).pointee.cap.paddr }
    func cap(_ cptr: UInt64) -> Capability { slotRef(cptr).pointee.cap }
    func tcbRef(_ cptr: UInt64) -> TCBRef { k.tcb(cap(cptr).paddr) }

    /// A mapped 4 KiB frame in the root VSpace at `vaddr` (needs the root's page table).
    func rootFrame(at vaddr: UInt64) -> UInt64 {
        let f = retype(.smallPage)[0]
        #expect(error(f, .x86PageMap, [vaddr, CapRights.readWrite.rawValue, 0], caps: [InitialCap.initThreadVSpace.rawValue]) == .noError)
        return f
    }

    /// A new thread in the root's CSpace and VSpace with its own IPC buffer, resumed.
    /// Returns the TCB cap slot.
    @discardableResult
    func makeThread(priority: UInt64, faultEP: UInt64 = 0, ipcBufferAt vaddr: UInt64? = nil, resume: Bool = true,
                    name: String? = nil) -> UInt64 {
        let t = retype(.tcb)[0]
        let bufferVaddr = vaddr ?? nextBufferVaddr()
        let frame = rootFrame(at: bufferVaddr)
        #expect(error(t, .tcbConfigure, [faultEP, 0, 0, bufferVaddr],
                      caps: [InitialCap.initThreadCNode.rawValue, InitialCap.initThreadVSpace.rawValue, frame]) == .noError)
        #expect(error(t, .tcbSetSchedParams, [priority, priority], caps: [InitialCap.initThreadTCB.rawValue]) == .noError)
        if let name { tcbRef(t).setName(name) }
        if resume { #expect(error(t, .tcbResume) == .noError) }
        return t
    }

    private var bufferCursor: UInt64 = 0x42_0000
    func nextBufferVaddr() -> UInt64 {
        defer { bufferCursor += 0x1000 }
        return bufferCursor
    }

    /// Makes `t` the current thread, as the scheduler would once everything above it blocks.
    func run(_ t: TCBRef) {
        guard t != k.currentThread else { return }
        k.tcbSchedDequeue(t)
        if k.currentThread.pointee.state.isRunnable && k.currentThread != k.idleThread {
            k.tcbSchedEnqueue(k.currentThread)
        }
        k.currentThread = t
        k.activateThread()
    }
}
