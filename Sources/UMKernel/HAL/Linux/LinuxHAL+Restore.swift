// SPDX-License-Identifier: Apache-2.0
//
// The Linux machine's restore (seL4: restore_user_context): the thread the kernel chose
// becomes the context the switch stub resumes. A thread back from umk_syscall gets its
// results in its io block; one stopped by a signal gets every register back from its TCB
// into its full frame (the stub restores them and the FP state); a fresh start is a fresh
// full frame with every register as written and the default FP state. The thread's FS
// base (seL4's TLS base) waits in its context, kept there whenever the kernel writes it
// (`registersWritten`); the switch loads it if not zero.
// Addresses in the TCB are host addresses: nothing is translated.

import CShims

extension LinuxHAL {
    /// Inline, as every kernel exit runs it: the return from a syscall stays on the
    /// fastpath's straight line; the rarer restores are calls of their own.
    @inline(__always)
    public mutating func restore(_ n: TCBRef, _ how: Resumption, asid: UInt64?) {
        // Mappings made for the thread's own address space become real before it runs
        // (those of other address spaces may wait: a pager's run of Maps for a client is
        // one host mapping when the client next runs).
        if pendingRunASID != .max, pendingRunASID == asid { commitMappings() }
        // Strict mode: the thread's window open (its io block is written below), the rest closed.
        if strict { strictSwitch(to: asid) }
        let area = unsafe LinuxThreadArea.of(n, physmap)
        switch how {
        case .syscallReturn:
            unsafe returnFromSyscall(n, area)
        case .exceptionReturn:
            unsafe returnFromException(n, area)
        case .start(let first):
            start(n, first: first)
        }
        unsafe area.pointee.entryASID = asid ?? 0
        let ctx = unsafe LinuxThreadArea.context(n, physmap)
        unsafe umk_context_set_current(ctx, n.pointee.ipcBuffer)
        // The guest's Swift access set goes back in the entry glue, once the kernel's own
        // accesses (this call's, to the HAL) have ended (LinuxSystem.swift).
    }

    /// Every register back from the TCB into the signal frame the stub restores.
    @inline(never)
    mutating func returnFromException(_ n: TCBRef, _ area: UnsafeMutablePointer<LinuxThreadArea>) {
        // Every register comes back from the TCB (a fault handler may have changed
        // them), the FP state from the frame.
        // SAFETY: the frame is inside the TCB's machine area, in RAM.
        unsafe area.pointee.frame.rax = n.pointee[.rax]; unsafe area.pointee.frame.rbx = n.pointee[.rbx]
        unsafe area.pointee.frame.rcx = n.pointee[.rcx]; unsafe area.pointee.frame.rdx = n.pointee[.rdx]
        unsafe area.pointee.frame.rsi = n.pointee[.rsi]; unsafe area.pointee.frame.rdi = n.pointee[.rdi]
        unsafe area.pointee.frame.rbp = n.pointee[.rbp]; unsafe area.pointee.frame.r8 = n.pointee[.r8]
        unsafe area.pointee.frame.r9 = n.pointee[.r9]; unsafe area.pointee.frame.r10 = n.pointee[.r10]
        unsafe area.pointee.frame.r11 = n.pointee[.r11]; unsafe area.pointee.frame.r12 = n.pointee[.r12]
        unsafe area.pointee.frame.r13 = n.pointee[.r13]; unsafe area.pointee.frame.r14 = n.pointee[.r14]
        unsafe area.pointee.frame.r15 = n.pointee[.r15]
        unsafe area.pointee.frame.rip = n.pointee.nextIP
        unsafe area.pointee.frame.rsp = n.pointee[.rsp]
        unsafe area.pointee.frame.rflags = sanitiseRegister(.rflags, n.pointee[.rflags])
        // A program image's code runs with its syscalls trapped (Syscall User Dispatch);
        // a Swift guest's (umk's own text) with the host's.
        unsafe area.pointee.context.dispatch = LinuxWindows.isGuestAddress(n.pointee.nextIP)
            ? UInt8(UMK_DISPATCH_BLOCK) : UInt8(UMK_DISPATCH_ALLOW)
        // errno is per host thread: the guest gets back the one it had.
        umk_set_errno(Int32(truncatingIfNeeded: unsafe area.pointee.frame.saved_errno))
    }

