// SPDX-License-Identifier: Apache-2.0
//
// init's first job: build the system the boot plan describes with ordinary syscalls, as
// a root task on seL4 would. Per task a CNode (its caps at the manifest's local ids, the
// reserved caps of TaskLayout above them), a VSpace with an ASID, IPC buffer, read-only
// start info and stack, a TCB at its priority and MCP with its fault endpoint; then the
// channels' endpoints and notifications (server ends shared by badge), IRQ handlers bound
// through a notification and I/O port caps for drivers, regions mapped into each task,
// and for each pager its clients' VSpaces and untyped memory for their heaps. The plan's
// addresses are offsets into each task's address range (its VSpace's, asked of the kernel
// once it has an ASID); the start info tells the task the addresses themselves.

import UMKGuest

/// A task init built: its caps in init's CSpace.
struct BuiltTask {
    var tcb: CPtr
    var cnode: CPtr
    var vspace: CPtr
    var bits: UInt64
    /// The addresses the task's VSpace may map and run at.
    var range: Range<UInt64>
    /// Where the task's ELF image starts, if it runs one, and its thread pointer (TLS).
    var imageEntry: UInt64?
    var tlsBase: UInt64 = 0
    /// Caps init placed at local ids, for the start info.
    var caps: [StartInfo.Cap] = []
    var regions: [StartInfo.Region] = []
    /// The next free slot of the task's CNode.
    var nextFree: CPtr = TaskLayout.firstFreeSlot
    /// The task's image's symbols and source lines (with debug information), at link
    /// addresses, and the bias it was loaded with (crash reports name the function and
    /// line of a faulting IP).
    var symbols: [ImageSymbol] = []
    var lines: [ELFImage.LineRow] = []
    var imageBias: UInt64 = 0
    var clients: [StartInfo.PagerClient] = []
    var untypeds: [StartInfo.Untyped] = []
}

/// What failed while building.
struct BuildError: Error, CustomStringConvertible {
    var step: String
    var error: KernelError
    var description: String {
        // What the kernel's answer means for the step, where it is not plain.
        let meaning = step.hasPrefix("ASID of ") && error == .deleteFirst
            ? " (the machine has no address space left: every ASID pool is full)"
            : error == .notEnoughMemory ? " (init's untyped memory ran out: give the manifest more ram)" : ""
        return "\(step): \(error)\(meaning)"
    }
}

/// Builds the system of a boot plan.
struct SystemBuilder {
    let plan: BootPlan
    var alloc: ObjectAllocator
    var tasks: [BuiltTask] = []
    /// init's endpoint: task requests (badge = task id) and faults (badge | faultBadgeBit).
    var initEndpoint: CPtr = 0

    /// Faults init handles arrive with this bit in their badge.
    static let faultBadgeBit: UInt64 = 1 << 40
    /// IRQ N arrives on a driver's bound notification with badge irqBadgeBit | 1 << N.
    static let irqBadgeBit: UInt64 = 1 << 62
    /// Where init maps a start info page to write it (an offset into its own range).
    static let scratchOffset: UInt64 = 0x3_0000_0000
    /// init's own address range.
    let ownRange: Range<UInt64>
    /// The ELF images tasks run (boot modules).
    let images: BootImages
    /// BootInfo's device untypeds: slot, physical address, log2 size.
    var deviceUntypeds: [(slot: CPtr, paddr: UInt64, sizeBits: UInt64)] = []

    init(plan: BootPlan, alloc: ObjectAllocator, ownRange: Range<UInt64>, images: BootImages) {
        self.plan = plan
        self.alloc = alloc
        self.ownRange = ownRange
        self.images = images
    }

    func check(_ e: KernelError, _ step: @autoclosure () -> String) throws(BuildError) {
        if e != .noError { throw BuildError(step: step(), error: e) }
    }

    mutating func make(_ type: ObjectType, sizeBits: UInt64 = 0, _ step: String) throws(BuildError) -> CPtr {
        guard let cap = alloc.make(type, sizeBits: sizeBits) else { throw BuildError(step: step, error: .notEnoughMemory) }
        return cap
    }

