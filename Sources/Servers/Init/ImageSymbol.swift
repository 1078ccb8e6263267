// SPDX-License-Identifier: Apache-2.0
//
// A symbol of an image (at its link address), for init's crash reports: the function an
// IP lies in, by name and offset. The program holding Swift guests' code has its table
// too, read from its file when a crash first asks.

import CGuest
import UMKABI

struct ImageSymbol {
    var start: UInt64
    var end: UInt64
    var name: String

    /// `bytes`' sized symbols, by address.
    static func table(_ bytes: [UInt8]) -> [ImageSymbol] {
        ELFImage.symbols(in: bytes).compactMap { name, s in
            s.size > 0 ? ImageSymbol(start: s.address, end: s.address &+ s.size, name: name) : nil
        }.sorted { $0.start < $1.start }
    }

    /// The symbol of `table` that holds `address`, and the offset into it.
    static func find(_ address: UInt64, in table: [ImageSymbol]) -> (symbol: ImageSymbol, offset: UInt64)? {
        var low = 0, high = table.count
        while low < high {
            let mid = (low + high) / 2
            if table[mid].start <= address { low = mid + 1 } else { high = mid }
        }
        guard low > 0, address < table[low - 1].end else { return nil }
        return (table[low - 1], address - table[low - 1].start)
    }

    /// "name+0xoffset" for `address`, if a symbol of `table` holds it.
    static func describe(_ address: UInt64, in table: [ImageSymbol]) -> String? {
        find(address, in: table).map { $0.offset == 0 ? $0.symbol.name : "\($0.symbol.name)+\(hex($0.offset))" }
    }

    /// The program's table (empty if its file cannot be read or is stripped), read once.
    nonisolated(unsafe) private static var programTable: [ImageSymbol]?
    static var program: [ImageSymbol] {
        if let table = unsafe programTable { return table }
        let size = umk_program_file_size()
        var bytes = [UInt8](repeating: 0, count: Int(max(size, 0)))
        let read = unsafe bytes.withUnsafeMutableBytes { unsafe umk_program_file_read(0, $0.baseAddress, UInt64($0.count)) == 0 }
            && size > 0
        let table = read ? Self.table(bytes) : []
        unsafe programTable = table
        return table
    }

    /// `name` demangled, if it is a Swift name.
    static func demangled(_ name: String) -> String {
        var out = [CChar](repeating: 0, count: 400)
        guard unsafe umk_demangle(name, &out, out.count) == 0 else { return name }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
