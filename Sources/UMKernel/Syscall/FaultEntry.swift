// SPDX-License-Identifier: Apache-2.0
//
// Faults (seL4 src/kernel/faulthandler.c, src/api/faults.c): a faulting thread's fault is
// recorded in its TCB and sent, as a Call, to the endpoint its fault-endpoint CPtr names
// in its own CSpace at that moment. If that lookup fails or the cap cannot carry a fault
// (Write plus Grant or GrantReply), it is a double fault: the thread stops and a report is
// printed. The handler's reply restarts the thread or writes its registers.

import UMKABI

/// seL4's x86_64 syscallMessage: the registers of an UnknownSyscall message, in order.
let syscallMessageRegisters: [UserRegister] = [
    .rax, .rbx, .rcx, .rdx, .rsi, .rdi, .rbp, .r8, .r9, .r10, .r11, .r12, .r13, .r14, .r15, .rip, .rsp, .rflags,
]
/// seL4's x86_64 exceptionMessage: the registers of a UserException message, in order.
let exceptionMessageRegisters: [UserRegister] = [.rip, .rsp, .rflags]

extension FaultRecord {
    /// A CapFault: the CPtr, whether it happened in the receive phase, and the lookup failure.
    public static func capFault(address: UInt64, inReceivePhase: Bool, _ failure: LookupFailure) -> FaultRecord {
        var f = FaultRecord(type: FaultType.capFault.rawValue, w0: address, w1: inReceivePhase ? 1 : 0)
        let w = failure.words
        f.lookup0 = w[0]
        f.lookup1 = w.count > 1 ? w[1] : 0
        f.lookup2 = w.count > 2 ? w[2] : 0
        f.lookup3 = w.count > 3 ? w[3] : 0
        return f
    }
    /// An UnknownSyscall fault for syscall number `number`.
    public static func unknownSyscall(_ number: UInt64) -> FaultRecord {
        FaultRecord(type: FaultType.unknownSyscall.rawValue, w0: number)
    }
    /// A UserException (vector `number`, error `code`).
    public static func userException(number: UInt64, code: UInt64) -> FaultRecord {
        FaultRecord(type: FaultType.userException.rawValue, w0: number, w1: code)
    }
    /// A VMFault at `address` with the x86 #PF error code.
    public static func vmFault(address: UInt64, fsr: UInt64, instructionFault: Bool) -> FaultRecord {
        FaultRecord(type: FaultType.vmFault.rawValue, w0: address, w1: fsr, w2: instructionFault ? 1 : 0)
    }

    var lookupWords: [UInt64] {
        switch lookup0 {
        case 1: [1]
        case 2: [2, lookup1]
        case 3: [3, lookup1, lookup2]
        case 4: [4, lookup1, lookup2, lookup3]
        default: [0]
        }
    }

    /// A one-line description for reports.
    public var summary: String {
        switch FaultType(rawValue: type) {
        case .capFault: "CapFault (cptr 0x\(String(w0, radix: 16)), \(w1 != 0 ? "receive" : "send") phase, lookup failure \(lookup0))"
        case .unknownSyscall: "UnknownSyscall \(Int64(bitPattern: w0))"
        case .userException: "UserException vector \(w0) code \(w1)"
        case .vmFault: "VMFault at 0x\(String(w0, radix: 16)) (fsr 0x\(String(w1, radix: 16))\(w2 != 0 ? ", instruction fetch" : ""))"
        default: "fault type \(type)"
        }
    }
}

/// seL4: sanitiseRegister — keep IPs canonical and FLAGS a user mode value.
func sanitiseRegister(_ r: UserRegister, _ v: UInt64) -> UInt64 {
    switch r {
    case .rip, .fsBase, .gsBase:
        return (v > 0x0000_7FFF_FFFF_FFFF && v < 0xFFFF_8000_0000_0000) ? 0 : v
    case .rflags:
        // Bit 1 always set, reserved bits clear, interrupts on, no trap flag.
        return ((v | 0x2) & ~0x8028 | 0x200) & 0xED7
    default:
        return v
    }
}

extension Kernel {
    /// seL4: handleFault — deliver `fault` for `t`, or stop `t` on a double fault.
    func handleFault(_ t: TCBRef, _ fault: FaultRecord) {
        if let second = sendFaultIPC(t, fault) {
            handleDoubleFault(t, first: fault, second: second)
        }
    }

