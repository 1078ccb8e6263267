// SPDX-License-Identifier: Apache-2.0
//
// The Linux backend. RAM is one memfd mapped once as the physmap. Each VSpace that gets an
// ASID gets a window of the host address space at a fixed address, a hole with a reserved
// guard gap after it (LinuxWindows.swift), and may map only inside it: a guest virtual
// address is the host address, so a frame mapped at vaddr v is mirrored with
// mmap(MAP_FIXED_NOREPLACE|MAP_SHARED) of the memfd at host address v, and nothing translates.
// Fresh mappings contiguous in the window and in RAM are gathered and made by one mmap
// before a thread of that address space next runs. Guests run as contexts switched by the kernel itself: entry
// glue in LinuxSystem.swift, restore in LinuxHAL+Restore.swift, the switch in
// CShims/context_x86_64.S.

import CShims
import UMKABI
import UMKDevices

/// The real backend: memfd RAM, host windows, the debug console on stdout.
public struct LinuxHAL: HAL {
    public let physmap: Physmap
    /// The memfd behind RAM.
    let ramFD: Int32
    /// Host base address of each assigned ASID's window (0 = none), indexed by ASID.
    var windows = [UInt64](repeating: 0, count: VSpaceLayout.asidPoolCount * VSpaceLayout.asidPoolEntries)
    /// What is mirrored in each window (vaddr → paddr, size, rights), to tell a remap,
    /// indexed by ASID.
    var mirrored = [WindowMappings](repeating: WindowMappings(), count: VSpaceLayout.asidPoolCount * VSpaceLayout.asidPoolEntries)
    /// Counts unmaps and window releases: host addresses checked under one generation stay
    /// valid while it does not change.
    public private(set) var unmapGeneration: UInt64 = 0
    /// Set once a 2 MiB or 1 GiB frame was mirrored (a later small frame may lie under one).
    var largePagesMirrored = false
    /// Device memory regions (physical ranges outside RAM) and the host files behind them.
    var deviceMemory: [DeviceBacking] = []
    /// Fresh mappings not made yet: consecutive frames are mapped by one mmap.
    var pendingRun: PendingRun? {
        didSet { pendingRunASID = pendingRun?.asid ?? .max }
    }
    /// The pending run's ASID, or .max: one word for every kernel exit to test.
    private(set) var pendingRunASID: UInt64 = .max
    /// Host mapping calls made (mmap/mprotect), for measurements.
    public private(set) var hostMappingCalls = 0
    /// Debug output so far (also written to stdout if `echo` is set).
    public private(set) var output: [UInt8] = []
    public var echo: Bool
    public private(set) var isHalted = false
    /// The first host failure, if any (a mapping the host refused); the system stops on it.
    public internal(set) var hostFailure: HostError? {
        didSet { failed = hostFailure != nil }
    }
    /// True once a host call failed (cheap to test on every kernel exit).
    public private(set) var failed = false
    /// Set when the host asks the run to end (checked on every kernel exit).
    public internal(set) var stopReason: StopReason?
    var outputWatch: OutputWatch?

    // Interrupts, devices and time (LinuxHAL+Interrupts.swift).
    public let options: MachineOptions
    /// The devices behind the I/O ports.
    public internal(set) var devices = PCDevices()
    /// Everything the guest transmitted through the UART (also written to the console).
    public internal(set) var consoleOutput: [UInt8] = []
    var console: HostConsole
    /// Host input read and not yet in the UART's FIFO (the host side is flow-controlled).
    var inputBacklog: [UInt8] = []
    /// Kernel entries so far (virtual time advances by them).
    public internal(set) var entries: UInt64 = 0
    /// All of RAM was allocated in the host up front (MachineOptions.populateRAM).
    public private(set) var ramPopulated = false
    /// Each thread's first run: its name then (DebugNameThread's) and the host's monotonic
    /// time in ns, in the order they ran (what `umk run --stats` reports boot time from).
    /// The first `threadStartsKept` only, so a system that keeps making threads does not
    /// grow it without end.
    public internal(set) var threadStarts: [ThreadStart] = []
    static let threadStartsKept = 1 << 16

