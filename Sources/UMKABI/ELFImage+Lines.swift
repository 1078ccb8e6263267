// SPDX-License-Identifier: Apache-2.0
//
// An image's source lines (DWARF's .debug_line, versions 4 and 5): which file and line an
// address was compiled from, for crash reports. The line-number program of each unit is
// run as DWARF specifies (its state machine's rows); the file names of version 5 come from
// the unit's entry formats, with strings inline or in .debug_line_str / .debug_str. A
// malformed table yields what was read before the fault, never a trap.

extension ELFImage {
    /// A row of the line table: code from `address` on (before the load bias) is `file`'s
    /// line `line`, until the next row of its sequence.
    public struct LineRow: Hashable, Sendable {
        public var address: UInt64
        public var file: String
        public var line: UInt64
        /// The row that ends a sequence (its address is past the sequence's code).
        public var endSequence: Bool
    }

    /// The image's line table, sorted by address; empty without debug information.
    public static func lineTable(in file: [UInt8]) -> [LineRow] {
        guard let line = section(named: ".debug_line", in: file) else { return [] }
        let lineStrings = section(named: ".debug_line_str", in: file), strings = section(named: ".debug_str", in: file)
        var reader = DwarfReader(bytes: file, at: line.lowerBound, end: line.upperBound)
        var rows: [LineRow] = []
        while reader.at < line.upperBound, let unit = try? reader.lineUnit(lineStrings: lineStrings, strings: strings) {
            rows += unit
        }
        return rows.sorted { ($0.address, $0.endSequence ? 0 : 1) < ($1.address, $1.endSequence ? 0 : 1) }
    }

    /// "file:line" for `address` (before the load bias), if `table` covers it.
    public static func sourceLine(_ address: UInt64, in table: [LineRow]) -> String? {
        var low = 0, high = table.count
        while low < high {
            let mid = (low + high) / 2
            if table[mid].address <= address { low = mid + 1 } else { high = mid }
        }
        guard low > 0, !table[low - 1].endSequence else { return nil }
        return "\(table[low - 1].file):\(table[low - 1].line)"
    }

    /// The file bytes of the section called `name`.
    static func section(named name: String, in file: [UInt8]) -> Range<Int>? {
        let f = ELFBytes(file), count = UInt64(file.count)
        guard count >= 64 else { return nil }
        let shoff = f.u64(40), shnum = UInt64(f.u16(60)), shstrndx = UInt64(f.u16(62))
        guard f.u16(58) == 64, shoff <= count, shnum * 64 <= count - shoff, shstrndx < shnum else { return nil }
        func header(_ i: UInt64) -> (name: UInt64, offset: UInt64, size: UInt64) {
            let h = Int(shoff + i * 64)
            return (UInt64(f.u32(h)), f.u64(h + 24), f.u64(h + 32))
        }
        let names = header(shstrndx)
        guard names.offset <= count, names.size <= count - names.offset else { return nil }
        let wanted = Array(name.utf8) + [0]
        for i in 0..<shnum {
            let s = header(i)
            let at = names.offset + s.name
            guard at + UInt64(wanted.count) <= names.offset + names.size,
                  Array(file[Int(at)..<Int(at) + wanted.count]) == wanted,
                  s.offset <= count, s.size <= count - s.offset else { continue }
            return Int(s.offset)..<Int(s.offset + s.size)
        }
        return nil
    }
}

/// Reads DWARF's encodings; every read checks its bounds (a malformed table throws).
struct DwarfReader {
    struct Malformed: Error {}

    let bytes: [UInt8]
    var at: Int
    var end: Int

    init(bytes: [UInt8], at: Int, end: Int) {
        self.bytes = bytes
        self.at = at
        self.end = end
    }

    mutating func u8() throws(Malformed) -> UInt64 {
        guard at < end else { throw Malformed() }
        at += 1
        return UInt64(bytes[at - 1])
    }

