// SPDX-License-Identifier: Apache-2.0
//
// Checks what a parsed manifest means and compiles it into the boot plan init builds from.
// Every problem is reported at the value it is about: unknown programs and tasks,
// duplicate names and ids, priorities (Microkit's rule: a call goes to a strictly higher
// priority, and the call graph has no cycles), regions that overlap, are misaligned or out
// of the address space, grants, ELF images (checked as init will load them), and RAM too
// small for everything the plan makes.

import UMKABI

/// A manifest compiled for a run: the plan and the machine's settings.
public struct CompiledSystem: Sendable {
    public var plan: BootPlan
    public var ram: UInt64
    public var clock: ManifestClock
    public var console: String
    public var expectation: Manifest.Expectation?
    /// The RAM the plan needs at least (kernel, init, every task's objects, regions, heaps).
    public var ramNeeded: UInt64
    /// The ELF images tasks run, by BootPlan.Task.image: boot modules for init.
    public var images: [ImageModule] = []
    /// The manifest's `root`: the image that runs as the root task instead of init (the
    /// plan is then empty).
    public var rootImage: ImageModule?
    /// Device memory regions and what backs each in the host.
    public var devices: [DeviceMemory] = []
}

/// Why an image file could not be read.
public struct ImageReadError: Error, Sendable {
    public var reason: String
    public init(reason: String) { self.reason = reason }
}

/// An ELF image a manifest names, checked.
public struct ImageModule: Sendable {
    /// As the manifest wrote it.
    public var path: String
    /// The file it was read from (an absolute path; a debugger loads its symbols from it).
    public var file: String
    public var bytes: [UInt8]
    public var elf: ELFImage
}

/// Validates and compiles manifests.
public struct ManifestCompiler {
    /// Programs that can be named (built in and registered).
    public var programs: Set<String>
    /// Programs that act as pagers (a heap's pager must run one).
    public var pagerPrograms: Set<String> = ["pager"]
    /// Address spaces the machine runs at once (init's included); a task beyond is refused.
    public var addressSpaces: Int
    /// Reads an image a task names (its path as written); the loader resolves it against
    /// the manifest's directory. Nil: images cannot be read (every image is refused).
    public var readImage: ((String) -> Result<(file: String, bytes: [UInt8]), ImageReadError>)?
    /// Where task `i`'s address range will lie on the machine that runs the plan (init
    /// gives the tasks' VSpaces their ASIDs in order). With it, an image linked at fixed
    /// addresses (ET_EXEC) that lies inside its task's range is accepted; without, refused.
    /// Task -1 is the root task (the first range: init's, or a `root` image's).
    public var taskAddressRange: ((Int) -> Range<UInt64>)?
    /// The manifest's directory: a device's `file:` backing is found relative to it.
    public var manifestDirectory = "."
    public private(set) var diagnostics: [ManifestDiagnostic] = []
    var file = ""
    var images: [ImageModule] = []
    /// Per task, the offsets its image occupies in its address range.
    var imageSpans: [(start: UInt64, end: UInt64)?] = []

    public init(programs: Set<String>, addressSpaces: Int = .max) {
        self.programs = programs
        self.addressSpaces = addressSpaces
    }

    mutating func report(_ at: SourceLocation, _ message: String) {
        diagnostics.append(ManifestDiagnostic(file: file, location: at, message: message))
    }

