// SPDX-License-Identifier: Apache-2.0
//
// One row of `umk bench`: a umk measurement, the matching Linux mechanism measured in the
// same run, their ratio, and seL4's published figure where there is one. Percentiles come
// from an HDR histogram; the TSC's own cost is subtracted from every sample.

import Foundation
import Histogram

/// Summary of one measurement in TSC cycles.
struct BenchStats: Encodable {
    var samples: Int
    var median: UInt64
    var p90: UInt64
    var p99: UInt64
    var max: UInt64
    /// The mean of the samples up to p99. A TSC that advances in coarse steps rounds each
    /// sample to a step, and where the operation starts within a step varies from sample
    /// to sample, so the mean resolves below the step where the median cannot.
    var mean: Double
    /// The median in nanoseconds.
    var medianNanoseconds: Double

    init?(_ values: [UInt64], overhead: UInt64, hz: Double) {
        guard !values.isEmpty else { return nil }
        var h = Histogram<UInt64>(highestTrackableValue: 1 << 40, numberOfSignificantValueDigits: .three)
        let net = values.map { min($0 > overhead ? $0 - overhead : 0, 1 << 40) }
        for v in net { h.record(v) }
        samples = values.count
        median = h.valueAtPercentile(50)
        p90 = h.valueAtPercentile(90)
        p99 = h.valueAtPercentile(99)
        max = h.max
        let cut = p99
        let kept = net.filter { $0 <= cut }
        mean = kept.isEmpty ? 0 : Double(kept.reduce(0, +)) / Double(kept.count)
        medianNanoseconds = Double(median) / hz * 1e9
    }
}

/// A row of the table.
struct BenchRow: Encodable {
    var name: String
    var what: String
    var umk: BenchStats?
    var linuxName: String?
    var linux: BenchStats?
    /// seL4's published x86_64 figure (sel4bench), for reference.
    var sel4: String?
    var note: String?
    var ratio: Double? {
        guard let u = umk, let l = linux, l.median > 0 else { return nil }
        return Double(u.median) / Double(l.median)
    }

    enum CodingKeys: String, CodingKey { case name, what, umk, linuxName, linux, sel4, note, ratio }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(what, forKey: .what)
        try c.encodeIfPresent(umk, forKey: .umk)
        try c.encodeIfPresent(linuxName, forKey: .linuxName)
        try c.encodeIfPresent(linux, forKey: .linux)
        try c.encodeIfPresent(sel4, forKey: .sel4)
        try c.encodeIfPresent(note, forKey: .note)
        try c.encodeIfPresent(ratio, forKey: .ratio)
    }
}

/// Prints rows as an aligned table.
enum BenchTable {
    /// umk / Linux with two significant digits and no exponent (0.00073, 0.16, 4.4).
    static func ratioText(_ r: Double) -> String {
        guard r > 0, r < 0.1 else { return String(format: "%.2f", r) }
        let digits = Int(-(log10(r)).rounded(.down)) + 1
        return String(format: "%.\(digits)f", r)
    }

    static func render(_ rows: [BenchRow], hz: Double, tscStep: UInt64) -> String {
        let header = ["row", "umk median", "mean", "p90", "p99", "max", "ns", "linux", "median", "ratio", "seL4"]
        var lines: [[String]] = [header]
        for r in rows {
            let u = r.umk
            lines.append([
                r.name,
                u.map { "\($0.median)" } ?? "-",
                u.map { String(format: "%.0f", $0.mean) } ?? "-",
                u.map { "\($0.p90)" } ?? "-",
                u.map { "\($0.p99)" } ?? "-",
                u.map { "\($0.max)" } ?? "-",
                u.map { String(Int($0.medianNanoseconds.rounded())) } ?? "-",
                r.linuxName ?? "-",
                r.linux.map { "\($0.median)" } ?? (r.linuxName == nil ? "-" : "n/a"),
                r.ratio.map(ratioText) ?? "-",
                r.sel4 ?? "-",
            ])
        }
        var widths = [Int](repeating: 0, count: header.count)
        for l in lines { for (i, c) in l.enumerated() { widths[i] = Swift.max(widths[i], c.count) } }
        var out = "TSC cycles per operation, one way, counter overhead subtracted (\(Int(hz / 1e6)) MHz TSC)\n"
        if tscStep > 1 {
            out += "The TSC advances in steps of \(tscStep) cycles here: one sample is rounded to a step (median, p90, p99, max); "
                + "the mean of the samples up to p99 resolves below it.\n"
        }
        for (n, l) in lines.enumerated() {
            let cells = l.enumerated().map { i, c in
                i == 0 || i == 7 ? c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[i] - c.count) + c
            }
            out += cells.joined(separator: "  ") + "\n"
            if n == 0 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
        }
        for r in rows where r.note != nil { out += "\(r.name): \(r.note!)\n" }
        return out
    }
}
