// SPDX-License-Identifier: Apache-2.0
//
// Non-overlapping half-open ranges kept sorted, each with what it is: a manifest's checks
// ask "does this range overlap one taken before?" for every region, heap, image and port
// grant, in O(log n) each, so a manifest with thousands of them checks in time
// proportional to its size.

/// Sorted, non-overlapping ranges [start, end) with a payload each.
struct IntervalSet<Payload> {
    private(set) var items: [(start: UInt64, end: UInt64, payload: Payload)] = []

    /// The first range (by start) that overlaps [start, end), if any.
    func overlap(_ start: UInt64, _ end: UInt64) -> (start: UInt64, end: UInt64, payload: Payload)? {
        // The first range ending after `start`: ranges are disjoint and sorted, so ends are too.
        var low = 0, high = items.count
        while low < high {
            let mid = (low + high) / 2
            if items[mid].end <= start { low = mid + 1 } else { high = mid }
        }
        return low < items.count && items[low].start < end ? items[low] : nil
    }

    /// Adds [start, end) if it overlaps nothing; returns what it overlaps otherwise.
    mutating func insert(_ start: UInt64, _ end: UInt64, _ payload: Payload)
        -> (start: UInt64, end: UInt64, payload: Payload)? {
        if let o = overlap(start, end) { return o }
        var low = 0, high = items.count
        while low < high {
            let mid = (low + high) / 2
            if items[mid].start < start { low = mid + 1 } else { high = mid }
        }
        items.insert((start, end, payload), at: low)
        return nil
    }
}