    /// Compiles `m`; nil if any problem was found (see `diagnostics`).
    public mutating func compile(_ m: Manifest) -> CompiledSystem? {
        file = m.file
        images = []
        imageSpans = []
        let start = diagnostics.count
        // Tasks by name.
        var index: [String: Int] = [:]
        for (i, t) in m.tasks.enumerated() {
            if t.name.value == "init" {
                report(t.name.at, "'init' is the root task's name; choose another task name")
            } else if let j = index[t.name.value] {
                report(t.name.at, "duplicate task name '\(t.name.value)' (first at \(m.tasks[j].name.at))")
            } else if t.name.value.isEmpty {
                report(t.name.at, "a task name cannot be empty")
            } else {
                index[t.name.value] = i
            }
        }
        func lookup(_ name: Located<String>, _ role: String) -> Int? {
            guard let i = index[name.value] else {
                // The first few names (a long list would repeat in every such message).
                let some = Set(m.tasks.prefix(20).map(\.name.value)).sorted().joined(separator: ", ")
                let known = m.tasks.count > 20 ? some + ", ... (\(m.tasks.count) tasks)" : some
                report(name.at, "\(role) '\(name.value)' is not a task of this manifest (tasks: \(known))")
                return nil
            }
            return i
        }

        let pagerNames = Set(m.tasks.compactMap { $0.heap?.pager.value })
        var tasks: [BootPlan.Task] = []
        for (i, t) in m.tasks.enumerated() {
            if t.name.value.utf8.count > Self.maxNameBytes {
                report(t.name.at, "a task's name must be at most \(Self.maxNameBytes) bytes, not \(t.name.value.utf8.count)")
            }
            // Name, program and arguments travel in the task's start info, with its caps.
            let startInfoText = t.args.reduce(16 + t.name.value.utf8.count + (t.program?.value.utf8.count ?? 0)) {
                $0 + 16 + $1.utf8.count
            }
            if startInfoText > Self.maxStartInfoText {
                report(t.at, "task '\(t.name.value)': its name, program and \(t.args.count) arguments take \(startInfoText) "
                    + "bytes; a task's start info holds at most \(Self.maxStartInfoText)")
            }
            if i + 1 == addressSpaces {
                report(t.name.at, "task '\(t.name.value)' would be address space \(i + 2) with init's; this machine runs "
                    + "at most \(addressSpaces) at once (\(m.tasks.count) tasks here)")
            }
            if let p = t.program, !programs.contains(p.value) {
                report(p.at, "unknown program '\(p.value)' (programs: \(programs.sorted().joined(separator: ", ")))")
            }
            let image = t.image.flatMap { compileImage($0, task: i, name: t.name.value) }
            // Where the image's lowest page lands, as an offset into the task's range.
            let imageStart = image.map { imageOffset(images[$0].elf, task: i) } ?? 0
            imageSpans.append(image.map { (imageStart, imageStart + UInt64(images[$0].elf.span.count)) })
            if t.priority.value < 1 || t.priority.value > 254 {
                report(t.priority.at, "priority must be between 1 and 254 (init runs at 255), not \(t.priority.value)")
            }
            let mcp = t.mcp?.value ?? t.priority.value
            if let p = t.mcp, p.value > 254 { report(p.at, "mcp must be at most 254, not \(p.value)") }
            // A value out of range is reported, and the plan (never run then) keeps the
            // default, so nothing below computes with it.
            var stack: UInt64 = 64 << 10
            if let s = t.stack {
                if s.value == 0 || s.value % 4096 != 0 {
                    report(s.at, "stack must be a positive multiple of 4 KiB, not \(s.value) bytes")
                } else if s.value > TaskLayout.maxStack {
                    report(s.at, "stack must be at most 8 MiB, not \(describe(s.value))")
                } else if s.value < Self.minStack {
                    report(s.at, "stack must be at least \(describe(Self.minStack)) (a task's first frames need that much), "
                        + "not \(describe(s.value))")
                } else {
                    stack = s.value
                }
            }
            let bitsDefault: UInt64 = pagerNames.contains(t.name.value) ? 14 : 8
            var cnodeBits = bitsDefault
            if let b = t.cspaceBits {
                if b.value < 7 || b.value > 20 {
                    report(b.at, "cspace_bits must be between 7 and 20 (the task's reserved slots need 2^7), not \(b.value)")
                } else {
                    cnodeBits = b.value
                }
            }
            var heap: BootPlan.Heap?
            if let h = t.heap {
                let address = h.address?.value ?? TaskLayout.defaultHeap
                let where_ = h.address?.at ?? h.at
                var valid = true
                if h.size.value == 0 || h.size.value % 4096 != 0 {
                    report(h.size.at, "heap.size must be a positive multiple of 4 KiB, not \(h.size.value) bytes")
                    valid = false
                }
                if checkRange(address, h.size.value, alignment: 4096, at: where_, what: "heap") {
                    if let span = imageSpans[i], address < span.end && span.start < address + h.size.value {
                        report(where_, "heap: \(hex(address))-\(hex(address + h.size.value)) overlaps the image "
                            + "(\(hex(span.start))-\(hex(span.end)))")
                    }
                } else {
                    valid = false
                }
                if let p = lookup(h.pager, "heap.pager"), valid {
                    if p == i {
                        report(h.pager.at, "task '\(t.name.value)' cannot be its own pager")
                    } else if !pagerPrograms.contains(m.tasks[p].program?.value ?? "") {
                        let runs = m.tasks[p].program.map { "runs '\($0.value)'" } ?? "runs an image"
                        report(h.pager.at, "heap.pager '\(h.pager.value)' \(runs), not a pager program (\(pagerPrograms.sorted().joined(separator: ", ")))")
                    }
                    heap = BootPlan.Heap(address: address, size: h.size.value, pager: UInt64(p),
                                         faultAhead: h.faultAhead?.value ?? 1)
                }
            }
            var handler: UInt64?
            if let f = t.faultHandler, f.value != "init" {
                if let j = lookup(f, "fault_handler") {
                    if j == i {
                        report(f.at, "task '\(t.name.value)' cannot handle its own faults")
                    } else if let program = m.tasks[j].program?.value, programs.contains(program),
                              !pagerPrograms.contains(program) {
                        // An image may serve faults; of the programs, only the pagers do.
                        report(f.at, "fault_handler '\(f.value)' runs '\(program)', which never receives faults: "
                            + "the faults of '\(t.name.value)' would be lost (name a pager program, an image, or init)")
                    }
                    handler = UInt64(j)
                }
            } else if let heap {
                handler = heap.pager
            }
            tasks.append(BootPlan.Task(
                name: t.name.value, program: t.program?.value ?? "", priority: t.priority.value, mcp: mcp,
                stackPages: stack / 4096, cnodeBits: cnodeBits, faultHandler: handler, heap: heap, args: t.args,
                irqs: t.irqs.map { BootPlan.IRQGrant(irq: $0.irq.value, id: $0.id.value) },
                ports: t.ports.map { BootPlan.PortGrant(first: $0.first, last: $0.last, id: $0.id.value) },
                image: image.map(UInt64.init)))
        }

        checkPagerCycles(tasks, m)

        // Local ids: one cap per (task, id), except server ends shared by channels of one kind.
        var used: [[UInt64: (what: String, at: SourceLocation)]] = Array(repeating: [:], count: m.tasks.count)
        func claim(_ task: Int, _ id: Located<UInt64>, _ what: String) {
            guard id.value >= 1 && id.value <= TaskLayout.maxLocalID else {
                report(id.at, "id must be between 1 and \(TaskLayout.maxLocalID), not \(id.value)")
                return
            }
            if let previous = used[task][id.value] {
                report(id.at, "task '\(m.tasks[task].name.value)' already has id \(id.value) (\(previous.what) at \(previous.at))")
            } else {
                used[task][id.value] = (what, id.at)
            }
        }
        var irqOwner: [UInt64: SourceLocation] = [:]
        var portOwners = IntervalSet<SourceLocation>()
        for (i, t) in m.tasks.enumerated() {
            for g in t.irqs {
                claim(i, g.id, "IRQ \(g.irq.value)")
                if g.irq.value >= 16 {
                    report(g.irq.at, "irq must be between 0 and 15 (the PC's lines), not \(g.irq.value)")
                } else if let previous = irqOwner[g.irq.value] {
                    report(g.irq.at, "IRQ \(g.irq.value) is already granted (at \(previous))")
                } else {
                    irqOwner[g.irq.value] = g.irq.at
                }
            }
            for g in t.ports {
                claim(i, g.id, "ports")
                if let o = portOwners.insert(g.first, g.last + 1, g.ports) {
                    report(g.ports, "ports \(hex(g.first))-\(hex(g.last)) overlap ports \(hex(o.start))-\(hex(o.end - 1)) granted at \(o.payload)")
                }
            }
        }

        // Channels.
        var channelNames: [String: SourceLocation] = [:]
        var channels: [BootPlan.Channel] = []
        var serverEnds: [String: (kind: Manifest.ChannelKind, badges: [UInt64: String], channel: String)] = [:]
        var calls: [Int: [(to: Int, channel: Manifest.Channel)]] = [:]
        for c in m.channels {
            if let previous = channelNames[c.name.value] {
                report(c.name.at, "duplicate channel name '\(c.name.value)' (first at \(previous))")
            } else {
                channelNames[c.name.value] = c.name.at
            }
            let kind = c.kind?.value ?? .endpoint
            guard let server = lookup(c.server.task, "server task") else { continue }
            var client: Int?
            if let end = c.client {
                guard let t = lookup(end.task, "client task") else { continue }
                if t == server {
                    report(c.server.task.at, "channel '\(c.name.value)' connects task '\(end.task.value)' to itself")
                    continue
                }
                claim(t, end.id, "channel '\(c.name.value)'")
                client = t
            }
            let badge = c.client?.badge?.value ?? 0
            let key = "\(server)/\(c.server.id.value)"
            if var shared = serverEnds[key] {
                if shared.kind != kind {
                    report(c.server.id.at, "task '\(c.server.task.value)' id \(c.server.id.value) is the \(shared.kind.rawValue) of channel '\(shared.channel)'; channel '\(c.name.value)' is a \(kind.rawValue)")
                } else if c.client == nil {
                    report(c.server.id.at, "task '\(c.server.task.value)' id \(c.server.id.value) already belongs to channel '\(shared.channel)'")
                } else if kind == .endpoint, let other = shared.badges[badge] {
                    report(c.client?.badge?.at ?? c.client!.at,
                           "channels '\(other)' and '\(c.name.value)' share server '\(c.server.task.value)' id \(c.server.id.value) and need different badges (both \(badge))")
                } else {
                    shared.badges[badge] = c.name.value
                    serverEnds[key] = shared
                }
            } else {
                claim(server, c.server.id, "channel '\(c.name.value)'")
                serverEnds[key] = (kind, c.client == nil ? [:] : [badge: c.name.value], c.name.value)
            }
            if kind == .endpoint, let client, let end = c.client {
                let cp = m.tasks[client].priority.value, sp = m.tasks[server].priority.value
                if cp >= sp {
                    report(c.server.task.at, "channel '\(c.name.value)': '\(end.task.value)' (priority \(cp)) may only call a task of strictly higher priority; '\(c.server.task.value)' has \(sp)")
                }
                calls[client, default: []].append((server, c))
            }
            channels.append(BootPlan.Channel(
                name: c.name.value, kind: kind == .endpoint ? .endpoint : .notification,
                client: client.map { BootPlan.End(task: UInt64($0), id: c.client!.id.value, badge: badge) },
                server: BootPlan.End(task: UInt64(server), id: c.server.id.value)))
        }
        checkCycles(calls, m)

        // Regions.
        var regions: [BootPlan.Region] = []
        var regionNames: [String: SourceLocation] = [:]
        var devices: [DeviceMemory] = []
        var deviceRanges = IntervalSet<String>()
        // What each task has mapped so far (a heap and an image that overlap each other
        // were reported above; the image then does not count again).
        var spans: [IntervalSet<String>] = tasks.map { t in
            var set = IntervalSet<String>()
            if let h = t.heap { _ = set.insert(h.address, h.address + h.size, "the heap") }
            return set
        }
        for (i, span) in imageSpans.enumerated() {
            if let span { _ = spans[i].insert(span.start, span.end, "the image") }
        }
        for r in m.regions {
            if let previous = regionNames[r.name.value] {
                report(r.name.at, "duplicate region name '\(r.name.value)' (first at \(previous))")
            } else {
                regionNames[r.name.value] = r.name.at
            }
            let page = r.pageSize?.value ?? 4096
            if page != 4096 && page != 2 << 20 {
                report(r.pageSize!.at, "page_size must be 4 KiB or 2 MiB, not \(describe(page))")
                continue
            }
            if r.size.value == 0 || r.size.value % page != 0 {
                report(r.size.at, "region '\(r.name.value)': size must be a positive multiple of its page size (\(describe(page))), not \(r.size.value) bytes")
                continue
            }
            if r.size.value > Self.maxRAM {
                report(r.size.at, "region '\(r.name.value)': size \(describe(r.size.value)) is more than the largest RAM (\(describe(Self.maxRAM)))")
                continue
            }
            var mappings: [BootPlan.Mapping] = []
            var mappedInto: Set<Int> = []
            for map in r.mappings {
                guard let t = lookup(map.task, "task") else { continue }
                if !mappedInto.insert(t).inserted {
                    report(map.task.at, "region '\(r.name.value)' is mapped into '\(map.task.value)' twice")
                }
                var rights = PlanRights()
                for ch in map.rights.value {
                    switch ch {
                    case "r": rights.insert(.read)
                    case "w": rights.insert(.write)
                    case "x": rights.insert(.execute)
                    default: report(map.rights.at, "rights must be letters of r, w and x (such as rw), not '\(map.rights.value)'")
                    }
                }
                if !rights.contains(.read) { report(map.rights.at, "a mapping must at least be readable ('r')") }
                let a = map.address.value
                if checkRange(a, r.size.value, alignment: page, at: map.address.at, what: "region '\(r.name.value)'") {
                    if let o = spans[t].insert(a, a + r.size.value, "region '\(r.name.value)'") {
                        report(map.address.at, "region '\(r.name.value)' at \(hex(a))-\(hex(a + r.size.value)) overlaps \(o.payload) of '\(map.task.value)' (\(hex(o.start))-\(hex(o.end)))")
                    }
                }
                mappings.append(BootPlan.Mapping(task: UInt64(t), address: a, rights: rights))
            }
            var devicePaddr: UInt64?
            if let d = r.device, let memory = checkDevice(d, r, pageSize: page, ram: m.ram?.value ?? Manifest.defaultRAM,
                                                         taken: &deviceRanges) {
                devices.append(memory)
                devicePaddr = memory.paddr
            }
            regions.append(BootPlan.Region(name: r.name.value, size: r.size.value, pageBits: page == 4096 ? 12 : 21,
                                           mappings: mappings, device: devicePaddr))
        }

        let plan = BootPlan(name: m.name?.value ?? "system", tasks: tasks, regions: regions, channels: channels)
        var needed = Self.ramNeeded(plan, images: images)
        var rootImage: ImageModule?
        if let root = m.root, let i = compileImage(root, task: -1, name: "root") {
            rootImage = images.remove(at: i)
            needed = Self.ramNeeded(root: rootImage!.elf)
        }
        let ram = m.ram?.value ?? Manifest.defaultRAM
        if let r = m.ram, r.value < 4 << 20 || r.value > Self.maxRAM {
            report(r.at, "ram must be between 4 MiB and 64 GiB, not \(describe(r.value))")
        } else if needed > ram {
            report(m.ram?.at ?? m.at, "RAM too small for the plan: \(describe(ram)) given, at least \(describe(needed)) needed (kernel and init, every task's objects, stacks, regions and heaps)")
        }
        let planBytes = UInt64(plan.encoded().count) * 8
        if planBytes > 200 * 4096 {
            report(m.at, "the compiled plan (\(describe(planBytes))) is larger than init's 800 KiB of boot modules")
        }
        var console = "terminal"
        if let c = m.console {
            if ["terminal", "pty", "none"].contains(c.value) || (c.value.hasPrefix("unix:") && c.value.count > 5) {
                console = c.value
            } else {
                report(c.at, "console must be terminal, pty, none or unix:PATH, not '\(c.value)'")
            }
        }
        guard diagnostics.count == start else { return nil }
        return CompiledSystem(plan: plan, ram: ram, clock: m.clock?.value ?? .virtual, console: console,
                              expectation: m.expect, ramNeeded: needed, images: images, rootImage: rootImage,
                              devices: devices)
    }

