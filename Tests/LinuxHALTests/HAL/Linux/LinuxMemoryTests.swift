// SPDX-License-Identifier: Apache-2.0
//
// RAM and windows on the real backend: frames shared between windows are the same memory,
// mappings carry their rights to the host, unmapping leaves a hole again, and a host
// mapping inside a window is never mapped over.

import CShims
import Glibc
import Testing
import UMKABI
@testable import UMKernel

@Suite("Linux memory", .serialized)
struct LinuxMemoryTests {
    func word(_ address: UInt64) -> UnsafeMutablePointer<UInt64> { UnsafeMutablePointer(bitPattern: UInt(address))! }

    @Test("a frame mapped in two windows is one piece of memory, also seen through the physmap")
    func sharedFrame() throws {
        var hal = try LinuxHAL(ramSize: 8 << 20, echo: false)
        defer { hal.release() }
        hal.assignASID(1, vspace: 0)
        hal.assignASID(2, vspace: 0)
        let frame: UInt64 = 0x10_0000
        hal.mapFrame(asid: 1, vaddr: hal.window(asid: 1)! + 0x40_0000, paddr: frame, sizeBits: 12, rights: .readWrite)
        hal.mapFrame(asid: 2, vaddr: hal.window(asid: 2)! + 0x7000, paddr: frame, sizeBits: 12, rights: .readWrite)
        hal.commitMappings()
        let a = hal.window(asid: 1)! + 0x40_0000, b = hal.window(asid: 2)! + 0x7000
        word(a + 8).pointee = 0xFEED_F00D
        #expect(word(b + 8).pointee == 0xFEED_F00D)
        #expect(hal.physmap.loadWord(frame + 8) == 0xFEED_F00D)
        hal.physmap.storeWord(frame + 16, 42)
        #expect(word(a + 16).pointee == 42)
        #expect(hal.window(asid: 1)! != hal.window(asid: 2)!)
        #expect(hal.hostFailure == nil)
    }

    @Test("a remap with new rights is an mprotect; unmap and remap keep the frame's data")
    func remapAndUnmap() throws {
        var hal = try LinuxHAL(ramSize: 8 << 20, echo: false)
        defer { hal.release() }
        hal.assignASID(1, vspace: 0)
        hal.mapFrame(asid: 1, vaddr: hal.window(asid: 1)! + 0x1000, paddr: 0x20_0000, sizeBits: 12, rights: .readOnly)
        hal.mapFrame(asid: 1, vaddr: hal.window(asid: 1)! + 0x1000, paddr: 0x20_0000, sizeBits: 12, rights: .readWrite)
        word(hal.window(asid: 1)! + 0x1000).pointee = 7
        hal.unmapFrame(asid: 1, vaddr: hal.window(asid: 1)! + 0x1000, sizeBits: 12)
        hal.mapFrame(asid: 1, vaddr: hal.window(asid: 1)! + 0x3000, paddr: 0x20_0000, sizeBits: 12, rights: .readOnly)
        hal.commitMappings()
        #expect(word(hal.window(asid: 1)! + 0x3000).pointee == 7)
        #expect(hal.hostMappingCalls == 4)
    }

