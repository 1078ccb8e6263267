// SPDX-License-Identifier: Apache-2.0
//
// Faults (seL4 src/kernel/faulthandler.c): a faulting thread's fault is recorded in its
// TCB and sent, as a Call, to the endpoint its fault-endpoint CPtr names in its own
// CSpace at that moment. If that lookup fails or the cap cannot carry a fault (Write plus
// Grant or GrantReply), it is a double fault: the thread stops and a report is printed.
// The machine's faults enter here (handleVMFaultEvent, handleUserLevelFault); the message
// and the reply are IPC/FaultTransfer.swift's.

import UMKABI

extension Kernel {
    /// seL4: handleFault — deliver `fault` for `t`, or stop `t` on a double fault.
    func handleFault(_ t: TCBRef, _ fault: FaultRecord) {
        if trace.enabled { traceFault(t, fault) }
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
            + "of thread \"\(t.name)\" at ip \(hex(t.pointee[.rip])); thread stopped\n")
        setThreadState(t, .inactive)
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
