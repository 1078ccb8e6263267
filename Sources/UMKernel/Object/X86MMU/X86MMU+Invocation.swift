// SPDX-License-Identifier: Apache-2.0
//
// x86_64 paging objects' methods (seL4 src/arch/x86/kernel/vspace.c, 64/kernel/vspace.c),
// dispatched by the invoked cap's type. Each object decodes its method into an operation
// (every check in seL4's order, nothing changed yet) and then performs it, which cannot
// fail: PageTable+Invocation.swift (PDPT, PageDirectory and PageTable Map/Unmap),
// Frame+Invocation.swift (Page_Map, Unmap, GetAddress), ASID+Invocation.swift
// (ASIDControl_MakePool, ASIDPool_Assign), VSpace+Invocation.swift (umk's
// GetAddressRange). The kernel keeps the page tables exactly as
// hardware would read them and reports every frame mapping and unmapping to the machine,
// which mirrors it into the VSpace's host window (Linux) or records it (tests).

import UMKABI

extension Kernel {
    /// seL4: decodeX86MMUInvocation.
    func decodeX86MMUInvocation(_ inv: Invocation) throws(KernelException) {
        switch inv.cap.type {
        case .pml4:
            invokeVSpace(try decodeVSpaceInvocation(inv), inv)
        case .pdpt, .pageDirectory, .pageTable:
            invokePagingTable(try decodePagingTableInvocation(inv), caller: inv.thread)
        case .frame:
            invokeFrame(try decodeFrameInvocation(inv), inv)
        case .asidControl:
            invokeASIDControl(try decodeASIDControlInvocation(inv), caller: inv.thread)
        case .asidPool:
            invokeASIDPool(try decodeASIDPoolInvocation(inv), caller: inv.thread)
        default:
            throw .syscallError(.illegalOperation)
        }
    }

    /// The VSpace an extra cap names: a PML4 with an ASID.
    func checkedVSpace(_ cap: Capability) throws(KernelException) -> (pml4: UInt64, asid: UInt64) {
        guard cap.type == .pml4, cap.isMapped else { throw .syscallError(.invalidCapability(1)) }
        return (cap.paddr, cap.mappedASID)
    }

    /// The ASID still maps to that PML4 (seL4: findVSpaceForASID and the compare after it).
    func checkASIDMapsTo(_ asid: UInt64, _ pml4: UInt64) throws(KernelException) {
        switch findVSpace(asid: asid) {
        case .failure(let f): throw .syscallError(.failedLookup(source: false, f))
        case .success(let v): if v != pml4 { throw .syscallError(.invalidCapability(1)) }
        }
    }

    /// A lookup's result as a decode error (a failed lookup of the destination side).
    func entryOrThrow(_ r: Result<UInt64, LookupFailure>) throws(KernelException) -> UInt64 {
        switch r {
        case .failure(let f): throw .syscallError(.failedLookup(source: false, f))
        case .success(let s): return s
        }
    }
}
