// SPDX-License-Identifier: Apache-2.0
//
// Capability helpers shared by the rule tests: minting badged or rights-reduced copies as
// the root task, and device untyped memory (which boot does not hand out).

import Testing
import UMKABI
@testable import UMKernel

extension KernelHarness {
    static let rootCNode = InitialCap.initThreadCNode.rawValue

    /// Mints `src` into a fresh root CNode slot with `rights` and `badge`, as the root task.
    func mint(_ src: UInt64, rights: CapRights = .all, badge: UInt64 = 0,
              _ sourceLocation: SourceLocation = #_sourceLocation) -> UInt64 {
        run(root)
        let dest = allocSlot()
        let e = error(Self.rootCNode, .cnodeMint, [dest, 64, src, 64, rights.rawValue, badge], caps: [Self.rootCNode],
                      sourceLocation)
        #expect(e == .noError, sourceLocation: sourceLocation)
        return dest
    }

    /// A device untyped of 2^bits bytes written by hand into a fresh root slot, over RAM no
    /// test allocates from (another boot untyped, or the top of the largest one).
    func deviceUntyped(bits: UInt64 = 16) -> UInt64 {
        let list = boot.bootInfo.untypedList
        let best = Int(untypedSlot - boot.bootInfo.untyped.start)
        let paddr: UInt64
        if let i = list.indices.first(where: { $0 != best && !list[$0].isDevice && UInt64(list[$0].sizeBits) >= bits }) {
            paddr = list[i].paddr
        } else {
            let d = list[best]
            paddr = d.paddr + (UInt64(1) << UInt64(d.sizeBits)) - (UInt64(1) << bits)
        }
        let slot = allocSlot()
        var s = Slot.empty
        s.cap = .untyped(paddr: paddr, sizeBits: bits, isDevice: true)
        s.revocable = true
        s.firstBadged = true
        slotRef(slot).pointee = s
        check()
        return slot
    }
}
