// SPDX-License-Identifier: Apache-2.0
//
// CNode methods (seL4 decodeCNodeInvocation, src/object/cnode.c): every check in seL4's
// order first, then the operation, which cannot fail except by preemption (Delete and
// Revoke stop at preemption points and are restarted with their progress kept).

import UMKABI

extension Kernel {
    // MARK: - Decode

    func decodeCNodeInvocation(_ inv: Invocation) throws(KernelException) {
        let label = inv.label
        guard label >= InvocationLabel.cnodeRevoke.rawValue && label <= InvocationLabel.cnodeSaveCaller.rawValue,
              let method = InvocationLabel(rawValue: label) else {
            throw .syscallError(.illegalOperation)
        }
        guard inv.length >= 2 else { throw .syscallError(.truncatedMessage) }
        let index = arg(inv, 0), depth = arg(inv, 1)
        let destSlot = try lookupTargetSlot(inv.cap, index, depth)

        switch method {
        case .cnodeCopy, .cnodeMint, .cnodeMove, .cnodeMutate:
            guard inv.length >= 4, let srcRoot = extraCap(inv, 0) else { throw .syscallError(.truncatedMessage) }
            let srcIndex = arg(inv, 2), srcDepth = arg(inv, 3)
            try ensureEmptySlot(destSlot)
            let srcSlot = try lookupSourceSlot(srcRoot.cap, srcIndex, srcDepth)
            let srcCap = srcSlot.pointee.cap
            guard !srcCap.isNull else {
                throw .syscallError(.failedLookup(source: true, .missingCapability(bitsLeft: srcDepth)))
            }
            var newCap: Capability
            var isMove = false
            switch method {
            case .cnodeCopy:
                guard inv.length >= 5 else { throw .syscallError(.truncatedMessage) }
                let rights = CapRights(rawValue: arg(inv, 4))
                newCap = try deriveCap(srcSlot, maskCapRights(rights, srcCap))
            case .cnodeMint:
                guard inv.length >= 6 else { throw .syscallError(.truncatedMessage) }
                let rights = CapRights(rawValue: arg(inv, 4))
                let data = arg(inv, 5)
                newCap = try deriveCap(srcSlot, updateCapData(preserve: false, data, maskCapRights(rights, srcCap)))
            case .cnodeMove:
                newCap = srcCap
                isMove = true
            default:
                guard inv.length >= 5 else { throw .syscallError(.truncatedMessage) }
                newCap = updateCapData(preserve: true, arg(inv, 4), srcCap)
                isMove = true
            }
            guard !newCap.isNull else { throw .syscallError(.illegalOperation) }
            setThreadState(inv.thread, .restart)
            if isMove {
                cteMove(newCap, src: srcSlot, dest: destSlot)
            } else {
                cteInsert(newCap, src: srcSlot, dest: destSlot)
            }

        case .cnodeRevoke:
            setThreadState(inv.thread, .restart)
            try cteRevoke(destSlot)

        case .cnodeDelete:
            setThreadState(inv.thread, .restart)
            try cteDelete(destSlot, exposed: true)

        case .cnodeSaveCaller:
            try ensureEmptySlot(destSlot)
            setThreadState(inv.thread, .restart)
            let callerSlot = inv.thread.slot(.caller)
            let cap = callerSlot.pointee.cap
            if cap.type == .reply {
                cteMove(cap, src: callerSlot, dest: destSlot)
            } else {
                precondition(cap.isNull, "caller slot must be empty or hold a reply cap")
            }

        case .cnodeCancelBadgedSends:
            let cap = destSlot.pointee.cap
            guard cap.type == .endpoint, cap.rights == .all else { throw .syscallError(.illegalOperation) }
            setThreadState(inv.thread, .restart)
            if cap.badge != 0 { cancelBadgedSends(endpoint(cap.paddr), badge: cap.badge) }

        case .cnodeRotate:
            guard inv.length >= 8, let pivotRoot = extraCap(inv, 0), let srcRoot = extraCap(inv, 1) else {
                throw .syscallError(.truncatedMessage)
            }
            let destBadge = arg(inv, 2)
            let pivotIndex = arg(inv, 3), pivotDepth = arg(inv, 4)
            let srcBadge = arg(inv, 5)
            let srcIndex = arg(inv, 6), srcDepth = arg(inv, 7)
            let srcSlot = try lookupSourceSlot(srcRoot.cap, srcIndex, srcDepth)
            let pivotSlot = try lookupPivotSlot(pivotRoot.cap, pivotIndex, pivotDepth)
            if pivotSlot == srcSlot || pivotSlot == destSlot { throw .syscallError(.illegalOperation) }
            if srcSlot != destSlot { try ensureEmptySlot(destSlot) }
            guard !srcSlot.pointee.cap.isNull else {
                throw .syscallError(.failedLookup(source: true, .missingCapability(bitsLeft: srcDepth)))
            }
            guard !pivotSlot.pointee.cap.isNull else {
                throw .syscallError(.failedLookup(source: false, .missingCapability(bitsLeft: pivotDepth)))
            }
            let newSrcCap = updateCapData(preserve: true, srcBadge, srcSlot.pointee.cap)
            let newPivotCap = updateCapData(preserve: true, destBadge, pivotSlot.pointee.cap)
            guard !newSrcCap.isNull, !newPivotCap.isNull else { throw .syscallError(.illegalOperation) }
            setThreadState(inv.thread, .restart)
            // seL4: invokeCNodeRotate — pivot → dest and src → pivot; dest == src is a swap.
            if destSlot == srcSlot {
                cteSwap(newSrcCap, srcSlot, newPivotCap, pivotSlot)
            } else {
                cteMove(newPivotCap, src: pivotSlot, dest: destSlot)
                cteMove(newSrcCap, src: srcSlot, dest: pivotSlot)
            }

        default:
            throw .syscallError(.illegalOperation)
        }
    }
}