    /// The syscall's results into the guest's io block.
    @inline(__always)
    mutating func returnFromSyscall(_ n: TCBRef, _ area: UnsafeMutablePointer<LinuxThreadArea>) {
        // Results into the io block, if the window it lies in is still there (a VSpace
        // deleted under a blocked thread is not; the thread then faults on its own
        // stack when it runs, as it would on hardware).
        let ioAddress = unsafe area.pointee.context.io
        let entryASID = unsafe area.pointee.entryASID
        let size = UInt64(MemoryLayout<umk_syscall_io_t>.size)
        if unsafe area.pointee.entryGeneration == unmapGeneration || isStillMapped(io: ioAddress, size: size, asid: entryASID) {
            // SAFETY: the io block is on the guest's stack, mapped (checked above).
            let io = unsafe UnsafeMutablePointer<umk_syscall_io_t>(bitPattern: UInt(ioAddress))!
            unsafe io.pointee.cptr = n.pointee[.rdi]
            unsafe io.pointee.info = n.pointee[.rsi]
            unsafe io.pointee.mr = (n.pointee[.r10], n.pointee[.r8], n.pointee[.r9], n.pointee[.r15])
        }
    }

    /// True if the io block at host address `io` is still mapped writable in `asid`'s
    /// window (asked only when something was unmapped since the syscall entered).
    @inline(never)
    mutating func isStillMapped(io: UInt64, size: UInt64, asid: UInt64) -> Bool {
        isMappedWritable(asid: asid, vaddr: io) && isMappedWritable(asid: asid, vaddr: io + size - 1)
    }

    /// A fresh start, exactly as the thread's registers say (seL4: every frame register as
    /// written, the thread's first instruction at its IP): a fresh full frame with the
    /// default FP state, then the registers as for an exception return. Nothing is written
    /// to the thread's stack.
    @inline(never)
    mutating func start(_ n: TCBRef, first: Bool) {
        LinuxThreadArea.prepareFreshFrame(n, physmap)
        unsafe returnFromException(n, LinuxThreadArea.of(n, physmap))
        if first && threadStarts.count < Self.threadStartsKept {
            threadStarts.append(.init(name: n.name, nanoseconds: umk_monotonic_ns()))
        }
    }

    /// A thread in umk_syscall left its callee-saved registers in its context, not its TCB
    /// (the direct call saves only those; the kernel copies its syscall registers on
    /// entry): they go into the TCB when the kernel reads its registers. After a
    /// WriteRegisters the TCB's are the thread's (its next IP is no longer the stub's).
    public mutating func saveRegisters(of n: TCBRef) {
        guard n.pointee.userEntry == .syscall,
              n.pointee.nextIP == syscallNextIP || n.pointee.nextIP == syscallIP else { return }
        let ctx = unsafe LinuxThreadArea.context(n, physmap)
        unsafe n.pointee[.rbx] = ctx.pointee.rbx
        unsafe n.pointee[.rbp] = ctx.pointee.rbp
        unsafe n.pointee[.r12] = ctx.pointee.r12
        unsafe n.pointee[.r13] = ctx.pointee.r13
        unsafe n.pointee[.r14] = ctx.pointee.r14
    }

    /// The thread's context keeps its FS base (the switch reads it there, not in the TCB,
    /// to stay on the cache lines it touches anyway); 0 keeps the host's, which Swift
    /// guests use.
    /// A base the host cannot load (not canonical: seL4 stores TLS bases unchecked)
    /// becomes the first kernel-half address, which it can: the thread's first TLS access
    /// is then its own fault, not a fault of umk's switch.
    public mutating func registersWritten(_ n: TCBRef) {
        let base = n.pointee[.fsBase]
        let canonical = base < 0x0000_8000_0000_0000 || base >= 0xFFFF_8000_0000_0000
        unsafe LinuxThreadArea.context(n, physmap).pointee.fs_base = canonical ? base : 0xFFFF_8000_0000_0000
    }
}
