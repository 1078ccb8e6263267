// SPDX-License-Identifier: Apache-2.0
//
// seL4's non-MCS scheduler (src/kernel/thread.c): 256 priority queues with a two-level
// bitmap, Benno scheduling (the running thread is not in a queue; blocked threads never
// are), head insertion for a preempted or resumed thread and tail insertion for time-slice
// expiry and Yield, and the possibleSwitchTo rules for direct switches on IPC.

import UMKABI

extension Kernel {
    // MARK: - Ready queues

    private func addToBitmap(_ prio: UInt64) {
        let l1 = prio >> 6
        globals.pointee.bitmapL1 |= 1 << l1
        globals.pointee.bitmapL2[Int(l1)] |= 1 << (prio & 63)
    }

    private func removeFromBitmap(_ prio: UInt64) {
        let l1 = prio >> 6
        globals.pointee.bitmapL2[Int(l1)] &= ~(1 << (prio & 63))
        if globals.pointee.bitmapL2[Int(l1)] == 0 {
            globals.pointee.bitmapL1 &= ~(1 << l1)
        }
    }

    /// The highest priority with a ready thread (the bitmap must be non-empty).
    func highestReadyPriority() -> UInt64 {
        let l1 = UInt64(63 - globals.pointee.bitmapL1.leadingZeroBitCount)
        let l2 = UInt64(63 - globals.pointee.bitmapL2[Int(l1)].leadingZeroBitCount)
        return l1 << 6 | l2
    }

    /// seL4: isHighestPrio — no ready thread has a higher priority than `prio`.
    package func isHighestPriority(_ prio: UInt64) -> Bool {
        globals.pointee.bitmapL1 == 0 || prio >= highestReadyPriority()
    }

    /// seL4: tcbSchedEnqueue — insert at the head of the thread's priority queue.
    func tcbSchedEnqueue(_ t: TCBRef) {
        guard t.pointee.inReadyQueue == 0 else { return }
        let prio = t.pointee.priority
        var q = globals.pointee.readyQueues[Int(prio)]
        if q.tail == 0 { addToBitmap(prio) }
        t.pointee.schedPrev = 0
        t.pointee.schedNext = q.head
        if q.head != 0 { tcb(q.head).pointee.schedPrev = t.paddr } else { q.tail = t.paddr }
        q.head = t.paddr
        globals.pointee.readyQueues[Int(prio)] = q
        t.pointee.inReadyQueue = 1
    }

    /// seL4: tcbSchedAppend — insert at the tail of the thread's priority queue.
    func tcbSchedAppend(_ t: TCBRef) {
        guard t.pointee.inReadyQueue == 0 else { return }
        let prio = t.pointee.priority
        var q = globals.pointee.readyQueues[Int(prio)]
        if q.head == 0 { addToBitmap(prio) }
        t.pointee.schedNext = 0
        t.pointee.schedPrev = q.tail
        if q.tail != 0 { tcb(q.tail).pointee.schedNext = t.paddr } else { q.head = t.paddr }
        q.tail = t.paddr
        globals.pointee.readyQueues[Int(prio)] = q
        t.pointee.inReadyQueue = 1
    }

    /// seL4: tcbSchedDequeue.
    func tcbSchedDequeue(_ t: TCBRef) {
        guard t.pointee.inReadyQueue != 0 else { return }
        let prio = t.pointee.priority
        var q = globals.pointee.readyQueues[Int(prio)]
        let prev = t.pointee.schedPrev, next = t.pointee.schedNext
        if prev != 0 { tcb(prev).pointee.schedNext = next } else { q.head = next }
        if next != 0 { tcb(next).pointee.schedPrev = prev } else { q.tail = prev }
        globals.pointee.readyQueues[Int(prio)] = q
        if q.head == 0 { removeFromBitmap(prio) }
        t.pointee.inReadyQueue = 0
        t.pointee.schedNext = 0
        t.pointee.schedPrev = 0
    }

    /// The threads in the ready queue of `priority`, head first (for tests and dumps).
    public func readyQueue(priority: UInt64) -> [TCBRef] {
        var result: [TCBRef] = []
        var p = globals.pointee.readyQueues[Int(priority)].head
        while p != 0 { result.append(tcb(p)); p = tcb(p).pointee.schedNext }
        return result
    }

