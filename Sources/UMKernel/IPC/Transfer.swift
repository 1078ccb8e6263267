// SPDX-License-Identifier: Apache-2.0
//
// Message transfer (seL4 src/kernel/thread.c, src/api/faults.c): message registers (the
// first four in machine registers, the rest in the IPC buffer), badges, extra caps (up to
// three, one receive slot, unwrapping of caps to the endpoint the message travels on) and
// fault messages. The kernel reaches IPC buffers through the physmap, by the frame cap
// held in the TCB's IPC-buffer slot.

import UMKABI

/// seL4's x86_64 message registers: MR0...MR3 travel in R10, R8, R9, R15.
@inline(__always) func messageRegister(_ i: Int) -> UserRegister {
    switch i {
    case 0: .r10
    case 1: .r8
    case 2: .r9
    default: .r15
    }
}

/// The extra caps a sender named, as slots (seL4 extra_caps_t).
struct ExtraCaps {
    var slots: (UInt64, UInt64, UInt64) = (0, 0, 0)
    var count = 0
    subscript(i: Int) -> UInt64 {
        switch i { case 0: slots.0; case 1: slots.1; default: slots.2 }
    }
    mutating func append(_ s: UInt64) {
        switch count { case 0: slots.0 = s; case 1: slots.1 = s; default: slots.2 = s }
        count += 1
    }
}

extension Kernel {
    // MARK: - IPC buffer and message registers

    /// seL4: lookupIPCBuffer — physical address of the thread's IPC buffer, or nil.
    func ipcBuffer(of t: TCBRef, isReceiver: Bool) -> UInt64? {
        let cap = t.slot(.ipcBuffer).pointee.cap
        guard cap.type == .frame, !cap.frameIsDevice else { return nil }
        let rights = cap.frameVMRights
        guard rights == .readWrite || (!isReceiver && rights == .readOnly) else { return nil }
        return cap.paddr + (t.pointee.ipcBuffer & lowMask(cap.frameSize.bits))
    }

    @inline(__always) func bufferWord(_ buffer: UInt64, _ index: Int) -> UInt64 {
        physmap.loadWord(buffer + UInt64(index) * 8)
    }
    @inline(__always) func setBufferWord(_ buffer: UInt64, _ index: Int, _ value: UInt64) {
        physmap.storeWord(buffer + UInt64(index) * 8, value)
    }

    /// seL4: getSyscallArg — message register `i` of the current invocation.
    func syscallArg(_ i: Int, _ t: TCBRef, _ buffer: UInt64?) -> UInt64 {
        if i < MessageLimits.fastMessageRegisters { return t.pointee[messageRegister(i)] }
        guard let buffer else { return 0 }
        return bufferWord(buffer, IPCBufferLayout.msg + i)
    }

    /// seL4: setMR — write message register `i` of `receiver`; returns the new length.
    @discardableResult
    func setMR(_ receiver: TCBRef, _ buffer: UInt64?, _ i: Int, _ value: UInt64) -> Int {
        if i < MessageLimits.fastMessageRegisters {
            receiver.pointee[messageRegister(i)] = value
            return i + 1
        }
        guard let buffer else { return MessageLimits.fastMessageRegisters }
        setBufferWord(buffer, IPCBufferLayout.msg + i, value)
        return i + 1
    }

    /// seL4: messageInfoFromWord — the length is clamped to 120.
    @inline(__always) func messageInfo(_ word: UInt64) -> MessageInfo {
        var info = MessageInfo(word: word)
        if info.length > UInt64(MessageLimits.maxLength) { info.length = UInt64(MessageLimits.maxLength) }
        return info
    }

    /// seL4: copyMRs.
    func copyMRs(sender: TCBRef, _ sendBuffer: UInt64?, receiver: TCBRef, _ recvBuffer: UInt64?, count n: Int) -> Int {
        var i = 0
        while i < n && i < MessageLimits.fastMessageRegisters {
            let r = messageRegister(i)
            receiver.pointee[r] = sender.pointee[r]
            i += 1
        }
        guard let sendBuffer, let recvBuffer else { return i }
        while i < n {
            setBufferWord(recvBuffer, IPCBufferLayout.msg + i, bufferWord(sendBuffer, IPCBufferLayout.msg + i))
            i += 1
        }
        return i
    }

    // MARK: - Transfers

