// SPDX-License-Identifier: Apache-2.0
//
// Strict mode on the Linux backend: a guest's stray write into kernel RAM or into another
// address space's memory is a VMFault at that address for its fault handler, while
// without strict mode the same writes land silently (what strict mode is for).

import Testing
import CShims
import Glibc
import UMKGuest
import UMKTestSupport
@testable import UMKernel

enum StrictPrograms {
    /// Where each writer writes (set before the run: host addresses).
    nonisolated(unsafe) static var targets: [UInt64] = []
    static let wrote: UInt64 = 99

    /// The next writer's target (writers run one after the other).
    nonisolated(unsafe) static var next = 0
    static let writer: ThreadEntry = { _, _ in
        let target = targets[next]
        next += 1
        UnsafeMutablePointer<UInt64>(bitPattern: UInt(target))!.pointee = 0xBAD
        _ = seL4.call(1, MessageInfo(label: wrote, length: 0))
    }

    static let root: ThreadEntry = { bootInfo, _ in
        let info = readBootInfo(at: bootInfo)
        var alloc = ObjectAllocator(bootInfo: info)
        // The second target: a word of the root's own IPC buffer page it never uses.
        let own = (info.ipcBuffer & ~0xFFF) + 0xF00
        targets[1] = own
        guard let ep = alloc.make(.endpoint), let done = alloc.make(.notification), let park = alloc.make(.notification) else {
            return guestCheck(false, "setup")
        }
        for (i, what) in ["kernel RAM", "the root's window"].enumerated() {
            guard FaultPrograms.faultingTask(&alloc, ep: ep, done: done, park: park, entry: writer, badge: UInt64(i + 1)) != nil else {
                return guestCheck(false, "task")
            }
            let (msg, _) = seL4.recv(ep)
            if msg.label == wrote {
                debugPrint("root: the write into \(what) landed\n")
            } else {
                debugPrint("root: the write into \(what) was a fault, label \(msg.label), at the target \(IPCBuffer.getMR(1) == targets[i]), write \(IPCBuffer.getMR(3) & 2 != 0)\n")
            }
        }
        debugPrint("root: my own word is \(UnsafeMutablePointer<UInt64>(bitPattern: UInt(own))!.pointee == 0xBAD ? "overwritten" : "intact")\n")
        seL4.debugHalt()
    }

    static func run(strict: Bool) throws -> (LinuxRunResult, String, StrictCost) {
        var options = MachineOptions()
        options.strict = strict
        let k = Kernel(hal: try LinuxHAL(ramSize: 64 << 20, echo: false, options: options))
        defer { k.hal.release() }
        // The first target: the last word of kernel RAM (free memory no object uses).
        targets = [UInt64(UInt(bitPattern: k.hal.physmap.base)) + k.hal.physmap.size - 8, 0]
        next = 0
        let r = try k.runGuests(root: root)
        return (r, k.hal.outputText, k.hal.strictCost)
    }
}

extension LinuxGuests {
    @Suite("Strict mode", .serialized)
    struct StrictModeTests {
        @Test("STRICT0001 --strict: a guest's stray write into kernel RAM or into another task's window is a VMFault at that address for its fault handler; the target is intact")
        func strayWritesFault() throws {
            let (r, out, cost) = try StrictPrograms.run(strict: true)
            #expect(r.halted, "\(out)")
            #expect(out.contains("root: the write into kernel RAM was a fault, label 5, at the target true, write true"), "\(out)")
            #expect(out.contains("root: the write into the root's window was a fault, label 5, at the target true, write true"), "\(out)")
            #expect(out.contains("root: my own word is intact"), "\(out)")
            #expect(cost.guestEntries > 0 && cost.windowSwitches > 0 && cost.calls > cost.guestEntries, "\(cost)")
        }

        @Test("STRICT0002 without --strict the same writes land silently (the root's word overwritten)")
        func strayWritesLand() throws {
            let (r, out, cost) = try StrictPrograms.run(strict: false)
            #expect(r.halted, "\(out)")
            #expect(out.contains("root: the write into kernel RAM landed"), "\(out)")
            #expect(out.contains("root: the write into the root's window landed"), "\(out)")
            #expect(out.contains("root: my own word is overwritten"), "\(out)")
            #expect(cost.guestEntries == 0 && cost.calls == 0)
        }
    }
}
