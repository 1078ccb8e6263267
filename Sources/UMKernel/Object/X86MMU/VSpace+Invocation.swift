// SPDX-License-Identifier: Apache-2.0
//
// The VSpace's (PML4's) one method, umk's own: GetAddressRange answers the guest virtual
// addresses the VSpace may map and run at. seL4 has no PML4 methods, as every VSpace there
// spans all user addresses; on Linux a VSpace spans its host window (a guest address is
// the host address), so whoever builds an address space asks where it lies.

import UMKABI

extension Kernel {
    // MARK: - Decode

    /// umk_VSpace_GetAddressRange on an assigned PML4: the range of its ASID.
    func decodeVSpaceInvocation(_ inv: Invocation) throws(KernelException) -> Range<UInt64> {
        guard inv.label == InvocationLabel.umkVSpaceGetAddressRange.rawValue else { throw .syscallError(.illegalOperation) }
        let cap = inv.cap
        guard cap.isMapped else { throw .syscallError(.invalidCapability(0)) }
        switch findVSpace(asid: cap.mappedASID) {
        case .failure(let f): throw .syscallError(.failedLookup(source: false, f))
        case .success(let pml4): if pml4 != cap.paddr { throw .syscallError(.invalidCapability(0)) }
        }
        return hal.addressRange(asid: cap.mappedASID)
    }

    // MARK: - Invoke

    /// Replies MR0 = the first address, MR1 = the end (exclusive).
    func invokeVSpace(_ range: Range<UInt64>, _ inv: Invocation) {
        if inv.isCall { replyFromKernelSuccess(inv.thread, [range.lowerBound, range.upperBound]) }
        setThreadState(inv.thread, .running)
    }
}
