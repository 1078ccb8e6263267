// SPDX-License-Identifier: Apache-2.0
//
// The Linux machine's entries (seL4's c_traps.c): a guest enters the kernel by calling
// umk_syscall (direct call), whose stub saves its host context in its TCB, moves to the
// kernel stack and calls `kernelEntry`; a signal in a guest (a fault or an interrupt) has
// its C handler save every register and land in `kernelFaultEntry`. Each copies what it
// saved into the TCB's registers (seL4's x86_64 convention; addresses are host addresses),
// names the event and runs the kernel's loop (`Kernel.handle`), then hands the stub the
// context of the thread the kernel chose (restored by `LinuxHAL.restore`). Swift's
// exclusivity access set moves with each guest. Only one system runs at a time per
// process: the context globals in CShims are the one "CPU".

import CShims
import Glibc
import Synchronization
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
    /// When no thread could run any more: each waiting thread and what it waits on.
    public var waiting: [String] = []
}

extension Kernel where H == LinuxHAL {
    /// Boots the root task with `root` as its program and runs guests until one halts the
    /// system or none can run. The switch's state in CShims is the process's one CPU: a run
    /// started while another thread's run goes on waits for it to end.
    public func runGuests(root: GuestEntry, config: BootConfig = LinuxSystem.rootConfig) throws(HostError) -> LinuxRunResult {
        var config = config
        config.entry = UInt64(UInt(bitPattern: unsafe unsafeBitCast(root, to: UnsafeRawPointer.self)))
        return try LinuxSystem.cpu.withLock { _ throws(HostError) in try runGuestsAlone(config: config) }
    }

    /// Boots with a program image as the root task (seL4's root-task environment: BootInfo's
    /// address in rdi) and runs until the system ends. The image's entry also gets the
    /// syscall entry in rsi, as init gives it to a task's image.
    public func runGuests(rootImage: BootConfig.RootImage, config: BootConfig = LinuxSystem.rootConfig) throws(HostError) -> LinuxRunResult {
        var config = config
        config.rootImage = rootImage
        config.entryArguments = [hal.syscallIP]
        return try LinuxSystem.cpu.withLock { _ throws(HostError) in try runGuestsAlone(config: config) }
    }

    private func runGuestsAlone(config: BootConfig) throws(HostError) -> LinuxRunResult {
        _ = boot(config)
        let stackSize: UInt64 = 1 << 20
        let stack = try LinuxSyscalls.mapAnonymous(stackSize + 4096)
        try LinuxSyscalls.protect(stack, length: 4096, prot: 0)
        defer { try? LinuxSyscalls.unmap(stack, length: stackSize + 4096) }
        // SAFETY: the stack and this kernel outlive the run; the entry is uninstalled after it.
        // The entries borrow the kernel without retaining it (no ARC on the syscall path).
        unsafe umk_context_install(UnsafeMutableRawPointer(bitPattern: UInt(stack + 4096 + stackSize)), { cookie in
            // Strict mode: kernel RAM open before anything reads it.
            umk_strict_kernel_enter()
            // SAFETY: the cookie is the kernel that installed this entry, alive during the run.
            return unsafe Unmanaged<Kernel<LinuxHAL>>.fromOpaque(cookie.unsafelyUnwrapped)._withUnsafeGuaranteedRef { k in
                unsafe k.kernelEntry()
            }
        }, Unmanaged.passUnretained(self).toOpaque())
        defer { umk_context_install(nil, nil, nil) }
        _ = try LinuxSyscalls.check(unsafe umk_faults_install({ cookie in
            umk_strict_kernel_enter()
            // SAFETY: as for the syscall entry.
            return unsafe Unmanaged<Kernel<LinuxHAL>>.fromOpaque(cookie.unsafelyUnwrapped)._withUnsafeGuaranteedRef { k in
                unsafe k.kernelFaultEntry()
            }
        }), "sigaction")
        defer { _ = umk_faults_install(nil) }
        try hal.installInterrupts()
        defer { hal.uninstallInterrupts() }
        // seL4's syscall instruction in a program image's code (after the handlers: the
        // exempt signal return is theirs).
        let dispatch = umk_dispatch_install()
        defer { umk_dispatch_uninstall() }
        if dispatch != 0 && (config.rootImage != nil || config.extraBootInfo.contains { $0.id == imageChunkID }) {
            hal.debugPrint("umk: this host has no Syscall User Dispatch (\(dispatch == -EINVAL ? "Linux 5.11 or later has it" : "error \(-dispatch)")): "
                           + "a syscall instruction in a program image is the host's, not seL4's; the SDK's calls work\n")
        }
        // Guests switch access sets on this thread: find its access-set head for the
        // inline switch (the runtime's calls stay the fallback).
        umk_access_probe()
        // Last, with everything the run needs from the host in place.
        if hal.options.sandbox != .off { hal.installSandbox() }
        if hal.options.strict { hal.beginStrict() }
        if let first = resumeNext() {
            unsafe umk_context_start(enter(first))
        }
        hal.endStrict()
        let idle = !isHalted && hal.stopReason == nil && currentThread == idleThread
        return LinuxRunResult(halted: isHalted, idle: idle, hostFailure: hal.hostFailure?.description, haltStatus: haltStatus,
                              stopReason: hal.stopReason, waiting: idle ? waitingThreads() : [])
    }