    // MARK: - Thread state and scheduling decisions

    /// seL4: setThreadState.
    func setThreadState(_ t: TCBRef, _ state: ThreadState) {
        t.pointee.state = state
        scheduleTCB(t)
    }

    /// seL4: scheduleTCB — the current thread stopped being runnable: choose another.
    func scheduleTCB(_ t: TCBRef) {
        if t == currentThread && schedulerAction == .resumeCurrentThread && !t.pointee.state.isRunnable {
            rescheduleRequired()
        }
    }

    /// seL4: rescheduleRequired.
    func rescheduleRequired() {
        if case .switchToThread(let t) = schedulerAction { tcbSchedEnqueue(t) }
        schedulerAction = .chooseNewThread
    }

    /// seL4: possibleSwitchTo — a thread became runnable; maybe run it next.
    func possibleSwitchTo(_ target: TCBRef) {
        if target.pointee.domain != globals.pointee.currentDomain {
            tcbSchedEnqueue(target)
        } else if schedulerAction != .resumeCurrentThread {
            rescheduleRequired()
            tcbSchedEnqueue(target)
        } else {
            schedulerAction = .switchToThread(target)
        }
    }

    /// seL4: schedule — carry out the pending scheduler action.
    public func schedule() {
        let action = schedulerAction
        if action != .resumeCurrentThread {
            let current = currentThread
            let wasRunnable = current.pointee.state.isRunnable && current != idleThread
            if wasRunnable { tcbSchedEnqueue(current) }
            if case .switchToThread(let candidate) = action {
                let fastfail = current == idleThread || candidate.pointee.priority < current.pointee.priority
                if fastfail && !isHighestPriority(candidate.pointee.priority) {
                    tcbSchedEnqueue(candidate)
                    schedulerAction = .chooseNewThread
                    chooseThread()
                } else if wasRunnable && candidate.pointee.priority == current.pointee.priority {
                    tcbSchedAppend(candidate)
                    schedulerAction = .chooseNewThread
                    chooseThread()
                } else {
                    switchToThread(candidate)
                }
            } else {
                chooseThread()
            }
        }
        schedulerAction = .resumeCurrentThread
    }

    /// seL4: chooseThread — the head of the highest non-empty queue, else idle.
    func chooseThread() {
        if globals.pointee.bitmapL1 != 0 {
            let prio = highestReadyPriority()
            switchToThread(tcb(globals.pointee.readyQueues[Int(prio)].head))
        } else {
            currentThread = idleThread
        }
    }

    /// seL4: switchToThread — Benno: the running thread leaves the ready queue.
    func switchToThread(_ t: TCBRef) {
        tcbSchedDequeue(t)
        currentThread = t
    }

    /// Makes runnable `t` the current thread, the running one going back to its queue: a
    /// scheduling choice among runnable threads (test harnesses and the fuzzer use it).
    public func makeCurrent(_ t: TCBRef) {
        guard t != currentThread, t.pointee.state.isRunnable else { return }
        tcbSchedDequeue(t)
        if currentThread.pointee.state.isRunnable && currentThread != idleThread { tcbSchedEnqueue(currentThread) }
        currentThread = t
        activateThread()
    }

    /// seL4: activateThread — a restarted thread re-executes its syscall or instruction.
    public func activateThread() {
        let t = currentThread
        switch t.pointee.state {
        case .running, .idle:
            break
        case .restart:
            t.pointee.nextIP = t.pointee[.rip]
            setThreadState(t, .running)
        default:
            fatalError("activateThread: current thread \(t.name) is blocked")
        }
    }

    /// seL4: timerTick — time-slice accounting; expiry sends the thread to its queue's tail.
    public func timerTick() {
        globals.pointee.ticks += 1
        let t = currentThread
        guard t != idleThread, t.pointee.state == .running else { return }
        if t.pointee.timeSlice > 1 {
            t.pointee.timeSlice -= 1
        } else {
            t.pointee.timeSlice = KernelLayout.timeSlice
            if trace.enabled { tracePreempted(t) }
            tcbSchedAppend(t)
            rescheduleRequired()
        }
    }
}
