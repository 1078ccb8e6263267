// SPDX-License-Identifier: Apache-2.0
//
// What init says when it cannot build a system: the kernel's error, and what it means for
// the step where that is not plain.

import Testing
import UMKABI
@testable import Servers

@Suite("init's build errors")
struct BuildErrorTests {
    @Test("INIT0001 ASID exhaustion and init's memory running out are explained, not only named")
    func explained() {
        #expect(BuildError(step: "ASID of worker", error: .deleteFirst).description
            == "ASID of worker: deleteFirst (the machine has no address space left: every ASID pool is full)")
        #expect(BuildError(step: "TCB of worker", error: .notEnoughMemory).description
            == "TCB of worker: notEnoughMemory (init's untyped memory ran out: give the manifest more ram)")
        #expect(BuildError(step: "CNode copy", error: .deleteFirst).description == "CNode copy: deleteFirst")
    }
}