    /// A range in a task's address space: aligned, above init's layout, inside the window.
    @discardableResult
    mutating func checkRange(_ start: UInt64, _ size: UInt64, alignment: UInt64, at: SourceLocation, what: String) -> Bool {
        if start % alignment != 0 {
            report(at, "\(what): address \(hex(start)) is not aligned to \(describe(alignment))")
            return false
        }
        let (end, overflow) = start.addingReportingOverflow(size)
        if start < TaskLayout.reservedEnd || overflow || end > TaskLayout.addressSpaceEnd {
            let range = overflow ? "\(hex(start)) + \(hex(size)) (past 2^64)" : "\(hex(start))-\(hex(end))"
            report(at, "\(what): \(range) is out of range (a task's regions lie between \(hex(TaskLayout.reservedEnd)) and \(hex(TaskLayout.addressSpaceEnd)))")
            return false
        }
        return true
    }

    /// Tasks whose heaps are paged by each other (p's by q and q's by p, or a longer loop)
    /// can deadlock: a pager faulting on its own heap waits for a pager that may be waiting
    /// for it. Each task has at most one pager, so each loop is found by following pagers.
    mutating func checkPagerCycles(_ tasks: [BootPlan.Task], _ m: Manifest) {
        var done = [Bool](repeating: false, count: tasks.count)
        for start in tasks.indices where !done[start] {
            var path: [Int] = [], onPath: [Int: Int] = [:]
            var t: Int? = start
            while let current = t, !done[current], onPath[current] == nil {
                onPath[current] = path.count
                path.append(current)
                t = tasks[current].heap.map { Int($0.pager) }
            }
            if let current = t, let first = onPath[current] {
                let loop = path[first...]
                let names = (loop + [current]).map { "'\(m.tasks[$0].name.value)'" }.joined(separator: " is paged by ")
                let at = m.tasks[loop.min()!].heap!.pager.at
                report(at, "pagers paging each other can deadlock: \(names)")
            }
            for p in path { done[p] = true }
        }
    }