    /// The kernel side of umk_syscall, on the kernel stack: the syscall into the thread's
    /// registers, then the kernel's loop; returns the context to resume (nil: the run ends).
    func kernelEntry() -> UnsafeMutablePointer<umk_host_context_t>? {
        let t = currentThread
        let area = unsafe LinuxThreadArea.of(t, physmap)
        let ctx = unsafe LinuxThreadArea.context(t, physmap)
        unsafe LinuxThreadArea.exitAccessSet(ctx)
        // SAFETY: io is the guest's syscall block on its own stack, live while it waits.
        let io = unsafe UnsafeMutablePointer<umk_syscall_io_t>(bitPattern: UInt(ctx.pointee.io))!
        unsafe t.pointee[.rdi] = io.pointee.cptr
        unsafe t.pointee[.rsi] = io.pointee.info
        unsafe t.pointee[.r10] = io.pointee.mr.0
        unsafe t.pointee[.r8] = io.pointee.mr.1
        unsafe t.pointee[.r9] = io.pointee.mr.2
        unsafe t.pointee[.r15] = io.pointee.mr.3
        // (entryASID was recorded when the thread was resumed into its window.)
        unsafe area.pointee.entryGeneration = hal.unmapGeneration
        unsafe t.pointee[.rsp] = ctx.pointee.rsp
        guard let next = handle(.syscall(unsafe io.pointee.number), by: t) else { return nil }
        return unsafe enter(next)
    }

    /// The context of `next`, which the kernel chose and the machine restored, with its
    /// Swift access set back in place: the last step before the stub resumes it, outside
    /// any access of the kernel's own (a guest's set must not contain one).
    @inline(__always) func enter(_ next: TCBRef) -> UnsafeMutablePointer<umk_host_context_t> {
        let ctx = unsafe LinuxThreadArea.context(next, physmap)
        // Strict mode: kernel RAM closed now, but the TCB the stub reads and the entry saves into.
        if hal.strict { hal.strictGuestEnter(next) }
        unsafe LinuxThreadArea.enterAccessSet(ctx)
        return unsafe ctx
    }

