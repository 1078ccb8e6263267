// SPDX-License-Identifier: Apache-2.0
//
// What the Linux backend has mirrored in one window: its frame mappings by virtual address.
// Every Map and Unmap looks here, so it is laid out as a page table is: a table of 512
// packed entries for each 2 MiB of the window that has had a mapping, found through a small
// open-addressing table of those chunks (linear probing, a multiplicative hash of the chunk
// number). Neighbouring pages share a chunk and its cache lines, growing never rehashes
// the pages, and a chunk whose last mapping goes is given up for the next one: a window's
// table holds no more chunks than it had mappings in distinct 2 MiB at once, and nothing
// once its last mapping is gone. Nested Dictionaries (SipHash, four hashes a Map) cost
// umk bench vmfault about 500 cycles a fault more (10,623-10,711 -> 10,103-10,335 with a
// flat hash table of pages, whose rehashes made the slowest faults: max ~800,000 cycles,
// ~80,000 like this).

/// The frames mirrored in one window, by virtual address (the frame's first byte).
struct WindowMappings {
    /// Chunk numbers (vaddr >> 21) + 1, 0 marking an empty slot; a power of two long, at
    /// most half full. A chunk goes when its last mapping does.
    private var chunkKeys: [UInt64] = []
    /// Where each chunk's 512 entries start in `entries`, and how many of them are mapped.
    private var chunkStarts: [Int] = []
    private var chunkCounts: [Int] = []
    /// Packed mappings, 512 a chunk: paddr | size code << 2 | rights (1...3), 0 for none.
    private var entries: [UInt64] = []
    /// Starts in `entries` of chunks given up (all zero), for the next chunks.
    private var freeStarts: [Int] = []
    /// Mappings held.
    private(set) var count = 0
    /// Chunks held (2 MiB stretches with a mapping).
    var chunks: Int { entries.count / 512 - freeStarts.count }
    /// Chunks' worth of entries stored, held or given up for reuse.
    var storedChunks: Int { entries.count / 512 }

    private static func pack(_ m: FrameMapping) -> UInt64 {
        m.paddr & ~0xFFF | (m.sizeBits == 30 ? 2 : m.sizeBits == 21 ? 1 : 0) << 2 | m.rights.rawValue
    }

    private static func unpack(_ e: UInt64) -> FrameMapping {
        FrameMapping(paddr: e & ~0xFFF, sizeBits: 12 + 9 * ((e >> 2) & 3), rights: VMRights(rawValue: e & 3)!)
    }

    /// The slot chunk `chunk`'s probe starts at: its number times 2^64/φ, top bits.
    private func home(_ chunk: UInt64) -> Int {
        Int(truncatingIfNeeded: (chunk &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - chunkKeys.count.trailingZeroBitCount))
    }

    /// The slot of chunk `chunk` in `chunkKeys`, or the empty slot where it would go.
    private func chunkSlot(_ chunk: UInt64) -> (index: Int, found: Bool) {
        let mask = chunkKeys.count - 1, key = chunk &+ 1
        var i = home(chunk)
        while true {
            let k = chunkKeys[i]
            if k == key { return (i, true) }
            if k == 0 { return (i, false) }
            i = (i + 1) & mask
        }
    }

    /// The slot of `vaddr`'s chunk, if it has one.
    private func existingChunk(_ vaddr: UInt64) -> Int? {
        guard !chunkKeys.isEmpty else { return nil }
        let (i, found) = chunkSlot(vaddr >> 21)
        return found ? i : nil
    }

    /// The mapping whose frame starts at `vaddr` (page aligned).
    subscript(vaddr: UInt64) -> FrameMapping? {
        get {
            guard let c = existingChunk(vaddr) else { return nil }
            let e = entries[chunkStarts[c] + Int((vaddr >> 12) & 511)]
            return e == 0 ? nil : Self.unpack(e)
        }
        set {
            let page = Int((vaddr >> 12) & 511)
            if let newValue {
                let c = existingChunk(vaddr) ?? addChunk(vaddr >> 21)
                let i = chunkStarts[c] + page
                if entries[i] == 0 {
                    count += 1
                    chunkCounts[c] += 1
                }
                entries[i] = Self.pack(newValue)
            } else if let c = existingChunk(vaddr), entries[chunkStarts[c] + page] != 0 {
                entries[chunkStarts[c] + page] = 0
                count -= 1
                chunkCounts[c] -= 1
                if count == 0 {
                    self = WindowMappings()
                } else if chunkCounts[c] == 0 {
                    removeChunk(at: c)
                }
            }
        }
    }

    /// A fresh chunk for `chunk` (its pages unmapped); its slot.
    private mutating func addChunk(_ chunk: UInt64) -> Int {
        if chunkKeys.isEmpty || (chunks + 1) * 2 > chunkKeys.count {
            let old = chunkKeys, oldStarts = chunkStarts, oldCounts = chunkCounts
            let size = max(8, old.count * 2)
            chunkKeys = [UInt64](repeating: 0, count: size)
            chunkStarts = [Int](repeating: 0, count: size)
            chunkCounts = [Int](repeating: 0, count: size)
            for (i, k) in old.enumerated() where k != 0 {
                let (j, _) = chunkSlot(k &- 1)
                chunkKeys[j] = k
                chunkStarts[j] = oldStarts[i]
                chunkCounts[j] = oldCounts[i]
            }
        }
        let (j, _) = chunkSlot(chunk)
        chunkKeys[j] = chunk &+ 1
        chunkCounts[j] = 0
        if let start = freeStarts.popLast() {
            chunkStarts[j] = start
        } else {
            chunkStarts[j] = entries.count
            entries.append(contentsOf: repeatElement(0, count: 512))
        }
        return j
    }

    /// Gives up the chunk in `slot` (no mapping left in it): its entries are kept for
    /// the next chunk, and the chunks after it in its probe run shift back, so every chunk
    /// stays reachable from its home slot without a tombstone.
    private mutating func removeChunk(at slot: Int) {
        freeStarts.append(chunkStarts[slot])
        let mask = chunkKeys.count - 1
        var hole = slot, i = slot
        while true {
            i = (i + 1) & mask
            let k = chunkKeys[i]
            if k == 0 { break }
            // Movable into the hole unless its home lies in (hole, i], going round.
            if (i - home(k &- 1)) & mask >= (i - hole) & mask {
                chunkKeys[hole] = k
                chunkStarts[hole] = chunkStarts[i]
                chunkCounts[hole] = chunkCounts[i]
                hole = i
            }
        }
        chunkKeys[hole] = 0
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
