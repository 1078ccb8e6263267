// SPDX-License-Identifier: Apache-2.0
//
// What the Linux backend has mirrored in one window: its frame mappings by virtual address.
// Every Map and Unmap looks here, so it is an open-addressing table (linear probing, a
// multiplicative hash of the page number, deletion by shifting back, no tombstones) rather
// than a Dictionary, whose seeded SipHash made up most of the machine's part of a Map
// (two nested dictionaries, four hashes a Map: umk bench vmfault's pager Map spent ~450
// cycles there).

/// The frames mirrored in one window, by virtual address (the frame's first byte).
struct WindowMappings {
    /// Keys: a mapping's virtual address + 1 (addresses are page aligned, so 0 marks an
    /// empty slot and bit 0 a full one). A power of two long, at most half full.
    private var keys: [UInt64] = []
    private var values: [FrameMapping] = []
    /// Mappings held.
    private(set) var count = 0

    /// The slot a key's probe sequence starts at: the page number times 2^64/φ, top bits.
    private func home(_ vaddr: UInt64) -> Int {
        Int(truncatingIfNeeded: ((vaddr >> 12) &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - keys.count.trailingZeroBitCount))
    }

    /// The slot holding `vaddr`, or the empty slot where it would go.
    private func slot(_ vaddr: UInt64) -> (index: Int, found: Bool) {
        let mask = keys.count - 1, key = vaddr | 1
        var i = home(vaddr)
        while true {
            let k = keys[i]
            if k == key { return (i, true) }
            if k == 0 { return (i, false) }
            i = (i + 1) & mask
        }
    }

    /// The mapping whose frame starts at `vaddr`.
    subscript(vaddr: UInt64) -> FrameMapping? {
        get {
            guard count > 0 else { return nil }
            let (i, found) = slot(vaddr)
            return found ? values[i] : nil
        }
        set {
            if let newValue { insert(vaddr, newValue) } else { remove(vaddr) }
        }
    }

    private mutating func insert(_ vaddr: UInt64, _ m: FrameMapping) {
        if keys.isEmpty || (count + 1) * 2 > keys.count { grow() }
        let (i, found) = slot(vaddr)
        if !found {
            keys[i] = vaddr | 1
            count += 1
        }
        values[i] = m
    }

    private mutating func remove(_ vaddr: UInt64) {
        guard count > 0 else { return }
        var (hole, found) = slot(vaddr)
        guard found else { return }
        // Shift back the entries after the hole whose probe started at or before it, so
        // every key stays reachable from its home without a tombstone.
        let mask = keys.count - 1
        var i = hole
        while true {
            i = (i + 1) & mask
            let k = keys[i]
            if k == 0 { break }
            let h = home(k & ~1)
            // Movable if its home is not in (hole, i] going round the table.
            if (i - h) & mask >= (i - hole) & mask {
                keys[hole] = k
                values[hole] = values[i]
                hole = i
            }
        }
        keys[hole] = 0
        count -= 1
    }

    private mutating func grow() {
        let old = keys, oldValues = values
        let size = max(16, old.count * 2)
        keys = [UInt64](repeating: 0, count: size)
        values = [FrameMapping](repeating: FrameMapping(paddr: 0, sizeBits: 0, rights: .kernelOnly), count: size)
        for (i, k) in old.enumerated() where k != 0 {
            let (j, _) = slot(k & ~1)
            keys[j] = k
            values[j] = oldValues[i]
        }
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
        keys.indices.filter { keys[$0] != 0 }.map { (keys[$0] & ~1, values[$0]) }.sorted { $0.vaddr < $1.vaddr }
    }
}
