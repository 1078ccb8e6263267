// SPDX-License-Identifier: Apache-2.0
//
// Two programs of the user's own: a counter server that answers each call with the next
// number, and a greeter that asks it three times and prints through the console driver.

import UMKRuntime

/// Answers every call with the next number (a service: it never ends).
enum Counter {
    static let main: Program = { info in
        guard let endpoint = info.cap(named: "count")?.id else { return 1 }
        var next: UInt64 = 0
        _ = seL4.recv(endpoint)
        while true {
            next += 1
            IPCBuffer.setMR(0, next)
            _ = seL4.replyRecv(endpoint, MessageInfo(label: 0, length: 1))
        }
    }
}

/// Calls the counter three times and reports what it got.
enum Greeter {
    static let main: Program = { info in
        guard let console = info.cap(named: "greeter-console")?.id,
              let counter = info.cap(named: "count")?.id else { return 1 }
        var got: [UInt64] = []
        for _ in 0..<3 {
            let reply = seL4.call(counter, MessageInfo(label: 1, length: 0))
            got.append(reply.length == 1 ? IPCBuffer.getMR(0) : 0)
        }
        ConsoleClient.write(console, "greeter: hello from a package of my own; the counter said \(got)\n")
        return got == [1, 2, 3] ? 0 : 1
    }
}
