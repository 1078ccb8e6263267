// SPDX-License-Identifier: Apache-2.0
//
// The physmap: the kernel's own mapping of all of RAM. A physical address is an offset
// into it. Every kernel object and every frame lives here, and the kernel reaches guest
// memory (IPC buffers, BootInfo) only through it, never through a guest window.
// This file and ObjectRef.swift hold the kernel's pointer arithmetic.

/// The kernel's mapping of RAM: a base pointer and a size, physical address = offset.
@safe public struct Physmap: @unchecked Sendable {
    /// Host address of physical address 0.
    public let base: UnsafeMutableRawPointer
    /// RAM size in bytes.
    public let size: UInt64

    /// Wraps a RAM region the HAL owns; the region must outlive every user of the physmap.
    public init(base: UnsafeMutableRawPointer, size: UInt64) {
        unsafe self.base = base
        self.size = size
    }

    /// True if `[paddr, paddr + length)` lies inside RAM.
    @inlinable public func contains(_ paddr: UInt64, length: UInt64) -> Bool {
        paddr <= size && length <= size - paddr
    }

    /// Reads the word at `paddr` (8-byte aligned, inside RAM).
    @inline(__always) public func loadWord(_ paddr: UInt64) -> UInt64 {
        precondition(paddr & 7 == 0 && paddr + 8 <= size, "physmap word read out of RAM")
        // SAFETY: checked in range and aligned above.
        return unsafe base.load(fromByteOffset: Int(paddr), as: UInt64.self)
    }

    /// Writes the word at `paddr` (8-byte aligned, inside RAM).
    @inline(__always) public func storeWord(_ paddr: UInt64, _ value: UInt64) {
        precondition(paddr & 7 == 0 && paddr + 8 <= size, "physmap word write out of RAM")
        // SAFETY: checked in range and aligned above.
        unsafe base.storeBytes(of: value, toByteOffset: Int(paddr), as: UInt64.self)
    }

    /// Reads the byte at `paddr`.
    public func loadByte(_ paddr: UInt64) -> UInt8 {
        precondition(paddr < size, "physmap byte read out of RAM")
        // SAFETY: checked in range above.
        return unsafe base.load(fromByteOffset: Int(paddr), as: UInt8.self)
    }

    /// Writes the byte at `paddr`.
    public func storeByte(_ paddr: UInt64, _ value: UInt8) {
        precondition(paddr < size, "physmap byte write out of RAM")
        // SAFETY: checked in range above.
        unsafe base.storeBytes(of: value, toByteOffset: Int(paddr), as: UInt8.self)
    }

    /// Zeroes `[paddr, paddr + length)`.
    public func zero(_ paddr: UInt64, length: UInt64) {
        precondition(contains(paddr, length: length), "physmap zero out of RAM")
        // SAFETY: checked in range above.
        unsafe (base + Int(paddr)).initializeMemory(as: UInt8.self, repeating: 0, count: Int(length))
    }

    /// All of RAM as words (a snapshot: kernel state lives in RAM).
    public func words() -> [UInt64] {
        var result = [UInt64](repeating: 0, count: Int(size / 8))
        // SAFETY: the array holds size/8 words; RAM is `size` bytes.
        unsafe result.withUnsafeMutableBytes { unsafe $0.baseAddress!.copyMemory(from: base, byteCount: Int(size / 8 * 8)) }
        return result
    }

    /// Overwrites RAM with a snapshot taken by `words()`.
    public func restore(words: [UInt64]) {
        precondition(UInt64(words.count) == size / 8, "physmap restore: snapshot of another RAM size")
        // SAFETY: the snapshot is exactly RAM's size (checked above).
        unsafe words.withUnsafeBytes { unsafe base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// Copies `length` bytes inside RAM (regions may not overlap).
    public func copy(from source: UInt64, to destination: UInt64, length: UInt64) {
        precondition(contains(source, length: length) && contains(destination, length: length),
                     "physmap copy out of RAM")
        // SAFETY: both ranges checked above.
        unsafe (base + Int(destination)).copyMemory(from: base + Int(source), byteCount: Int(length))
    }

    /// A typed handle to the object at `paddr`.
    @inline(__always) public func ref<T>(_ type: T.Type = T.self, _ paddr: UInt64) -> ObjectRef<T> {
        ObjectRef(physmap: self, paddr: paddr)
    }
}
