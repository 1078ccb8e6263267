// SPDX-License-Identifier: Apache-2.0
//
// The Linux backend's table of what each window mirrors must agree with a plain dictionary
// through any mix of maps, remaps and unmaps (deletion shifts entries back instead of
// leaving tombstones, so every key must stay reachable), and find the large frame that
// covers an address.

import Testing
@testable import UMKernel

@Suite struct WindowMappingsTests {
    @Test("MEM0005 window mappings agree with a dictionary through maps, remaps and unmaps, chunks coming and going")
    func agreesWithDictionary() {
        var table = WindowMappings()
        var model: [UInt64: FrameMapping] = [:]
        // A deterministic mix over a few clustered ranges (clusters make probe runs collide).
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
        for step in 0..<60_000 {
            let clusters: [UInt64] = [0x4000_0000, 0x7f00_1234_5000, 0x1_0000_0000]
            // Three dense clusters, and two pages in each of 64 stretches of 2 MiB, whose
            // chunks come and go.
            let kind = Int(next() % 4)
            let vaddr = kind == 3 ? 0x2_0000_0000 + (next() % 64) << 21 + (next() % 2) << 12
                : clusters[kind] + (next() % 2048) * 0x1000
            if next() % 3 == 0 {
                table[vaddr] = nil
                model[vaddr] = nil
            } else {
                let m = FrameMapping(paddr: UInt64(step) << 12, sizeBits: 12, rights: step % 2 == 0 ? .readWrite : .readOnly)
                table[vaddr] = m
                model[vaddr] = m
            }
            if step % 997 == 0 {
                #expect(table.count == model.count)
                for (k, v) in model { #expect(table[k] == v) }
            }
        }
        #expect(table.count == model.count)
        for (k, v) in model { #expect(table[k] == v) }
        #expect(table.sorted.map(\.vaddr) == model.keys.sorted())
        // Everything gone: the table is empty and finds nothing.
        for k in model.keys { table[k] = nil }
        #expect(table.count == 0)
        #expect(table[0x4000_0000] == nil)
    }

    @Test("MEM0007 a window's table gives up a chunk with its last mapping: one page mapped and unmapped in each of 5,000 stretches leaves none, their storage reused, and an empty table stores nothing")
    func chunksGo() {
        var table = WindowMappings()
        let m = FrameMapping(paddr: 0x1000, sizeBits: 12, rights: .readWrite)
        // Three chunks stay throughout (their probe runs mix with the others').
        for k: UInt64 in [7, 700, 7_000] { table[k << 21] = m }
        for k: UInt64 in 0..<5_000 {
            let a = (k * 3 + 1) << 21 | 0x5000, b = a + 0x1000
            table[a] = m
            table[b] = m
            table[a] = nil
            #expect(table[b] == m)
            table[b] = nil
            #expect(table[a] == nil && table[b] == nil)
        }
        #expect(table.count == 3)
        #expect(table.chunks == 3)
        #expect(table.storedChunks <= 4)
        for k: UInt64 in [7, 700, 7_000] { #expect(table[k << 21] == m) }
        // The last mapping gone, nothing is stored.
        for k: UInt64 in [7, 700, 7_000] { table[k << 21] = nil }
        #expect(table.count == 0 && table.storedChunks == 0)
    }

    @Test("MEM0006 window mappings find the 4 KiB, 2 MiB or 1 GiB frame covering an address")
    func covering() {
        var table = WindowMappings()
        let large = FrameMapping(paddr: 0x20_0000, sizeBits: 21, rights: .readWrite)
        let huge = FrameMapping(paddr: 0x4000_0000, sizeBits: 30, rights: .readOnly)
        let small = FrameMapping(paddr: 0x5000, sizeBits: 12, rights: .readOnly)
        table[0x60_0000] = large
        table[0x8000_0000] = huge
        table[0x1000] = small
        #expect(table.covering(0x60_0000 + 0x1F_F008) == large)
        #expect(table.covering(0x8000_0000 + 0x3FFF_F000) == huge)
        #expect(table.covering(0x1FFF) == small)
        #expect(table.covering(0x2000) == nil)
        #expect(table.covering(0x80_0000) == nil)
    }
}
