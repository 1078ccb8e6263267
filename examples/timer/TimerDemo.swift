// SPDX-License-Identifier: Apache-2.0
//
// timer: a task sleeps for given delays and until a deadline through the timer server
// (PIT, IRQ 0), then runs a job in steps against a timeout.

import UMKGuest
import Servers

enum TimerDemo {
    static let sleeper: Program = { info in
        guard let timer = info.cap(named: "sleeper-timer")?.id else { return 1 }
        for ms: UInt64 in [10, 20, 5] {
            let before = TimerClient.now(timer)
            let after = TimerClient.sleep(timer, nanoseconds: ms * 1_000_000)
            let slept = (after - before) / 1_000_000
            debugPrint("sleeper: asked for \(ms) ms, slept \(slept >= ms ? "at least that" : "LESS (\(slept) ms)")\n")
            if slept < ms { return 1 }
        }
        let deadline = TimerClient.now(timer) + 15_000_000
        let woke = TimerClient.sleep(timer, until: deadline)
        debugPrint("sleeper: woke \(woke >= deadline ? "at or after" : "BEFORE") its deadline\n")
        // A job of 1 ms steps under a 12 ms timeout: it stops when the time is up.
        let timeout = TimerClient.now(timer) + 12_000_000
        var steps = 0
        while TimerClient.now(timer) < timeout && steps < 100 {
            _ = TimerClient.sleep(timer, nanoseconds: 1_000_000)
            steps += 1
        }
        debugPrint("sleeper: job timed out after \(steps) steps of 1 ms (timeout 12 ms)\n")
        return woke >= deadline && steps >= 6 && steps <= 12 ? 0 : 1
    }
}