    /// Microkit's rule: the endpoint call graph has no cycles (with strictly rising
    /// priorities it cannot, but each is reported on its own terms).
    mutating func checkCycles(_ calls: [Int: [(to: Int, channel: Manifest.Channel)]], _ m: Manifest) {
        var state: [Int: Int] = [:] // 1 on the path, 2 done
        var path: [Int] = []
        var reported = false
        // Depth first without recursion (a chain of thousands of tasks is a deep path):
        // each entry is a task on the path and the index of its next call to follow.
        func visit(_ root: Int) {
            var stack: [(task: Int, next: Int)] = [(root, 0)]
            state[root] = 1
            path.append(root)
            while let (t, next) = stack.last, !reported {
                let edges = calls[t] ?? []
                guard next < edges.count else {
                    stack.removeLast()
                    path.removeLast()
                    state[t] = 2
                    continue
                }
                stack[stack.count - 1].next += 1
                let (to, channel) = edges[next]
                if state[to] == 1 {
                    let loop = path[path.firstIndex(of: to)!...].map { m.tasks[$0].name.value } + [m.tasks[to].name.value]
                    report(channel.at, "channel '\(channel.name.value)' closes a call cycle: \(loop.joined(separator: " -> "))")
                    reported = true
                } else if state[to] == nil {
                    state[to] = 1
                    path.append(to)
                    stack.append((to, 0))
                }
            }
        }
        for t in calls.keys.sorted() where state[t] == nil && !reported { visit(t) }
    }

