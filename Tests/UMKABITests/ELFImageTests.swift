// SPDX-License-Identifier: Apache-2.0
//
// ELF images as umk checks them: a small static PIE built byte by byte (TinyELF) parses;
// each kind of malformed image is refused with its reason.

import Foundation
import Testing
import UMKTestSupport
@testable import UMKABI

@Suite("ELF images")
struct ELFImageTests {
    func refusal(_ change: (inout TinyELF) -> Void) -> String? {
        var elf = TinyELF()
        change(&elf)
        do throws(ELFError) {
            _ = try ELFImage(bytes: elf.bytes)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test("ELF0001 a static PIE parses: its segments in order, its entry and its relocation")
    func valid() throws {
        let image = try ELFImage(bytes: TinyELF().bytes)
        #expect(image.kind == .staticPIE)
        #expect(image.entry == 0x1000)
        #expect(image.segments.map(\.vaddr) == [0, 0x1000, 0x2000])
        #expect(image.segments.map(\.writable) == [false, false, true])
        #expect(image.segments.map(\.executable) == [false, true, false])
        #expect(image.relocations == [ELFImage.Relocation(offset: UInt64(TinyELF.fixed), addend: 0x1000)])
        #expect(image.span == 0..<0x4000)
        #expect(image.memoryBytes == 0x4000)
        var exec = TinyELF()
        exec.put16(16, 2)
        #expect(try ELFImage(bytes: exec.bytes).kind == .executable)
        // A PT_TLS: its initial image and size.
        var tls = TinyELF()
        tls.segment(3, type: 7, flags: 4, at: 0x2000, fileSize: 8, memorySize: 24, align: 8)
        #expect(try ELFImage(bytes: tls.bytes).tls == ELFImage.TLS(fileOffset: 0x2000, fileSize: 8, memorySize: 24, align: 8))
    }

    @Test("ELF0002 every malformed image is refused with its reason",
          arguments: [
            ("truncated header", "truncated: 40 bytes"),
            ("not ELF", "not an ELF file"),
            ("32-bit", "not a 64-bit ELF file"),
            ("big-endian", "not little-endian"),
            ("other machine", "built for machine 183, not x86_64"),
            ("relocatable", "not an executable (e_type 1"),
            ("headers truncated", "program headers at offset 64 run past the end"),
            ("segment truncated", "truncated: segment 2's 4096 bytes at offset 8192 run past the end"),
            ("interpreter", "needs a dynamic loader (PT_INTERP)"),
            ("overlap", "overlap: pages 0x1000-0x2000 and 0x1000-0x3000"),
            ("alignment", "segment 1: alignment 3 is not a power of two"),
            ("misaligned", "differ modulo its alignment"),
            ("file larger than memory", "segment 1: 32 bytes in the file but only 16 in memory"),
            ("entry outside text", "entry point 0x2000 lies outside the executable segments"),
            ("relocation type", "has type 1, which umk does not handle"),
            ("shared library", "needs a shared library (DT_NEEDED)"),
            ("TLS alignment", "thread-local storage: alignment 8192 is not a power of two up to 4096"),
            ("TLS too large", "thread-local storage of 2097152 bytes; a thread's may be at most 1024 KiB"),
            ("no segments", "no loadable segments"),
            ("relocation table at the top", "the relocation table at 0xfffffffffffffff0 is not in the file's loaded bytes"),
            ("relocation at the top", "relocation 0 at 0xfffffffffffffffc is not 8-byte aligned"),
            ("relocation past the end", "relocation 0 at 0xfffffffffffffff8 lies outside the writable segments"),
          ])
    func refused(_ kind: String, _ reason: String) {
        let got = refusal { e in
            switch kind {
            case "truncated header": e.bytes = Array(e.bytes.prefix(40))
            case "not ELF": e.bytes[1] = 0
            case "32-bit": e.bytes[4] = 1
            case "big-endian": e.bytes[5] = 2
            case "other machine": e.put16(18, 183)
            case "relocatable": e.put16(16, 1)
            case "headers truncated": e.bytes = Array(e.bytes.prefix(200))
            case "segment truncated": e.bytes = Array(e.bytes.prefix(0x2800))
            case "interpreter": e.put32(TinyELF.ph(0), 3)
            case "overlap": e.segment(2, type: 1, flags: 6, at: 0x1000, fileSize: 0x10, memorySize: 0x1800)
            case "alignment": e.put64(TinyELF.ph(1) + 48, 3)
            case "misaligned": e.put64(TinyELF.ph(1) + 16, 0x1010)
            case "file larger than memory": e.put64(TinyELF.ph(1) + 32, 0x20)
            case "entry outside text": e.put64(24, 0x2000)
            case "relocation type": e.put64(TinyELF.rela + 8, 1)
            case "shared library": e.put64(TinyELF.dynamic + 32, 1)
            case "TLS alignment": e.put32(TinyELF.ph(3), 7); e.put64(TinyELF.ph(3) + 48, 8192)
            case "TLS too large": e.put32(TinyELF.ph(3), 7); e.put64(TinyELF.ph(3) + 40, 2 << 20)
            case "no segments": for i in 0..<3 { e.put32(TinyELF.ph(i), 6) }
            case "relocation table at the top": e.put64(TinyELF.dynamic + 8, 0xFFFF_FFFF_FFFF_FFF0)
            case "relocation at the top": e.put64(TinyELF.rela, 0xFFFF_FFFF_FFFF_FFFC)
            case "relocation past the end": e.put64(TinyELF.rela, 0xFFFF_FFFF_FFFF_FFF8)
            default: Issue.record("unknown case \(kind)")
            }
        }
        #expect(got?.contains(reason) == true, "\(kind): \(got ?? "accepted")")
    }

    @Test("ELF0003 symbols of a real image (clang and ld.lld): found by name; patches land in the loaded pages, in .data and .bss, after relocation",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/bin/bash")))
    func symbols() throws {
        let dir = NSTemporaryDirectory() + "umk-symbols-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
            unsigned long buffer_vaddr;
            unsigned long buffer_size = 7;
            char pd_name[16] = "unnamed";
            const char *greeting = "hi";
            void _start(void) { for (;;) {} }
            """.write(toFile: dir + "/s.c", atomically: true, encoding: .utf8)
        let build = Process()
        build.executableURL = URL(fileURLWithPath: "/bin/bash")
        build.currentDirectoryURL = URL(fileURLWithPath: dir)
        build.arguments = ["-c", """
            bin="$(dirname "$(readlink -f "$(command -v swift)")")"
            "$bin/clang" --target=x86_64-unknown-none-elf -ffreestanding -fPIE -nostdlib -O1 -c s.c -o s.o
            "$bin/ld.lld" -pie --no-dynamic-linker -z separate-loadable-segments -e _start s.o -o s.elf
            """]
        try build.run()
        build.waitUntilExit()
        #expect(build.terminationStatus == 0)
        let file = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/s.elf")))
        let image = try ELFImage(bytes: file)
        let symbols = ELFImage.symbols(in: file)
        let vaddr = try #require(symbols["buffer_vaddr"]), size = try #require(symbols["buffer_size"])
        #expect(vaddr.size == 8 && size.size == 8 && symbols["pd_name"]?.size == 16 && symbols["_start"] != nil)
        let patches = [try image.patch(symbols, "buffer_vaddr", word: 0x1234_5678).get(),
                       try image.patch(symbols, "buffer_size", word: 0x2000).get(),
                       try image.patch(symbols, "pd_name", bytes: Array("server".utf8) + [0]).get()]
        #expect(throws: ELFError.self) { try image.patch(symbols, "missing", word: 1).get() }
        #expect(throws: ELFError.self) { try image.patch(symbols, "pd_name", bytes: [UInt8](repeating: 1, count: 17)).get() }
        #expect(throws: ELFError.self) { try image.patch(symbols, "_start", word: 1).get() }
        let bias: UInt64 = 0x4000_0000
        let pages = image.loadedPages(file: file, bias: bias, patches: patches)
        func bytes(at address: UInt64, _ n: Int) -> [UInt8] {
            let a = bias + address
            let page = pages.first { $0.address == a & ~0xFFF }!
            return Array(page.bytes[Int(a & 0xFFF)..<Int(a & 0xFFF) + n])
        }
        func word(at address: UInt64) -> UInt64 { bytes(at: address, 8).enumerated().reduce(0) { $0 | UInt64($1.1) << (8 * UInt64($1.0)) } }
        #expect(word(at: vaddr.address) == 0x1234_5678)
        #expect(word(at: size.address) == 0x2000)
        #expect(bytes(at: symbols["pd_name"]!.address, 8) == Array("server".utf8) + [0, 0])
        // The relocated pointer beside them is the bias plus its addend, untouched.
        #expect(word(at: symbols["greeting"]!.address) > bias)
    }

    @Test("ELF0004 source lines of a real image (DWARF 5 and 4): an address's file and line; a damaged line table gives no answer, never a trap",
          arguments: ["-gdwarf-5", "-gdwarf-4"])
    func lines(_ dwarf: String) throws {
        let dir = NSTemporaryDirectory() + "umk-lines-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
            volatile int sink;
            __attribute__((noinline)) void second(int v) {
                sink = v;
            }
            void _start(void) {
                second(1);
                for (;;) {}
            }
            """.write(toFile: dir + "/l.c", atomically: true, encoding: .utf8)
        let build = Process()
        build.executableURL = URL(fileURLWithPath: "/bin/bash")
        build.currentDirectoryURL = URL(fileURLWithPath: dir)
        build.arguments = ["-c", """
            bin="$(dirname "$(readlink -f "$(command -v swift)")")"
            "$bin/clang" --target=x86_64-unknown-none-elf -ffreestanding -fPIE -nostdlib -O0 \(dwarf) -c l.c -o l.o
            "$bin/ld.lld" -pie --no-dynamic-linker -z separate-loadable-segments -e _start l.o -o l.elf
            """]
        try build.run()
        build.waitUntilExit()
        #expect(build.terminationStatus == 0)
        var file = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/l.elf")))
        let table = ELFImage.lineTable(in: file)
        let second = try #require(ELFImage.symbols(in: file)["second"])
        // The function's first instruction is its opening line; somewhere inside is line 3.
        #expect(ELFImage.sourceLine(second.address, in: table) == "l.c:2", "\(table)")
        let inside = (second.address..<second.address + second.size).compactMap { ELFImage.sourceLine($0, in: table) }
        #expect(inside.contains("l.c:3"), "\(inside)")
        #expect(ELFImage.sourceLine(0x10, in: table) == nil)
        // Damaged: the table's bytes overwritten; reading it must not trap.
        let section = try #require(ELFImage.section(named: ".debug_line", in: file))
        for i in section where i % 3 == 0 { file[i] = 0xFF }
        _ = ELFImage.lineTable(in: file)
        file.removeLast(file.count - section.lowerBound - 20)
        #expect(ELFImage.lineTable(in: file).isEmpty)
    }
}
