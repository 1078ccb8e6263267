// SPDX-License-Identifier: Apache-2.0
//
// Where address-space windows sit in the host. Window n occupies the fixed host range
// [base + n × stride, base + n × stride + size), followed by a guard gap of `guardSize`
// bytes reserved inaccessible, so an access that runs past a task's window faults instead
// of landing in its neighbour's memory. A VSpace's window is the lowest free slot when it
// gets its ASID, so a run that assigns ASIDs in the same order (a seeded run) puts every
// window at the same host address. Window and gap are first reserved with
// MAP_FIXED_NOREPLACE: if the host has anything there the ASID assignment fails with a
// message naming the address, rather than mapping over it. The window itself is then
// unmapped again, a hole the host's own allocations do not reach (they are made top-down
// from far above, see `base`); the HAL maps frames into it with MAP_FIXED_NOREPLACE too,
// so a host mapping that did land there would be reported, never replaced. The slots are
// the process's, shared by every machine in it, so two systems alive at once never collide.

import Synchronization
import UMKABI

/// The host address ranges of address-space windows.
public enum LinuxWindows {
    /// The first window's host address (16 TiB): below the range Linux loads a
    /// position-independent program and its heap at (from 0x5555_5555_4000 on x86_64, with
    /// its randomisation) and far below where it maps libraries, stacks and anonymous memory
    /// (down from 0x7FFF_FFFF_F000).
    public static let base: UInt64 = 0x1000_0000_0000
    /// log2 of a window's size: a VSpace's guest addresses are below 16 GiB.
    public static let sizeBits: UInt64 = 34
    public static let size: UInt64 = 1 << sizeBits
    /// The inaccessible gap after each window.
    public static let guardSize: UInt64 = 1 << 34
    /// From one window to the next.
    public static let stride: UInt64 = size + guardSize
    /// Windows that fit below 80 TiB, under where Linux loads the program (2,048).
    public static let slotCount = Int((0x5000_0000_0000 - base) / stride)

    /// Slots in use (true) by any machine of this process.
    static let slots = Mutex<[Bool]>([Bool](repeating: false, count: slotCount))

    /// True if a window is free (another machine of the process may take it first).
    static var hasFreeSlot: Bool { slots.withLock { $0.contains(false) } }

    /// The host address of window `slot`.
    public static func address(ofSlot slot: Int) -> UInt64 { base + UInt64(slot) * stride }

    /// True if `address` lies in the part of the host's address space the windows take:
    /// code there is a program image's (Swift guests run in umk's own text).
    @inline(__always) static func isGuestAddress(_ address: UInt64) -> Bool {
        address &- base < UInt64(slotCount) * stride
    }

    /// Takes the lowest free window (checked empty) and reserves its guard gap; returns the
    /// window's address.
    static func reserve() throws(HostError) -> UInt64 {
        try slots.withLock { (slots: inout [Bool]) throws(HostError) -> UInt64 in
            guard let slot = slots.firstIndex(of: false) else {
                throw HostError(call: "reserve an address-space window (all \(slotCount) in use)", errno: 12)
            }
            let address = address(ofSlot: slot)
            try LinuxSyscalls.reserveFixed(address, length: stride,
                                           what: "mmap(MAP_FIXED_NOREPLACE) of the window at \(hex(address)) "
                                               + "(the host has a mapping in [\(hex(address)), \(hex(address + stride))))")
            // The window itself stays a hole (the gap stays reserved): a mapping made into a
            // hole costs half of one that replaces part of a reservation (2,000 against
            // 4,000 cycles a page on the development machine), and every VMFault makes one.
            try LinuxSyscalls.unmap(address, length: size)
            slots[slot] = true
            return address
        }
    }

    /// Unmaps the window at `address` and its gap; the slot is free again.
    static func release(_ address: UInt64) {
        guard address >= base, (address - base) % stride == 0 else { return }
        let slot = Int((address - base) / stride)
        try? LinuxSyscalls.unmap(address, length: stride)
        slots.withLock { $0[slot] = false }
    }
}