    /// A thread's first run.
    public struct ThreadStart: Sendable {
        public var name: String
        public var nanoseconds: UInt64
    }
    /// Looks for host work so far: the stamp of recorded input.
    var stamp: UInt64 = 0
    var virtualNow: UInt64 = 0
    var nextVirtualTick: UInt64
    let hostStart: UInt64
    var recordFD: Int32 = -1
    /// The capability graph's file (MachineOptions.capabilityGraphPath), or -1.
    var graphFD: Int32 = -1
    /// The trace's file (MachineOptions.tracePath), or -1.
    var traceFD: Int32 = -1
    var replayIndex = 0
    /// `stamp` value at which the next replayed event is due (.max: none).
    var nextReplayDue: UInt64 = .max
    var armedPITDeadline: UInt64? = nil
    /// The PIT's next edge in nanoseconds (.max: none), refreshed when the PIT changes.
    var pitDeadline: UInt64 = .max
    /// Host events taken out of order and not handled yet.
    var heldEvents: UInt64 = 0
    var tickArmed = false
    var interruptsInstalled = false

    // Strict mode (LinuxHAL+Strict.swift).
    /// True while strict mode is on (MachineOptions.strict, between beginStrict and endStrict).
    var strict = false
    /// The ASID whose window is open (every other one is closed).
    var strictOpenASID: UInt64? = nil
    /// What strict mode cost: guest entries it closed kernel RAM for, window switches,
    /// host protection calls, and the time they took.
    public internal(set) var strictCost = StrictCost()

    /// RAM of `ramSize` bytes in a fresh memfd.
    public init(ramSize: UInt64 = 256 << 20, echo: Bool = true, options: MachineOptions = MachineOptions()) throws(HostError) {
        ramFD = try LinuxSyscalls.memfdCreate("umk-ram", size: ramSize)
        let base = try LinuxSyscalls.mapShared(fd: ramFD, offset: 0, length: ramSize)
        // SAFETY: the mapping is ramSize bytes, owned until `release()`.
        physmap = unsafe Physmap(base: UnsafeMutableRawPointer(bitPattern: UInt(base))!, size: ramSize)
        // An optimisation only: where the host refuses (a memory limit), pages come on use.
        if options.populateRAM { ramPopulated = (try? LinuxSyscalls.populateRAM(ramFD, base: base, size: ramSize)) != nil }
        self.echo = echo
        self.options = options
        // A replay writes to the console but never reads it.
        self.console = try HostConsole(options.console)
        hostStart = umk_monotonic_ns()
        virtualNow = options.clockOffset % options.tickNanoseconds
        nextVirtualTick = options.tickNanoseconds
        outputWatch = options.expectOutput.map(OutputWatch.init)
        if let path = options.recordPath {
            recordFD = try LinuxSyscalls.createFile(path)
        }
        // Opened now: the sandbox lets the run write, not open.
        if let path = options.capabilityGraphPath {
            graphFD = try LinuxSyscalls.createFile(path)
        }
        if let path = options.tracePath {
            traceFD = try LinuxSyscalls.createFile(path)
        }
        publishDebugInfo()
    }

    /// Virtual time in a virtual-time run, host time since the machine was made in real time.
    public mutating func traceClock() -> UInt64 {
        options.clock == .realtime ? umk_monotonic_ns() &- hostStart : virtualNow
    }

    public mutating func writeTrace(_ bytes: [UInt8]) {
        if traceFD >= 0 { HostConsole.writeAll(bytes, to: traceFD) }
    }

    /// Appends a capability graph to the file --cap-graph names.
    public mutating func writeCapabilityGraph(_ graph: String) {
        guard graphFD >= 0 else { return }
        HostConsole.writeAll(Array(graph.utf8), to: graphFD)
    }

    public mutating func capabilitySnapshot(_ graph: () -> String) {
        if graphFD >= 0 { writeCapabilityGraph(graph()) }
    }

    /// Unmaps RAM and every window and closes the memfd.
    public mutating func release() {
        console.close()
        if recordFD >= 0 { LinuxSyscalls.close(recordFD); recordFD = -1 }
        if graphFD >= 0 { LinuxSyscalls.close(graphFD); graphFD = -1 }
        if traceFD >= 0 { LinuxSyscalls.close(traceFD); traceFD = -1 }
        pendingRun = nil
        for base in windows where base != 0 { LinuxWindows.release(base) }
        releaseDeviceMemory()
        windows = []
        try? LinuxSyscalls.unmap(UInt64(UInt(bitPattern: unsafe physmap.base)), length: physmap.size)
        LinuxSyscalls.close(ramFD)
    }

    /// The host address where `asid`'s window starts. `mutating` only so that a
    /// call through the kernel's `hal` property accesses the HAL in place: a non-mutating
    /// call copies the whole struct (a retain and release of every reference in it) on
    /// every kernel entry.
    @inline(__always) public mutating func window(asid: UInt64) -> UInt64? {
        let base = asid < UInt64(windows.count) ? windows[Int(asid)] : 0
        return base == 0 ? nil : base
    }

