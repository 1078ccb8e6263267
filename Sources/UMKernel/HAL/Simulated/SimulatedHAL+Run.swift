// SPDX-License-Identifier: Apache-2.0
//
// The kernel's loop on the simulated machine, with scripted guests: the same `handle` and
// `resumeNext` the Linux machine runs, where a test plays each thread the kernel restores.
// The loop's own policy (restarts re-issued, a fresh thread's first-frame check, a thread
// with no address space stopped, idle and the end of a run) is tested this way.

extension Kernel where H == SimulatedHAL {
    /// One resumption the kernel made: the thread and how it went back to user mode.
    public typealias Resumed = (thread: TCBRef, how: Resumption)

    /// Runs the kernel's loop from the current state: each time the kernel restores a
    /// thread, `guest` plays it (it reads and sets the thread's registers in its TCB as the
    /// machine's entry would have saved them) and returns the event the thread comes back
    /// with, or nil to end the run. Stops after `limit` resumptions or when the kernel ends
    /// the run. Returns the resumptions, in order.
    @discardableResult
    public func runScripted(limit: Int = 1000, _ guest: (TCBRef, Resumption) -> KernelEvent?) -> [Resumed] {
        var log: [Resumed] = []
        var next = resumeNext()
        while let t = next, log.count < limit {
            let how = hal.lastRestored!.how
            log.append((t, how))
            guard let event = guest(t, how) else { break }
            next = handle(event)
        }
        return log
    }
}
