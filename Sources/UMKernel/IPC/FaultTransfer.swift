// SPDX-License-Identifier: Apache-2.0
//
// Fault messages (seL4 src/kernel/thread.c doFaultTransfer, src/api/faults.c): the
// message each fault type becomes when it reaches its handler (label = fault type, the
// words in seL4's x86_64 order), and the handler's reply, which restarts the faulter or,
// for UnknownSyscall and UserException, writes the registers the reply carries.

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
        case .capFault: "CapFault (cptr \(hex(w0)), \(w1 != 0 ? "receive" : "send") phase, lookup failure \(lookup0))"
        case .unknownSyscall: "UnknownSyscall \(Int64(bitPattern: w0))"
        case .userException: "UserException vector \(w0) code \(w1)"
        case .vmFault: "VMFault at \(hex(w0)) (fsr \(hex(w1))\(w2 != 0 ? ", instruction fetch" : ""))"
        default: "fault type \(type)"
        }
    }
}

extension Kernel {
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
}