    mutating func freeSlot(_ step: String) throws(BuildError) -> CPtr {
        guard let s = alloc.slot() else { throw BuildError(step: step, error: .notEnoughMemory) }
        return s
    }

    /// Mints init's cap `src` into task `t`'s slot `index`.
    func give(_ t: Int, _ src: CPtr, at index: CPtr, rights: CapRights = .all, badge: UInt64 = 0,
              _ step: @autoclosure () -> String) throws(BuildError) {
        let task = tasks[t]
        try check(CNode.mint(task.cnode, destIndex: index, destDepth: task.bits, srcRoot: alloc.root, srcIndex: src,
                             srcDepth: 64, rights: rights, badge: badge), step())
    }

    /// The root CSpace's size for everything init will hold: objects, frames (one cap per
    /// mapping), paging structures.
    static func rootRadix(for plan: BootPlan) -> UInt64 {
        var slots: UInt64 = 1024
        for t in plan.tasks { slots += 32 + t.stackPages + TaskLayout.startInfoMaxPages + UInt64(t.irqs.count * 2 + t.ports.count) }
        for r in plan.regions {
            let pages = r.size >> r.pageBits
            slots += pages * UInt64(r.mappings.count + 1) + UInt64(r.mappings.count) * (4 + (r.size >> 21))
        }
        slots += UInt64(plan.channels.count) * 2 + UInt64(plan.pdCaps.count)
        for pd in plan.protectionDomains { slots += 2 + UInt64(pd.irqs.count * 2 + pd.ports.count) }
        var radix: UInt64 = 13
        while (UInt64(1) << radix) < slots + slots / 4 && radix < 22 { radix += 1 }
        return radix
    }

    mutating func build() throws(BuildError) {
        guard alloc.enlargeCSpace(radix: Self.rootRadix(for: plan)) else {
            throw BuildError(step: "init's CSpace", error: .notEnoughMemory)
        }
        initEndpoint = try make(.endpoint, "init's endpoint")
        for (i, t) in plan.tasks.enumerated() { try buildTask(i, t) }
        try buildProtectionDomains()
        try connectFaults()
        try buildChannels()
        try grantDevices()
        try mapRegions()
        try givePagers()
        for i in plan.tasks.indices { try writeStartInfo(i) }
    }

    mutating func buildTask(_ i: Int, _ t: BootPlan.Task) throws(BuildError) {
        let cnode = try make(.cnode, sizeBits: t.cnodeBits, "CNode of \(t.name)")
        let vspace = try make(.pml4, "VSpace of \(t.name)")
        let tcb = try make(.tcb, "TCB of \(t.name)")
        try check(alloc.assignASID(vspace), "ASID of \(t.name)")
        let range: Range<UInt64>
        switch VSpace.addressRange(vspace) {
        case .success(let r): range = r
        case .failure(let e): throw BuildError(step: "address range of \(t.name)", error: e)
        }
        let ipcBuffer = range.lowerBound + TaskLayout.ipcBuffer
        guard let buffer = alloc.mapFrames(vspace: vspace, at: ipcBuffer, count: 1)?.first,
              alloc.mapFrames(vspace: vspace, at: range.lowerBound + TaskLayout.stackTop - t.stackPages * 4096,
                              count: t.stackPages) != nil else {
            throw BuildError(step: "IPC buffer and stack of \(t.name)", error: .notEnoughMemory)
        }
        try check(TCB.configure(tcb, faultEP: TaskLayout.faultSlot, cspaceRoot: cnode, cspaceRootData: 64 - t.cnodeBits,
                                vspaceRoot: vspace, vspaceRootData: 0, buffer: ipcBuffer, bufferFrame: buffer),
                  "TCB_Configure of \(t.name)")
        try check(TCB.setSchedParams(tcb, authority: InitialCap.initThreadTCB.rawValue, mcp: t.mcp, priority: t.priority),
                  "priority of \(t.name)")
        seL4.debugNameThread(tcb, t.name)
        tasks.append(BuiltTask(tcb: tcb, cnode: cnode, vspace: vspace, bits: t.cnodeBits, range: range))
        if let index = t.image {
            guard let image = images.images[index] else {
                throw BuildError(step: "image \(index) of \(t.name): not among the boot modules", error: .failedLookup)
            }
            let patches = plan.protectionDomains.first { $0.task == UInt64(i) }?.patches ?? []
            tasks[i].imageEntry = try loadImage(i, image, patches: patches)
            tasks[i].tlsBase = try setUpTLS(i, image)
            tasks[i].imageBias = image.elf.bias(rangeStart: range.lowerBound)
            tasks[i].symbols = ImageSymbol.table(image.bytes)
            tasks[i].lines = ELFImage.lineTable(in: image.bytes)
        }
        try give(i, tcb, at: TaskLayout.tcbSlot, "TCB cap of \(t.name)")
        try give(i, cnode, at: TaskLayout.cnodeSlot, "CNode cap of \(t.name)")
        try give(i, vspace, at: TaskLayout.vspaceSlot, "VSpace cap of \(t.name)")
        try give(i, initEndpoint, at: TaskLayout.initSlot, rights: .write, badge: BootPlan.Task.badge(ofIndex: i),
                 "init endpoint of \(t.name)")
    }

