// SPDX-License-Identifier: Apache-2.0
//
// Running real guests on the Linux backend. A guest enters the kernel by calling
// umk_syscall (direct call): the stub saves its host context in its TCB, moves to the
// kernel stack and calls `kernelEntry`, which copies the syscall into the TCB's registers
// (seL4's x86_64 convention), runs the state machine and returns the context to resume:
// - a thread that is back from its syscall gets its results written to its io block;
// - a thread in Restart re-executes its syscall (handled here, without switching);
// - a thread that never ran (or whose registers were rewritten) starts at its rip, with
//   its rsp translated into its VSpace's window.
// Swift's exclusivity access set moves with each guest. Only one system runs at a time
// per process: the context globals in CShims are the one "CPU".

import CShims
import Glibc
import UMKABI

/// A guest program's entry point: `entry(arg0, arg1)`. The root task gets the virtual
/// address of BootInfo in arg0, as seL4 passes it.
public typealias GuestEntry = @convention(c) (UInt64, UInt64) -> Void

/// How a run of the Linux backend ended.
public struct LinuxRunResult: Sendable {
    /// A guest called DebugHalt.
    public var halted: Bool
    /// No thread could run any more (all blocked or stopped).
    public var idle: Bool
    /// A host call failed (the system stopped on it).
    public var hostFailure: String?
    /// DebugHalt's status (the system's exit status).
    public var haltStatus: UInt64 = 0
    /// The host ended the run (expected output, Ctrl-C, time limit).
    public var stopReason: StopReason?
}

/// Layout of the TCB's HAL area (words): the host context at 0, "has a host context" at 16,
/// the full register frame of a thread stopped by a signal at 32, its FP area (an XSAVE
/// image of up to 3456 bytes, 64-byte aligned) from word 64.
private let startedWord = 16
/// The ASID the thread's window had when it entered the kernel by umk_syscall.
private let entryASIDWord = 17
/// The HAL's unmap generation at that entry: unchanged means the io block is still mapped.
private let entryGenerationWord = 18
private let frameWord = 32
private let fpWord = 64
private let fpCapacity = 3456

extension Kernel where H == LinuxHAL {
    /// The Linux-side context area of `t`'s TCB.
    func hostContext(_ t: TCBRef) -> UnsafeMutablePointer<umk_host_context_t> {
        let offset = MemoryLayout<TCB>.offset(of: \TCB.halArea)!
        // SAFETY: the HAL area is 256 bytes inside the TCB object in RAM; the context is 104.
        return unsafe (physmap.base + Int(t.paddr) + offset).assumingMemoryBound(to: umk_host_context_t.self)
    }

    /// The full register frame of `t` (for a thread stopped by a signal).
    func fullFrame(_ t: TCBRef) -> UnsafeMutablePointer<umk_full_frame_t> {
        let offset = MemoryLayout<TCB>.offset(of: \TCB.halArea)! + frameWord * 8
        // SAFETY: words 32...55 of the HAL area, inside the TCB object in RAM.
        return unsafe (physmap.base + Int(t.paddr) + offset).assumingMemoryBound(to: umk_full_frame_t.self)
    }

    /// Points a fresh context at its frame and FP area.
    func prepareContext(_ t: TCBRef) {
        let area = MemoryLayout<TCB>.offset(of: \TCB.halArea)!
        let areaEnd = area + MemoryLayout<InlineArray<512, UInt64>>.size
        let fp = (area + fpWord * 8 + 63) & ~63
        precondition(fp + fpCapacity <= areaEnd, "the XSAVE area must fit in the TCB's HAL area")
        let ctx = unsafe hostContext(t), frame = unsafe fullFrame(t)
        unsafe ctx.pointee.frame = UInt64(UInt(bitPattern: frame))
        unsafe frame.pointee.fpstate = UInt64(UInt(bitPattern: physmap.base)) + t.paddr + UInt64(fp)
    }

    /// The host address of guest vaddr 0 for `t` (its VSpace's window), if it has one.
    @inline(__always) func window(of t: TCBRef) -> UInt64? {
        windowAndASID(of: t)?.window
    }

    /// `t`'s window and the ASID it belongs to (a few loads: every exit to a guest asks).
    @inline(__always) func windowAndASID(of t: TCBRef) -> (window: UInt64, asid: UInt64)? {
        let vspace = t.slot(.vTable).pointee.cap
        guard vspace.hasType(.pml4), vspace.tableMappedFlag else { return nil }
        let asid = vspace.mappedASID
        guard let w = hal.window(asid: asid) else { return nil }
        return (w, asid)
    }

