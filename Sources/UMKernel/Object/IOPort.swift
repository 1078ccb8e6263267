// SPDX-License-Identifier: Apache-2.0
//
// x86 I/O ports (seL4 src/arch/x86/object/ioport.c): IOPortControl issues IOPort caps for
// port ranges no other cap holds (a bitmap of allocated ports, cleared when the last cap
// to a range goes); an IOPort cap reads and writes 8, 16 or 32 bits at ports inside its
// range. The ports themselves are the HAL's devices.

import UMKABI

/// A checked IOPortControl_Issue, ready to perform.
struct IOPortControlOperation {
    var first: UInt64
    var last: UInt64
    var dest: SlotRef
}

/// A checked IOPort In or Out, ready to perform.
enum IOPortOperation {
    case input(port: UInt16, width: Int)
    case output(port: UInt16, width: Int, value: UInt32)
}

extension Kernel {
    /// The allocated-ports bitmap: 65536 bits in the kernel's reserved RAM.
    func ioPortWord(_ port: UInt64) -> UInt64 { KernelLayout.ioPortBitmap + (port >> 6) * 8 }

    /// seL4: isIOPortRangeAllocated.
    func isIOPortRangeAllocated(_ first: UInt64, _ last: UInt64) -> Bool {
        var p = first
        while p <= last {
            if physmap.loadWord(ioPortWord(p)) & (1 << (p & 63)) != 0 { return true }
            p += 1
        }
        return false
    }

    /// seL4: setIOPortMask.
    func setIOPortMask(_ first: UInt64, _ last: UInt64, _ set: Bool) {
        var p = first
        while p <= last {
            let w = physmap.loadWord(ioPortWord(p))
            physmap.storeWord(ioPortWord(p), set ? w | 1 << (p & 63) : w & ~(1 << (p & 63)))
            p += 1
        }
    }

    // MARK: - Decode

    /// IOPortControl_Issue: a cap for ports `first...last`, none of them issued yet.
    func decodeIOPortControlInvocation(_ inv: Invocation) throws(KernelException) -> IOPortControlOperation {
        guard inv.label == InvocationLabel.x86IOPortControlIssue.rawValue else { throw .syscallError(.illegalOperation) }
        guard inv.length >= 4, let root = extraCap(inv, 0) else { throw .syscallError(.truncatedMessage) }
        let first = arg(inv, 0) & 0xFFFF, last = arg(inv, 1) & 0xFFFF
        let index = arg(inv, 2), depth = arg(inv, 3)
        guard last >= first else { throw .syscallError(.invalidArgument(1)) }
        guard !isIOPortRangeAllocated(first, last) else { throw .syscallError(.revokeFirst) }
        let dest = try lookupTargetSlot(root.cap, index, depth)
        try ensureEmptySlot(dest)
        return IOPortControlOperation(first: first, last: last, dest: dest)
    }

    /// seL4: decodeX86PortInvocation — the label first, then the length it needs.
    func decodeIOPortInvocation(_ inv: Invocation) throws(KernelException) -> IOPortOperation {
        let width: Int
        let isOut: Bool
        switch InvocationLabel(rawValue: inv.label) {
        case .x86IOPortIn8: (width, isOut) = (1, false)
        case .x86IOPortIn16: (width, isOut) = (2, false)
        case .x86IOPortIn32: (width, isOut) = (4, false)
        case .x86IOPortOut8: (width, isOut) = (1, true)
        case .x86IOPortOut16: (width, isOut) = (2, true)
        case .x86IOPortOut32: (width, isOut) = (4, true)
        default: throw .syscallError(.illegalOperation)
        }
        guard inv.length >= (isOut ? 2 : 1) else { throw .syscallError(.truncatedMessage) }
        let port = arg(inv, 0) & 0xFFFF
        try ensurePortOperationAllowed(inv.cap, port, width)
        if isOut {
            let mask: UInt64 = width == 4 ? 0xFFFF_FFFF : (1 << (8 * UInt64(width))) - 1
            return .output(port: UInt16(port), width: width, value: UInt32(arg(inv, 1) & mask))
        }
        return .input(port: UInt16(port), width: width)
    }

    // MARK: - Invoke

    /// seL4: invokeX86PortControl — the ports are taken; the cap is a child of IOPortControl.
    func invokeIOPortControl(_ op: IOPortControlOperation, control: SlotRef, caller: TCBRef) {
        setThreadState(caller, .restart)
        setIOPortMask(op.first, op.last, true)
        cteInsert(.ioPort(first: op.first, last: op.last), src: control, dest: op.dest)
    }

    /// seL4: invokeX86PortIn / invokeX86PortOut, through the machine's devices.
    func invokeIOPort(_ op: IOPortOperation, _ inv: Invocation) {
        setThreadState(inv.thread, .restart)
        switch op {
        case .output(let port, let width, let value):
            hal.ioPortOut(port, width: width, value: value)
        case .input(let port, let width):
            let value = hal.ioPortIn(port, width: width)
            if inv.isCall { replyFromKernelSuccess(inv.thread, [UInt64(value)]) }
            // The reply is made: Running keeps the syscall path from replacing it with an
            // empty one (seL4's invokeX86PortIn does the same).
            setThreadState(inv.thread, .running)
        }
        // A device may have raised or dropped its line (a driver reading the UART's FIFO).
        deliverInterrupts()
    }

    /// seL4: ensurePortOperationAllowed — the whole access must lie in the cap's range.
    func ensurePortOperationAllowed(_ cap: Capability, _ port: UInt64, _ width: Int) throws(KernelException) {
        let end = port + UInt64(width) - 1
        guard port >= cap.ioPortFirst, end <= cap.ioPortLast else { throw .syscallError(.illegalOperation) }
    }

    /// The last cap to a port range went: the ports can be issued again.
    func freeIOPortRange(_ cap: Capability) {
        setIOPortMask(cap.ioPortFirst, cap.ioPortLast, false)
    }
}
