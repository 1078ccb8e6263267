// SPDX-License-Identifier: Apache-2.0
//
// Building threads and tasks from a guest, with ordinary syscalls: frames mapped with the
// paging structures they need made on demand (a failed Page_Map names the missing level),
// and tasks with their own CSpace, VSpace, IPC buffer and stack. A task's addresses lie in
// its VSpace's address range (its host window on Linux), so places in it are given as
// offsets from the range's start.

/// A guest program's entry point (the thread's rip), called as entry(arg0, arg1).
public typealias ThreadEntry = @convention(c) (UInt64, UInt64) -> Void

/// A task another guest built: caps in the builder's root CNode.
public struct Task {
    public var tcb: CPtr
    public var cnode: CPtr
    public var vspace: CPtr
    /// The task's CNode radix (its guard fills the rest of the 64 bits).
    public var cnodeRadix: UInt64
    /// The addresses the task's VSpace may map and run at.
    public var addressRange: Range<UInt64>
    /// The IPC buffer's and the stack top's virtual addresses.
    public var ipcBuffer: UInt64
    public var stackTop: UInt64

    /// The address `offset` bytes into the task's address range.
    public func address(_ offset: UInt64) -> UInt64 { addressRange.lowerBound + offset }
}

extension ObjectAllocator {
    /// Maps `count` fresh frames at `vaddr` in `vspace`, making the PDPT, page directory
    /// and page tables they need. Returns the frame caps, or nil when memory runs out.
    public mutating func mapFrames(vspace: CPtr, at vaddr: UInt64, count: UInt64,
                                   rights: CapRights = .readWrite) -> [CPtr]? {
        var frames: [CPtr] = []
        for i in 0..<count {
            guard let frame = make(.smallPage) else { return nil }
            guard map(frame, vspace: vspace, vaddr: vaddr + i * 0x1000, rights: rights) else { return nil }
            frames.append(frame)
        }
        return frames
    }

    /// Maps one frame, making missing paging structures first.
    public mutating func map(_ frame: CPtr, vspace: CPtr, vaddr: UInt64, rights: CapRights) -> Bool {
        for _ in 0..<4 {
            let e = Page.map(frame, vspace: vspace, vaddr: vaddr, rights: rights)
            if e == .noError { return true }
            guard e == .failedLookup else { return false }
            // MR1 is the lookup failure's type, MR2 the bits left: the missing level.
            let type: ObjectType = switch IPCBuffer.getMR(2) {
            case 39: .pdpt
            case 30: .pageDirectory
            default: .pageTable
            }
            guard let table = make(type),
                  PagingStructure.map(table, type: type, vspace: vspace, vaddr: vaddr) == .noError else { return false }
        }
        return false
    }

    /// A task with its own CNode (`cnodeRadix`, guarded to 64 bits), a VSpace with an ASID
    /// (`assignASID`: a new pool when the current one is full), an IPC buffer `offset` bytes
    /// into its address range and `stackPages` of stack below 1 MiB further on, configured
    /// at `priority`; not started.
    public mutating func makeTask(priority: UInt64, faultEP: CPtr = 0, offset: UInt64 = 0x1000_0000,
                                  stackPages: UInt64 = 16, cnodeRadix: UInt64 = 8) -> Task? {
        precondition(stackPages >= 1 && stackPages < 255, "a task's stack is 1...254 pages")
        guard let cnode = make(.cnode, sizeBits: cnodeRadix), let vspace = make(.pml4), let tcb = make(.tcb) else {
            return nil
        }
        guard assignASID(vspace) == .noError, case .success(let range) = VSpace.addressRange(vspace) else { return nil }
        let base = range.lowerBound + offset
        guard let buffer = mapFrames(vspace: vspace, at: base, count: 1)?.first else { return nil }
        let stackTop = base + 0x10_0000
        guard mapFrames(vspace: vspace, at: stackTop - stackPages * 0x1000, count: stackPages) != nil else { return nil }
        guard TCB.configure(tcb, faultEP: faultEP, cspaceRoot: cnode, cspaceRootData: 64 - cnodeRadix, vspaceRoot: vspace,
                            vspaceRootData: 0, buffer: base, bufferFrame: buffer) == .noError,
              TCB.setPriority(tcb, authority: InitialCap.initThreadTCB.rawValue, priority: priority) == .noError else {
            return nil
        }
        return Task(tcb: tcb, cnode: cnode, vspace: vspace, cnodeRadix: cnodeRadix, addressRange: range, ipcBuffer: base,
                    stackTop: stackTop)
    }