    mutating func fixed(_ n: Int) throws(Malformed) -> UInt64 {
        guard n <= 8, at + n <= end else { throw Malformed() }
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(bytes[at + i]) << (8 * UInt64(i)) }
        at += n
        return v
    }

    mutating func uleb() throws(Malformed) -> UInt64 {
        var v: UInt64 = 0, shift: UInt64 = 0
        while true {
            let b = try u8()
            if shift < 64 { v |= (b & 0x7F) << shift }
            shift += 7
            if b & 0x80 == 0 { return v }
        }
    }

    mutating func sleb() throws(Malformed) -> Int64 {
        var v: Int64 = 0, shift: Int64 = 0, b: UInt64 = 0
        repeat {
            b = try u8()
            if shift < 64 { v |= Int64(bitPattern: (b & 0x7F) << UInt64(shift)) }
            shift += 7
        } while b & 0x80 != 0
        if shift < 64 && b & 0x40 != 0 { v |= -1 << shift }
        return v
    }

    mutating func cString() throws(Malformed) -> String {
        let start = at
        while true { if try u8() == 0 { break } }
        return String(decoding: bytes[start..<at - 1], as: UTF8.self)
    }

    /// The NUL-terminated string at `offset` of the section `range`.
    func string(at offset: UInt64, in range: Range<Int>?) throws(Malformed) -> String {
        guard let range, offset < UInt64(range.count) else { throw Malformed() }
        var r = DwarfReader(bytes: bytes, at: range.lowerBound + Int(offset), end: range.upperBound)
        return try r.cString()
    }

    /// One value of DWARF form `form`: a string, a number, or nil for what is skipped.
    mutating func value(form: UInt64, lineStrings: Range<Int>?, strings: Range<Int>?) throws(Malformed) -> (String?, UInt64) {
        switch form {
        case 0x08: return (try cString(), 0)                                              // string
        case 0x1F: return (try string(at: try fixed(4), in: lineStrings), 0)              // line_strp
        case 0x0E: return (try string(at: try fixed(4), in: strings), 0)                  // strp
        case 0x0B: return (nil, try fixed(1))                                             // data1
        case 0x05: return (nil, try fixed(2))                                             // data2
        case 0x06: return (nil, try fixed(4))                                             // data4
        case 0x07: return (nil, try fixed(8))                                             // data8
        case 0x0F: return (nil, try uleb())                                               // udata
        case 0x1E:                                                                        // data16
            guard at + 16 <= end else { throw Malformed() }
            at += 16
            return (nil, 0)
        case 0x09:                                                                        // block
            let n = try uleb()
            guard n <= UInt64(end - at) else { throw Malformed() }
            at += Int(n)
            return (nil, 0)
        default: throw Malformed()
        }
    }

    /// One line-number unit: its header, then its program's rows.
    mutating func lineUnit(lineStrings: Range<Int>?, strings: Range<Int>?) throws(Malformed) -> [ELFImage.LineRow] {
        let length = try fixed(4)
        guard length < 0xFFFF_FFF0, length <= UInt64(end - at) else { throw Malformed() }
        let unitEnd = at + Int(length)
        defer { at = unitEnd }
        var unit = DwarfReader(bytes: bytes, at: at, end: unitEnd)
        let version = try unit.fixed(2)
        guard version >= 2 && version <= 5 else { throw Malformed() }
        if version >= 5 { _ = try unit.fixed(2) }  // address and segment selector sizes
        let headerLength = try unit.fixed(4)
        guard headerLength <= UInt64(unitEnd - unit.at) else { throw Malformed() }
        let programStart = unit.at + Int(headerLength)
        let minimumLength = try unit.u8()
        if version >= 4 { _ = try unit.u8() }  // maximum operations per instruction
        let defaultIsStmt = try unit.u8() != 0
        let lineBase = Int64(Int8(bitPattern: UInt8(try unit.u8())))
        let lineRange = try unit.u8()
        let opcodeBase = try unit.u8()
        guard lineRange > 0, opcodeBase > 0 else { throw Malformed() }
        var opcodeLengths: [UInt64] = []
        for _ in 1..<opcodeBase { opcodeLengths.append(try unit.u8()) }
        var directories: [String] = [], files: [String] = []
        if version >= 5 {
            for list in 0..<2 {
                let formatCount = try unit.u8()
                var formats: [(type: UInt64, form: UInt64)] = []
                for _ in 0..<formatCount { formats.append((try unit.uleb(), try unit.uleb())) }
                let count = try unit.uleb()
                for _ in 0..<count {
                    var path = "", directory: UInt64 = 0
                    for f in formats {
                        let (text, number) = try unit.value(form: f.form, lineStrings: lineStrings, strings: strings)
                        if f.type == 1, let text { path = text }
                        if f.type == 2 { directory = number }
                    }
                    if list == 0 {
                        directories.append(path)
                    } else {
                        let dir = Int(directory) < directories.count && directory > 0 ? directories[Int(directory)] + "/" : ""
                        files.append(path.hasPrefix("/") ? path : dir + path)
                    }
                }
            }
        } else {
            while true {
                let d = try unit.cString()
                if d.isEmpty { break }
                directories.append(d)
            }
            files.append("")  // version 4 numbers files from 1
            while true {
                let name = try unit.cString()
                if name.isEmpty { break }
                let dir = try unit.uleb()
                _ = try unit.uleb(); _ = try unit.uleb()
                let d = dir > 0 && Int(dir) <= directories.count ? directories[Int(dir) - 1] + "/" : ""
                files.append(name.hasPrefix("/") ? name : d + name)
            }
        }
        unit.at = programStart
        // The state machine.
        var rows: [ELFImage.LineRow] = []
        var address: UInt64 = 0, file: UInt64 = 1, line: UInt64 = 1, isStmt = defaultIsStmt
        func reset() { address = 0; file = 1; line = 1; isStmt = defaultIsStmt }
        func emit(end: Bool = false) {
            let name = Int(file) < files.count ? files[Int(file)] : "file \(file)"
            if isStmt || end { rows.append(.init(address: address, file: name, line: line, endSequence: end)) }
        }
        while unit.at < unitEnd {
            let opcode = try unit.u8()
            if opcode >= opcodeBase {
                let adjusted = opcode - opcodeBase
                address &+= (adjusted / lineRange) * minimumLength
                line = UInt64(bitPattern: Int64(bitPattern: line) &+ lineBase &+ Int64(adjusted % lineRange))
                emit()
                continue
            }
            switch opcode {
            case 0:
                let n = try unit.uleb()
                guard n > 0, n <= UInt64(unitEnd - unit.at) else { throw Malformed() }
                let next = unit.at + Int(n)
                switch try unit.u8() {
                case 1:
                    emit(end: true)
                    reset()
                case 2: address = try unit.fixed(min(Int(n) - 1, 8))
                default: break
                }
                unit.at = next
            case 1: emit()
            case 2: address &+= try unit.uleb() * minimumLength
            case 3: line = UInt64(bitPattern: Int64(bitPattern: line) &+ (try unit.sleb()))
            case 4: file = try unit.uleb()
            case 5: _ = try unit.uleb()
            case 6: isStmt.toggle()
            case 7, 10, 11: break
            case 8: address &+= ((255 - opcodeBase) / lineRange) * minimumLength
            case 9: address &+= try unit.fixed(2)
            default:
                // An opcode this reader does not know: skip its operands.
                for _ in 0..<(Int(opcode) - 1 < opcodeLengths.count ? opcodeLengths[Int(opcode) - 1] : 0) { _ = try unit.uleb() }
            }
        }
        return rows
    }
}
