// SPDX-License-Identifier: Apache-2.0
//
// name-lookup: the echo server registers its endpoint with the name service under "echo";
// the client looks it up (the cap arrives by capability transfer) and calls it. The
// service's errors show too: an unknown name, a duplicate, unregistering someone else's.

import UMKGuest
import Servers

enum NameLookup {
    static let echoServer: Program = { info in
        guard let names = info.cap(named: "echo-names")?.id, let endpoint = info.cap(named: "echo")?.id else { return 1 }
        // Clients get a badged cap that may call (not receive): minted into a free slot.
        let clientCap = info.freeSlots.start
        guard CNode.mint(TaskLayout.cnodeSlot, destIndex: clientCap, destDepth: info.cnodeBits, srcRoot: TaskLayout.cnodeSlot,
                         srcIndex: endpoint, srcDepth: info.cnodeBits, rights: [.write, .grant, .grantReply],
                         badge: 0xEC40) == .noError else { return 1 }
        let first = NameClient.register(names, "echo", endpoint: clientCap)
        let again = NameClient.register(names, "echo", endpoint: clientCap)
        debugPrint("echo: register \"echo\": \(first); again: \(again)\n")
        var (msg, badge) = seL4.recv(endpoint)
        while true {
            let text = String(decoding: IPCBuffer.getBytes(Int(min(IPCBuffer.getMR(0), 256)), from: 1), as: UTF8.self)
            let answer = Array("\(text.uppercased()) (badge \(hex(badge)))".utf8)
            IPCBuffer.setMR(0, UInt64(answer.count))
            let words = IPCBuffer.setBytes(answer, from: 1)
            (msg, badge) = seL4.replyRecv(endpoint, MessageInfo(label: 0, length: UInt64(1 + words)))
            _ = msg
        }
    }

    static let client: Program = { info in
        guard let names = info.cap(named: "client-names")?.id else { return 1 }
        let slot = info.freeSlots.start
        switch NameClient.lookup(names, "no-such-service", root: TaskLayout.cnodeSlot, index: slot, depth: info.cnodeBits) {
        case .success: debugPrint("client: found a name nobody registered?\n"); return 1
        case .failure(let e): debugPrint("client: lookup \"no-such-service\": \(e)\n")
        }
        guard case .success(let owner) = NameClient.lookup(names, "echo", root: TaskLayout.cnodeSlot, index: slot,
                                                           depth: info.cnodeBits) else {
            debugPrint("client: \"echo\" is not registered\n")
            return 1
        }
        let text = Array("hello through the name service".utf8)
        IPCBuffer.setMR(0, UInt64(text.count))
        let words = IPCBuffer.setBytes(text, from: 1)
        _ = seL4.call(slot, MessageInfo(label: 0, length: UInt64(1 + words)))
        let answer = String(decoding: IPCBuffer.getBytes(Int(IPCBuffer.getMR(0)), from: 1), as: UTF8.self)
        debugPrint("client: \"echo\" (registered by badge \(owner)) answered: \(answer)\n")
        debugPrint("client: unregister \"echo\": \(NameClient.unregister(names, "echo"))\n")
        return 0
    }
}
