// SPDX-License-Identifier: Apache-2.0
//
// init loads a task's ELF image as a root task on seL4 would: for each page of a loadable
// segment, a fresh frame retyped from its untyped memory, filled through a scratch mapping
// in init's own VSpace (ELFImage.loadedPages), then mapped into the task with the
// segment's rights
// (writable, or read-only and so executable: text is read-only). Every
// task gets its own frames, so two tasks of one image have their own data and bss. The
// image arrives as a boot module; init checks it again before it loads anything.
//
// An image with thread-local storage (PT_TLS) gets a TLS block for its thread at
// TaskLayout.tls of its range, laid out as x86_64's variant II: the block (the initial
// image, then zeros) ends at the thread pointer, which holds its own address and is the
// thread's FS base (TCB_SetTLSBase's register).
//
// How an image task starts, as a function called with three arguments: rdi = its start
// information's address, rsi = the kernel's syscall entry (umk_syscall, called with a
// syscall block), rdx = its IPC buffer; rsp as after a call, 8 below a 16-byte boundary;
// FS base = its thread pointer, if it has TLS.

import UMKGuest

/// The ELF images of a boot plan, read from the boot modules and checked.
struct BootImages {
    var images: [UInt64: (bytes: [UInt8], elf: ELFImage)] = [:]

    /// Reads every image chunk after the BootInfo at `address`.
    init(_ bootInfo: BootInfo, at address: UInt64) throws(BuildError) {
        guard let chunks = extraBootInfoChunks(imageChunkID, bootInfo, at: address) else {
            throw BuildError(step: "boot modules: malformed extra BootInfo", error: .invalidArgument)
        }
        for chunk in chunks {
            guard chunk.words >= 2 else { throw BuildError(step: "boot modules: a short image chunk", error: .rangeError) }
            let index = IPCBuffer.load(chunk.address), length = IPCBuffer.load(chunk.address + 8)
            guard length <= UInt64(chunk.words - 2) * 8 else {
                throw BuildError(step: "boot modules: image \(index) is longer than its chunk", error: .rangeError)
            }
            var bytes = [UInt8](repeating: 0, count: Int(length))
            for i in 0..<Int(length) {
                let word = IPCBuffer.load(chunk.address + 16 + UInt64(i / 8) * 8)
                bytes[i] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(i % 8)))
            }
            do throws(ELFError) {
                images[index] = (bytes, try ELFImage(bytes: bytes))
            } catch {
                throw BuildError(step: "image \(index): \(error.reason)", error: .invalidArgument)
            }
        }
    }
}

extension SystemBuilder {
    /// Loads image `image` into task `i`'s VSpace at TaskLayout.imageBase of its range,
    /// with `patches` (a PD's name and masks) written; returns the entry point's address.
    mutating func loadImage(_ i: Int, _ image: (bytes: [UInt8], elf: ELFImage), patches: [ELFImage.Patch] = []) throws(BuildError) -> UInt64 {
        let name = plan.tasks[i].name, range = tasks[i].range, elf = image.elf
        // A static PIE goes to TaskLayout.imageBase of the range; an ET_EXEC where it was
        // linked, which must be inside the range (the host checked where it would be).
        let bias = elf.bias(rangeStart: range.lowerBound)
        guard elf.fits(bias: bias, in: range) else {
            throw BuildError(step: "image of \(name): linked at \(hex(elf.span.lowerBound))-\(hex(elf.span.upperBound)), outside its "
                             + "address range \(hex(range.lowerBound))-\(hex(range.upperBound))", error: .invalidArgument)
        }
        for page in elf.loadedPages(file: image.bytes, bias: bias, patches: patches) {
            try placePage(i, at: page.address, rights: page.writable ? .readWrite : .read, "image of \(name)") { scratch in
                unsafe page.bytes.withUnsafeBytes { source in
                    // SAFETY: the scratch page is mapped read-write, and a page is 4096 bytes.
                    unsafe UnsafeMutableRawPointer(bitPattern: UInt(scratch))!.copyMemory(from: source.baseAddress!, byteCount: 4096)
                }
            }
        }
        return bias + elf.entry
    }

    /// Builds task `i`'s TLS block from `image`'s PT_TLS; returns the thread pointer (0 if
    /// the image has no TLS).
    mutating func setUpTLS(_ i: Int, _ image: (bytes: [UInt8], elf: ELFImage)) throws(BuildError) -> UInt64 {
        guard let tls = image.elf.tls else { return 0 }
        func alignUp(_ v: UInt64, _ a: UInt64) -> UInt64 { (v + a - 1) & ~(a - 1) }
        let block = alignUp(tls.memorySize, tls.align)
        let area = tasks[i].range.lowerBound + TaskLayout.tls
        let tp = area + alignUp(block, max(tls.align, 16))
        let start = tp - block
        for page in stride(from: area, to: tp + 8, by: 4096) {
            try placePage(i, at: page, rights: .readWrite, "TLS of \(plan.tasks[i].name)") { scratch in
                // The initial image's bytes on this page, then the self pointer.
                copy(image.bytes, bytes: start..<start + tls.fileSize, at: tls.fileOffset, onto: page, scratch)
                if page <= tp && tp < page + 4096 { IPCBuffer.store(scratch + (tp - page), tp) }
            }
        }
        return tp
    }

    /// A fresh frame, filled by `fill` through init's scratch mapping (its address given),
    /// then mapped at `vaddr` of task `i` with `rights`.
    mutating func placePage(_ i: Int, at vaddr: UInt64, rights: CapRights, _ what: String,
                            fill: (UInt64) -> Void) throws(BuildError) {
        let scratch = ownRange.lowerBound + Self.scratchOffset
        let frame = try make(.smallPage, what)
        guard alloc.map(frame, vspace: InitialCap.initThreadVSpace.rawValue, vaddr: scratch, rights: .readWrite) else {
            throw BuildError(step: "scratch mapping for \(what)", error: .notEnoughMemory)
        }
        fill(scratch)
        try check(Page.unmap(frame), "scratch unmap for \(what)")
        guard alloc.map(frame, vspace: tasks[i].vspace, vaddr: vaddr, rights: rights) else {
            throw BuildError(step: "\(what) at \(hex(vaddr))", error: .notEnoughMemory)
        }
    }
}

/// Copies the part of `range` (addresses whose bytes are the file's from `offset` on) that
/// lies on the page at `page` to the same place on the page mapped at `scratch`.
private func copy(_ file: [UInt8], bytes range: Range<UInt64>, at offset: UInt64, onto page: UInt64, _ scratch: UInt64) {
    let low = max(page, range.lowerBound), high = min(page + 4096, range.upperBound)
    guard low < high else { return }
    let from = Int(offset + (low - range.lowerBound)), count = Int(high - low)
    unsafe file.withUnsafeBytes { source in
        // SAFETY: the scratch page is mapped read-write and (low - page) + count <= 4096;
        // the source bytes lie in the file (ELFImage checked the segment's and TLS's).
        let target = unsafe UnsafeMutableRawPointer(bitPattern: UInt(scratch + (low - page)))!
        unsafe target.copyMemory(from: source.baseAddress! + from, byteCount: count)
    }
}
