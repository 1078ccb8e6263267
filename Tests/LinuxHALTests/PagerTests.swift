// SPDX-License-Identifier: Apache-2.0
//
// The user-level pager on real guests: 64 MiB of fresh heap backed page by page with
// zeroed frames, and a stray access reported to init, which stops that task while the
// other keeps going.

import Testing
import Servers
@testable import UMKernel

extension LinuxGuests {
    @Suite("Pager")
    struct PagerTests {
        @Test("PAGER0001 a task touches 64 MiB of fresh heap through the pager; a stray task is reported and stopped")
        func sixtyFourMiB() throws {
            PagerSystem.heapPages = 16384
            PagerSystem.samples = []
            let (r, out) = try runSystem(ramMiB: 256, PagerSystem.root)
            #expect(r.halted, "\(out)")
            #expect(out.contains("worker: touched 16384 pages (64 MiB), 0 not zero, sum \(16384 * 16383 / 2)"), "\(out)")
            #expect(out.contains("pager: stray: invalid write at 0x90000000"), "\(out)")
            #expect(out.contains("init: stopping client 2 after an invalid access at 0x90000000"), "\(out)")
            #expect(!out.contains("stray: still running?"), "\(out)")
            #expect(out.contains("init: all clients accounted for"), "\(out)")
            #expect(PagerSystem.samples.count == 16384)
        }
    }
}
