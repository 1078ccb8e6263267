// SPDX-License-Identifier: Apache-2.0
//
// CNode methods (seL4 decodeCNodeInvocation, src/object/cnode.c): every check in seL4's
// order first, giving an operation, then the operation, which cannot fail except by
// preemption (Delete and Revoke stop at preemption points and are restarted with their
// progress kept). The slot operations they use are Object/CNode.swift's.

import UMKABI

/// A checked CNode method, ready to perform (seL4's invokeCNode* and their arguments).
enum CNodeOperation {
    /// Copy or Mint: `cap` into the empty `dest`, a child of `src`.
    case insert(cap: Capability, src: SlotRef, dest: SlotRef)
    /// Move or Mutate: `cap` and its place in the tree from `src` to the empty `dest`.
    case move(cap: Capability, src: SlotRef, dest: SlotRef)
    case revoke(SlotRef)
    case delete(SlotRef)
    /// The caller's reply cap into `dest`.
    case saveCaller(dest: SlotRef)
    case cancelBadgedSends(endpoint: UInt64, badge: UInt64)
    /// pivot → dest and src → pivot (a swap when dest is src).
    case rotate(srcCap: Capability, src: SlotRef, pivotCap: Capability, pivot: SlotRef, dest: SlotRef)
}

extension Kernel {
    // MARK: - Decode

    func decodeCNodeInvocation(_ inv: Invocation) throws(KernelException) -> CNodeOperation {
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
            return isMove ? .move(cap: newCap, src: srcSlot, dest: destSlot)
                : .insert(cap: newCap, src: srcSlot, dest: destSlot)

        case .cnodeRevoke:
            return .revoke(destSlot)

        case .cnodeDelete:
            return .delete(destSlot)

        case .cnodeSaveCaller:
            try ensureEmptySlot(destSlot)
            return .saveCaller(dest: destSlot)

        case .cnodeCancelBadgedSends:
            let cap = destSlot.pointee.cap
            guard cap.type == .endpoint, cap.rights == .all else { throw .syscallError(.illegalOperation) }
            return .cancelBadgedSends(endpoint: cap.paddr, badge: cap.badge)

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
            return .rotate(srcCap: newSrcCap, src: srcSlot, pivotCap: newPivotCap, pivot: pivotSlot, dest: destSlot)

        default:
            throw .syscallError(.illegalOperation)
        }
    }

    // MARK: - Invoke

    /// Performs a decoded CNode method for `caller`; only Revoke and Delete can stop, at a
    /// preemption point.
    func invokeCNode(_ op: CNodeOperation, caller: TCBRef) throws(KernelException) {
        setThreadState(caller, .restart)
        switch op {
        case .insert(let cap, let src, let dest):
            cteInsert(cap, src: src, dest: dest)
        case .move(let cap, let src, let dest):
            cteMove(cap, src: src, dest: dest)
        case .revoke(let s):
            try cteRevoke(s)
        case .delete(let s):
            try cteDelete(s, exposed: true)
        case .saveCaller(let dest):
            let callerSlot = caller.slot(.caller)
            let cap = callerSlot.pointee.cap
            if cap.type == .reply {
                cteMove(cap, src: callerSlot, dest: dest)
            } else {
                precondition(cap.isNull, "caller slot must be empty or hold a reply cap")
            }
        case .cancelBadgedSends(let ep, let badge):
            if badge != 0 { cancelBadgedSends(endpoint(ep), badge: badge) }
        case .rotate(let srcCap, let src, let pivotCap, let pivot, let dest):
            // seL4: invokeCNodeRotate — pivot → dest and src → pivot; dest == src is a swap.
            if dest == src {
                cteSwap(srcCap, src, pivotCap, pivot)
            } else {
                cteMove(pivotCap, src: pivot, dest: dest)
                cteMove(srcCap, src: src, dest: pivot)
            }
        }
    }
}
