// SPDX-License-Identifier: Apache-2.0
//
// pager-demo: the worker's heap is backed lazily by the pager, a page at first touch;
// the wild task writes far outside its heap, the pager refuses and reports it, and init
// reports the crash and stops it while the worker goes on.

import UMKGuest
import Servers

enum PagerDemo {
    static let worker: Program = { info in
        guard let heap = info.heap else { return 1 }
        let pages = heap.size / 4096
        let base = heap.address
        var zero = true
        for i in 0..<pages {
            // SAFETY: the heap lies in this task's window; the pager backs each page on touch.
            let p = unsafe UnsafeMutablePointer<UInt64>(bitPattern: UInt(base + i * 4096))!
            if unsafe p.pointee != 0 { zero = false }
            unsafe p.pointee = i &* 3
        }
        var sum: UInt64 = 0
        for i in 0..<pages { sum &+= unsafe UnsafeMutablePointer<UInt64>(bitPattern: UInt(base + i * 4096))!.pointee }
        let expected = (0..<pages).reduce(0) { $0 &+ $1 &* 3 }
        debugPrint("worker: touched \(pages) pages of its \(heap.size >> 20) MiB heap, each backed at first touch; "
                   + "fresh pages zero: \(zero), sum \(sum == expected ? "correct" : "WRONG")\n")
        return sum == expected && zero ? 0 : 1
    }

    static let wild: Program = { info in
        guard let heap = info.heap else { return 1 }
        IPCBuffer.store(heap.address, 42)
        debugPrint("wild: my heap works; now a wild pointer\n")
        IPCBuffer.store(0x9000_0000, 1)
        debugPrint("wild: still running?\n")
        return 0
    }
}
