// SPDX-License-Identifier: Apache-2.0
//
// ping-pong: ping calls pong across address spaces; pong answers each call with the
// number plus one and the badge it saw (ping's client end's badge).

import UMKGuest
import Servers

enum PingPong {
    static let pong: Program = { info in
        guard let endpoint = info.cap(named: "ping-pong")?.id else { return 1 }
        var (msg, badge) = seL4.recv(endpoint)
        while true {
            let n = msg.length >= 1 ? IPCBuffer.getMR(0) : 0
            IPCBuffer.setMR(0, n &+ 1)
            IPCBuffer.setMR(1, badge)
            (msg, badge) = seL4.replyRecv(endpoint, MessageInfo(label: 0, length: 2))
        }
    }

    static let ping: Program = { info in
        guard let endpoint = info.cap(named: "ping-pong")?.id else { return 1 }
        let rounds = info.args.first.flatMap { UInt64($0) } ?? 1000
        var badge: UInt64 = 0
        for n in 0..<rounds {
            IPCBuffer.setMR(0, n)
            let reply = seL4.call(endpoint, MessageInfo(label: 0, length: 1))
            guard reply.length == 2, IPCBuffer.getMR(0) == n + 1 else {
                debugPrint("ping: call \(n) got a wrong answer\n")
                return 1
            }
            badge = IPCBuffer.getMR(1)
        }
        debugPrint("ping: \(rounds) calls answered in order by pong (which saw badge \(badge))\n")
        return 0
    }
}