    /// seL4: doIPCTransfer — a normal message, or the sender's fault message.
    func doIPCTransfer(sender: TCBRef, endpoint ep: UInt64, badge: UInt64, grant: Bool, receiver: TCBRef) {
        if trace.enabled {
            let kind: StaticString = receiver.pointee.state == .blockedOnReply ? "reply"
                : sender.pointee.fault.type != FaultType.nullFault.rawValue ? "fault" : "message"
            traceMessage(kind, from: sender.paddr, to: receiver, badge: badge)
        }
        let recvBuffer = ipcBuffer(of: receiver, isReceiver: true)
        if sender.pointee.fault.type == FaultType.nullFault.rawValue {
            let sendBuffer = ipcBuffer(of: sender, isReceiver: false)
            doNormalTransfer(sender: sender, sendBuffer, endpoint: ep, badge: badge, grant: grant,
                             receiver: receiver, recvBuffer)
        } else {
            doFaultTransfer(badge: badge, sender: sender, receiver: receiver, recvBuffer)
        }
    }

    /// seL4: doNormalTransfer.
    func doNormalTransfer(sender: TCBRef, _ sendBuffer: UInt64?, endpoint ep: UInt64, badge: UInt64, grant: Bool,
                          receiver: TCBRef, _ recvBuffer: UInt64?) {
        var tag = messageInfo(sender.pointee[.rsi])
        var caps = ExtraCaps()
        if grant, let found = try? lookupExtraCaps(sender, sendBuffer, tag).get() {
            caps = found
        }
        let transferred = copyMRs(sender: sender, sendBuffer, receiver: receiver, recvBuffer, count: Int(tag.length))
        tag = transferCaps(tag, caps, endpoint: ep, receiver: receiver, recvBuffer)
        tag.length = UInt64(transferred)
        receiver.pointee[.rsi] = tag.word
        receiver.pointee[.rdi] = badge
    }

    /// seL4: lookupExtraCaps — the slots of the caps a sender lists; a failed lookup
    /// names the CPtr that failed.
    func lookupExtraCaps(_ t: TCBRef, _ buffer: UInt64?, _ info: MessageInfo) -> Result<ExtraCaps, ExtraCapLookupError> {
        var caps = ExtraCaps()
        guard let buffer else { return .success(caps) }
        for i in 0..<Int(info.extraCaps) {
            let cptr = bufferWord(buffer, IPCBufferLayout.capsOrBadges + i)
            switch lookupSlot(t, cptr) {
            case .success(let s): caps.append(s.paddr)
            case .failure(let f): return .failure(ExtraCapLookupError(cptr: cptr, failure: f))
            }
        }
        return .success(caps)
    }

    /// seL4: transferCaps — unwrap or insert the extra caps; one receive slot.
    func transferCaps(_ info: MessageInfo, _ caps: ExtraCaps, endpoint ep: UInt64, receiver: TCBRef,
                      _ recvBuffer: UInt64?) -> MessageInfo {
        var info = info
        info.extraCaps = 0
        info.capsUnwrapped = 0
        guard caps.count > 0, let recvBuffer else { return info }
        var destSlot = receiveSlot(receiver, recvBuffer)
        var i = 0
        while i < caps.count {
            let s = slot(caps[i])
            let cap = s.pointee.cap
            if cap.type == .endpoint && cap.paddr == ep {
                setBufferWord(recvBuffer, IPCBufferLayout.capsOrBadges + i, cap.badge)
                info.capsUnwrapped |= 1 << UInt64(i)
            } else {
                guard let dest = destSlot else { break }
                guard let derived = try? deriveCap(s, cap), !derived.isNull else { break }
                cteInsert(derived, src: s, dest: dest)
                destSlot = nil
            }
            i += 1
        }
        info.extraCaps = UInt64(i)
        return info
    }

    /// seL4: getReceiveSlots — the receiver's one empty receive slot, if it names one.
    func receiveSlot(_ receiver: TCBRef, _ buffer: UInt64) -> SlotRef? {
        let cptr = bufferWord(buffer, IPCBufferLayout.receiveCNode)
        guard case .success(let cnode) = lookupCap(receiver, cptr) else { return nil }
        let index = bufferWord(buffer, IPCBufferLayout.receiveIndex)
        let depth = bufferWord(buffer, IPCBufferLayout.receiveDepth)
        guard let s = try? lookupTargetSlot(cnode, index, depth) else { return nil }
        return s.pointee.cap.isNull ? s : nil
    }
}

/// A failed lookup of an extra cap: the CPtr and why.
struct ExtraCapLookupError: Error {
    var cptr: UInt64
    var failure: LookupFailure
}