    /// Boots the root task with `root` as its program and runs guests until one halts the
    /// system or none can run.
    public func runGuests(root: GuestEntry, config: BootConfig = LinuxSystem.rootConfig) throws(HostError) -> LinuxRunResult {
        var config = config
        config.entry = UInt64(UInt(bitPattern: unsafe unsafeBitCast(root, to: UnsafeRawPointer.self)))
        _ = boot(config)
        let stackSize: UInt64 = 1 << 20
        let stack = try LinuxSyscalls.mapAnonymous(stackSize + 4096)
        try LinuxSyscalls.protect(stack, length: 4096, prot: 0)
        defer { try? LinuxSyscalls.unmap(stack, length: stackSize + 4096) }
        // SAFETY: the stack and this kernel outlive the run; the entry is uninstalled after it.
        // The entries borrow the kernel without retaining it (no ARC on the syscall path).
        unsafe umk_context_install(UnsafeMutableRawPointer(bitPattern: UInt(stack + 4096 + stackSize)), { cookie in
            // SAFETY: the cookie is the kernel that installed this entry, alive during the run.
            unsafe Unmanaged<Kernel<LinuxHAL>>.fromOpaque(cookie.unsafelyUnwrapped)._withUnsafeGuaranteedRef { k in
                unsafe k.kernelEntry()
            }
        }, Unmanaged.passUnretained(self).toOpaque())
        defer { umk_context_install(nil, nil, nil) }
        _ = try LinuxSyscalls.check(unsafe umk_faults_install({ cookie in
            // SAFETY: as for the syscall entry.
            unsafe Unmanaged<Kernel<LinuxHAL>>.fromOpaque(cookie.unsafelyUnwrapped)._withUnsafeGuaranteedRef { k in
                unsafe k.kernelFaultEntry()
            }
        }), "sigaction")
        defer { _ = umk_faults_install(nil) }
        try hal.installInterrupts()
        defer { hal.uninstallInterrupts() }
        // Guests switch access sets on this thread: find its access-set head for the
        // inline switch (the runtime's calls stay the fallback).
        umk_access_probe()
        if let first = unsafe resumeNext() {
            unsafe umk_context_start(first)
        }
        return LinuxRunResult(halted: isHalted, idle: !isHalted && hal.stopReason == nil && currentThread == idleThread,
                              hostFailure: hal.hostFailure?.description, haltStatus: haltStatus, stopReason: hal.stopReason)
    }

    /// The kernel side of umk_syscall, on the kernel stack.
    func kernelEntry() -> UnsafeMutablePointer<umk_host_context_t>? {
        let t = currentThread
        let ctx = unsafe hostContext(t)
        unsafe exitAccessSet(ctx)
        hal.noteKernelEntry()
        // SAFETY: io is the guest's syscall block on its own stack, live while it waits.
        let io = unsafe UnsafeMutablePointer<umk_syscall_io_t>(bitPattern: UInt(ctx.pointee.io))!
        let stub = umk_syscall_address()
        unsafe t.pointee[.rdx] = UInt64(bitPattern: io.pointee.number)
        unsafe t.pointee[.rdi] = io.pointee.cptr
        unsafe t.pointee[.rsi] = io.pointee.info
        unsafe t.pointee[.r10] = io.pointee.mr.0
        unsafe t.pointee[.r8] = io.pointee.mr.1
        unsafe t.pointee[.r9] = io.pointee.mr.2
        unsafe t.pointee[.r15] = io.pointee.mr.3
        t.pointee[.rip] = stub
        t.pointee.nextIP = stub + 1
        // (entryASIDWord was recorded when the thread was resumed into its window.)
        t.pointee.halArea[entryGenerationWord] = hal.unmapGeneration
        // The window the thread ran in (set when it was resumed): its stack is there, even
        // if its VSpace changed since.
        let w = umk_window()
        if w != 0 { t.pointee[.rsp] = unsafe ctx.pointee.rsp &- w }
        handleSyscall(unsafe io.pointee.number)
        return unsafe resumeNext()
    }