    /// seL4: sendFaultIPC — nil on success, else the fault that stopped delivery.
    func sendFaultIPC(_ t: TCBRef, _ fault: FaultRecord) -> FaultRecord? {
        let handlerCPtr = t.pointee.faultEndpoint
        switch lookupCap(t, handlerCPtr) {
        case .failure(let f):
            return .capFault(address: handlerCPtr, inReceivePhase: false, f)
        case .success(let cap):
            let r = cap.rights
            guard cap.type == .endpoint, r.contains(.write), r.contains(.grant) || r.contains(.grantReply) else {
                return .capFault(address: handlerCPtr, inReceivePhase: false, .missingCapability(bitsLeft: 0))
            }
            t.pointee.fault = fault
            sendIPC(blocking: true, isCall: true, badge: cap.badge, canGrant: r.contains(.grant), canGrantReply: true,
                    t, endpoint(cap.paddr))
            return nil
        }
    }

    /// seL4: handleDoubleFault — report and stop the thread.
    func handleDoubleFault(_ t: TCBRef, first: FaultRecord, second: FaultRecord) {
        hal.debugPrint("umk: caught \(second.summary) while delivering \(first.summary) "
            + "of thread \"\(t.name)\" at ip 0x\(String(t.pointee[.rip], radix: 16)); thread stopped\n")
        setThreadState(t, .inactive)
    }

    /// seL4: doFaultTransfer — the fault message, label = fault type.
    func doFaultTransfer(badge: UInt64, sender: TCBRef, receiver: TCBRef, _ buffer: UInt64?) {
        let f = sender.pointee.fault
        var n = 0
        switch FaultType(rawValue: f.type) {
        case .capFault:
            setMR(receiver, buffer, 0, sender.pointee[.rip])
            setMR(receiver, buffer, 1, f.w0)
            setMR(receiver, buffer, 2, f.w1)
            n = 3
            for w in f.lookupWords { n = setMR(receiver, buffer, n, w) }
        case .unknownSyscall:
            for r in syscallMessageRegisters { n = setMR(receiver, buffer, n, sender.pointee[r]) }
            n = setMR(receiver, buffer, n, f.w0)
        case .userException:
            for r in exceptionMessageRegisters { n = setMR(receiver, buffer, n, sender.pointee[r]) }
            n = setMR(receiver, buffer, n, f.w0)
            n = setMR(receiver, buffer, n, f.w1)
        case .vmFault:
            setMR(receiver, buffer, 0, sender.pointee[.rip])
            setMR(receiver, buffer, 1, f.w0)
            setMR(receiver, buffer, 2, f.w2)
            n = setMR(receiver, buffer, 3, f.w1)
        default:
            fatalError("doFaultTransfer: invalid fault type \(f.type)")
        }
        receiver.pointee[.rsi] = MessageInfo(label: f.type, length: UInt64(n)).word
        receiver.pointee[.rdi] = badge
    }

    /// seL4: handleFaultReply — true if the faulter restarts, false if it stays stopped.
    func handleFaultReply(receiver: TCBRef, sender: TCBRef) -> Bool {
        let tag = messageInfo(sender.pointee[.rsi])
        let f = receiver.pointee.fault
        switch FaultType(rawValue: f.type) {
        case .capFault, .vmFault:
            return true
        case .unknownSyscall:
            copyMRsFaultReply(sender: sender, receiver: receiver, syscallMessageRegisters, Int(tag.length))
            return tag.label == 0
        case .userException:
            copyMRsFaultReply(sender: sender, receiver: receiver, exceptionMessageRegisters, Int(tag.length))
            return tag.label == 0
        default:
            fatalError("handleFaultReply: invalid fault type \(f.type)")
        }
    }

    /// seL4: copyMRsFaultReply — the reply's words become the faulter's registers.
    func copyMRsFaultReply(sender: TCBRef, receiver: TCBRef, _ order: [UserRegister], _ length: Int) {
        let buffer = ipcBuffer(of: sender, isReceiver: false)
        for i in 0..<min(length, order.count) {
            if i >= MessageLimits.fastMessageRegisters && buffer == nil { break }
            let r = order[i]
            receiver.pointee[r] = sanitiseRegister(r, syscallArg(i, sender, buffer))
        }
    }

    // MARK: - Faults raised by the machine

    /// A VMFault from the HAL (a guest page fault): the current thread faults.
    public func handleVMFaultEvent(address: UInt64, fsr: UInt64, instructionFault: Bool) {
        handleFault(currentThread, .vmFault(address: address, fsr: fsr, instructionFault: instructionFault))
        schedule()
        activateThread()
    }

    /// A UserException from the HAL (illegal instruction, divide error, breakpoint...).
    public func handleUserLevelFault(number: UInt64, code: UInt64) {
        handleFault(currentThread, .userException(number: number, code: code))
        schedule()
        activateThread()
    }
}
