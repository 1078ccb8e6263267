// SPDX-License-Identifier: Apache-2.0
//
// c-echo's Swift client: the same call as the C clients make, through UMKGuest, to the
// C server: a Swift program and a C image speak seL4's IPC to each other unchanged.

import Servers
import UMKGuest

enum CEcho {
    static let swiftClient: Program = { info in
        guard let endpoint = info.cap(named: "echo-swift")?.id else { return 1 }
        let text = Array((info.args.first ?? "hello").utf8)
        let words = IPCBuffer.setBytes(text + [0], from: 0)
        let reply = seL4.call(endpoint, MessageInfo(label: 1, length: UInt64(words)))
        let echoed = IPCBuffer.getBytes(Int(reply.length) * 8, from: 0).prefix { $0 != 0 }
        let same = Array(echoed) == text
        debugPrint("\(info.name): sent \(words) words from Swift, got them back \(same ? "unchanged" : "changed"), "
                   + "labelled with my badge \(reply.label)\n")
        return same ? 0 : 1
    }
}
