// SPDX-License-Identifier: Apache-2.0
//
// What the Linux backend has mirrored in one window: its frame mappings by virtual address.
// Every Map and Unmap looks here, so it is laid out as a page table is: a table of 512
// packed entries for each 2 MiB of the window that has had a mapping, found through a small
// open-addressing table of those chunks (linear probing, a multiplicative hash of the chunk
// number). Neighbouring pages share a chunk and its cache lines, and growing never rehashes
// the pages. Nested Dictionaries (SipHash, four hashes a Map) cost umk bench vmfault about
// 500 cycles a fault more (10,623-10,711 -> 10,103-10,335 with a flat hash table of pages,
// whose rehashes made the slowest faults: max ~800,000 cycles, ~80,000 like this).

/// The frames mirrored in one window, by virtual address (the frame's first byte).
struct WindowMappings {
    /// Chunk numbers (vaddr >> 21) + 1, 0 marking an empty slot; a power of two long, at
    /// most half full. Chunks are never removed: a window's mapped 2 MiB stretches.
    private var chunkKeys: [UInt64] = []
    /// Where each chunk's 512 entries start in `entries`.
    private var chunkStarts: [Int] = []
    /// Packed mappings, 512 a chunk: paddr | size code << 2 | rights (1...3), 0 for none.
    private var entries: [UInt64] = []
    /// Mappings held.
    private(set) var count = 0

    private static func pack(_ m: FrameMapping) -> UInt64 {
        m.paddr & ~0xFFF | (m.sizeBits == 30 ? 2 : m.sizeBits == 21 ? 1 : 0) << 2 | m.rights.rawValue
    }

    private static func unpack(_ e: UInt64) -> FrameMapping {
        FrameMapping(paddr: e & ~0xFFF, sizeBits: 12 + 9 * ((e >> 2) & 3), rights: VMRights(rawValue: e & 3)!)
    }

    /// The slot of chunk `chunk` in `chunkKeys`, or the empty slot where it would go.
    private func chunkSlot(_ chunk: UInt64) -> (index: Int, found: Bool) {
        let mask = chunkKeys.count - 1, key = chunk &+ 1
        var i = Int(truncatingIfNeeded: (chunk &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - chunkKeys.count.trailingZeroBitCount))
        while true {
            let k = chunkKeys[i]
            if k == key { return (i, true) }
            if k == 0 { return (i, false) }
            i = (i + 1) & mask
        }
    }

    /// The index in `entries` of `vaddr`'s entry, if its chunk exists.
    private func entryIndex(_ vaddr: UInt64) -> Int? {
        guard !chunkKeys.isEmpty else { return nil }
        let (i, found) = chunkSlot(vaddr >> 21)
        return found ? chunkStarts[i] + Int((vaddr >> 12) & 511) : nil
    }

    /// The mapping whose frame starts at `vaddr` (page aligned).
    subscript(vaddr: UInt64) -> FrameMapping? {
        get {
            guard let i = entryIndex(vaddr), entries[i] != 0 else { return nil }
            return Self.unpack(entries[i])
        }
        set {
            if let newValue {
                let i = entryIndex(vaddr) ?? addChunk(vaddr >> 21) + Int((vaddr >> 12) & 511)
                if entries[i] == 0 { count += 1 }
                entries[i] = Self.pack(newValue)
            } else if let i = entryIndex(vaddr), entries[i] != 0 {
                entries[i] = 0
                count -= 1
            }
        }
    }

    /// A fresh chunk for `chunk` (its pages unmapped); the index of its first entry.
    private mutating func addChunk(_ chunk: UInt64) -> Int {
        if chunkKeys.isEmpty || (entries.count / 512 + 1) * 2 > chunkKeys.count {
            let old = chunkKeys, oldStarts = chunkStarts
            let size = max(8, old.count * 2)
            chunkKeys = [UInt64](repeating: 0, count: size)
            chunkStarts = [Int](repeating: 0, count: size)
            for (i, k) in old.enumerated() where k != 0 {
                let (j, _) = chunkSlot(k &- 1)
                chunkKeys[j] = k
                chunkStarts[j] = oldStarts[i]
            }
        }
        let (j, _) = chunkSlot(chunk)
        chunkKeys[j] = chunk &+ 1
        chunkStarts[j] = entries.count
        entries.append(contentsOf: repeatElement(0, count: 512))
        return chunkStarts[j]
    }

    /// The mapping that covers `vaddr`: a 4 KiB, 2 MiB or 1 GiB frame.
    func covering(_ vaddr: UInt64) -> FrameMapping? {
        for bits: UInt64 in [12, 21, 30] {
            if let m = self[vaddr & ~((1 << bits) - 1)], m.sizeBits == bits { return m }
        }
        return nil
    }

    /// Every mapping, by virtual address.
    var sorted: [(vaddr: UInt64, mapping: FrameMapping)] {
        var all: [(vaddr: UInt64, mapping: FrameMapping)] = []
        for (i, k) in chunkKeys.enumerated() where k != 0 {
            let base = (k &- 1) << 21, start = chunkStarts[i]
            for p in 0..<512 where entries[start + p] != 0 {
                all.append((base + UInt64(p) << 12, Self.unpack(entries[start + p])))
            }
        }
        return all.sorted { $0.vaddr < $1.vaddr }
    }
}
