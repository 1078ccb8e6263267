// SPDX-License-Identifier: Apache-2.0
//
// The debug syscalls (seL4's handleUnknownSyscall): PutChar, DumpScheduler, Halt,
// NameThread, CapIdentify, Snapshot; any other number is an UnknownSyscall fault.

import Testing
import UMKABI
@testable import UMKernel

@Suite("Debug syscalls")
struct DebugSyscallTests {
    func debug(_ h: KernelHarness, _ s: Syscall, cptr: UInt64 = 0) {
        h.load(h.k.currentThread, cptr: cptr, info: MessageInfo(label: 0, length: 0))
        h.k.handleSyscall(s.rawValue)
        h.check()
    }

    @Test("PutChar writes the byte in the cap register to the debug output")
    func putChar() {
        let h = KernelHarness()
        for c in "hi!\n".utf8 { debug(h, .debugPutChar, cptr: UInt64(c)) }
        #expect(h.k.hal.outputText == "hi!\n")
        #expect(h.root.pointee.state == .running)
    }

    @Test("NameThread names a TCB from the string in the IPC buffer")
    func nameThread() {
        let h = KernelHarness()
        let t = h.makeThread(priority: 10, resume: false)
        let buffer = h.bufferPaddr(h.root, receiver: true)!
        for (i, b) in Array("worker".utf8).enumerated() { h.k.physmap.storeByte(buffer + 8 + UInt64(i), b) }
        h.k.physmap.storeByte(buffer + 8 + 6, 0)
        debug(h, .debugNameThread, cptr: t)
        #expect(h.tcbRef(t).name == "worker")
        // Not a TCB: reported, nothing named, the system goes on.
        debug(h, .debugNameThread, cptr: InitialCap.initThreadCNode.rawValue)
        #expect(h.k.hal.outputText.contains("not a TCB"))
        #expect(!h.k.isHalted)
    }

    @Test("DumpScheduler lists every TCB as seL4 prints them: name, state, IP, priority, in seL4's columns")
    func dumpScheduler() {
        let h = KernelHarness()
        h.makeThread(priority: 77, name: "ready-one")
        h.makeThread(priority: 9, resume: false, name: "stopped")
        debug(h, .debugDumpScheduler)
        let lines = h.k.hal.outputText.split(separator: "\n").map(String.init)
        #expect(lines[0] == "Dumping all tcbs!")
        #expect(lines[1] == padded("Name", 40) + "   " + padded("State", 16) + "   " + padded("IP", 18) + "   Prio")
        #expect(lines[2] == String(repeating: "-", count: 88))
        func row(_ name: String) -> String? { lines.first { $0.hasPrefix(padded(name, 40)) } }
        #expect(row("rootserver")?.contains("   running          ") == true)
        // Resumed and not yet run: Restart, as seL4 leaves a resumed thread.
        #expect(row("ready-one")?.hasSuffix("     77") == true && row("ready-one")?.contains("   restart          ") == true)
        // Not ready, so seL4's list (every TCB) has it and a ready-queue dump would not.
        #expect(row("stopped")?.contains("   inactive         ") == true && row("stopped")?.hasSuffix("      9") == true)
    }

    @Test("Snapshot gives the machine the capability graph: CSpaces as boxes, a badged cap from a task's CSpace to its endpoint, the copy from the root's CSpace dashed, the retype from the untyped dashed")
    func snapshot() throws {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let task = h.makeTask(priority: 50, name: "client")
        h.give(task, ep, at: 3, rights: [.write, .grant], badge: 7)
        h.run(h.root)
        debug(h, .debugSnapshot)
        #expect(h.k.hal.capabilitySnapshots.count == 1)
        let dot = try #require(h.k.hal.capabilitySnapshots.first)
        let endpoint = "endpoint_\(hex(h.cap(ep).paddr))"
        let client = "cnode_\(hex(h.cap(task.cnodeSlot).paddr))"
        let root = "cnode_\(hex(h.cap(InitialCap.initThreadCNode.rawValue).paddr))"
        #expect(dot.hasPrefix("digraph capabilities {") && dot.hasSuffix("}\n"))
        #expect(dot.contains("\"\(client)\" [label=\"CSpace of client\\n2^8 slots at "), "\(dot)")
        #expect(dot.contains("\"\(root)\" [label=\"CSpace of rootserver\\n"), "\(dot)")
        #expect(dot.contains("\"\(client)\" -> \"\(endpoint)\" [label=\"slot 3 WG\\nbadge 7\"];"), "\(dot)")
        #expect(dot.contains("\"\(root)\" -> \"\(endpoint)\" [label=\"slot \(ep) RWGg\"];"), "\(dot)")
        #expect(dot.contains("\"\(root)\" -> \"\(client)\" [style=dashed, label=\"copy slot \(ep) → slot 3\"];"), "\(dot)")
        #expect(dot.contains("-> \"\(endpoint)\" [style=dashed, label=\"retype\"];"), "\(dot)")
        #expect(dot.contains("\"tcb_\(hex(task.tcb.paddr))\" -> \"\(client)\" [label=\"cspace\", style=bold];"), "\(dot)")
    }

    @Test("the waiting threads: each blocked thread with what it waits on")
    func waitingThreads() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let t = h.makeThread(priority: 200, name: "receiver")
        h.run(h.tcbRef(t))
        _ = h.syscall(.recv, cptr: ep)
        let waiting = h.k.waitingThreads()
        #expect(waiting.count == 1)
        #expect(waiting.first?.hasPrefix("\"receiver\" (priority 200, ") == true)
        #expect(waiting.first?.hasSuffix("receiving on endpoint \(hex(h.cap(ep).paddr))") == true)
    }

    @Test("Halt stops the system")
    func halt() {
        let h = KernelHarness()
        debug(h, .debugHalt)
        #expect(h.k.isHalted)
        #expect(h.k.hal.isHalted)
    }

    @Test("CapIdentify returns seL4's cap tag in the cap register")
    func capIdentify() {
        let h = KernelHarness()
        for (cptr, tag) in [(InitialCap.initThreadCNode.rawValue, 10), (InitialCap.initThreadTCB.rawValue, 12),
                            (InitialCap.initThreadVSpace.rawValue, 9), (InitialCap.bootInfoFrame.rawValue, 1),
                            (InitialCap.ioPortControl.rawValue, 31), (InitialCap.ioSpace.rawValue, 0)] as [(UInt64, UInt64)] {
            debug(h, .debugCapIdentify, cptr: cptr)
            #expect(h.root.pointee[.rdi] == tag)
        }
    }

    @Test("an unknown syscall number without a fault handler is a double fault: report and Inactive")
    func unknownSyscallDoubleFault() {
        let h = KernelHarness()
        let t = h.makeThread(priority: 10, name: "lost")
        h.run(h.tcbRef(t))
        h.load(h.tcbRef(t), cptr: 0, info: MessageInfo(label: 0, length: 0))
        h.k.handleSyscall(-99)
        h.check()
        #expect(h.tcbRef(t).pointee.state == .inactive)
        #expect(h.k.hal.outputText.contains("UnknownSyscall -99"))
        #expect(h.k.hal.outputText.contains("\"lost\""))
    }
}
