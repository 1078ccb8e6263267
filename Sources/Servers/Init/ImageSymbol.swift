// SPDX-License-Identifier: Apache-2.0
//
// A symbol of an image (at its link address), for init's crash reports: the function an
// IP lies in, by name and offset.

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

    /// "name+0xoffset" for `address`, if a symbol of `table` holds it.
    static func describe(_ address: UInt64, in table: [ImageSymbol]) -> String? {
        var low = 0, high = table.count
        while low < high {
            let mid = (low + high) / 2
            if table[mid].start <= address { low = mid + 1 } else { high = mid }
        }
        guard low > 0, address < table[low - 1].end else { return nil }
        let s = table[low - 1]
        return address == s.start ? s.name : "\(s.name)+\(hex(address - s.start))"
    }
}
