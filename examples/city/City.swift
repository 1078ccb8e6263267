// SPDX-License-Identifier: Apache-2.0
//
// city: ten tasks using everything at once. A key-value server registers with the name
// service; four workers find it by name, compute on heaps their pager backs lazily, sleep
// on the timer server, post results to a shared region and the key-value server, print
// through the console driver and signal the reporter, which waits for all four and prints
// the summary.

import UMKGuest
import Servers

enum City {
    static func register() {
        ProgramRegistry.register("kv-server", kvServer)
        ProgramRegistry.register("city-worker", worker)
        ProgramRegistry.register("city-reporter", reporter)
    }

    enum KV: UInt64 { case put = 1, get = 2 }

    static let kvServer: Program = { info in
        guard let names = info.cap(named: "kv-names")?.id, let endpoint = info.cap(named: "kv")?.id else { return 1 }
        let clientCap = info.freeSlots.start
        guard CNode.mint(TaskLayout.cnodeSlot, destIndex: clientCap, destDepth: info.cnodeBits, srcRoot: TaskLayout.cnodeSlot,
                         srcIndex: endpoint, srcDepth: info.cnodeBits, rights: [.write, .grantReply], badge: 1) == .noError,
              NameClient.register(names, "kv", endpoint: clientCap) == .ok else { return 1 }
        var store: [UInt64: UInt64] = [:]
        var (msg, _) = seL4.recv(endpoint)
        while true {
            var reply = MessageInfo(label: 0, length: 0)
            switch KV(rawValue: msg.label) {
            case .put?: store[IPCBuffer.getMR(0)] = IPCBuffer.getMR(1)
            case .get?:
                IPCBuffer.setMR(0, store[IPCBuffer.getMR(0)] ?? 0)
                reply = MessageInfo(label: 0, length: 1)
            case nil: reply = MessageInfo(label: 1, length: 0)
            }
            (msg, _) = seL4.replyRecv(endpoint, reply)
        }
    }

    /// Finds "kv" (the key-value server may not have registered yet: retry after a sleep).
    static func findKV(_ info: StartInfo, names: CPtr, timer: CPtr?) -> CPtr? {
        let slot = info.freeSlots.start
        for _ in 0..<100 {
            if case .success = NameClient.lookup(names, "kv", root: TaskLayout.cnodeSlot, index: slot, depth: info.cnodeBits) {
                return slot
            }
            if let timer { _ = TimerClient.sleep(timer, nanoseconds: 1_000_000) } else { seL4.yield() }
        }
        return nil
    }

    static let worker: Program = { info in
        guard let names = info.cap(named: "\(info.name)-names")?.id, let timer = info.cap(named: "\(info.name)-timer")?.id,
              let console = info.cap(named: "\(info.name)-console")?.id, let done = info.cap(named: "\(info.name)-done")?.id,
              let heap = info.heap, let index = info.args.first.flatMap({ UInt64($0) }),
              let board = info.region("board")?.address, let kv = findKV(info, names: names, timer: timer) else { return 1 }
        // Work on the heap: each page is backed by the pager at first touch.
        let base = heap.address
        var sum: UInt64 = 0
        for page in 0..<(heap.size / 4096) {
            // SAFETY: the heap lies in this task's window; the pager backs each page on touch.
            let p = unsafe UnsafeMutablePointer<UInt64>(bitPattern: UInt(base + page * 4096))!
            unsafe p.pointee = page * index
            sum &+= unsafe p.pointee
        }
        _ = TimerClient.sleep(timer, nanoseconds: index * 5_000_000)
        IPCBuffer.store(board + index * 8, sum)
        IPCBuffer.setMR(0, index)
        IPCBuffer.setMR(1, sum)
        _ = seL4.call(kv, MessageInfo(label: KV.put.rawValue, length: 2))
        ConsoleClient.write(console, "\(info.name): \(heap.size / 4096) heap pages, result \(sum), posted\n")
        seL4.signal(done)
        return 0
    }

    static let reporter: Program = { info in
        guard let names = info.cap(named: "reporter-names")?.id, let console = info.cap(named: "reporter-console")?.id,
              let done = info.cap(5)?.id, let board = info.region("board") else { return 1 }
        let workers = info.args.first.flatMap { UInt64($0) } ?? 4
        ConsoleClient.write(console, "reporter: waiting for \(workers) workers\n")
        var seen: UInt64 = 0
        while seen.nonzeroBitCount < Int(workers) { seen |= seL4.wait(done) }
        guard let kv = findKV(info, names: names, timer: nil) else { return 1 }
        var agree = true
        var total: UInt64 = 0
        for i in 1...workers {
            IPCBuffer.setMR(0, i)
            _ = seL4.call(kv, MessageInfo(label: KV.get.rawValue, length: 1))
            let stored = IPCBuffer.getMR(0), posted = IPCBuffer.load(board.address + i * 8)
            if stored != posted { agree = false }
            total &+= stored
        }
        ConsoleClient.write(console, "city: all \(workers) workers reported; total \(total); region and kv \(agree ? "agree" : "DISAGREE")\n")
        return agree ? 0 : 1
    }
}
