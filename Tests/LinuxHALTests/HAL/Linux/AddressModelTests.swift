// SPDX-License-Identifier: Apache-2.0
//
// A guest address is the host address: what a task maps at p it reads and writes through
// the pointer p, another task sees the same frame through its own mapping, and the kernel
// reports (faults, registers) the very numbers the guest used. Each VSpace maps only inside
// its own range (its window); outside it, a mapping gets seL4's error for an address above
// USER_TOP, and an access just past it is the task's own VMFault.

import Testing
import UMKGuest
import UMKTestSupport
@testable import UMKernel

enum AddressPrograms {
    /// Reads the word at arg0 (mapped read-only by the root), sends it, the address and the
    /// address of a local (on its stack) to the root; then parks.
    static let readerEntry: ThreadEntry = { address, _ in
        var local: UInt64 = 0
        let value = UnsafePointer<UInt64>(bitPattern: UInt(address))!.pointee
        withUnsafeMutablePointer(to: &local) { p in
            IPCBuffer.setMR(0, value)
            IPCBuffer.setMR(1, address)
            IPCBuffer.setMR(2, UInt64(UInt(bitPattern: p)))
            _ = seL4.call(1, MessageInfo(label: 0, length: 3))
        }
        _ = seL4.wait(2)
    }

    /// Writes 8 bytes past the end of its own address range (arg0): the guard gap.
    static let overrunnerEntry: ThreadEntry = { end, _ in
        UnsafeMutablePointer<UInt64>(bitPattern: UInt(end + 8))!.pointee = 1
    }

    static let root: ThreadEntry = { bootInfoAddress, _ in
        let bootInfo = readBootInfo(at: bootInfoAddress)
        var alloc = ObjectAllocator(bootInfo: bootInfo)
        let vspace = InitialCap.initThreadVSpace.rawValue
        guard case .success(let own) = VSpace.addressRange(vspace) else { return guestCheck(false, "own range") }
        // BootInfo's extra chunk and the method agree; BootInfo and the IPC buffer lie in it.
        guestCheck(rootAddressRange(bootInfo, at: bootInfoAddress) == own, "BootInfo's range")
        guestCheck(own.contains(bootInfoAddress) && own.contains(bootInfo.ipcBuffer), "BootInfo in the range")
        debugPrint("root: range \(hex(own.lowerBound))-\(hex(own.upperBound))\n")

        // Map a frame at p and write through p.
        let p = own.lowerBound + 0x5000_0000
        guard let ep = alloc.make(.endpoint), let park = alloc.make(.notification), let frame = alloc.make(.smallPage),
              alloc.map(frame, vspace: vspace, vaddr: p, rights: .readWrite) else { return guestCheck(false, "map at p") }
        UnsafeMutablePointer<UInt64>(bitPattern: UInt(p))!.pointee = 0x1234_5678

        // Another task maps the same frame at q, in its own range, and reads it through q.
        guard let reader = alloc.makeTask(priority: 100), let copy = alloc.slot() else { return guestCheck(false, "reader") }
        guestCheck(reader.addressRange.lowerBound >= own.upperBound, "the reader's range lies beyond the root's")
        guestCheck(CNode.copy(alloc.root, destIndex: copy, destDepth: 64, srcRoot: alloc.root, srcIndex: frame, srcDepth: 64,
                              rights: .read) == .noError, "copy the frame cap")
        let q = reader.address(0x7000_0000)
        guestCheck(alloc.map(copy, vspace: reader.vspace, vaddr: q, rights: .read), "map at q")
        guestCheck(alloc.give(reader, ep, at: 1, rights: [.write, .grantReply]) == .noError, "reader ep")
        guestCheck(alloc.give(reader, park, at: 2, rights: .read) == .noError, "reader park")
        guestCheck(startThread(reader.tcb, entry: readerEntry, stackTop: reader.stackTop, arg0: q) == .noError, "start reader")
        _ = seL4.recv(ep)
        let value = IPCBuffer.getMR(0), seenAddress = IPCBuffer.getMR(1), local = IPCBuffer.getMR(2)
        debugPrint("root: reader read \(hex(value)) at q: \(seenAddress == q)\n")
        // The reader is blocked in its Call: its registers hold its stack pointer, the same
        // kind of number as the address of its local, a little below it.
        if case .success(let regs) = TCB.readRegisters(reader.tcb, suspendSource: false) {
            let rsp = regs[UserRegister.rsp.rawValue]
            debugPrint("root: reader's rsp near its local: \(rsp <= local && local - rsp < 0x1000), in its range: \(reader.addressRange.contains(rsp))\n")
        }

        // Outside a VSpace's range: seL4's error for an address above USER_TOP, argument 0.
        guard let other = alloc.make(.smallPage), let table = alloc.make(.pageTable) else { return guestCheck(false, "objects") }
        for (what, vaddr) in [("past the end", reader.addressRange.upperBound), ("below the start", reader.addressRange.lowerBound - 0x1000),
                              ("in the root's range", own.lowerBound + 0x6000_0000)] {
            let e = Page.map(other, vspace: reader.vspace, vaddr: vaddr, rights: .readWrite)
            debugPrint("root: Page_Map \(what): \(e) argument \(IPCBuffer.getMR(0))\n")
        }
        let e = PagingStructure.map(table, type: .pageTable, vspace: vspace, vaddr: reader.address(0x4000_0000))
        debugPrint("root: PageTable_Map in another range: \(e) argument \(IPCBuffer.getMR(0))\n")

        // An access just past a task's range is that task's VMFault, at that address.
        guard let faults = alloc.make(.endpoint), let overrunner = alloc.makeTask(priority: 100, faultEP: 1) else {
            return guestCheck(false, "overrunner")
        }
        guestCheck(alloc.give(overrunner, faults, at: 1, rights: [.write, .grant], badge: 9) == .noError, "fault ep")
        let end = overrunner.addressRange.upperBound
        guestCheck(startThread(overrunner.tcb, entry: overrunnerEntry, stackTop: overrunner.stackTop, arg0: end) == .noError, "start")
        let (msg, badge) = seL4.recv(faults)
        debugPrint("root: overrun fault label \(msg.label) badge \(badge) at end+8: \(IPCBuffer.getMR(1) == end + 8)\n")
        seL4.debugHalt()
    }
}

extension LinuxGuests {
    @Suite("Address model")
    struct AddressModelTests {
        @Test("ADDR0001 what one task writes through p another reads through q; registers and faults carry the guest's own pointers; mappings stay in the VSpace's range")
        func addressesAreHostAddresses() throws {
            let (r, out) = try runSystem(AddressPrograms.root)
            #expect(r.halted, "\(out)")
            #expect(!out.contains("FAIL"), "\(out)")
            // The root's VSpace has the first window.
            #expect(out.contains("root: range \(hex(LinuxWindows.base))-\(hex(LinuxWindows.base + LinuxWindows.size))"), "\(out)")
            #expect(out.contains("root: reader read 0x12345678 at q: true"), "\(out)")
            #expect(out.contains("root: reader's rsp near its local: true, in its range: true"), "\(out)")
            #expect(out.contains("root: Page_Map past the end: invalidArgument argument 0"), "\(out)")
            #expect(out.contains("root: Page_Map below the start: invalidArgument argument 0"), "\(out)")
            #expect(out.contains("root: Page_Map in the root's range: invalidArgument argument 0"), "\(out)")
            #expect(out.contains("root: PageTable_Map in another range: invalidArgument argument 0"), "\(out)")
            #expect(out.contains("root: overrun fault label 5 badge 9 at end+8: true"), "\(out)")
        }
    }
}