    /// A guest in a syscall is inside umk_syscall: its IP is the stub's address, and it
    /// resumes one past it (the stub's return path).
    public var syscallIP: UInt64 { @inline(__always) get { umk_syscall_address() } }
    public var syscallNextIP: UInt64 { @inline(__always) get { umk_syscall_address() &+ 1 } }

    public mutating func hasAddressSpace(asid: UInt64) -> Bool { window(asid: asid) != nil }

    /// `asid`'s window: its guest addresses are these host addresses.
    public mutating func addressRange(asid: UInt64) -> Range<UInt64> {
        guard let base = window(asid: asid) else { return 0..<0 }
        return base..<base + LinuxWindows.size
    }

    public var canTakeAddressSpace: Bool { mutating get { LinuxWindows.hasFreeSlot } }

    /// True once a host call failed or the host asked the run to end.
    public var mustStop: Bool {
        @inline(__always) mutating get { failed || stopReason != nil }
    }

    public mutating func assignASID(_ asid: UInt64, vspace: UInt64) {
        guard window(asid: asid) == nil, asid < UInt64(windows.count) else { return }
        do {
            windows[Int(asid)] = try LinuxWindows.reserve()
        } catch {
            hostFailure = hostFailure ?? error
        }
    }

    public mutating func releaseASID(_ asid: UInt64) {
        guard let base = window(asid: asid) else { return }
        commitMappings()
        unmapGeneration &+= 1
        windows[Int(asid)] = 0
        LinuxWindows.release(base)
        mirrored[Int(asid)] = WindowMappings()
        if strictOpenASID == asid { strictOpenASID = nil }
    }

    public mutating func mapFrame(asid: UInt64, vaddr: UInt64, paddr: UInt64, sizeBits: UInt64, rights: VMRights) {
        // The kernel checked the range; a mapping outside the window is never mirrored.
        let range = addressRange(asid: asid)
        guard range.contains(vaddr), vaddr + (UInt64(1) << sizeBits) <= range.upperBound else { return }
        // A read-only frame is executable (seL4 x86_64 never sets execute-disable); a
        // writable one is not: the host's writable and executable pages cost every IPC
        // that touches them (a Call with 10 words measured 357 -> 396 cycles), and code
        // belongs in read-only frames (an image's text is).
        // Strict mode: a frame mapped into a closed window stays closed until its window opens.
        let backing = hostBacking(paddr)
        let prot: Int32 = strict && asid != strictOpenASID ? 0 : hostProtection(rights, paddr: paddr)
        let m = FrameMapping(paddr: paddr, sizeBits: sizeBits, rights: rights)
        let length = UInt64(1) << sizeBits
        let old = mirrored[Int(asid)][vaddr]
        if let old, old.paddr == paddr, old.sizeBits == sizeBits {
            commitMappings()
            unmapGeneration &+= 1
            do {
                hostMappingCalls += 1
                try LinuxSyscalls.protect(vaddr, length: length, prot: prot)
            } catch {
                hostFailure = hostFailure ?? error
            }
        } else {
            // Over a mapping of the window's own (seL4 lets a frame be mapped where another
            // was, at another level), the host call must replace it. The larger levels are
            // looked at (two more lookups) only once the machine has mirrored a large page.
            let replaces = old != nil
                || (largePagesMirrored && mirrored[Int(asid)].covering(vaddr) != nil)
            if let run = pendingRun, run.asid == asid, run.prot == prot, run.fd == backing.fd,
               run.vaddr + run.length == vaddr, run.offset + run.length == backing.offset {
                pendingRun!.length += length
                pendingRun!.replaces = pendingRun!.replaces || replaces
            } else {
                commitMappings()
                pendingRun = PendingRun(asid: asid, vaddr: vaddr, fd: backing.fd, offset: backing.offset, length: length,
                                        prot: prot, replaces: replaces)
            }
        }
        if sizeBits > 12 { largePagesMirrored = true }
        mirrored[Int(asid)][vaddr] = m
    }

    /// The host protection of a frame with `rights`.
    static func hostProtection(_ rights: VMRights) -> Int32 {
        switch rights {
        case .kernelOnly: 0
        case .readOnly: 1 | 4
        case .readWrite: 3
        }
    }

    /// True if a run's host page table entries are filled by its mmap (MAP_POPULATE)
    /// rather than by the guest's first touch of each page faulting in the host: a run of
    /// 2 to 16 pages, as a pager mapping ahead makes (umk bench vmfault-ahead-16, per page:
    /// 3,591 cycles without, 3,525 with, mapped one Map at a time; 1,929 with, the run
    /// mapped by one mmap). A single page is not (the guest touches it at once,
    /// and one host fault costs no more: vmfault 11,839-12,063 cycles without,
    /// 12,151-12,495 with); a longer run is left to fill as it is used.
    static func populates(_ run: PendingRun) -> Bool {
        run.prot != 0 && run.length > 0x1000 && run.length <= 0x10000
    }

