// SPDX-License-Identifier: Apache-2.0
//
// Tasks that run ELF images: the image is read relative to the manifest and checked on the
// host; every problem is reported at the image's value (file:line:column), and a good
// image becomes a boot module the plan points to, with room for it in RAM and in the
// task's address range.

import Foundation
import Testing
import UMKABI
import UMKManifest
import UMKTestSupport

@Suite("Manifest images")
struct ManifestImageTests {
    /// A directory with a good image, a truncated one and an ET_EXEC.
    func directory() throws -> URL {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("umk-images-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(TinyELF().bytes).write(to: dir.appendingPathComponent("good.elf"))
        try Data(TinyELF().bytes.prefix(100)).write(to: dir.appendingPathComponent("short.elf"))
        var exec = TinyELF()
        exec.put16(16, 2)
        try Data(exec.bytes).write(to: dir.appendingPathComponent("fixed.elf"))
        // Linked 4 GiB into the range `ranges` gives task 0.
        try Data(TinyELF(base: Self.ranges(0).lowerBound + 0x1_0000_0000).bytes).write(to: dir.appendingPathComponent("task0.elf"))
        return dir
    }

    /// Task i's address range on a machine with fixed ranges.
    static func ranges(_ i: Int) -> Range<UInt64> {
        let start: UInt64 = 0x2000_0000_0000 + UInt64(i) << 35
        return start..<start + (1 << 34)
    }

    func compile(_ yaml: String, in dir: URL, fixedRanges: Bool = false) throws(ManifestError) -> CompiledSystem {
        let ranges: ((Int) -> Range<UInt64>)? = fixedRanges ? { Self.ranges($0) } : nil
        return try Manifest.compile(yaml, file: dir.appendingPathComponent("m.yaml").path, programs: ["ping", "pager"],
                                    taskAddressRange: ranges)
    }

    @Test("IMAGE0003 an ET_EXEC runs where it was linked: inside its task's range it is accepted, elsewhere refused")
    func fixedAddressImage() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let system = try compile("tasks:\n  - {name: a, image: task0.elf}\n", in: dir, fixedRanges: true)
        #expect(system.images.first?.elf.kind == .executable)
        do {
            // Task 1's range is not where task0.elf was linked; without fixed ranges no ET_EXEC runs.
            _ = try compile("tasks:\n  - {name: a, program: ping}\n  - {name: b, image: task0.elf}\n", in: dir, fixedRanges: true)
            Issue.record("compiled")
        } catch {
            #expect(error.description.contains("3:22: image 'task0.elf': linked at fixed addresses (ET_EXEC at 0x200100000000-0x200100004000), outside task 'b''s usable range 0x200802000000-0x200c00000000"), "\(error)")
        }
        do {
            _ = try compile("tasks:\n  - {name: a, image: task0.elf}\n", in: dir)
            Issue.record("compiled")
        } catch {
            #expect(error.description.contains("this machine has no fixed address ranges"), "\(error)")
        }
    }

    @Test("IMAGE0001 a good image is a boot module: two tasks of it share one, each plans its own copy")
    func goodImage() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let system = try compile("""
            tasks:
              - {name: a, image: good.elf}
              - {name: b, image: good.elf}
              - {name: c, program: ping}
            """, in: dir)
        #expect(system.images.count == 1)
        #expect(system.images.first?.bytes == TinyELF().bytes)
        #expect(system.plan.tasks.map(\.image) == [0, 0, nil])
        let withoutImages = ManifestCompiler.ramNeeded(system.plan)
        #expect(system.ramNeeded >= withoutImages + 2 * 0x4000 + UInt64(TinyELF().bytes.count))
    }

    @Test("IMAGE0002 image problems are reported at the image's value, with the reason, before anything runs")
    func badImages() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            _ = try compile("""
                tasks:
                  - {name: a, image: missing.elf}
                  - {name: b, image: short.elf}
                  - {name: c, image: fixed.elf}
                  - {name: d, image: good.elf, program: ping}
                  - {name: e, priority: 3}
                  - name: f
                    image: good.elf
                    heap: {size: 8 KiB, address: 0x1_0000_2000, pager: g}
                  - {name: g, program: pager}
                """, in: dir)
            Issue.record("compiled")
        } catch {
            let found = error.diagnostics.map { "\($0.location): \($0.message)" }
            let expected = [
                "2:22: image 'missing.elf': no such file",
                "3:22: image 'short.elf': truncated: 4 program headers at offset 64 run past the end of the file (100 bytes)",
                "4:22: image 'fixed.elf': linked at fixed addresses (ET_EXEC at 0x0-0x4000)",
                "5:22: task 'd' names both a program and an image; give one",
                "6:5: task 'e' needs a program (registered by name) or an image (an ELF file)",
                "9:34: heap: 0x100002000-0x100004000 overlaps the image",
            ]
            for e in expected {
                #expect(found.contains { $0.hasPrefix(e) || $0.contains(e) }, "\(e)\n\(found.joined(separator: "\n"))")
            }
            #expect(error.diagnostics.allSatisfy { $0.file.hasSuffix("m.yaml") })
        }
    }
}
