// SPDX-License-Identifier: Apache-2.0
//
// The deterministic backend for kernel tests (NIO's EmbeddedEventLoop in spirit): RAM is
// anonymous memory, mappings are recorded rather than made, interrupts are scripted, time
// is virtual and debug output is collected. No signals, no host mappings, no host clock.
// Guests are scripted too: the kernel's loop runs here as on Linux, and a test plays the
// thread the kernel restored (`Kernel.runScripted`, SimulatedHAL+Run.swift).

import UMKABI
import UMKDevices

/// The deterministic HAL.
public struct SimulatedHAL: HAL {
    public let physmap: Physmap
    /// Every VSpace spans all of seL4's user range, as on hardware, unless a test narrows
    /// an ASID's range here (as the Linux machine's windows do).
    public var addressRanges: [UInt64: Range<UInt64>] = [:]
    /// Scripted threads keep every register in their TCB.
    public func saveRegisters(of thread: TCBRef) {}
    public func registersWritten(_ thread: TCBRef) {}

    public func addressRange(asid: UInt64) -> Range<UInt64> {
        addressRanges[asid] ?? 0..<VSpaceLayout.kernelUserTop + 1
    }
    /// Current mappings by ASID and virtual address.
    public var mappings: [UInt64: [UInt64: FrameMapping]] = [:]
    /// ASIDs assigned to VSpaces (asid → PML4 paddr).
    public var assignedASIDs: [UInt64: UInt64] = [:]
    /// Number of map/unmap requests seen (what a real backend's host calls would be).
    public var mappingCalls = 0
    /// Debug output so far.
    public var output: [UInt8] = []
    /// Preemption points left before one reports a pending interrupt (nil = never).
    public var interruptAfterChecks: Int? = nil
    public private(set) var isHalted = false
    /// The devices behind the I/O ports.
    public var devices = PCDevices()
    /// Virtual time in nanoseconds (tests move it; the PIT counts against it).
    public var now: UInt64 = 0
    /// Bytes the guest sent through the UART.
    public var console: [UInt8] = []
    /// Where a simulated thread's syscall instruction is (2 bytes, as x86's `syscall`).
    public static let syscallSite: UInt64 = 0x1000
    public var syscallIP: UInt64 { Self.syscallSite }
    public var syscallNextIP: UInt64 { Self.syscallSite + 2 }
    /// The last thread restored, how, and in which ASID.
    public private(set) var lastRestored: (thread: TCBRef, how: Resumption, asid: UInt64?)?
    /// Kernel entries so far.
    public private(set) var entries = 0
    /// The kernel's scheduling tick is due at the next look for events (set by a test).
    public var tickDue = false
    /// Ends the run at the next resumption (a test's stand-in for a host stop).
    public var stopRequested = false
    /// Times the kernel waited with nothing to run.
    public private(set) var idleWaits = 0
    private let storage: RAMStorage

    /// A simulated machine with `ramSize` bytes of zeroed RAM.
    public init(ramSize: UInt64 = 16 << 20) {
        storage = RAMStorage(size: ramSize)
        physmap = storage.physmap
    }

    /// The debug output as text.
    public var outputText: String { String(decoding: output, as: UTF8.self) }

    public mutating func assignASID(_ asid: UInt64, vspace: UInt64) {
        assignedASIDs[asid] = vspace
    }
    public mutating func releaseASID(_ asid: UInt64) {
        assignedASIDs[asid] = nil
        mappings[asid] = nil
    }
    public mutating func mapFrame(asid: UInt64, vaddr: UInt64, paddr: UInt64, sizeBits: UInt64, rights: VMRights) {
        mappingCalls += 1
        mappings[asid, default: [:]][vaddr] = FrameMapping(paddr: paddr, sizeBits: sizeBits, rights: rights)
    }
    public mutating func unmapFrame(asid: UInt64, vaddr: UInt64, sizeBits: UInt64) {
        mappingCalls += 1
        mappings[asid]?[vaddr] = nil
    }
    public mutating func hasAddressSpace(asid: UInt64) -> Bool { assignedASIDs[asid] != nil }
    /// Address spaces the machine can hold at once (nil: no limit but the ASIDs').
    public var addressSpaceLimit: Int? = nil
    public var canTakeAddressSpace: Bool { mutating get { addressSpaceLimit.map { assignedASIDs.count < $0 } ?? true } }
    public mutating func isMappedWritable(asid: UInt64, vaddr: UInt64) -> Bool {
        mappings[asid].flatMap { FrameMapping.covering(vaddr, in: $0) }?.rights == .readWrite
    }
    public mutating func commitMappings() {}

    public mutating func restore(_ thread: TCBRef, _ how: Resumption, asid: UInt64?) {
        lastRestored = (thread, how, asid)
    }
    public mutating func noteKernelEntry() { entries += 1 }
    public var mustStop: Bool { mutating get { stopRequested } }

    public mutating func hasPendingEvents() -> Bool {
        devices.advance(to: now)
        return tickDue || devices.latchedLines != 0 || devices.uart.interruptAsserted
    }
    public mutating func takeEvents() -> Bool {
        defer { tickDue = false }
        return tickDue
    }
    /// Virtual time jumps to the PIT's next edge if a handler waits on it; with no such
    /// edge nothing scripted can come, and the run is over.
    public mutating func idle(handledLines: UInt64) -> Bool {
        idleWaits += 1
        guard handledLines & (1 << PCDevices.pitIRQ) != 0, let deadline = devices.pit.nextDeadline else { return false }
        now = max(now, deadline)
        return true
    }

    public mutating func isInterruptPending() -> Bool {
        guard let n = interruptAfterChecks else { return false }
        if n <= 0 { return true }
        interruptAfterChecks = n - 1
        return false
    }
    /// Raises edge-triggered IRQ `irq` (a scripted device or host signal).
    public mutating func raise(_ irq: UInt64) { devices.latchedLines |= 1 << irq }
    public mutating func takeInterrupts(unmasked: UInt64) -> UInt64 {
        devices.advance(to: now)
        return devices.takeInterrupts(unmasked: unmasked)
    }
    public mutating func ioPortIn(_ port: UInt16, width: Int) -> UInt32 {
        devices.read(port, width: width, now: now)
    }
    public mutating func ioPortOut(_ port: UInt16, width: Int, value: UInt32) {
        devices.write(port, width: width, value: value, now: now)
        console += devices.uart.takeTransmitted()
    }
    public mutating func debugPutChar(_ byte: UInt8) { output.append(byte) }
    public mutating func halt() { isHalted = true }

    /// The trace's text so far.
    public private(set) var traceText: [UInt8] = []
    public mutating func traceClock() -> UInt64 { now }
    public mutating func writeTrace(_ bytes: [UInt8]) { traceText += bytes }

    /// The capability graphs DebugSnapshot made, in order.
    public private(set) var capabilitySnapshots: [String] = []
    public mutating func capabilitySnapshot(_ graph: () -> String) { capabilitySnapshots.append(graph()) }
}

/// Owns the simulated RAM allocation; freed with the last copy of the HAL.
final class RAMStorage: @unchecked Sendable {
    let physmap: Physmap
    init(size: UInt64) {
        // SAFETY: a fresh zeroed allocation owned by this object until deinit.
        let p = UnsafeMutableRawPointer.allocate(byteCount: Int(size), alignment: 1 << 21)
        unsafe p.initializeMemory(as: UInt8.self, repeating: 0, count: Int(size))
        unsafe physmap = Physmap(base: p, size: size)
    }
    deinit { unsafe physmap.base.deallocate() }
}
