// SPDX-License-Identifier: Apache-2.0
//
// An image's symbol table (SHT_SYMTAB and its string table), and patches of the memory a
// symbol names: how a system description gives a program values it only knows when the
// system is built (Microkit's setvar symbols, a PD's name and channel masks). A patch is
// written into the loaded pages, after relocation, so a symbol in .bss can take one too.

extension ELFImage {
    /// A defined symbol: its address (before the load bias) and size.
    public struct Symbol: Hashable, Sendable {
        public var address: UInt64
        public var size: UInt64
    }

    /// Bytes to write at `address` (before the load bias) when the image is loaded.
    public struct Patch: Hashable, Sendable {
        public var address: UInt64
        public var bytes: [UInt8]
        public init(address: UInt64, bytes: [UInt8]) { self.address = address; self.bytes = bytes }
    }

    /// The defined symbols of the image in `file` by name (the first of a name wins); empty
    /// if it has no symbol table (a stripped image) or the table is malformed.
    public static func symbols(in file: [UInt8]) -> [String: Symbol] {
        let f = ELFBytes(file), count = UInt64(file.count)
        guard count >= 64 else { return [:] }
        let shoff = f.u64(40), shentsize = UInt64(f.u16(58)), shnum = UInt64(f.u16(60))
        guard shentsize == 64, shoff <= count, shnum * 64 <= count - shoff else { return [:] }
        func section(_ i: UInt64) -> (type: UInt32, offset: UInt64, size: UInt64, link: UInt64, entsize: UInt64) {
            let h = Int(shoff + i * 64)
            return (f.u32(h + 4), f.u64(h + 24), f.u64(h + 32), UInt64(f.u32(h + 40)), f.u64(h + 56))
        }
        var table: [String: Symbol] = [:]
        for i in 0..<shnum {
            let s = section(i)
            guard s.type == 2, s.entsize == 24, s.offset <= count, s.size <= count - s.offset, s.link < shnum else { continue }
            let strings = section(s.link)
            guard strings.offset <= count, strings.size <= count - strings.offset else { continue }
            for k in 1..<max(1, s.size / 24) {
                let e = Int(s.offset + k * 24)
                let nameOffset = UInt64(f.u32(e)), sectionIndex = f.u16(e + 6)
                let value = f.u64(e + 8), size = f.u64(e + 16)
                guard sectionIndex != 0, nameOffset < strings.size else { continue }
                var end = Int(strings.offset + nameOffset)
                let start = end
                while end < Int(strings.offset + strings.size), file[end] != 0 { end += 1 }
                guard end > start else { continue }
                let name = String(decoding: file[start..<end], as: UTF8.self)
                if table[name] == nil { table[name] = Symbol(address: value, size: size) }
            }
        }
        return table
    }

    /// A patch that sets the word-sized (8-byte) symbol `name` to `value`, or why not: the
    /// image must define it, at least 8 bytes, inside a writable segment.
    public func patch(_ symbols: [String: Symbol], _ name: String, word value: UInt64) -> Result<Patch, ELFError> {
        patch(symbols, name, bytes: (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) })
    }

    /// A patch that fills symbol `name`'s first bytes with `bytes` (the rest of the symbol
    /// as it is).
    public func patch(_ symbols: [String: Symbol], _ name: String, bytes: [UInt8]) -> Result<Patch, ELFError> {
        guard let s = symbols[name] else { return .failure(ELFError("has no symbol '\(name)' (or it is stripped)")) }
        guard s.size >= UInt64(bytes.count) else {
            return .failure(ELFError("symbol '\(name)' is \(s.size) bytes, too small for \(bytes.count)"))
        }
        guard segments.contains(where: { $0.writable && $0.vaddr <= s.address && s.address - $0.vaddr <= $0.memorySize
                                          && UInt64(bytes.count) <= $0.memorySize - (s.address - $0.vaddr) }) else {
            return .failure(ELFError("symbol '\(name)' at \(hex(s.address)) is not in a writable segment"))
        }
        return .success(Patch(address: s.address, bytes: bytes))
    }
}
