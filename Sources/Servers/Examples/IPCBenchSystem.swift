// SPDX-License-Identifier: Apache-2.0
//
// A system that measures IPC between real guests: a client task and a server task in
// different address spaces, the client timing Call round trips (Call + the server's
// ReplyRecv) with the TSC. `umk bench` runs it.

import CShims
import UMKGuest

/// The guest IPC benchmark's programs and results.
public enum IPCBenchSystem {
    /// Round trips timed (after as many warm-up ones).
    nonisolated(unsafe) public static var rounds = 10_000
    /// Cycles of each timed round trip, filled by the client.
    nonisolated(unsafe) public static var samples: [UInt64] = []
    /// Message length of the calls (0...4 takes the fastpath).
    nonisolated(unsafe) public static var length: UInt64 = 0

    public static let root: @convention(c) (UInt64, UInt64) -> Void = { bootInfo, _ in
        var alloc = ObjectAllocator(bootInfo: readBootInfo(at: bootInfo))
        guard let ep = alloc.make(.endpoint), let done = alloc.make(.notification),
              let server = alloc.makeTask(priority: 100, base: 0x1000_0000),
              let client = alloc.makeTask(priority: 100, base: 0x2000_0000) else { return halt("setup failed") }
        guard alloc.give(server, ep, at: 1, rights: [.read, .write, .grant]) == .noError,
              alloc.give(client, ep, at: 1, rights: [.write, .grantReply]) == .noError,
              alloc.give(client, done, at: 2, rights: .write) == .noError,
              startThread(server.tcb, entry: serverLoop, stackTop: server.stackTop) == .noError,
              startThread(client.tcb, entry: clientLoop, stackTop: client.stackTop) == .noError else {
            return halt("start failed")
        }
        _ = seL4.wait(done)
        seL4.debugHalt()
    }

    static let serverLoop: @convention(c) (UInt64, UInt64) -> Void = { _, _ in
        var (msg, _) = seL4.recv(1)
        while true {
            (msg, _) = seL4.replyRecv(1, MessageInfo(label: 0, length: msg.length))
        }
    }

    static let clientLoop: @convention(c) (UInt64, UInt64) -> Void = { _, _ in
        let n = rounds
        var local = [UInt64](repeating: 0, count: n)
        let info = MessageInfo(label: 1, length: length)
        for _ in 0..<n { seL4.call(1, info) }
        for i in 0..<n {
            let t0 = umk_cycles()
            seL4.call(1, info)
            local[i] = umk_cycles() &- t0
        }
        samples = local
        seL4.signal(2)
        _ = seL4.wait(2)
    }

    private static func halt(_ why: String) {
        debugPrint("bench: \(why)\n")
        seL4.debugHalt()
    }
}
