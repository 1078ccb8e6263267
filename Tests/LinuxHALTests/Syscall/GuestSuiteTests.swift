// SPDX-License-Identifier: Apache-2.0
//
// Real guests on the Linux backend (sel4test-style numbered suites): guest programs are
// Swift functions started by the kernel on their own stacks in their own windows, making
// syscalls through the direct-call entry. Each test boots a fresh system whose root task
// is the test's program; results come back through the debug console. The context switch
// uses process-wide state: a run waits for any other to end (Kernel.runGuests), and the
// suite is serialized so timing-sensitive tests do not wait on each other.

import Testing
import UMKGuest
import UMKTestSupport
@testable import UMKernel

// MARK: - Programs

enum Programs {
    static let hello: ThreadEntry = { bootInfo, _ in
        let info = readBootInfo(at: bootInfo)
        debugPrint("hello from the root task, cnode bits \(info.initThreadCNodeSizeBits)\n")
        seL4.debugHalt()
    }

    /// Slots in every client's CSpace.
    static let clientEndpoint: CPtr = 1, clientDone: CPtr = 2, clientPark: CPtr = 3

    /// A server task answering calls with the sum of the words; a Send with label 9 ends it.
    static let server: ThreadEntry = { _, _ in
        var (msg, _) = seL4.recv(1)
        while true {
            if msg.label == 9 { break }
            let sum = (0..<Int(msg.length)).reduce(UInt64(0)) { $0 &+ IPCBuffer.getMR($1) }
            IPCBuffer.setMR(0, sum)
            (msg, _) = seL4.replyRecv(1, MessageInfo(label: 0, length: 1))
        }
        debugPrint("server done\n")
        seL4.signal(3)
        _ = seL4.wait(2)
    }

    /// A client: 50 calls of lengths 0...10, checking each sum, then signals `done`.
    static let client: ThreadEntry = { index, _ in
        for round in 0..<UInt64(50) {
            let length = Int(round % 11)
            var expected: UInt64 = 0
            for i in 0..<length {
                let v = index &* 1000 &+ round &* 10 &+ UInt64(i)
                IPCBuffer.setMR(i, v)
                expected &+= v
            }
            let reply = seL4.call(clientEndpoint, MessageInfo(label: 1, length: UInt64(length)))
            guestCheck(reply.label == 0 && reply.length == 1 && IPCBuffer.getMR(0) == expected,
                       "client \(index) round \(round): got \(IPCBuffer.getMR(0)), expected \(expected)")
        }
        debugPrint("client \(index) ok\n")
        seL4.signal(clientDone)
        _ = seL4.wait(clientPark)
    }

    /// The root of the IPC system: a server and three clients in four address spaces.
    static let ipcRoot: ThreadEntry = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let ep = alloc.make(.endpoint), let done = alloc.make(.notification), let quiet = alloc.make(.notification),
              let server = alloc.makeTask(priority: 150) else { return guestCheck(false, "setup") }
        guestCheck(alloc.give(server, ep, at: 1, rights: [.read, .write, .grant]) == .noError, "server ep")
        guestCheck(alloc.give(server, quiet, at: 2) == .noError, "server quiet")
        guestCheck(alloc.give(server, done, at: 3, rights: .write, badge: 1) == .noError, "server done")
        guestCheck(startThread(server.tcb, entry: Programs.server, stackTop: server.stackTop) == .noError, "start server")
        for i in 1...3 as ClosedRange<UInt64> {
            guard let c = alloc.makeTask(priority: 100 + i) else { return guestCheck(false, "client \(i)") }
            guestCheck(alloc.give(c, ep, at: clientEndpoint, rights: [.write, .grantReply], badge: i) == .noError, "ep")
            guestCheck(alloc.give(c, done, at: clientDone, rights: .write, badge: 1 << i) == .noError, "done")
            guestCheck(alloc.give(c, quiet, at: clientPark, rights: .read) == .noError, "park")
            guestCheck(startThread(c.tcb, entry: Programs.client, stackTop: c.stackTop, arg0: i) == .noError, "start")
        }
        // The root (255) waits; clients and the server run; each client signals its bit.
        var word: UInt64 = 0
        while word != 0b1110 { word |= seL4.wait(done) }
        debugPrint("all clients done\n")
        seL4.send(ep, MessageInfo(label: 9, length: 0))
        while word & 1 == 0 { word |= seL4.wait(done) }
        seL4.debugHalt()
    }
}

/// Every suite that runs guests nests in here: the context switch uses process-wide state,
/// so no two systems may run at once, and `.serialized` applies to nested suites too.
@Suite("Real guests on Linux", .serialized)
struct LinuxGuests {}

extension LinuxGuests {
@Suite("Guests on Linux")
struct GuestSuiteTests {
    @Test("GUEST0001 the root task runs, reads BootInfo from its window and halts the system")
    func hello() throws {
        let (r, out) = try runSystem(Programs.hello)
        #expect(r.halted && r.hostFailure == nil)
        #expect(out.contains("hello from the root task, cnode bits 12"))
    }

    @Test("IPC0001 a server and three clients in four address spaces: Call/ReplyRecv/Send/Signal/Wait")
    func ipcAcrossAddressSpaces() throws {
        let (r, out) = try runSystem(Programs.ipcRoot)
        #expect(r.halted && r.hostFailure == nil, "\(out)")
        #expect(!out.contains("FAIL"), "\(out)")
        for i in 1...3 { #expect(out.contains("client \(i) ok")) }
        #expect(out.contains("server done"))
        #expect(out.contains("all clients done"))
    }
}
}
