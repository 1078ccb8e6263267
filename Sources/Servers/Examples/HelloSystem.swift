// SPDX-License-Identifier: Apache-2.0
//
// The built-in example `umk run` boots: the root task builds a second task with its own
// CSpace, VSpace and stack, gives it a badged endpoint and a notification, and the two
// exchange calls, a signal and a capability. Everything goes through ordinary syscalls.

import UMKGuest

/// Slots in the child's CSpace (radix 8, guard 56: a CPtr is a slot number).
private enum ChildSlot {
    static let endpoint: CPtr = 1
    static let notification: CPtr = 2
    static let gift: CPtr = 3
}

/// Where the child's memory goes in its VSpace.
private enum ChildLayout {
    static let base: UInt64 = 0x1000_0000
    static let stackPages: UInt64 = 64
}

/// The example system's programs.
public enum HelloSystem {
    /// Round trips the child makes.
    public static let rounds: UInt64 = 3

    /// The root task.
    public static let root: @convention(c) (UInt64, UInt64) -> Void = { bootInfoAddress, _ in
        let info = readBootInfo(at: bootInfoAddress)
        debugPrint("root: up, \(info.untypedList.count) untyped regions, slots \(info.empty.start)..<\(info.empty.end)\n")
        var alloc = ObjectAllocator(bootInfo: info)
        let cnode = alloc.root
        guard let ep = alloc.make(.endpoint), let ntfn = alloc.make(.notification),
              let task = alloc.makeTask(priority: 200, offset: ChildLayout.base, stackPages: ChildLayout.stackPages) else {
            fail("out of memory building the child")
        }
        // The child's CSpace: a badged endpoint it may call with, its notification, a gift.
        check(alloc.give(task, ep, at: ChildSlot.endpoint, badge: 0x42), "mint endpoint")
        check(alloc.give(task, ntfn, at: ChildSlot.notification, rights: .readWrite, badge: 0x10), "mint notification")
        check(alloc.give(task, ntfn, at: ChildSlot.gift, rights: .readWrite), "copy gift")
        seL4.debugNameThread(task.tcb, "child")
        check(startThread(task.tcb, entry: child, stackTop: task.stackTop, arg0: rounds), "start the child")

        // Serve the child's calls: reply with the sum of its words.
        guard let received = alloc.slot() else { fail("no slot for the gift") }
        IPCBuffer.setCapReceivePath(root: cnode, index: received, depth: 64)
        var (msg, badge) = seL4.recv(ep)
        var served: UInt64 = 0
        while true {
            if msg.label == 2 {
                debugPrint("root: got a cap from badge \(hex(badge)) (extraCaps \(msg.extraCaps), cap tag \(seL4.debugCapIdentify(received)))\n")
                seL4.reply(MessageInfo(label: 0, length: 0))
                break
            }
            let sum = (0..<Int(msg.length)).reduce(UInt64(0)) { $0 &+ IPCBuffer.getMR($1) }
            served += 1
            debugPrint("root: call \(served) from badge \(hex(badge)): \(msg.length) words, sum \(sum)\n")
            IPCBuffer.setMR(0, sum)
            (msg, badge) = seL4.replyRecv(ep, MessageInfo(label: 0, length: 1))
        }
        let word = seL4.wait(ntfn)
        debugPrint("root: notification word \(hex(word))\n")
        debugPrint("root: done, halting\n")
        seL4.debugHalt()
    }

    /// The child task: calls the root, signals, hands over a cap, then waits forever.
    public static let child: @convention(c) (UInt64, UInt64) -> Void = { rounds, _ in
        debugPrint("child: running in its own address space\n")
        for round in 1...rounds {
            for i in 0..<6 { IPCBuffer.setMR(i, round * 10 + UInt64(i)) }
            let reply = seL4.call(ChildSlot.endpoint, MessageInfo(label: 1, length: 6))
            debugPrint("child: round \(round) reply \(IPCBuffer.getMR(0)) (label \(reply.label))\n")
        }
        seL4.signal(ChildSlot.notification)
        IPCBuffer.setCap(0, ChildSlot.gift)
        seL4.call(ChildSlot.endpoint, MessageInfo(label: 2, extraCaps: 1, length: 0))
        _ = seL4.wait(ChildSlot.notification)
    }

    private static func check(_ e: KernelError, _ what: String) {
        if e != .noError { fail("\(what) failed: \(e)") }
    }

    private static func fail(_ why: String) -> Never {
        debugPrint("root: \(why)\n")
        seL4.debugHalt()
        fatalError("root task halted: \(why)")
    }
}