    /// Microkit PDs: each gets an input endpoint at libmicrokit's INPUT_CAP and a
    /// notification bound to its TCB (notifications arrive on the endpoint's Recv); then
    /// the plan's PD caps, badged copies of other PDs' notifications and endpoints.
    mutating func buildProtectionDomains() throws(BuildError) {
        var inputs: [UInt64: (endpoint: CPtr, notification: CPtr)] = [:]
        for pd in plan.protectionDomains {
            let i = Int(pd.task), name = plan.tasks[i].name
            let endpoint = try make(.endpoint, "input endpoint of \(name)")
            let notification = try make(.notification, "notification of \(name)")
            try check(TCB.bindNotification(tasks[i].tcb, notification: notification), "bound notification of \(name)")
            try give(i, endpoint, at: BootPlan.pdInputSlot, "input endpoint of \(name)")
            inputs[pd.task] = (endpoint, notification)
            for g in pd.irqs {
                try grantIRQ(i, line: g.irq, notification: notification, badge: 1 << g.id, at: BootPlan.pdIRQSlot + g.id)
            }
            for g in pd.ports { try grantPorts(i, g, at: BootPlan.pdIOPortSlot + g.id) }
        }
        // A child PD: its parent holds its TCB and takes its faults.
        for pd in plan.protectionDomains {
            guard let parent = pd.parent, let input = inputs[parent] else { continue }
            let i = Int(pd.task), p = Int(parent), name = plan.tasks[i].name
            try give(p, tasks[i].tcb, at: BootPlan.pdTCBSlot + pd.childID, "TCB of child \(name)")
            try give(i, input.endpoint, at: TaskLayout.faultSlot, rights: [.write, .grant, .grantReply],
                     badge: BootPlan.pdFaultBit | pd.childID, "fault endpoint of child \(name)")
        }
        for c in plan.pdCaps {
            let i = Int(c.task), name = plan.tasks[i].name
            guard let target = inputs[c.target] else {
                throw BuildError(step: "PD cap of \(name): \(plan.tasks[Int(c.target)].name) is not a protection domain",
                                 error: .invalidArgument)
            }
            switch c.kind {
            case .notification:
                try give(i, target.notification, at: c.slot, rights: .write, badge: c.badge, "notification cap of \(name)")
            case .endpoint:
                try give(i, target.endpoint, at: c.slot, rights: [.write, .grant, .grantReply], badge: c.badge,
                         "endpoint cap of \(name)")
            }
        }
    }

