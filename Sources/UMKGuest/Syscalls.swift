// SPDX-License-Identifier: Apache-2.0
//
// The syscalls (libsel4's seL4_Call, seL4_ReplyRecv, ...). As libsel4 does, MR0-MR3 are
// taken from the IPC buffer into the syscall's registers on the way in and written back on
// the way out, so callers only ever use getMR/setMR; a thread without an IPC buffer sends
// and receives MR0-MR3 through `mrs`.

import CGuest

/// seL4's system calls for a guest of umk.
public enum seL4 {
    /// The kernel's syscall entry (umk_syscall): what a program that does not link
    /// UMKGuest (an ELF image) calls with a syscall block.
    public static var syscallEntry: UInt64 { umk_syscall_address() }

    /// The message registers of a thread without an IPC buffer.
    nonisolated(unsafe) public static var registerMRs: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    @inline(__always)
    static func syscall(_ number: Syscall, _ cptr: UInt64, _ info: MessageInfo, sendsMRs: Bool, receivesMRs: Bool)
        -> (badge: UInt64, info: MessageInfo) {
        let buffer = umk_ipc_buffer()
        var io = umk_syscall_io_t()
        io.number = number.rawValue
        io.cptr = cptr
        io.info = info.word
        if sendsMRs {
            if buffer != 0 {
                let b = UnsafeMutablePointer<UInt64>(bitPattern: UInt(buffer))!
                io.mr = (b[1], b[2], b[3], b[4])
            } else {
                io.mr = registerMRs
            }
        }
        umk_syscall(&io)
        if receivesMRs {
            let after = umk_ipc_buffer()
            if after != 0 {
                let b = UnsafeMutablePointer<UInt64>(bitPattern: UInt(after))!
                (b[1], b[2], b[3], b[4]) = io.mr
            } else {
                registerMRs = io.mr
            }
        }
        return (io.cptr, MessageInfo(word: io.info))
    }

    /// seL4_Send.
    public static func send(_ dest: CPtr, _ info: MessageInfo) {
        _ = syscall(.send, dest, info, sendsMRs: true, receivesMRs: false)
    }
    /// seL4_NBSend.
    public static func nbSend(_ dest: CPtr, _ info: MessageInfo) {
        _ = syscall(.nbSend, dest, info, sendsMRs: true, receivesMRs: false)
    }
    /// seL4_Call: the reply's info; MRs in the IPC buffer.
    @discardableResult
    public static func call(_ dest: CPtr, _ info: MessageInfo) -> MessageInfo {
        syscall(.call, dest, info, sendsMRs: true, receivesMRs: true).info
    }
    /// seL4_Recv: the message info and the sender's badge.
    public static func recv(_ src: CPtr) -> (info: MessageInfo, badge: UInt64) {
        let r = syscall(.recv, src, MessageInfo(label: 0, length: 0), sendsMRs: false, receivesMRs: true)
        return (r.info, r.badge)
    }
    /// seL4_NBRecv (badge 0 if nothing was there).
    public static func nbRecv(_ src: CPtr) -> (info: MessageInfo, badge: UInt64) {
        let r = syscall(.nbRecv, src, MessageInfo(label: 0, length: 0), sendsMRs: false, receivesMRs: true)
        return (r.info, r.badge)
    }
    /// seL4_Reply.
    public static func reply(_ info: MessageInfo) {
        _ = syscall(.reply, 0, info, sendsMRs: true, receivesMRs: false)
    }
    /// seL4_ReplyRecv.
    public static func replyRecv(_ src: CPtr, _ info: MessageInfo) -> (info: MessageInfo, badge: UInt64) {
        let r = syscall(.replyRecv, src, info, sendsMRs: true, receivesMRs: true)
        return (r.info, r.badge)
    }
    /// seL4_Yield.
    public static func yield() {
        _ = syscall(.yield, 0, MessageInfo(label: 0, length: 0), sendsMRs: false, receivesMRs: false)
    }
    /// seL4_Signal (Send on a notification cap).
    public static func signal(_ dest: CPtr) {
        _ = syscall(.send, dest, MessageInfo(label: 0, length: 0), sendsMRs: false, receivesMRs: false)
    }
    /// seL4_Wait (Recv on a notification cap): the notification word.
    public static func wait(_ src: CPtr) -> UInt64 {
        syscall(.recv, src, MessageInfo(label: 0, length: 0), sendsMRs: false, receivesMRs: false).badge
    }
    /// seL4_Poll (NBRecv on a notification cap): the word, 0 if nothing was pending.
    public static func poll(_ src: CPtr) -> UInt64 {
        syscall(.nbRecv, src, MessageInfo(label: 0, length: 0), sendsMRs: false, receivesMRs: false).badge
    }

    // MARK: - Debug

    /// seL4_DebugPutChar.
    public static func debugPutChar(_ c: UInt8) {
        _ = syscall(.debugPutChar, UInt64(c), MessageInfo(label: 0, length: 0), sendsMRs: false, receivesMRs: false)
    }
    /// seL4_DebugHalt. umk takes the first argument (which seL4 ignores) as the system's
    /// exit status.
    public static func debugHalt(status: UInt64 = 0) {
        _ = syscall(.debugHalt, status, MessageInfo(label: 0, length: 0), sendsMRs: false, receivesMRs: false)
    }
    /// seL4_DebugDumpScheduler.
    public static func debugDumpScheduler() {
        _ = syscall(.debugDumpScheduler, 0, MessageInfo(label: 0, length: 0), sendsMRs: false, receivesMRs: false)
    }
    /// seL4_DebugNameThread (the name goes through the IPC buffer).
    public static func debugNameThread(_ tcb: CPtr, _ name: String) {
        let bytes = Array(name.utf8.prefix(MessageLimits.maxLength * 8 - 1)) + [0]
        let b = UnsafeMutableRawPointer(IPCBuffer.base + 1)
        for (i, c) in bytes.enumerated() { b.storeBytes(of: c, toByteOffset: i, as: UInt8.self) }
        _ = syscall(.debugNameThread, tcb, MessageInfo(label: 0, length: 0), sendsMRs: false, receivesMRs: false)
    }
    /// seL4_DebugCapIdentify: seL4's cap tag of `cap`.
    public static func debugCapIdentify(_ cap: CPtr) -> UInt64 {
        syscall(.debugCapIdentify, cap, MessageInfo(label: 0, length: 0), sendsMRs: false, receivesMRs: false).badge
    }
}

/// Prints through the kernel's debug console (DebugPutChar), as a guest without a console
/// driver would.
public func debugPrint(_ text: String) {
    for c in text.utf8 { seL4.debugPutChar(c) }
}
