// SPDX-License-Identifier: Apache-2.0
//
// c-crash: what init's crash reports say. A C task's null write names its function; a
// Swift task that recurses without end overflows its stack; one whose arithmetic
// overflows hits Swift's runtime trap.

import Servers
import UMKGuest

enum Crashes {
    static let deep: Program = { info in
        debugPrint("\(info.name): recursing without end\n")
        return Int32(truncatingIfNeeded: recurse(1))
    }

    @inline(never) static func recurse(_ n: Int) -> Int {
        var frame = (n, n &+ 1, n &+ 2, n &+ 3)
        // The frame's address escapes into the call, so every level keeps its own frame.
        return unsafe withUnsafeMutablePointer(to: &frame) { p in unsafe recurse(n &+ p.pointee.1) &+ p.pointee.0 }
    }

    static let trap: Program = { info in
        debugPrint("\(info.name): adding one to Int.max\n")
        var x = Int.max - info.args.count
        x += 1 + info.args.count
        debugPrint("\(info.name): still running (\(x))\n")
        return 0
    }
}
