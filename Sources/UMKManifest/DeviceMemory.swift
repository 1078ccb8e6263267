// SPDX-License-Identifier: Apache-2.0
//
// Device memory a system declares (a manifest's `device` region, an SDF's memory region
// at a phys_addr): what `umk run` puts behind it in the host before the system boots.

/// A region of device memory: its physical range and host backing (`shm`, or the absolute
/// path of a file).
public struct DeviceMemory: Sendable, Equatable {
    public var name: String
    public var paddr: UInt64
    public var size: UInt64
    /// "shm" (a fresh shared-memory object) or a file's absolute path.
    public var backing: String
    public init(name: String, paddr: UInt64, size: UInt64, backing: String) {
        self.name = name; self.paddr = paddr; self.size = size; self.backing = backing
    }
}
