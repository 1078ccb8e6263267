// SPDX-License-Identifier: Apache-2.0
//
// Arithmetic for sums of sizes a manifest gives: past 2^64 it stays at 2^64 - 1 ("more
// than any machine has") instead of trapping.

/// An unsigned 64-bit quantity whose sums and products saturate.
struct Saturating {
    var value: UInt64
    init(_ value: UInt64) { self.value = value }

    static func + (a: Saturating, b: UInt64) -> Saturating {
        let (r, overflow) = a.value.addingReportingOverflow(b)
        return Saturating(overflow ? .max : r)
    }
    static func + (a: Saturating, b: Saturating) -> Saturating { a + b.value }
    static func * (a: Saturating, b: UInt64) -> Saturating {
        let (r, overflow) = a.value.multipliedReportingOverflow(by: b)
        return Saturating(overflow ? .max : r)
    }
    static func * (a: Saturating, b: Saturating) -> Saturating { a * b.value }
    static func += (a: inout Saturating, b: UInt64) { a = a + b }
    static func += (a: inout Saturating, b: Saturating) { a = a + b }
}
