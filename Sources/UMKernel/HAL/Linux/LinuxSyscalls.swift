// SPDX-License-Identifier: Apache-2.0
//
// The Linux machine's host calls that can fail: thin wrappers over CShims that turn -errno
// into a thrown HostError (memory, files). The calls that cannot fail, or whose failure
// is only counted (timers, signal installation, the console's reads and writes, the
// context switch), are made by the HAL/Linux file that owns them. Nothing outside
// HAL/Linux calls the host (scripts/lint-kernel.sh checks the imports).

import CShims
import Glibc

/// A failed host call: which and its errno.
public struct HostError: Error, CustomStringConvertible {
    public var call: String
    public var errno: Int32
    public var description: String { "\(call) failed: \(unsafe String(cString: strerror(errno))) (errno \(errno))" }
}

/// Host memory calls.
enum LinuxSyscalls {
    static func check(_ r: Int32, _ call: String) throws(HostError) -> Int32 {
        if r < 0 { throw HostError(call: call, errno: -r) }
        return r
    }
    static func check(_ r: Int64, _ call: String) throws(HostError) -> UInt64 {
        if r < 0 { throw HostError(call: call, errno: Int32(-r)) }
        return UInt64(r)
    }

    static func memfdCreate(_ name: String, size: UInt64) throws(HostError) -> Int32 {
        try check(unsafe umk_memfd_create(name, size), "memfd_create")
    }
    static func mapShared(fd: Int32, offset: UInt64, length: UInt64) throws(HostError) -> UInt64 {
        try check(umk_map_shared(fd, offset, length), "mmap(MAP_SHARED)")
    }
    static func reserve(_ length: UInt64) throws(HostError) -> UInt64 {
        try check(umk_reserve(length), "mmap(PROT_NONE)")
    }
    static func reserveFixed(_ address: UInt64, length: UInt64, what: String) throws(HostError) {
        _ = try check(umk_reserve_fixed(address, length), what)
    }
    static func mapAnonymous(_ length: UInt64) throws(HostError) -> UInt64 {
        try check(umk_map_anonymous(length), "mmap(MAP_ANONYMOUS)")
    }
    static func populateRAM(_ fd: Int32, base: UInt64, size: UInt64) throws(HostError) {
        _ = try check(unsafe umk_ram_populate(fd, UnsafeMutableRawPointer(bitPattern: UInt(base)), size), "fallocate")
    }
    static func mapFixed(_ addr: UInt64, fd: Int32, offset: UInt64, length: UInt64, prot: Int32) throws(HostError) {
        _ = try check(umk_map_fixed(addr, fd, offset, length, prot), "mmap(MAP_FIXED)")
    }
    /// Maps into a hole; false (and nothing mapped) if the host has something there.
    static func mapFresh(_ addr: UInt64, fd: Int32, offset: UInt64, length: UInt64, prot: Int32,
                         populate: Bool) throws(HostError) -> Bool {
        let r = umk_map_fresh(addr, fd, offset, length, prot, populate ? 1 : 0)
        if r == -17 { return false }
        _ = try check(r, "mmap(MAP_FIXED_NOREPLACE)")
        return true
    }
    /// Grows the host mapping ending at `end` (its last `tail` bytes) by `length` in place;
    /// false (and nothing changed) if the host would not: something in the way, or a
    /// mapping it does not grow. A new mapping is then the way.
    static func growMapping(end: UInt64, tail: UInt64, by length: UInt64) -> Bool {
        umk_map_grow(end, tail, length) == 0
    }
    static func protect(_ addr: UInt64, length: UInt64, prot: Int32) throws(HostError) {
        _ = try check(umk_protect(addr, length, prot), "mprotect")
    }
    static func unmap(_ addr: UInt64, length: UInt64) throws(HostError) {
        _ = try check(umk_unmap(addr, length), "munmap")
    }
    static func createFile(_ path: String) throws(HostError) -> Int32 {
        try check(unsafe umk_create_file(path), "open(\(path))")
    }
    static func close(_ fd: Int32) {
        _ = umk_close(fd)
    }
}