    /// Where `elf`'s lowest page lands in task `i`'s range, as an offset: a static PIE at
    /// TaskLayout.imageBase, an ET_EXEC where it was linked.
    func imageOffset(_ elf: ELFImage, task i: Int) -> UInt64 {
        guard elf.kind == .executable, let range = taskAddressRange?(i) else { return TaskLayout.imageBase }
        return elf.span.lowerBound &- range.lowerBound
    }

    /// The boot-module index of `image` (read and checked once per path) for task `task`,
    /// or nil after reporting why it cannot run there.
    mutating func compileImage(_ image: Located<String>, task: Int, name: String) -> Int? {
        if let i = images.firstIndex(where: { $0.path == image.value }) {
            return fitsFixed(images[i].elf, image, task: task, name: name) ? i : nil
        }
        guard let readImage else {
            report(image.at, "image '\(image.value)': images cannot be read here")
            return nil
        }
        let bytes: [UInt8], file: String
        switch readImage(image.value) {
        case .success(let read): (file, bytes) = read
        case .failure(let e):
            report(image.at, "image '\(image.value)': \(e.reason)")
            return nil
        }
        do throws(ELFError) {
            let elf = try ELFImage(bytes: bytes)
            guard fitsFixed(elf, image, task: task, name: name) else { return nil }
            images.append(ImageModule(path: image.value, file: file, bytes: bytes, elf: elf))
            return images.count - 1
        } catch {
            report(image.at, "image '\(image.value)': \(error.reason)")
            return nil
        }
    }

