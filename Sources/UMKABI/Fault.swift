// SPDX-License-Identifier: Apache-2.0
//
// Fault types (`seL4_FaultType`, non-MCS) and the message layouts of the fault IPC a
// faulting thread sends to its fault endpoint (x86_64, `libsel4/sel4_arch_include/x86_64/
// sel4/sel4_arch/faults.h` and the generic `faults.h`).

/// The label of a fault message.
public enum FaultType: UInt64, Sendable, CaseIterable {
    case nullFault = 0
    case capFault = 1
    case unknownSyscall = 2
    case userException = 3
    case debugException = 4
    case vmFault = 5
}

/// Message register indices and lengths of each fault message.
public enum FaultLayout {
    /// CapFault: IP, CPtr, InRecvPhase, lookup failure type, then the failure's details.
    public enum CapFault {
        public static let ip = 0
        public static let address = 1
        public static let inRecvPhase = 2
        public static let lookupFailureType = 3
        public static let bitsLeft = 4
        /// DepthMismatch's bitsFound and GuardMismatch's guardFound.
        public static let guardMismatchGuardFound = 5
        public static let depthMismatchBitsFound = 5
        public static let guardMismatchBitsFound = 6
        public static let length = 7
    }
    /// UnknownSyscall: the general registers, FaultIP, SP, FLAGS and the syscall number.
    public enum UnknownSyscall {
        public static let rax = 0, rbx = 1, rcx = 2, rdx = 3, rsi = 4, rdi = 5, rbp = 6
        public static let r8 = 7, r9 = 8, r10 = 9, r11 = 10, r12 = 11, r13 = 12, r14 = 13, r15 = 14
        public static let faultIP = 15
        public static let sp = 16
        public static let flags = 17
        public static let syscall = 18
        public static let length = 19
    }
    /// UserException: FaultIP, SP, FLAGS, exception vector, error code.
    public enum UserException {
        public static let faultIP = 0
        public static let sp = 1
        public static let flags = 2
        public static let number = 3
        public static let code = 4
        public static let length = 5
    }
    /// VMFault: IP, address, prefetch (instruction fetch) flag, x86 #PF error code.
    public enum VMFault {
        public static let ip = 0
        public static let address = 1
        public static let prefetchFault = 2
        public static let fsr = 3
        public static let length = 4
    }
}
