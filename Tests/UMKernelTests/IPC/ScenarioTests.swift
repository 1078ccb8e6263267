// SPDX-License-Identifier: Apache-2.0
//
// A whole small system from the boot state: a server and a client task, each with its own
// CSpace and VSpace, a badged endpoint between them and a notification bound to the
// server. The client calls with every message length 0...120, through the fastpath and
// the slowpath, transferring a cap now and then; half way the root revokes the caps the
// server collected, and the exchanges go on.

import Testing
import UMKABI
@testable import UMKernel

@Suite("Scenario")
struct ScenarioTests {
    @Test("client/server exchanges of every length 0...120, fastpath and slowpath, caps transferred and revoked")
    func clientServer() {
        let h = KernelHarness()
        let ep = h.retype(.endpoint)[0]
        let ntfn = h.retype(.notification)[0]
        let gift = h.retype(.notification)[0]
        let server = h.makeTask(priority: 100, name: "server")
        let client = h.makeTask(priority: 50, name: "client")
        // Server CSpace: 1 = endpoint (Read + Grant), 2 = its notification, 10... receive slots.
        h.give(server, ep, at: 1, rights: [.read, .grant])
        h.give(server, ntfn, at: 2, rights: [.read])
        h.give(server, server.cnodeSlot, at: 4)
        // Client CSpace: 1 = badged endpoint (Write + Grant), 3 = a cap it hands over.
        h.give(client, ep, at: 1, rights: [.write, .grant, .grantReply], badge: 0x42)
        h.give(client, gift, at: 3)
        #expect(h.error(server.tcbSlot, .tcbBindNotification, caps: [ntfn]) == .noError)
        #expect(h.error(server.tcbSlot, .tcbResume) == .noError)
        #expect(h.error(client.tcbSlot, .tcbResume) == .noError)
        // The root steps aside: the server (100) runs, then the client (50).
        #expect(h.error(InitialCap.initThreadTCB.rawValue, .tcbSetPriority, [10], caps: [InitialCap.initThreadTCB.rawValue]) == .noError)
        #expect(h.k.currentThread == server.tcb)

        h.syscall(.recv, cptr: 1)
        #expect(server.tcb.pointee.state == .blockedOnReceive)
        #expect(h.k.currentThread == client.tcb)

        var nextReceiveSlot: UInt64 = 10
        var revoked = false
        for slowpath in [false, true] {
            for length in 0...120 {
                // Client: Call with `length` words; every 10th message carries the gift cap.
                #expect(h.k.currentThread == client.tcb)
                let sendsCap = length % 10 == 5
                let words = (0..<length).map { UInt64($0) &* 0x1_0001 ^ UInt64(length) }
                h.syscall(.call, cptr: 1,
                          info: MessageInfo(label: 7, extraCaps: sendsCap ? 1 : 0, length: UInt64(length)),
                          mrs: words, caps: sendsCap ? [3] : [], slowpath: slowpath)
                #expect(client.tcb.pointee.state == .blockedOnReply)
                // Server: it received the message, badge and maybe the cap.
                #expect(h.k.currentThread == server.tcb)
                let got = h.reply(server.tcb)
                #expect(got.badge == 0x42)
                #expect(got.label == 7)
                #expect(got.mrs == words, "length \(length)")
                if sendsCap {
                    #expect(got.info.extraCaps == 1)
                    #expect(h.taskCap(server, nextReceiveSlot).type == .notification)
                    nextReceiveSlot += 1
                }
                // Half way through the first pass the root revokes every copy of the gift
                // (the server's received caps and the client's own), then re-gives it.
                if !slowpath && length == 60 && !revoked {
                    revoked = true
                    h.run(h.root)
                    #expect(h.error(InitialCap.initThreadCNode.rawValue, .cnodeRevoke, [gift, 64]) == .noError)
                    for s in 10..<nextReceiveSlot { #expect(h.taskCap(server, s).isNull) }
                    #expect(h.taskCap(client, 3).isNull)
                    h.give(client, gift, at: 3)
                    h.run(server.tcb)
                }
                // Server: ReplyRecv with `length` words back, receive slot set for the next cap.
                h.setReceiveSlot(server.tcb, cnode: 4, index: nextReceiveSlot, depth: KernelHarness.taskRadix)
                let back = words.map { ~$0 }
                h.syscall(.replyRecv, cptr: 1, info: MessageInfo(label: 0, length: UInt64(length)), mrs: back,
                          slowpath: slowpath)
                #expect(server.tcb.pointee.state == .blockedOnReceive)
                #expect(h.k.currentThread == client.tcb)
                let answer = h.reply(client.tcb)
                #expect(answer.mrs == back, "reply length \(length)")
                #expect(answer.badge == 0)
            }
        }
        // A signal to the server's bound notification wakes it from its endpoint receive.
        h.run(h.root)
        let badged = h.allocSlot()
        #expect(h.error(InitialCap.initThreadCNode.rawValue, .cnodeMint,
                        [badged, 64, ntfn, 64, CapRights.all.rawValue, 0x8], caps: [InitialCap.initThreadCNode.rawValue]) == .noError)
        h.syscall(.send, cptr: badged)
        #expect(h.k.currentThread == server.tcb)
        #expect(server.tcb.pointee.state == .running)
        #expect(server.tcb.pointee[.rdi] == 0x8)
    }
}