    /// Gives `task` a copy of the builder's cap `src` in its slot `index`, with `rights`
    /// and `badge` (CNode_Mint).
    public func give(_ task: Task, _ src: CPtr, at index: CPtr, rights: CapRights = .all, badge: UInt64 = 0) -> KernelError {
        CNode.mint(task.cnode, destIndex: index, destDepth: task.cnodeRadix, srcRoot: root, srcIndex: src, srcDepth: 64,
                   rights: rights, badge: badge)
    }
}

/// Starts (or restarts) a thread at `entry(arg0, arg1)` with its stack ending at
/// `stackTop` (TCB_WriteRegisters with resume).
public func startThread(_ tcb: CPtr, entry: ThreadEntry, stackTop: UInt64, arg0: UInt64 = 0, arg1: UInt64 = 0) -> KernelError {
    startThread(tcb, ip: UInt64(UInt(bitPattern: unsafeBitCast(entry, to: UnsafeRawPointer.self))), stackTop: stackTop,
                arguments: [arg0, arg1])
}

/// Starts (or restarts) a thread at `ip` as a function called with `arguments` (up to
/// three: rdi, rsi, rdx), its stack ending at `stackTop`, with TLS base `tlsBase` (its FS
/// base; 0 for a Swift program, which uses the host's).
public func startThread(_ tcb: CPtr, ip: UInt64, stackTop: UInt64, arguments: [UInt64], tlsBase: UInt64 = 0) -> KernelError {
    var regs = [UInt64](repeating: 0, count: UserRegister.count)
    regs[UserRegister.rip.rawValue] = ip
    regs[UserRegister.fsBase.rawValue] = tlsBase
    // As after a call: rsp ≡ 8 (mod 16) at the entry, with room for a return address, so
    // the thread starts correctly whether it resumes a fresh or a signal-stopped context.
    regs[UserRegister.rsp.rawValue] = (stackTop & ~15) - 8
    for (r, value) in zip([UserRegister.rdi, .rsi, .rdx], arguments) { regs[r.rawValue] = value }
    regs[UserRegister.rflags.rawValue] = 0x202
    return TCB.writeRegisters(tcb, resumeTarget: true, registers: regs)
}

extension ObjectAllocator {
    /// A second thread in `task` (its CSpace and VSpace), with its own IPC buffer `offset`
    /// bytes into the task's address range and `stackPages` of stack below 1 MiB further
    /// on; configured, not started.
    public mutating func addThread(to task: Task, priority: UInt64, offset: UInt64, stackPages: UInt64 = 16) -> Task? {
        let base = task.address(offset)
        guard let tcb = make(.tcb), let buffer = mapFrames(vspace: task.vspace, at: base, count: 1)?.first else { return nil }
        let stackTop = base + 0x10_0000
        guard mapFrames(vspace: task.vspace, at: stackTop - stackPages * 0x1000, count: stackPages) != nil,
              TCB.configure(tcb, faultEP: 0, cspaceRoot: task.cnode, cspaceRootData: 64 - task.cnodeRadix,
                            vspaceRoot: task.vspace, vspaceRootData: 0, buffer: base, bufferFrame: buffer) == .noError,
              TCB.setPriority(tcb, authority: InitialCap.initThreadTCB.rawValue, priority: priority) == .noError else {
            return nil
        }
        return Task(tcb: tcb, cnode: task.cnode, vspace: task.vspace, cnodeRadix: task.cnodeRadix,
                    addressRange: task.addressRange, ipcBuffer: base, stackTop: stackTop)
    }
}
