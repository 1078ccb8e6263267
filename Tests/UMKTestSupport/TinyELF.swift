// SPDX-License-Identifier: Apache-2.0
//
// A small static PIE built byte by byte, for tests of the ELF checks and the manifest's
// images: a read-only page with the headers, a text page (one ret at the entry), a data
// page with the dynamic section, one R_X86_64_RELATIVE relocation and the word it fixes.

/// A valid image and the offsets to break it at.
public struct TinyELF {
    public var bytes = [UInt8](repeating: 0, count: 0x3000)
    public static let phoff = 64
    /// Program header i's offset.
    public static func ph(_ i: Int) -> Int { phoff + i * 56 }
    public static let dynamic = 0x2000, rela = 0x2080, fixed = 0x2100

    public mutating func put16(_ o: Int, _ v: UInt64) { for k in 0..<2 { bytes[o + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) } }
    public mutating func put32(_ o: Int, _ v: UInt64) { for k in 0..<4 { bytes[o + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) } }
    public mutating func put64(_ o: Int, _ v: UInt64) { for k in 0..<8 { bytes[o + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) } }

    /// Where the image is linked: 0 for a static PIE, an address for an ET_EXEC.
    public let base: UInt64

    /// A program header: type, flags (1 X, 2 W, 4 R), file offset `at`, address base + `at`,
    /// sizes, alignment.
    public mutating func segment(_ i: Int, type: UInt64, flags: UInt64, at: UInt64, fileSize: UInt64, memorySize: UInt64,
                          align: UInt64 = 0x1000) {
        let h = Self.ph(i)
        put32(h, type); put32(h + 4, flags); put64(h + 8, at); put64(h + 16, base + at); put64(h + 24, base + at)
        put64(h + 32, fileSize); put64(h + 40, memorySize); put64(h + 48, align)
    }

    /// A static PIE; with a `base`, an ET_EXEC linked there.
    public init(base: UInt64? = nil) {
        self.base = base ?? 0
        bytes[0] = 0x7F; bytes[1] = 0x45; bytes[2] = 0x4C; bytes[3] = 0x46; bytes[4] = 2; bytes[5] = 1; bytes[6] = 1
        put16(16, base == nil ? 3 : 2)  // ET_DYN or ET_EXEC
        put16(18, 62)                   // x86_64
        put32(20, 1)
        put64(24, self.base + 0x1000)   // entry
        put64(32, UInt64(Self.phoff))
        put16(52, 64); put16(54, 56); put16(56, 4)
        segment(0, type: 1, flags: 4, at: 0, fileSize: 0x200, memorySize: 0x200)
        segment(1, type: 1, flags: 5, at: 0x1000, fileSize: 0x10, memorySize: 0x10)
        segment(2, type: 1, flags: 6, at: 0x2000, fileSize: 0x1000, memorySize: 0x2000)
        segment(3, type: 2, flags: 6, at: UInt64(Self.dynamic), fileSize: 64, memorySize: 64, align: 8)
        bytes[0x1000] = 0xC3    // ret
        // DT_RELA, DT_RELASZ, DT_RELAENT, DT_NULL.
        for (i, (tag, value)) in [(UInt64(7), self.base + UInt64(Self.rela)), (8, 24), (9, 24), (0, 0)].enumerated() {
            put64(Self.dynamic + i * 16, tag); put64(Self.dynamic + i * 16 + 8, value)
        }
        // One R_X86_64_RELATIVE: the word at `fixed` becomes bias + 0x1000.
        put64(Self.rela, self.base + UInt64(Self.fixed)); put64(Self.rela + 8, 8); put64(Self.rela + 16, 0x1000)
    }
}
