// SPDX-License-Identifier: Apache-2.0
//
// An image's loaded contents, page by page, for whoever loads it: the kernel for a root
// task's image (seL4's boot loads the root task's frames), init for a task's. A page holds
// the file's bytes of its segment, zeros after them, and each R_X86_64_RELATIVE word set
// to the load bias plus its addend.

extension ELFImage {
    /// One loaded page: where it goes (bias applied), whether its segment is writable, and
    /// its 4096 bytes.
    public struct LoadedPage: Sendable {
        public var address: UInt64
        public var writable: Bool
        public var bytes: [UInt8]
    }

    /// The load bias that puts the image at TaskLayout.imageBase of the address range
    /// starting at `rangeStart`: a static PIE goes there, an ET_EXEC stays where it was
    /// linked (bias 0).
    public func bias(rangeStart: UInt64) -> UInt64 {
        kind == .staticPIE ? rangeStart + TaskLayout.imageBase - span.lowerBound : 0
    }

    /// True if the loaded image (with `bias`) lies inside `range`, above its reserved part.
    public func fits(bias: UInt64, in range: Range<UInt64>) -> Bool {
        range.lowerBound + TaskLayout.reservedEnd <= bias &+ span.lowerBound && bias &+ span.upperBound <= range.upperBound
    }

    /// Every page of every segment, loaded from `file` (the bytes this image was parsed
    /// from) with `bias`, in address order; then `patches` written (ELFImage+Symbols).
    public func loadedPages(file: [UInt8], bias: UInt64, patches: [Patch] = []) -> [LoadedPage] {
        // The relocated words' bytes by page (a word may straddle two pages), then the
        // patches' (written after, so they win).
        var relocated: [UInt64: [(offset: Int, byte: UInt8)]] = [:]
        for r in relocations {
            let value = bias &+ r.addend
            for b in 0..<UInt64(8) {
                let at = r.offset + b
                relocated[at & ~0xFFF, default: []].append((Int(at & 0xFFF), UInt8(truncatingIfNeeded: value >> (8 * b))))
            }
        }
        for p in patches {
            for (i, byte) in p.bytes.enumerated() {
                let at = p.address + UInt64(i)
                relocated[at & ~0xFFF, default: []].append((Int(at & 0xFFF), byte))
            }
        }
        var pages: [LoadedPage] = []
        for s in segments {
            for page in stride(from: s.pages.lowerBound, to: s.pages.upperBound, by: 4096) {
                var bytes = [UInt8](repeating: 0, count: 4096)
                // The segment's file bytes that fall on this page.
                let low = max(page, s.vaddr), high = min(page + 4096, s.vaddr + s.fileSize)
                if low < high {
                    let from = Int(s.fileOffset + (low - s.vaddr))
                    bytes.replaceSubrange(Int(low - page)..<Int(high - page), with: file[from..<from + Int(high - low)])
                }
                for r in relocated[page] ?? [] { bytes[r.offset] = r.byte }
                pages.append(LoadedPage(address: bias &+ page, writable: s.writable, bytes: bytes))
            }
        }
        return pages
    }
}