    /// True if `elf` can run in task `task`: a static PIE anywhere; an ET_EXEC only where
    /// it was linked, inside the task's range and above init's layout of it.
    mutating func fitsFixed(_ elf: ELFImage, _ image: Located<String>, task: Int, name: String) -> Bool {
        guard elf.kind == .executable else { return true }
        let linked = "\(hex(elf.span.lowerBound))-\(hex(elf.span.upperBound))"
        guard let range = taskAddressRange?(task) else {
            report(image.at, "image '\(image.value)': linked at fixed addresses (ET_EXEC at \(linked)) and this machine has no "
                + "fixed address ranges: link it as a static PIE (ld.lld -pie --no-dynamic-linker)")
            return false
        }
        let usable = range.lowerBound + TaskLayout.reservedEnd..<range.upperBound
        guard usable.lowerBound <= elf.span.lowerBound, elf.span.upperBound <= usable.upperBound else {
            report(image.at, "image '\(image.value)': linked at fixed addresses (ET_EXEC at \(linked)), outside task '\(name)''s "
                + "usable range \(hex(usable.lowerBound))-\(hex(usable.upperBound)): link it there, or as a static PIE "
                + "(ld.lld -pie --no-dynamic-linker)")
            return false
        }
        return true
    }

    /// The RAM a root image needs at least: the kernel's area, the root's CNode, boot
    /// objects and stack, and the image's pages.
    public static func ramNeeded(root elf: ELFImage) -> UInt64 {
        0x8000 + (1 << (12 + ObjectSize.slotBits)) + (2 << 20) + elf.memoryBytes
    }

