// SPDX-License-Identifier: Apache-2.0
//
// Strict mode (MachineOptions.strict, `umk run --strict`): while a guest runs, kernel RAM
// (the physmap) is inaccessible but for the running thread's TCB, which the entry glue
// saves into, and so is every window but the running thread's own. A stray access from a
// guest into kernel memory or into another task's memory is then a VMFault for its fault
// handler instead of silent corruption. The price is host protection calls on every
// switch: the kernel opens its RAM on every entry (CShims umk_strict_kernel_enter) and
// closes it on every exit; a switch between address spaces closes one window and opens
// the other's mappings again, run by run. An executable run reopens by being mapped
// again (the sandbox allows an executable mapping of RAM, not an executable mprotect).

import CShims
import UMKABI

/// What strict mode cost in a run.
public struct StrictCost: Sendable {
    /// Guest entries kernel RAM was closed for (and kernel entries it was opened on).
    public var guestEntries: UInt64 = 0
    /// Switches between address spaces (a window closed, another opened).
    public var windowSwitches: UInt64 = 0
    /// Host protection calls made.
    public var calls: UInt64 = 0
    /// Nanoseconds spent in them, closing and opening (kernel RAM's reopening included).
    public var nanoseconds: UInt64 = 0
}

extension LinuxHAL {
    /// Turns strict mode on before the first guest runs: every window closed.
    mutating func beginStrict() {
        commitMappings()
        strict = true
        strictOpenASID = nil
        for (asid, base) in windows.enumerated() where base != 0 { closeWindow(UInt64(asid)) }
        unsafe umk_strict_configure(UInt64(UInt(bitPattern: physmap.base)), physmap.size)
    }

    /// Turns it off after the run: kernel RAM and every window as their mappings say.
    mutating func endStrict() {
        guard strict else { return }
        umk_strict_kernel_enter()
        strictCost.nanoseconds &+= umk_strict_reopen_ns()
        umk_strict_configure(0, 0)
        strict = false
        for (asid, base) in windows.enumerated() where base != 0 { openWindow(UInt64(asid)) }
        strictOpenASID = nil
    }

    /// Before a thread of `asid` runs (the restore): its window open, the one open before
    /// closed. The kernel is done with the previous thread's memory by then.
    mutating func strictSwitch(to asid: UInt64?) {
        guard asid != strictOpenASID else { return }
        commitMappings()
        let start = umk_monotonic_ns()
        if let old = strictOpenASID { closeWindow(old) }
        if let asid { openWindow(asid) }
        strictOpenASID = asid
        strictCost.windowSwitches += 1
        strictCost.nanoseconds &+= umk_monotonic_ns() &- start
    }

    /// The last step before the stub resumes `n`: kernel RAM closed but `n`'s TCB.
    mutating func strictGuestEnter(_ n: TCBRef) {
        let start = umk_monotonic_ns()
        let tcb = unsafe UInt64(UInt(bitPattern: physmap.base)) &+ n.paddr
        let r = umk_strict_guest_enter(tcb, UInt64(1) << ObjectSize.tcbBits)
        if r != 0 { hostFailure = hostFailure ?? HostError(call: "mprotect (strict mode)", errno: -r) }
        strictCost.guestEntries += 1
        strictCost.calls += 3
        strictCost.nanoseconds &+= umk_monotonic_ns() &- start
    }

    /// `asid`'s window as its mappings say: runs contiguous in the window and in RAM with
    /// one protection, each one host call.
    private mutating func openWindow(_ asid: UInt64) {
        guard asid < UInt64(mirrored.count) else { return }
        var runs: [(vaddr: UInt64, paddr: UInt64, length: UInt64, prot: Int32)] = []
        for (vaddr, m) in mirrored[Int(asid)].sorted {
            let length = UInt64(1) << m.sizeBits, prot = hostProtection(m.rights, paddr: m.paddr)
            if let r = runs.last, r.prot == prot, r.vaddr &+ r.length == vaddr, r.paddr &+ r.length == m.paddr {
                runs[runs.count - 1].length += length
            } else {
                runs.append((vaddr, m.paddr, length, prot))
            }
        }
        for r in runs where r.prot & 4 != 0 {
            strictCost.calls += 1
            do {
                try LinuxSyscalls.mapFixed(r.vaddr, fd: ramFD, offset: r.paddr, length: r.length, prot: r.prot)
            } catch {
                hostFailure = hostFailure ?? error
            }
        }
        for r in runs where r.prot & 4 == 0 { protectForStrict(r.vaddr, length: r.length, prot: r.prot) }
    }

    /// `asid`'s mappings inaccessible, each stretch contiguous in the window one host call
    /// (the window's unmapped parts are holes, which fault anyway).
    private mutating func closeWindow(_ asid: UInt64) {
        guard asid < UInt64(mirrored.count) else { return }
        var stretches: [(vaddr: UInt64, length: UInt64)] = []
        for (vaddr, m) in mirrored[Int(asid)].sorted {
            let length = UInt64(1) << m.sizeBits
            if let r = stretches.last, r.vaddr &+ r.length == vaddr {
                stretches[stretches.count - 1].length += length
            } else {
                stretches.append((vaddr, length))
            }
        }
        for r in stretches { protectForStrict(r.vaddr, length: r.length, prot: 0) }
    }

    private mutating func protectForStrict(_ address: UInt64, length: UInt64, prot: Int32) {
        strictCost.calls += 1
        do {
            try LinuxSyscalls.protect(address, length: length, prot: prot)
        } catch {
            hostFailure = hostFailure ?? error
        }
    }
}
