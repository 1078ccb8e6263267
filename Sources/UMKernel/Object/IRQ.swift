// SPDX-License-Identifier: Apache-2.0
//
// Interrupts (seL4 src/object/interrupt.c): IRQControl hands out one handler cap per IRQ
// line; a handler names the notification its IRQ signals. An IRQ signals that
// notification with the cap's badge and stays masked until the driver Acks it.

import UMKABI

/// seL4 irq_state_t.
enum IRQState: UInt64 { case inactive = 0, signal = 1, timer = 2, reserved = 3 }

/// A checked IRQControl_Get, ready to perform.
struct IRQControlOperation {
    var irq: UInt64
    var dest: SlotRef
}

/// A checked IRQHandler method, ready to perform.
enum IRQHandlerOperation {
    case ack(irq: UInt64)
    /// The notification cap (and its slot) the line signals from now on.
    case setNotification(irq: UInt64, cap: Capability, slot: SlotRef)
    case clear(irq: UInt64)
}

extension Kernel {
    /// The IRQ node slot holding the notification cap of `irq`.
    func irqSlot(_ irq: UInt64) -> SlotRef { slot(KernelLayout.irqNode + (irq << ObjectSize.slotBits)) }

    func irqState(_ irq: UInt64) -> IRQState { IRQState(rawValue: globals.pointee.irqState[Int(irq)]) ?? .inactive }
    /// seL4: setIRQState — a line is masked exactly while nobody handles it.
    func setIRQState(_ irq: UInt64, _ state: IRQState) {
        globals.pointee.irqState[Int(irq)] = state.rawValue
        maskInterrupt(state == .inactive, irq)
    }

    func maskInterrupt(_ masked: Bool, _ irq: UInt64) {
        if masked { globals.pointee.irqMasked |= 1 << irq } else { globals.pointee.irqMasked &= ~(1 << irq) }
    }

    /// True if `irq` is masked until its handler acknowledges it.
    public func isIRQMasked(_ irq: UInt64) -> Bool { globals.pointee.irqMasked & (1 << irq) != 0 }

    // MARK: - Decode

    /// IRQControl_Get: a handler cap for an inactive line into an empty slot.
    func decodeIRQControlInvocation(_ inv: Invocation) throws(KernelException) -> IRQControlOperation {
        guard inv.label == InvocationLabel.irqIssueIRQHandler.rawValue else { throw .syscallError(.illegalOperation) }
        guard inv.length >= 3, let root = extraCap(inv, 0) else { throw .syscallError(.truncatedMessage) }
        let irq = arg(inv, 0), index = arg(inv, 1), depth = arg(inv, 2)
        guard irq < KernelLayout.irqCount else { throw .syscallError(.rangeError(0, KernelLayout.irqCount - 1)) }
        guard irqState(irq) == .inactive else { throw .syscallError(.revokeFirst) }
        let dest = try lookupTargetSlot(root.cap, index, depth)
        try ensureEmptySlot(dest)
        return IRQControlOperation(irq: irq, dest: dest)
    }

    /// IRQHandler Ack, SetNotification and Clear.
    func decodeIRQHandlerInvocation(_ inv: Invocation) throws(KernelException) -> IRQHandlerOperation {
        let irq = inv.cap.irq
        switch InvocationLabel(rawValue: inv.label) {
        case .irqAckIRQ:
            return .ack(irq: irq)
        case .irqSetIRQHandler:
            guard let ntfn = extraCap(inv, 0) else { throw .syscallError(.truncatedMessage) }
            guard ntfn.cap.type == .notification, ntfn.cap.rights.contains(.write) else {
                throw .syscallError(.invalidCapability(0))
            }
            return .setNotification(irq: irq, cap: ntfn.cap, slot: ntfn.slot)
        case .irqClearIRQHandler:
            return .clear(irq: irq)
        default:
            throw .syscallError(.illegalOperation)
        }
    }

    // MARK: - Invoke

    /// seL4: invokeIRQControl — the line is taken; its handler cap is a child of IRQControl.
    func invokeIRQControl(_ op: IRQControlOperation, control: SlotRef, caller: TCBRef) {
        setThreadState(caller, .restart)
        setIRQState(op.irq, .signal)
        cteInsert(.irqHandler(irq: op.irq), src: control, dest: op.dest)
    }

    /// seL4: invokeIRQHandler_AckIRQ, invokeIRQHandler_SetIRQHandler, _ClearIRQHandler.
    func invokeIRQHandler(_ op: IRQHandlerOperation, caller: TCBRef) {
        setThreadState(caller, .restart)
        switch op {
        case .ack(let irq):
            maskInterrupt(false, irq)
            // A line raised while masked is delivered once unmasked, as a level-triggered
            // PIC line would be.
            if globals.pointee.irqPending & (1 << irq) != 0 {
                globals.pointee.irqPending &= ~(1 << irq)
                handleInterrupt(irq)
            }
            // A device still asserting its line (data left in a FIFO) interrupts again.
            deliverInterrupts()
        case .setNotification(let irq, let cap, let slot):
            let s = irqSlot(irq)
            cteDeleteOne(s)
            cteInsert(cap, src: slot, dest: s)
        case .clear(let irq):
            cteDeleteOne(irqSlot(irq))
        }
    }

    /// seL4: deletingIRQHandler — the last handler cap goes: drop its notification.
    func deletingIRQHandler(_ irq: UInt64) { cteDeleteOne(irqSlot(irq)) }

    /// seL4: deletedIRQHandler — the IRQ line is free again.
    func deletedIRQHandler(_ irq: UInt64) { setIRQState(irq, .inactive) }

    /// seL4: handleInterrupt — signal the handler's notification and mask the line.
    func handleInterrupt(_ irq: UInt64) {
        guard irq < KernelLayout.irqCount else { return }
        switch irqState(irq) {
        case .reserved:
            break
        case .signal:
            let cap = irqSlot(irq).pointee.cap
            if cap.type == .notification && cap.rights.contains(.write) {
                sendSignal(notification(cap.paddr), badge: cap.badge)
            } else {
                hal.debugPrint("umk: undelivered IRQ \(irq)\n")
            }
            maskInterrupt(true, irq)
        case .timer:
            timerTick()
        case .inactive:
            maskInterrupt(true, irq)
        }
    }

    /// Delivers the lines the HAL asserts among the unmasked ones.
    public func deliverInterrupts() {
        let all: UInt64 = (1 << KernelLayout.irqCount) - 1
        var lines = hal.takeInterrupts(unmasked: ~globals.pointee.irqMasked & all)
        while lines != 0 {
            let irq = UInt64(lines.trailingZeroBitCount)
            lines &= lines - 1
            if trace.enabled { traceInterrupt(irq) }
            handleInterrupt(irq)
            trace.inInterrupt = false
        }
    }

    /// An interrupt from the HAL: deliver it (or leave it pending while masked), then
    /// choose the thread to run.
    public func handleInterruptEntry(_ irq: UInt64) {
        if isIRQMasked(irq) {
            globals.pointee.irqPending |= 1 << irq
        } else {
            if trace.enabled { traceInterrupt(irq) }
            handleInterrupt(irq)
            trace.inInterrupt = false
        }
        schedule()
        activateThread()
    }

    /// The kernel's scheduling tick from the HAL.
    public func handleTimerTickEntry() {
        timerTick()
        schedule()
        activateThread()
    }
}
