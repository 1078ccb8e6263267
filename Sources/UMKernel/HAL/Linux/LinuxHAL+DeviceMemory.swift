// SPDX-License-Identifier: Apache-2.0
//
// Device memory on the Linux machine: a physical range outside RAM is a host file (a fresh
// shared-memory object, a memfd another process opens as /proc/PID/fd/N, or a file the
// manifest names) that a host program opens too, playing the device. A frame there is mirrored by mapping that file, as RAM's
// frames map the RAM memfd; never executable (the sandbox lets only RAM be mapped so), and
// the kernel never reads or writes it (seL4 does not either: no zeroing, no IPC buffer).

import CShims

/// A device region's host side.
struct DeviceBacking {
    var paddr: UInt64
    var size: UInt64
    var fd: Int32
    var path: String
}

extension LinuxHAL {
    /// Puts device memory [paddr, paddr + size) behind `backing`: "shm" makes a fresh
    /// shared-memory object (a memfd: gone with the process, nothing to clean up), anything
    /// else is a file's path (created if missing, extended with zeros to `size` if
    /// shorter). Returns the path a host program opens to play the device
    /// (`/proc/PID/fd/N` for a fresh object).
    public mutating func attachDeviceMemory(name: String, paddr: UInt64, size: UInt64,
                                            backing: String) throws(HostError) -> String {
        let fd: Int32, path: String
        if backing == "shm" {
            fd = try LinuxSyscalls.memfdCreate("umk-device-\(name)", size: size)
            path = "/proc/\(umk_getpid())/fd/\(fd)"
        } else {
            fd = try LinuxSyscalls.check(unsafe umk_open_backing(backing, size), "open(\(backing))")
            path = backing
        }
        deviceMemory.append(DeviceBacking(paddr: paddr, size: size, fd: fd, path: path))
        return path
    }

    /// What backs physical address `paddr`: RAM's memfd, or a device region's file, and
    /// the offset into it.
    @inline(__always)
    func hostBacking(_ paddr: UInt64) -> (fd: Int32, offset: UInt64) {
        if paddr < physmap.size || deviceMemory.isEmpty { return (ramFD, paddr) }
        for d in deviceMemory where paddr >= d.paddr && paddr - d.paddr < d.size { return (d.fd, paddr - d.paddr) }
        return (ramFD, paddr)
    }

    /// The host protection of a mapping of `paddr` with `rights`: device memory is never
    /// executable.
    func hostProtection(_ rights: VMRights, paddr: UInt64) -> Int32 {
        let prot = Self.hostProtection(rights)
        return paddr >= physmap.size && !deviceMemory.isEmpty ? prot & ~4 : prot
    }

    mutating func releaseDeviceMemory() {
        for d in deviceMemory { LinuxSyscalls.close(d.fd) }
        deviceMemory = []
    }
}