    /// The kernel side of a guest fault, on the kernel stack: the signal handler saved the
    /// thread's registers in its frame; they become its TCB registers (FaultIP = the
    /// faulting instruction) and the fault goes to its handler.
    func kernelFaultEntry() -> UnsafeMutablePointer<umk_host_context_t>? {
        let t = currentThread
        let ctx = unsafe hostContext(t)
        unsafe exitAccessSet(ctx)
        hal.noteKernelEntry()
        let f = unsafe fullFrame(t).pointee
        let w = umk_window()
        t.pointee[.rax] = f.rax; t.pointee[.rbx] = f.rbx; t.pointee[.rcx] = f.rcx; t.pointee[.rdx] = f.rdx
        t.pointee[.rsi] = f.rsi; t.pointee[.rdi] = f.rdi; t.pointee[.rbp] = f.rbp
        t.pointee[.r8] = f.r8; t.pointee[.r9] = f.r9; t.pointee[.r10] = f.r10; t.pointee[.r11] = f.r11
        t.pointee[.r12] = f.r12; t.pointee[.r13] = f.r13; t.pointee[.r14] = f.r14; t.pointee[.r15] = f.r15
        t.pointee[.rip] = f.rip
        t.pointee.nextIP = f.rip
        t.pointee[.rsp] = f.rsp &- w
        t.pointee[.rflags] = f.rflags
        let windowSize = UInt64(1) << LinuxHAL.windowBits
        if umk_is_interrupt_signal(Int32(f.signo)) != 0 {
            // An interrupt: the thread stays Running and resumes where it was; the events
            // are taken on the way out.
            return unsafe resumeNext()
        }
        switch Int32(f.signo) {
        case SIGSEGV where f.trapno == 14, SIGBUS:
            // The window-relative address for the thread's own window, raw otherwise.
            let address = w != 0 && f.addr >= w && f.addr - w < windowSize ? f.addr - w : f.addr
            handleVMFaultEvent(address: address, fsr: f.err, instructionFault: f.err & 0x10 != 0)
        case SIGFPE:
            handleUserLevelFault(number: f.trapno, code: 0)
        default:
            handleUserLevelFault(number: f.trapno, code: f.err)
        }
        return unsafe resumeNext()
    }