    @Test("a read-only mapping is read-only at the host level: a write raises SIGSEGV")
    func readOnlyIsEnforced() async {
        await #expect(processExitsWith: .signal(11)) {
            var hal = try! LinuxHAL(ramSize: 4 << 20, echo: false)
            hal.assignASID(1, vspace: 0)
            hal.mapFrame(asid: 1, vaddr: hal.window(asid: 1)! + 0x1000, paddr: 0x10_0000, sizeBits: 12, rights: .readOnly)
            hal.commitMappings()
            let p = UnsafeMutablePointer<UInt64>(bitPattern: UInt(hal.window(asid: 1)! + 0x1000))!
            _ = p.pointee
            p.pointee = 1
        }
    }

    @Test("an unmapped page of a window is inaccessible: an access raises SIGSEGV")
    func unmappedIsInaccessible() async {
        await #expect(processExitsWith: .signal(11)) {
            var hal = try! LinuxHAL(ramSize: 4 << 20, echo: false)
            hal.assignASID(1, vspace: 0)
            hal.mapFrame(asid: 1, vaddr: hal.window(asid: 1)! + 0x1000, paddr: 0x10_0000, sizeBits: 12, rights: .readWrite)
            hal.unmapFrame(asid: 1, vaddr: hal.window(asid: 1)! + 0x1000, sizeBits: 12)
            let p = UnsafeMutablePointer<UInt64>(bitPattern: UInt(hal.window(asid: 1)! + 0x1000))!
            p.pointee = 1
        }
    }

    @Test("fresh mappings contiguous in the window and in RAM are made by one mmap; a gap starts a new one")
    func contiguousRunsBatch() throws {
        var hal = try LinuxHAL(ramSize: 8 << 20, echo: false)
        defer { hal.release() }
        hal.assignASID(1, vspace: 0)
        for i in 0..<UInt64(16) {
            hal.mapFrame(asid: 1, vaddr: hal.window(asid: 1)! + 0x10_0000 + i * 0x1000, paddr: 0x40_0000 + i * 0x1000, sizeBits: 12, rights: .readWrite)
        }
        hal.mapFrame(asid: 1, vaddr: hal.window(asid: 1)! + 0x20_0000, paddr: 0x50_0000, sizeBits: 12, rights: .readWrite)
        hal.commitMappings()
        #expect(hal.hostMappingCalls == 2)
        for i in 0..<UInt64(16) {
            word(hal.window(asid: 1)! + 0x10_0000 + i * 0x1000).pointee = i
            #expect(hal.physmap.loadWord(0x40_0000 + i * 0x1000) == i)
        }
        word(hal.window(asid: 1)! + 0x20_0000).pointee = 99
        #expect(hal.physmap.loadWord(0x50_0000) == 99)
    }

    @Test("MEM0004 a host mapping inside a window is reported, never mapped over; the window's own mappings are replaced")
    func hostMappingInWindow() throws {
        var hal = try LinuxHAL(ramSize: 8 << 20, echo: false)
        defer { hal.release() }
        hal.assignASID(1, vspace: 0)
        let base = hal.window(asid: 1)!
        // The window's own: a small page with a large page mapped over it is replaced.
        hal.mapFrame(asid: 1, vaddr: base + 0x20_0000, paddr: 0x10_0000, sizeBits: 12, rights: .readWrite)
        hal.commitMappings()
        hal.mapFrame(asid: 1, vaddr: base + 0x20_0000, paddr: 0x40_0000, sizeBits: 21, rights: .readWrite)
        hal.commitMappings()
        #expect(hal.hostFailure == nil)
        hal.physmap.storeWord(0x40_0000, 5)
        #expect(word(base + 0x20_0000).pointee == 5)
        // The host's: an anonymous page placed in the window's hole.
        let host = base + 0x100_0000
        #expect(umk_reserve_fixed(host, 4096) == 0)
        hal.mapFrame(asid: 1, vaddr: host, paddr: 0x11_0000, sizeBits: 12, rights: .readWrite)
        hal.commitMappings()
        let failure = try #require(hal.hostFailure)
        #expect(failure.errno == EEXIST)
        #expect(failure.call.contains("the host has a mapping"))
        // Still the host's page: a fresh anonymous page reads zero, and RAM was not touched.
        hal.physmap.storeWord(0x11_0000, 9)
        #expect(umk_protect(host, 4096, 1) == 0)
        #expect(word(host).pointee == 0)
    }

    /// Bytes the host has allocated for the RAM memfd.
    func allocated(_ hal: LinuxHAL) -> Int {
        var st = stat()
        guard fstat(hal.ramFD, &st) == 0 else { return -1 }
        return Int(st.st_blocks) * 512
    }

    @Test("RAM is allocated in the host on first touch, or all at once with populateRAM")
    func populateRAM() throws {
        var lazy = try LinuxHAL(ramSize: 8 << 20, echo: false)
        defer { lazy.release() }
        #expect(!lazy.ramPopulated)
        #expect(allocated(lazy) < 8 << 20)
        var options = MachineOptions()
        options.populateRAM = true
        var full = try LinuxHAL(ramSize: 8 << 20, echo: false, options: options)
        defer { full.release() }
        #expect(full.ramPopulated)
        #expect(allocated(full) >= 8 << 20)
        // Still zeroed RAM, and RAM like any other.
        #expect(full.physmap.loadWord(0x40_0000) == 0)
        full.physmap.storeWord(0x40_0000, 7)
        #expect(full.physmap.loadWord(0x40_0000) == 7)
    }

    @Test("MEM0001 windows sit at fixed host addresses, the lowest free slot first, each followed by an inaccessible guard gap")
    func fixedWindows() async {
        // A fresh process: no other machine holds a slot, so the addresses are exact.
        await #expect(processExitsWith: .success) {
            var hal = try! LinuxHAL(ramSize: 4 << 20, echo: false)
            hal.assignASID(1, vspace: 0)
            hal.assignASID(2, vspace: 0)
            guard hal.window(asid: 1) == LinuxWindows.base,
                  hal.window(asid: 2) == LinuxWindows.base + LinuxWindows.stride,
                  LinuxWindows.stride == 2 * LinuxWindows.size else { exit(1) }
            // The gap after a window is taken: nothing else can be mapped there.
            guard umk_reserve_fixed(LinuxWindows.base + LinuxWindows.size, 4096) == -EEXIST else { exit(2) }
            // A released window's slot is the next one given out.
            hal.releaseASID(1)
            hal.assignASID(3, vspace: 0)
            guard hal.window(asid: 3) == LinuxWindows.base, hal.hostFailure == nil else { exit(3) }
            hal.release()
            // All released: the range is free again.
            guard umk_reserve_fixed(LinuxWindows.base, LinuxWindows.stride) == 0 else { exit(4) }
            exit(0)
        }
    }

    @Test("MEM0002 an access past the end of a window lands in its guard gap and faults")
    func guardGapFaults() async {
        await #expect(processExitsWith: .signal(11)) {
            var hal = try! LinuxHAL(ramSize: 4 << 20, echo: false)
            hal.assignASID(1, vspace: 0)
            hal.assignASID(2, vspace: 0)
            // The last page of window 1 is mapped; 8 bytes past it is the gap, not window 2.
            hal.mapFrame(asid: 1, vaddr: hal.window(asid: 1)! + LinuxWindows.size - 4096, paddr: 0x10_0000, sizeBits: 12, rights: .readWrite)
            hal.commitMappings()
            let end = hal.window(asid: 1)! + LinuxWindows.size
            UnsafeMutablePointer<UInt64>(bitPattern: UInt(end - 8))!.pointee = 1
            UnsafeMutablePointer<UInt64>(bitPattern: UInt(end + 8))!.pointee = 1
        }
    }

    @Test("MEM0003 a window whose host range is taken is refused, naming the address, and nothing is mapped over it")
    func takenWindowRefused() async {
        await #expect(processExitsWith: .success) {
            // Something of the host's sits inside the first window's range.
            guard umk_reserve_fixed(LinuxWindows.base + (1 << 30), 4096) == 0 else { exit(1) }
            var hal = try! LinuxHAL(ramSize: 4 << 20, echo: false)
            hal.assignASID(1, vspace: 0)
            guard hal.window(asid: 1) == nil, let failure = hal.hostFailure?.description,
                  failure.contains(hex(LinuxWindows.base)), failure.contains("errno 17") else { exit(2) }
            exit(0)
        }
    }
}
