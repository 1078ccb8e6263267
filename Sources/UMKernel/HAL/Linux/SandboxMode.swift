// SPDX-License-Identifier: Apache-2.0
//
// Whether a Linux machine confines its process once the system is built (CShims
// sandbox.c): a seccomp allow-list of the host syscalls a running system needs. A guest's
// host syscall off the list is not run and becomes seL4's UnknownSyscall fault with the
// host's number (positive, where seL4's are negative); umk's own is reported and umk stops.
// A process can be confined once, for good: the machine that does it is the process's
// last (umk run's), and in-process users (tests, benchmarks) leave it off.

/// The sandbox a Linux machine installs before its first guest runs.
public enum SandboxMode: String, Sendable, CaseIterable {
    /// No filter.
    case off
    /// Host syscalls off the list are refused (a fault for a guest).
    case on
    /// Host syscalls off the list run, and the host kernel logs them (its audit log).
    case audit
}
