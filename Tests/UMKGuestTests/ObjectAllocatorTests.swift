// SPDX-License-Identifier: Apache-2.0
//
// UMKGuest's ObjectAllocator in a real guest: first fit over its untypeds, falling through
// to the next one with room without asking one it knows is too small, and memory given
// back by deleting objects used again (syscalls counted as kernel entries, which the guest
// reads from the machine running it).

import Testing
import UMKGuest
import UMKTestSupport
@testable import UMKernel

enum AllocatorPrograms {
    /// The machine the test runs (read by the guest between its syscalls).
    nonisolated(unsafe) static var kernel: Kernel<LinuxHAL>?

    /// Kernel entries `body` makes, with the value it returns.
    static func entries<T>(_ body: () -> T) -> (T, UInt64) {
        let before = kernel!.hal.entries
        let value = body()
        return (value, kernel!.hal.entries - before)
    }

    static let root: ThreadEntry = { bootInfo, _ in
        var boot = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        // Two untypeds of 4 KiB and 16 KiB, and an allocator over them and a few free slots.
        guard let small = boot.make(.untyped, sizeBits: 12), let large = boot.make(.untyped, sizeBits: 14) else {
            return guestCheck(false, "untypeds")
        }
        let free = boot.remainingSlots
        var alloc = ObjectAllocator(root: boot.root, slots: SlotRegion(start: free.start, end: free.start + 8),
                                    untypeds: [(small, 12), (large, 14)])
        // The first frame fills the small untyped: one retype.
        let (f1, e1) = entries { alloc.make(.smallPage) }
        guestCheck(f1 != nil && e1 == 1, "first frame from the small untyped (\(e1) entries)")
        // The second comes from the large one, without asking the full small one again.
        let (f2, e2) = entries { alloc.make(.smallPage) }
        guestCheck(f2 != nil && e2 == 1, "second frame straight from the large untyped (\(e2) entries)")
        // A TCB (8 KiB, aligned) takes the rest of the large one.
        let (t, e3) = entries { alloc.make(.tcb) }
        guestCheck(t != nil && e3 == 1, "a TCB from the large untyped (\(e3) entries)")
        guestCheck(seL4.debugCapIdentify(f1!) == seL4.debugCapIdentify(f2!) && seL4.debugCapIdentify(t!) != 0,
                   "the objects are there")
        // Both are full now: the large one says so (the bound thought 4 KiB might be left,
        // but alignment took it), and then the small one is asked after all, in case its
        // memory came back.
        let (n1, e4) = entries { alloc.make(.endpoint) }
        guestCheck(n1 == nil && e4 == 2, "an endpoint: both untypeds answer NotEnoughMemory (\(e4) entries)")
        // Deleting the small untyped's only object gives it all back: the next frame comes
        // from it (the kernel resets an untyped without children).
        guestCheck(CNode.delete(boot.root, index: f1!, depth: 64) == .noError, "delete the first frame")
        let (f3, e5) = entries { alloc.make(.smallPage) }
        guestCheck(f3 != nil && e5 == 1, "a frame from the small untyped again (\(e5) entries)")
        debugPrint("allocator: ok\n")
        seL4.debugHalt()
    }
}

enum ASIDPrograms {
    /// Address spaces the guest makes.
    static let count = 600

    static let root: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        let firstPool = alloc.asidPool
        var pools: Set<CPtr> = [firstPool]
        for i in 0..<count {
            guard let vspace = alloc.make(.pml4) else { return guestCheck(false, "VSpace \(i)") }
            let e = alloc.assignASID(vspace)
            guard e == .noError else { return guestCheck(false, "ASID of VSpace \(i): \(e)") }
            pools.insert(alloc.asidPool)
        }
        // The root's pool held 511 more (its own VSpace has one); the rest came from one new pool.
        guestCheck(pools.count == 2 && alloc.asidPool != firstPool, "pools: \(pools.count)")
        debugPrint("asids: \(count) address spaces\n")
        seL4.debugHalt()
    }
}

enum WindowLimitPrograms {
    static let root: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        var made = 0
        while true {
            guard let vspace = alloc.make(.pml4) else { return guestCheck(false, "VSpace \(made)") }
            let e = alloc.assignASID(vspace)
            if e != .noError {
                debugPrint("windows: \(made) more address spaces, then \(e)\n")
                break
            }
            made += 1
        }
        seL4.debugHalt()
    }
}

@Suite("Object allocator", .serialized)
struct ObjectAllocatorTests {
    @Test("ALLOC0001 first fit falls through to the next untyped with room without asking a full one; freed memory is used again")
    func skipsFullUntypeds() throws {
        let k = Kernel(hal: try LinuxHAL(ramSize: 64 << 20, echo: false))
        defer { k.hal.release() }
        AllocatorPrograms.kernel = k
        defer { AllocatorPrograms.kernel = nil }
        let r = try k.runGuests(root: AllocatorPrograms.root)
        let out = k.hal.outputText
        #expect(r.halted && !out.contains("FAIL"), "\(out)")
        #expect(out.contains("allocator: ok"), "\(out)")
    }

    @Test("ASID0001 more than 511 address spaces: the allocator makes a further ASID pool, and every VSpace gets a window")
    func furtherPools() throws {
        let k = Kernel(hal: try LinuxHAL(ramSize: 64 << 20, echo: false))
        defer { k.hal.release() }
        let r = try k.runGuests(root: ASIDPrograms.root)
        let out = k.hal.outputText
        #expect(r.halted && r.hostFailure == nil && !out.contains("FAIL"), "\(out)")
        #expect(out.contains("asids: 600 address spaces"), "\(out)")
        // The root's ASID and the 600 have a window each.
        #expect((1...601).allSatisfy { k.hal.window(asid: $0) != nil })
    }

    @Test("ASID0002 past the machine's last window, ASIDPool_Assign answers DeleteFirst and the system runs on")
    func windowLimit() async {
        // A fresh process, whose windows are all this system's.
        await #expect(processExitsWith: .success) {
            let k = Kernel(hal: try! LinuxHAL(ramSize: 64 << 20, echo: false))
            let r = try! k.runGuests(root: WindowLimitPrograms.root)
            let expected = "windows: \(LinuxWindows.slotCount - 1) more address spaces, then deleteFirst"
            guard r.halted, r.hostFailure == nil, k.hal.outputText.contains(expected) else { fatalError(k.hal.outputText) }
        }
    }
}