    /// Each task's fault endpoint: its handler's (or pager's) fault-receive endpoint, or
    /// init's, badged with the task's id (a child PD's is its parent's, given above).
    mutating func connectFaults() throws(BuildError) {
        var receivers: [Int: CPtr] = [:]
        for h in Set(plan.tasks.compactMap { $0.faultHandler.map(Int.init) }).sorted() {
            let ep = try make(.endpoint, "fault endpoint of \(plan.tasks[h].name)")
            try give(h, ep, at: TaskLayout.faultReceiveSlot, "fault endpoint of \(plan.tasks[h].name)")
            receivers[h] = ep
        }
        let children = Set(plan.protectionDomains.filter { $0.parent != nil }.map { Int($0.task) })
        for (i, t) in plan.tasks.enumerated() where !children.contains(i) {
            let badge = BootPlan.Task.badge(ofIndex: i)
            if let h = t.faultHandler.map(Int.init), let ep = receivers[h] {
                try give(i, ep, at: TaskLayout.faultSlot, rights: [.write, .grant, .grantReply], badge: badge,
                         "fault endpoint of \(t.name)")
            } else {
                try give(i, initEndpoint, at: TaskLayout.faultSlot, rights: [.write, .grant, .grantReply],
                         badge: badge | Self.faultBadgeBit, "fault endpoint of \(t.name)")
            }
        }
    }

    mutating func buildChannels() throws(BuildError) {
        var objects: [String: CPtr] = [:]
        for c in plan.channels {
            let server = Int(c.server.task)
            let key = "\(server)/\(c.server.id)"
            let object: CPtr
            if let o = objects[key] {
                object = o
            } else {
                object = try make(c.kind == .endpoint ? .endpoint : .notification, "object of channel \(c.name)")
                objects[key] = object
                try give(server, object, at: c.server.id, "server end of \(c.name)")
                tasks[server].caps.append(StartInfo.Cap(id: c.server.id, kind: c.kind == .endpoint ? .endpointServer : .notificationWait,
                                                        name: c.name, value: 0))
            }
            guard let end = c.client else { continue }
            let client = Int(end.task)
            let rights: CapRights = c.kind == .endpoint ? [.write, .grant, .grantReply] : .write
            try give(client, object, at: end.id, rights: rights, badge: end.badge, "client end of \(c.name)")
            tasks[client].caps.append(StartInfo.Cap(id: end.id, kind: c.kind == .endpoint ? .endpointClient : .notificationSignal,
                                                    name: c.name, value: end.badge))
        }
    }

    /// An IRQ handler for `line` that signals `notification` with `badge`, in task `i`'s
    /// slot `slot`.
    mutating func grantIRQ(_ i: Int, line: UInt64, notification: CPtr, badge: UInt64, at slot: UInt64) throws(BuildError) {
        let name = plan.tasks[i].name
        let handler = try freeSlot("IRQ \(line)"), badged = try freeSlot("IRQ \(line)")
        try check(IRQControl.get(InitialCap.irqControl.rawValue, irq: line, root: alloc.root, index: handler, depth: 64),
                  "IRQ \(line) for \(name)")
        try check(CNode.mint(alloc.root, destIndex: badged, destDepth: 64, srcRoot: alloc.root, srcIndex: notification,
                             srcDepth: 64, rights: .all, badge: badge), "IRQ \(line) badge")
        try check(IRQHandler.setNotification(handler, notification: badged), "IRQ \(line) notification")
        try give(i, handler, at: slot, "IRQ \(line) handler of \(name)")
    }

    /// An I/O port cap for `g`'s range in task `i`'s slot `slot`.
    mutating func grantPorts(_ i: Int, _ g: BootPlan.PortGrant, at slot: UInt64) throws(BuildError) {
        let name = plan.tasks[i].name, ports = try freeSlot("ports")
        try check(IOPortControl.issue(InitialCap.ioPortControl.rawValue, first: UInt16(g.first), last: UInt16(g.last),
                                      root: alloc.root, index: ports, depth: 64), "ports of \(name)")
        try give(i, ports, at: slot, "ports of \(name)")
    }

    /// IRQ handlers (their notification bound to the driver's TCB) and I/O port caps.
    mutating func grantDevices() throws(BuildError) {
        for (i, t) in plan.tasks.enumerated() {
            if !t.irqs.isEmpty {
                let notification = try make(.notification, "IRQ notification of \(t.name)")
                try check(TCB.bindNotification(tasks[i].tcb, notification: notification), "bound notification of \(t.name)")
                for g in t.irqs {
                    try grantIRQ(i, line: g.irq, notification: notification, badge: Self.irqBadgeBit | 1 << g.irq, at: g.id)
                    tasks[i].caps.append(StartInfo.Cap(id: g.id, kind: .irqHandler, name: "irq \(g.irq)", value: g.irq))
                }
            }
            for g in t.ports {
                try grantPorts(i, g, at: g.id)
                let name = "ports \(hex(g.first))-\(hex(g.last))"
                tasks[i].caps.append(StartInfo.Cap(id: g.id, kind: .ioPort, name: name, value: g.first << 16 | g.last))
            }
        }
    }

