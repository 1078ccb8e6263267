// SPDX-License-Identifier: Apache-2.0
//
// The register order of `seL4_UserContext` on x86_64, used by TCB_ReadRegisters,
// WriteRegisters and CopyRegisters. seL4 splits them into 18 "frame" registers (rip
// through r15) and 2 "integer" registers (fs_base, gs_base); CopyRegisters copies each
// group on its own flag.

/// Index of each register in `seL4_UserContext`.
public enum UserRegister: Int, Sendable, CaseIterable {
    case rip, rsp, rflags, rax, rbx, rcx, rdx, rsi, rdi, rbp
    case r8, r9, r10, r11, r12, r13, r14, r15, fsBase, gsBase

    /// Number of registers in `seL4_UserContext`.
    public static let count = 20
    /// The frame registers (`n_frameRegisters`), in context order from index 0.
    public static let frameCount = 18
    /// The integer registers (`n_gpRegisters`) follow the frame registers.
    public static let gpCount = 2
}