    /// A conservative count of the RAM the plan uses: the kernel's reserved area and init's
    /// boot objects, then per task its TCB, CNode, VSpace, IPC buffer, start info, stack and
    /// the paging structures for each area it maps, regions (once), and heaps with the
    /// tables and slots their pager needs.
    /// Device memory lies between RAM's end and this physical address.
    static let physicalEnd: UInt64 = 1 << 40

    /// A region's `device`: checked (4 KiB pages, page aligned, above RAM, below 1 TiB, no
    /// overlap with another device, a known backing), or nil after reporting.
    mutating func checkDevice(_ d: Manifest.Device, _ r: Manifest.Region, pageSize: UInt64, ram: UInt64,
                              taken: inout IntervalSet<String>) -> DeviceMemory? {
        let a = d.address.value, size = r.size.value
        let what = "region '\(r.name.value)'"
        guard pageSize == 4096 else {
            report(r.pageSize?.at ?? d.at, "\(what): device memory comes in 4 KiB pages")
            return nil
        }
        let (end, overflow) = a.addingReportingOverflow(size)
        guard a % 4096 == 0, !overflow, a >= ram, end <= Self.physicalEnd else {
            report(d.address.at, "\(what): device.address \(hex(a)) must be page aligned, with the region between RAM's end "
                + "(\(hex(ram))) and \(hex(Self.physicalEnd))")
            return nil
        }
        if let o = taken.insert(a, end, r.name.value) {
            report(d.address.at, "\(what): device memory \(hex(a))-\(hex(end)) overlaps region '\(o.payload)' (\(hex(o.start))-\(hex(o.end)))")
            return nil
        }
        var backing = d.backing.value
        if backing.hasPrefix("file:") {
            let path = String(backing.dropFirst(5))
            guard !path.isEmpty else {
                report(d.backing.at, "\(what): device.backing 'file:' needs a path")
                return nil
            }
            backing = path.hasPrefix("/") ? path : manifestDirectory + "/" + path
        } else if backing != "shm" {
            report(d.backing.at, "\(what): device.backing must be shm or file:PATH, not '\(backing)'")
            return nil
        }
        return DeviceMemory(name: r.name.value, paddr: a, size: size, backing: backing)
    }

