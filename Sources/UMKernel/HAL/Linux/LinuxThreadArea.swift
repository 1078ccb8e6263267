// SPDX-License-Identifier: Apache-2.0
//
// What the Linux machine keeps per thread, in the TCB's machine area (`TCB.machineArea`,
// 4 KiB the kernel never reads): the host context a guest stopped in umk_syscall is
// resumed from, the full register frame of a guest stopped by a signal, and that frame's
// FP state (an XSAVE image). One declared layout; the FP area follows it at the first
// 64-byte boundary, as XSAVE requires (a TCB is 8 KiB aligned in RAM, RAM page aligned in
// the host, so an offset aligned in the TCB is aligned in the host).

import CShims

/// The Linux machine's part of a TCB.
struct LinuxThreadArea {
    /// The saved host context (callee-saved registers, the syscall's io block, the Swift
    /// access set, which kind of stop, the full frame's address).
    var context: umk_host_context_t
    /// The ASID of the window the thread was last resumed in.
    var entryASID: UInt64
    /// The machine's unmap generation at the thread's last syscall entry: unchanged, the
    /// io block on its stack is still mapped.
    var entryGeneration: UInt64
    /// Every general register of a thread stopped by a signal.
    var frame: umk_full_frame_t

    /// Bytes of FP state the area has room for (the largest XSAVE image here).
    static let fpCapacity = 3456

    /// The FP area's offset from the TCB's start: after the layout, 64-byte aligned.
    static let fpOffset: Int = {
        let area = MemoryLayout<TCB>.offset(of: \TCB.machineArea)!
        let fp = (area + MemoryLayout<LinuxThreadArea>.size + 63) & ~63
        precondition(fp + fpCapacity <= area + MemoryLayout<InlineArray<512, UInt64>>.size,
                     "the XSAVE area must fit in the TCB's machine area")
        return fp
    }()

    /// `t`'s area.
    @inline(__always) static func of(_ t: TCBRef, _ physmap: Physmap) -> UnsafeMutablePointer<LinuxThreadArea> {
        let offset = MemoryLayout<TCB>.offset(of: \TCB.machineArea)!
        // SAFETY: the machine area is 4 KiB inside the TCB object in RAM; the layout and its
        // FP area fit in it (checked by fpOffset).
        return unsafe (physmap.base + Int(truncatingIfNeeded: t.paddr) + offset).assumingMemoryBound(to: LinuxThreadArea.self)
    }

    /// `t`'s host context.
    @inline(__always) static func context(_ t: TCBRef, _ physmap: Physmap) -> UnsafeMutablePointer<umk_host_context_t> {
        // SAFETY: the context is the area's first field.
        unsafe UnsafeMutableRawPointer(of(t, physmap)).assumingMemoryBound(to: umk_host_context_t.self)
    }

    /// `t`'s full register frame.
    @inline(__always) static func frame(_ t: TCBRef, _ physmap: Physmap) -> UnsafeMutablePointer<umk_full_frame_t> {
        // SAFETY: the frame is a field of the area, inside the TCB's machine area in RAM.
        unsafe (UnsafeMutableRawPointer(of(t, physmap)) + MemoryLayout<LinuxThreadArea>.offset(of: \.frame)!)
            .assumingMemoryBound(to: umk_full_frame_t.self)
    }

    /// Makes `t`'s context a fresh one resumed from its full frame, whose FP area holds the
    /// default state (umk_context_init_full); the registers are the caller's to write.
    static func prepareFreshFrame(_ t: TCBRef, _ physmap: Physmap) {
        let frame = unsafe frame(t, physmap)
        unsafe frame.pointee.fpstate = UInt64(UInt(bitPattern: physmap.base)) + t.paddr + UInt64(fpOffset)
        unsafe umk_context_init_full(context(t, physmap), frame)
    }

    /// Moves the guest's open Swift accesses aside as it stops (see umk_access_exit).
    @inline(__always) static func exitAccessSet(_ ctx: UnsafeMutablePointer<umk_host_context_t>) {
        // SAFETY: the access words are inside the TCB's host context, in RAM.
        unsafe withUnsafeMutableBytes(of: &ctx.pointee.access) { unsafe umk_access_exit($0.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt64.self)) }
    }

    /// Puts the guest's open Swift accesses back as it resumes (see umk_access_enter).
    @inline(__always) static func enterAccessSet(_ ctx: UnsafeMutablePointer<umk_host_context_t>) {
        // SAFETY: as for exitAccessSet.
        unsafe withUnsafeMutableBytes(of: &ctx.pointee.access) { unsafe umk_access_enter($0.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt64.self)) }
    }
}