    /// Regions: fresh (zeroed) frames, mapped into every task that names them; a second
    /// mapping uses a copy of the frame cap, as seL4 requires.
    mutating func mapRegions() throws(BuildError) {
        for r in plan.regions {
            let pageSize = UInt64(1) << r.pageBits
            var frames: [CPtr] = []
            if let paddr = r.device {
                frames = try deviceFrames(paddr, size: r.size, region: r.name)
            } else {
                for _ in 0..<(r.size / pageSize) {
                    frames.append(try make(r.pageBits == 12 ? .smallPage : .largePage, "frames of region \(r.name)"))
                }
            }
            for (n, m) in r.mappings.enumerated() {
                let t = Int(m.task)
                let address = tasks[t].range.lowerBound + m.address
                let rights: CapRights = m.rights.contains(.write) ? .readWrite : .read
                for (k, frame) in frames.enumerated() {
                    var cap = frame
                    if n > 0 {
                        cap = try freeSlot("region \(r.name)")
                        try check(CNode.copy(alloc.root, destIndex: cap, destDepth: 64, srcRoot: alloc.root, srcIndex: frame,
                                             srcDepth: 64, rights: .all), "region \(r.name) frame copy")
                    }
                    guard alloc.map(cap, vspace: tasks[t].vspace, vaddr: address + UInt64(k) * pageSize, rights: rights) else {
                        throw BuildError(step: "mapping region \(r.name) into \(plan.tasks[t].name)", error: .notEnoughMemory)
                    }
                }
                tasks[t].regions.append(StartInfo.Region(name: r.name, address: address, size: r.size, rights: m.rights))
            }
        }
    }

    /// The 4 KiB frames of device memory [paddr, paddr + size), in order: retyped from the
    /// device untypeds BootInfo lists there (each untyped's frames come out one after
    /// another from its start), as a seL4 root task gets a device's frames.
    mutating func deviceFrames(_ paddr: UInt64, size: UInt64, region: String) throws(BuildError) -> [CPtr] {
        var frames: [CPtr] = []
        for u in deviceUntypeds.sorted(by: { $0.paddr < $1.paddr })
        where u.paddr >= paddr && u.paddr + (1 << u.sizeBits) <= paddr + size {
            let count = (UInt64(1) << u.sizeBits) / 4096
            guard let first = alloc.slots(Int(count)) else {
                throw BuildError(step: "slots for region \(region)", error: .notEnoughMemory)
            }
            try check(Untyped.retype(u.slot, type: .smallPage, sizeBits: 0, root: alloc.root, nodeIndex: 0, nodeDepth: 0,
                                     nodeOffset: first, numObjects: count), "device frames of region \(region)")
            frames += (0..<count).map { first + $0 }
        }
        guard UInt64(frames.count) * 4096 == size else {
            throw BuildError(step: "device memory of region \(region) (BootInfo lists no device untyped for all of it)",
                             error: .failedLookup)
        }
        return frames
    }

