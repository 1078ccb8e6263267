// SPDX-License-Identifier: Apache-2.0
//
// The kernel's side of a trace (TraceRecorder): the hooks its paths call when tracing is
// on (each behind one test of `trace.enabled`), stamped with the machine's clock, and the
// text handed to the machine as it grows. While tracing, Call, ReplyRecv and Signal take
// the slowpath, so every message is seen.

import UMKABI

extension Kernel {
    /// Starts a trace of the run; at most `limitBytes` of events.
    public func startTrace(limitBytes: Int = .max) {
        trace.start(limitBytes: limitBytes)
        traceFlush(force: true)
    }

    /// Ends the trace: the last slice, the tracks' names, the rest of the text out.
    public func finishTrace() {
        guard trace.enabled else { return }
        trace.finish(at: hal.traceClock()) { tcb($0).name }
        traceFlush(force: true)
    }

    func traceFlush(force: Bool = false) {
        if force || trace.pending.count >= 1 << 16 { hal.writeTrace(trace.take()) }
    }

    /// The thread the machine resumes now (the idle thread: none).
    @inline(never) func traceRun(_ t: TCBRef) {
        trace.run(t == idleThread ? 0 : t.paddr, at: hal.traceClock())
        traceFlush()
    }

    static func syscallName(_ number: Int64) -> StaticString {
        switch Syscall(rawValue: number) {
        case .call?: "Call"
        case .replyRecv?: "ReplyRecv"
        case .send?: "Send"
        case .nbSend?: "NBSend"
        case .recv?: "Recv"
        case .reply?: "Reply"
        case .yield?: "Yield"
        case .nbRecv?: "NBRecv"
        case .debugPutChar?: "DebugPutChar"
        case .debugDumpScheduler?: "DebugDumpScheduler"
        case .debugHalt?: "DebugHalt"
        case .debugCapIdentify?: "DebugCapIdentify"
        case .debugSnapshot?: "DebugSnapshot"
        case .debugNameThread?: "DebugNameThread"
        case .setTLSBase?: "SetTLSBase"
        case nil: number >= 0 ? "host syscall" : "unknown syscall"
        }
    }

    @inline(never) func traceSyscall(_ t: TCBRef, _ number: Int64) {
        let info = MessageInfo(word: t.pointee[.rsi])
        let sends = number == Syscall.call.rawValue || number == Syscall.send.rawValue || number == Syscall.nbSend.rawValue
            || number == Syscall.reply.rawValue || number == Syscall.replyRecv.rawValue
        trace.syscall(t.paddr, at: hal.traceClock(), Self.syscallName(number), cap: t.pointee[.rdi],
                      message: sends ? (info.label, info.length) : nil)
    }

    @inline(never) func traceMessage(_ kind: StaticString, from sender: UInt64, to receiver: TCBRef, badge: UInt64) {
        trace.message(kind, from: sender, to: receiver.paddr, at: hal.traceClock(), badge: badge)
    }

    @inline(never) func traceError(_ t: TCBRef, _ code: KernelError) {
        trace.instant(t.paddr, at: hal.traceClock(), "error: \(code)")
    }

    @inline(never) func traceFault(_ t: TCBRef, _ fault: FaultRecord) {
        let kind = FaultType(rawValue: fault.type).map { String(describing: $0) } ?? "fault \(fault.type)"
        trace.instant(t.paddr, at: hal.traceClock(), "fault: \(kind)", [("w0", hex(fault.w0)), ("w1", hex(fault.w1))])
    }

    /// An interrupt delivered now: its signal comes from the kernel's track.
    @inline(never) func traceInterrupt(_ irq: UInt64) {
        trace.instant(TraceRecorder.kernelTrack, at: hal.traceClock(), "IRQ \(irq)")
        trace.inInterrupt = true
    }

    @inline(never) func tracePreempted(_ t: TCBRef) {
        trace.instant(t.paddr, at: hal.traceClock(), "preempted: time slice over")
    }
}
