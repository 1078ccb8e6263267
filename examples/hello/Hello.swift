// SPDX-License-Identifier: Apache-2.0
//
// hello: a task that greets through the console driver (channel id 1) and exits.

import Servers
import UMKGuest

enum Hello {
    static let main: Program = { info in
        let who = info.args.first ?? "world"
        guard let console = info.cap(named: "hello-console")?.id else { return 1 }
        ConsoleClient.write(console, "hello, \(who), from task '\(info.name)' (id \(info.taskID))\n")
        return 0
    }
}