    /// Moves the guest's open Swift accesses aside as it stops (see umk_access_exit).
    @inline(__always) func exitAccessSet(_ ctx: UnsafeMutablePointer<umk_host_context_t>) {
        // SAFETY: the access words are inside the TCB's host context, in RAM.
        unsafe withUnsafeMutableBytes(of: &ctx.pointee.access) { unsafe umk_access_exit($0.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt64.self)) }
    }

    /// Puts the guest's open Swift accesses back as it resumes (see umk_access_enter).
    @inline(__always) func enterAccessSet(_ ctx: UnsafeMutablePointer<umk_host_context_t>) {
        // SAFETY: as for exitAccessSet.
        unsafe withUnsafeMutableBytes(of: &ctx.pointee.access) { unsafe umk_access_enter($0.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt64.self)) }
    }

    /// Takes the host's events: the kernel's tick, then every unmasked line a device or
    /// signal raised; then chooses the thread to run.
    func serviceInterrupts() {
        if hal.takeHostEvents() { timerTick() }
        deliverInterrupts()
        schedule()
        activateThread()
    }

    /// IRQ lines with a handler that can deliver them now (a notification, unmasked).
    var linesWithHandlers: UInt64 {
        var lines: UInt64 = 0
        for irq in 0..<KernelLayout.irqCount where irqState(irq) == .signal && !isIRQMasked(irq) {
            if irqSlot(irq).pointee.cap.type == .notification { lines |= 1 << irq }
        }
        return lines
    }

    /// Picks up the thread the kernel chose and returns its context to switch to.
    func resumeNext() -> UnsafeMutablePointer<umk_host_context_t>? {
        let stub = umk_syscall_address()
        while true {
            // Pending mappings become real before anything touches a window.
            hal.flushMappings()
            if isHalted || hal.failed || hal.stopReason != nil { return nil }
            if hal.hasHostWork() { serviceInterrupts() }
            let n = currentThread
            if n == idleThread {
                // Nothing can run: wait in the host for an interrupt a handler waits on, or
                // stop if none can come.
                guard hal.idle(handledLines: linesWithHandlers) else { return nil }
                serviceInterrupts()
                continue
            }
            let ctx = unsafe hostContext(n)
            let started = n.pointee.halArea[startedWord] != 0
            let stoppedBySignal = unsafe ctx.pointee.kind == UInt64(UMK_CONTEXT_FULL)
            if started && stoppedBySignal && n.pointee.nextIP != 0 {
                // Stopped by a signal: every register comes back from the TCB (a fault
                // handler may have changed them), the FP state from the frame.
                let w = window(of: n) ?? 0
                let f = unsafe fullFrame(n)
                unsafe f.pointee.rax = n.pointee[.rax]; unsafe f.pointee.rbx = n.pointee[.rbx]
                unsafe f.pointee.rcx = n.pointee[.rcx]; unsafe f.pointee.rdx = n.pointee[.rdx]
                unsafe f.pointee.rsi = n.pointee[.rsi]; unsafe f.pointee.rdi = n.pointee[.rdi]
                unsafe f.pointee.rbp = n.pointee[.rbp]; unsafe f.pointee.r8 = n.pointee[.r8]
                unsafe f.pointee.r9 = n.pointee[.r9]; unsafe f.pointee.r10 = n.pointee[.r10]
                unsafe f.pointee.r11 = n.pointee[.r11]; unsafe f.pointee.r12 = n.pointee[.r12]
                unsafe f.pointee.r13 = n.pointee[.r13]; unsafe f.pointee.r14 = n.pointee[.r14]
                unsafe f.pointee.r15 = n.pointee[.r15]
                unsafe f.pointee.rip = n.pointee.nextIP
                unsafe f.pointee.rsp = w &+ n.pointee[.rsp]
                unsafe f.pointee.rflags = sanitiseRegister(.rflags, n.pointee[.rflags])
                // errno is per host thread: the guest gets back the one it had.
                umk_set_errno(Int32(truncatingIfNeeded: unsafe f.pointee.saved_errno))
            } else if started && n.pointee.nextIP == stub + 1 {
                // Back from a syscall: results into the io block, if the window it lies in
                // is still there (a VSpace deleted under a blocked thread is not; the thread
                // then faults on its own stack when it runs, as it would on hardware).
                let ioAddress = unsafe ctx.pointee.io
                let asid = n.pointee.halArea[entryASIDWord]
                let size = UInt64(MemoryLayout<umk_syscall_io_t>.size)
                let stillMapped = n.pointee.halArea[entryGenerationWord] == hal.unmapGeneration
                    || hal.window(asid: asid).map { w in
                        ioAddress >= w && hal.isMirroredWritable(asid: asid, vaddr: ioAddress - w)
                            && hal.isMirroredWritable(asid: asid, vaddr: ioAddress - w + size - 1)
                    } ?? false
                if stillMapped {
                    let io = unsafe UnsafeMutablePointer<umk_syscall_io_t>(bitPattern: UInt(ioAddress))!
                    unsafe io.pointee.cptr = n.pointee[.rdi]
                    unsafe io.pointee.info = n.pointee[.rsi]
                    unsafe io.pointee.mr = (n.pointee[.r10], n.pointee[.r8], n.pointee[.r9], n.pointee[.r15])
                }
            } else if started && n.pointee.nextIP == stub {
                // Restart: the syscall runs again, as re-executing the instruction would,
                // and completes like any other entry (back to after the stub).
                n.pointee.nextIP = stub + 1
                handleSyscall(Int64(bitPattern: n.pointee[.rdx]))
                continue
            } else {
                guard let start = window(of: n), n.pointee.nextIP != 0 else {
                    hal.debugPrint("umk: thread \"\(n.name)\" cannot start (no VSpace window or no entry point); stopped\n")
                    suspend(n)
                    schedule()
                    activateThread()
                    continue
                }
                // The first frame goes on the thread's stack: that page must be there and
                // writable, or the thread takes a VMFault there (its pager may map it).
                let frameAddress = (n.pointee[.rsp] & ~15) &- 8
                let asid = n.slot(.vTable).pointee.cap.mappedASID
                guard n.pointee[.rsp] <= hal.userTop, frameAddress < n.pointee[.rsp],
                      hal.isMirroredWritable(asid: asid, vaddr: frameAddress) else {
                    handleVMFaultEvent(address: frameAddress, fsr: 0x6, instructionFault: false)
                    continue
                }
                unsafe umk_context_init(ctx, start &+ n.pointee[.rsp], n.pointee.nextIP, n.pointee[.rdi], n.pointee[.rsi])
                prepareContext(n)
                if n.pointee.halArea[startedWord] == 0 && hal.threadStarts.count < LinuxHAL.threadStartsKept {
                    hal.threadStarts.append(.init(name: n.name, nanoseconds: umk_monotonic_ns()))
                }
                n.pointee.halArea[startedWord] = 1
            }
            let (w, asid) = windowAndASID(of: n) ?? (0, 0)
            n.pointee.halArea[entryASIDWord] = asid
            unsafe umk_context_set_current(ctx, w, n.pointee.ipcBuffer == 0 ? 0 : w &+ n.pointee.ipcBuffer)
            unsafe enterAccessSet(ctx)
            return unsafe ctx
        }
    }
}

/// Defaults for running on Linux.
public enum LinuxSystem {
    /// The root task's layout: BootInfo at 4 MiB, a 1 MiB stack up to 6 MiB.
    public static var rootConfig: BootConfig {
        var c = BootConfig()
        c.stackTop = 0x60_0000
        c.stackPages = 256
        return c
    }
}
