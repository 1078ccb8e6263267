// SPDX-License-Identifier: Apache-2.0
//
// Typed handles to kernel objects in RAM. A handle is the object's physical address plus
// the physmap base: no ARC, no allocation, two words passed in registers. Naming
// convention: `X` is the fixed-layout POD struct stored in RAM, `XRef` the handle
// (`TCBRef = ObjectRef<TCB>`). Access goes through `pointee`, which reads and writes RAM
// in place.

/// A handle to a kernel object of layout `Object` at a physical address.
@safe public struct ObjectRef<Object>: Equatable, @unchecked Sendable {
    @usableFromInline let base: UnsafeMutableRawPointer
    /// The object's physical address (what capabilities and links store).
    public let paddr: UInt64

    /// A handle to the object at `paddr`; the caller has checked the object lies in RAM.
    @inline(__always) public init(physmap: Physmap, paddr: UInt64) {
        unsafe self.base = physmap.base
        self.paddr = paddr
    }

    @inline(__always) var pointer: UnsafeMutablePointer<Object> {
        // SAFETY: handles are only made for objects the kernel placed in RAM (retype or
        // boot), whose paddr and size it checked; the physmap outlives the kernel.
        unsafe (base + Int(paddr)).assumingMemoryBound(to: Object.self)
    }

    /// The object itself, read and written in place in RAM.
    @inline(__always) public var pointee: Object {
        unsafeAddress { unsafe UnsafePointer(pointer) }
        nonmutating unsafeMutableAddress { unsafe pointer }
    }

    /// A handle to a field-sized object at a byte offset from this one.
    @inline(__always) public func advanced<T>(by offset: UInt64, as type: T.Type = T.self) -> ObjectRef<T> {
        unsafe ObjectRef<T>(base: base, paddr: paddr + offset)
    }

    @inline(__always) init(base: UnsafeMutableRawPointer, paddr: UInt64) {
        unsafe self.base = base
        self.paddr = paddr
    }

    public static func == (a: ObjectRef, b: ObjectRef) -> Bool { a.paddr == b.paddr }
}
