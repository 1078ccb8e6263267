// SPDX-License-Identifier: Apache-2.0
//
// Preemption points (seL4 src/model/preemption.c): the kernel is not preemptible, so a
// long operation (delete, revoke, an untyped's reset) counts its work and, every
// `workUnitsPerPreemption` units, asks the machine whether an interrupt waits. If one
// does, the operation stops with `.preempted`, keeping the progress it made: the syscall
// entry takes the interrupts and the thread, left in Restart, re-issues the syscall later.

extension Kernel {
    /// seL4: preemptionPoint — every `workUnitsPerPreemption` units, stop if an IRQ waits.
    func preemptionPoint() throws(KernelException) {
        globals.pointee.workUnitsCompleted += 1
        if globals.pointee.workUnitsCompleted >= KernelLayout.workUnitsPerPreemption {
            globals.pointee.workUnitsCompleted = 0
            if hal.isInterruptPending() { throw .preempted }
        }
    }
}