    /// The kernel side of a guest fault or interrupt signal, on the kernel stack: the
    /// signal handler saved the thread's registers in its frame; they become its TCB
    /// registers (FaultIP = the faulting instruction) and the event goes to the kernel.
    func kernelFaultEntry() -> UnsafeMutablePointer<umk_host_context_t>? {
        let t = currentThread
        let ctx = unsafe LinuxThreadArea.context(t, physmap)
        unsafe LinuxThreadArea.exitAccessSet(ctx)
        let f = unsafe LinuxThreadArea.of(t, physmap).pointee.frame
        t.pointee[.rax] = f.rax; t.pointee[.rbx] = f.rbx; t.pointee[.rcx] = f.rcx; t.pointee[.rdx] = f.rdx
        t.pointee[.rsi] = f.rsi; t.pointee[.rdi] = f.rdi; t.pointee[.rbp] = f.rbp
        t.pointee[.r8] = f.r8; t.pointee[.r9] = f.r9; t.pointee[.r10] = f.r10; t.pointee[.r11] = f.r11
        t.pointee[.r12] = f.r12; t.pointee[.r13] = f.r13; t.pointee[.r14] = f.r14; t.pointee[.r15] = f.r15
        t.pointee[.rip] = f.rip
        t.pointee.nextIP = f.rip
        t.pointee[.rsp] = f.rsp
        t.pointee[.rflags] = f.rflags
        let event: KernelEvent
        switch Int32(f.signo) {
        case SIGSYS where f.trapno == UInt64(UMK_TRAPNO_HOST_SYSCALL):
            // A host syscall the sandbox refused (it did not run): seL4's UnknownSyscall
            // fault with the host's number (positive; seL4's are negative), RAX as the
            // thread had it, the IP at the instruction.
            t.pointee[.rax] = f.err
            t.pointee[.rip] = f.rip &- 2
            hal.debugPrint("umk: the sandbox refused host syscall \(unsafe String(cString: umk_host_syscall_name(Int(f.err)))) (\(f.err)) "
                           + "made by thread '\(t.name)'; its fault handler gets an UnknownSyscall fault\n")
            event = .syscallTrap(Int64(bitPattern: f.err))
        case SIGSYS:
            // A trapped `syscall` instruction: the frame's RIP is after it; seL4's number
            // is in RDX (RAX is not seL4's). (First: the interrupt test below is a call.)
            t.pointee[.rip] = f.rip &- 2
            event = .syscallTrap(Int64(bitPattern: f.rdx))
        case let signo where umk_is_interrupt_signal(signo) != 0:
            event = .interrupt
        case SIGSEGV where f.trapno == 14, SIGBUS:
            event = .vmFault(address: f.addr, fsr: f.err, instructionFault: f.err & 0x10 != 0)
        case SIGFPE:
            event = .userException(number: f.trapno, code: 0)
        default:
            event = .userException(number: f.trapno, code: f.err)
        }
        guard let next = handle(event, by: t) else { return nil }
        return unsafe enter(next)
    }
}

/// Defaults for running on Linux.
public enum LinuxSystem {
    /// Held while a system runs guests: one at a time per process.
    static let cpu = Mutex<Void>(())
    /// Address spaces a system runs at once: seL4's 4,095 ASIDs (eight pools of 512, less
    /// ASID 0), or the host windows that fit, if fewer.
    public static let addressSpaces = min(VSpaceLayout.asidPoolCount * VSpaceLayout.asidPoolEntries - 1, LinuxWindows.slotCount)

    /// Where a manifest's task `i` will have its address range: init's VSpace takes the
    /// first window and init gives the tasks theirs in order, each the lowest free one (in a
    /// process that runs one system at a time, as umk does). Task -1 is the root task.
    public static func taskAddressRange(_ i: Int) -> Range<UInt64> {
        let start = LinuxWindows.address(ofSlot: i + 1)
        return start..<start + LinuxWindows.size
    }

    /// The root task's layout: BootInfo at 4 MiB, a 1 MiB stack up to 6 MiB.
    public static var rootConfig: BootConfig {
        var c = BootConfig()
        c.stackTop = 0x60_0000
        c.stackPages = 256
        return c
    }
}