    /// A run of fresh mappings contiguous in the window and in RAM, made by one mmap.
    struct PendingRun {
        var asid: UInt64
        var vaddr: UInt64
        /// What backs it: RAM's memfd or a device region's file, from this offset.
        var fd: Int32
        var offset: UInt64
        var length: UInt64
        var prot: Int32
        /// Some of it goes over a mapping of the window's own.
        var replaces: Bool
    }

    /// Makes the mappings still pending. restore calls it before a thread of their address
    /// space runs; anything else that looks at a window's memory must call it first. Out of
    /// line: every kernel exit's restore has its test, none of its body.
    @inline(never)
    public mutating func commitMappings() {
        guard let run = pendingRun else { return }
        pendingRun = nil
        do throws(HostError) {
            hostMappingCalls += 1
            // Into the window's hole, or over the window's own mappings; a host mapping
            // found there is never mapped over.
            if run.replaces {
                try LinuxSyscalls.mapFixed(run.vaddr, fd: run.fd, offset: run.offset, length: run.length, prot: run.prot)
            } else if continuesMapping(run), LinuxSyscalls.growMapping(end: run.vaddr, tail: 0x1000, by: run.length) {
                return
            } else if try !LinuxSyscalls.mapFresh(run.vaddr, fd: run.fd, offset: run.offset, length: run.length,
                                                   prot: run.prot, populate: Self.populates(run)) {
                throw HostError(call: "mmap(MAP_FIXED_NOREPLACE) at \(hex(run.vaddr)) (the host has a mapping in "
                                    + "[\(hex(run.vaddr)), \(hex(run.vaddr + run.length))), inside a window)", errno: 17)
            }
        } catch {
            hostFailure = hostFailure ?? error
        }
    }

    /// True if `run` goes on from a 4 KiB frame mirrored just before it, in the same file
    /// and with the same protection, so growing that host mapping over it (mremap in place)
    /// maps it: ~200 cycles cheaper than a new mmap beside it, which the host would merge
    /// into the same mapping anyway (umk bench vmfault, a pager mapping consecutive frames
    /// page by page: median 9,343-9,567 -> 9,095-9,543 cycles, four runs each). RAM only
    /// (a device region's file may be one the host will not grow a mapping of); not in
    /// strict mode, where a closed window's protection is not its mappings' rights, nor for
    /// a run its mmap populates.
    func continuesMapping(_ run: PendingRun) -> Bool {
        guard !strict, run.fd == ramFD, !Self.populates(run), run.vaddr >= 0x1000,
              let prev = mirrored[Int(run.asid)][run.vaddr - 0x1000], prev.sizeBits == 12 else { return false }
        return prev.paddr &+ 0x1000 == run.offset && hostProtection(prev.rights, paddr: prev.paddr) == run.prot
    }

    public mutating func unmapFrame(asid: UInt64, vaddr: UInt64, sizeBits: UInt64) {
        guard asid < UInt64(mirrored.count), mirrored[Int(asid)][vaddr] != nil else { return }
        commitMappings()
        unmapGeneration &+= 1
        do {
            hostMappingCalls += 1
            // Back to a hole, as the window was before.
            try LinuxSyscalls.unmap(vaddr, length: 1 << sizeBits)
            mirrored[Int(asid)][vaddr] = nil
        } catch {
            hostFailure = hostFailure ?? error
        }
    }

    /// True if `vaddr` of `asid` is mirrored writable in its window (mutating
    /// for in-place access, as `window(asid:)`).
    public mutating func isMappedWritable(asid: UInt64, vaddr: UInt64) -> Bool {
        asid < UInt64(mirrored.count) && mirrored[Int(asid)].covering(vaddr)?.rights == .readWrite
    }


    public mutating func debugPutChar(_ byte: UInt8) {
        output.append(byte)
        if echo { umk_write_byte(1, byte) }
        watchOutput(CollectionOfOne(byte))
    }

    /// Stops the run once the expected output has appeared.
    mutating func watchOutput<C: Collection<UInt8>>(_ bytes: C) {
        if outputWatch?.feed(bytes) == true {
            stopReason = .expectedOutput
            outputWatch = nil
        }
    }

    public mutating func halt() { isHalted = true }

    /// The debug output as text.
    public var outputText: String { String(decoding: output, as: UTF8.self) }
}