    /// The most RAM a manifest may give.
    static let maxRAM: UInt64 = 64 << 30
    /// The smallest stack a task may have: a Swift program's first frames (a debug build's)
    /// need more than 12 KiB.
    static let minStack: UInt64 = 16 << 10
    /// A task name's longest (it names the task's thread, reports and channels).
    static let maxNameBytes = 64
    /// Bytes of name, program and arguments a task's start info holds (half of its 15
    /// pages; caps, regions and a pager's clients take the rest).
    static let maxStartInfoText = 30 << 10

    /// Saturating: a plan whose sizes add up past 2^64 needs "more than any RAM".
    public static func ramNeeded(_ plan: BootPlan, images: [ImageModule] = []) -> UInt64 {
        let page: UInt64 = 4096
        var total = Saturating(0x8000 + (1 << (12 + ObjectSize.slotBits)) + (1 << 20) + 64 * page)
        // Each image travels once as a boot module and is loaded into each task that runs it.
        for image in images { total += (UInt64(image.bytes.count) + 2 * page) & ~(page - 1) }
        for t in plan.tasks {
            if let i = t.image, Int(i) < images.count { total += Saturating(images[Int(i)].elf.memoryBytes) + 4 * page }
            total += (1 << ObjectSize.tcbBits) + page
            total += t.cnodeBits + ObjectSize.slotBits < 64 ? 1 << (t.cnodeBits + ObjectSize.slotBits) : .max
            total += (Saturating(1 + TaskLayout.startInfoMaxPages) + t.stackPages) * page + 4 * page
            if let h = t.heap { total += Saturating(h.size) + (h.size >> 9) + 3 * page }
        }
        for r in plan.regions {
            // Device memory is not RAM; its paging structures are.
            if r.device == nil { total += r.size }
            total += Saturating(UInt64(r.mappings.count)) * (Saturating(3 + 1) + (r.size >> 21)) * page
        }
        return total.value
    }
}


/// Bytes in the largest unit that divides them.
func describe(_ bytes: UInt64) -> String {
    if bytes >= 1 << 30 && bytes % (1 << 30) == 0 { return "\(bytes >> 30) GiB" }
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
    if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
    if bytes >= 1 << 30 { return String(format1(Double(bytes) / Double(1 << 30))) + " GiB" }
    if bytes >= 1 << 20 { return String(format1(Double(bytes) / Double(1 << 20))) + " MiB" }
    return "\(bytes) bytes"
}

private func format1(_ v: Double) -> String {
    let tenths = Int((v * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}