    /// Each pager gets its clients' VSpaces and untyped memory for their heaps (and the
    /// paging structures under them), moved into its CNode.
    mutating func givePagers() throws(BuildError) {
        for (i, t) in plan.tasks.enumerated() {
            guard let heap = t.heap else { continue }
            let p = Int(heap.pager)
            let slot = tasks[p].nextFree
            tasks[p].nextFree += 1
            try give(p, tasks[i].vspace, at: slot, "VSpace of \(t.name) for its pager")
            let start = tasks[i].range.lowerBound + heap.address
            tasks[p].clients.append(StartInfo.PagerClient(badge: BootPlan.Task.badge(ofIndex: i), name: t.name, vspace: slot,
                                                          start: start, end: start + heap.size,
                                                          faultAhead: heap.faultAhead))
        }
        for p in tasks.indices where !tasks[p].clients.isEmpty {
            var need: UInt64 = 0
            for c in tasks[p].clients {
                let size = c.end - c.start
                need += size + Pager.pagingStructurePages(forRegionOf: size) * 4096
            }
            var remaining = (need + 0xFFFF) & ~0xFFFF
            while remaining > 0 {
                var bits = UInt64(63 - remaining.leadingZeroBitCount)
                bits = min(bits, 28)
                let untyped = try make(.untyped, sizeBits: bits, "untyped memory for pager \(plan.tasks[p].name)")
                let slot = tasks[p].nextFree
                tasks[p].nextFree += 1
                try check(CNode.move(tasks[p].cnode, destIndex: slot, destDepth: tasks[p].bits, srcRoot: alloc.root,
                                     srcIndex: untyped, srcDepth: 64), "untyped for pager \(plan.tasks[p].name)")
                tasks[p].untypeds.append(StartInfo.Untyped(slot: slot, sizeBits: bits))
                remaining -= min(remaining, UInt64(1) << bits)
            }
        }
    }

    /// The start info: written through a scratch mapping in init's VSpace, then mapped
    /// read-only into the task.
    mutating func writeStartInfo(_ i: Int) throws(BuildError) {
        let t = plan.tasks[i], built = tasks[i]
        let heap = t.heap.map {
            StartInfo.Region(name: "heap", address: built.range.lowerBound + $0.address, size: $0.size, rights: [.read, .write])
        }
        let info = StartInfo(name: t.name, taskID: BootPlan.Task.badge(ofIndex: i), program: t.program, args: t.args,
                             priority: t.priority, cnodeBits: t.cnodeBits, caps: built.caps.sorted { $0.id < $1.id },
                             regions: built.regions, heap: heap,
                             freeSlots: SlotRegion(start: built.nextFree, end: UInt64(1) << t.cnodeBits),
                             clients: built.clients, untypeds: built.untypeds, addressRange: built.range)
        let words = info.encoded()
        let all = [UInt64(words.count)] + words
        let pages = (UInt64(all.count) * 8 + 4095) / 4096
        guard pages <= TaskLayout.startInfoMaxPages else {
            throw BuildError(step: "start info of \(t.name) (\(all.count * 8) bytes)", error: .rangeError)
        }
        let vspace = InitialCap.initThreadVSpace.rawValue, scratch = ownRange.lowerBound + Self.scratchOffset
        for page in 0..<pages {
            let frame = try make(.smallPage, "start info of \(t.name)")
            guard alloc.map(frame, vspace: vspace, vaddr: scratch, rights: .readWrite) else {
                throw BuildError(step: "start info scratch mapping", error: .notEnoughMemory)
            }
            let first = Int(page * 512)
            for w in first..<min(all.count, first + 512) {
                IPCBuffer.store(scratch + UInt64(w - first) * 8, all[w])
            }
            try check(Page.unmap(frame), "start info scratch unmap")
            guard alloc.map(frame, vspace: built.vspace, vaddr: built.range.lowerBound + TaskLayout.startInfo + page * 4096,
                            rights: .read) else {
                throw BuildError(step: "start info of \(t.name)", error: .notEnoughMemory)
            }
        }
    }

    /// Starts every task: a program at TaskRuntime.entry with its start info, an image at
    /// its entry point (ImageLoader.swift says with which registers).
    func start() throws(BuildError) {
        for (i, t) in plan.tasks.enumerated() {
            let base = tasks[i].range.lowerBound
            if let entry = tasks[i].imageEntry {
                try check(startThread(tasks[i].tcb, ip: entry, stackTop: base + TaskLayout.stackTop,
                                      arguments: [base + TaskLayout.startInfo, seL4.syscallEntry, base + TaskLayout.ipcBuffer],
                                      tlsBase: tasks[i].tlsBase),
                          "start \(t.name)")
                continue
            }
            try check(startThread(tasks[i].tcb, entry: TaskRuntime.entry, stackTop: base + TaskLayout.stackTop,
                                  arg0: base + TaskLayout.startInfo), "start \(t.name)")
        }
    }
}
