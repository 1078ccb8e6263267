// SPDX-License-Identifier: Apache-2.0
//
// A checked SDF as a boot plan init builds: each protection domain a task running its
// program image (built against umk's <microkit.h>), with libmicrokit's CSpace layout
// (PD caps and an input endpoint with a bound notification) and its image patched with
// its name and channel masks, as Microkit's tool patches them. A channel end that may
// notify gets the other PD's notification badged with the other end's id; a protected-
// procedure end gets the other PD's endpoint badged with bit 63 and the other end's id.
// IRQs signal the PD's notification with 1 << their channel id; I/O port ranges become
// port caps; memory regions are mapped where the PDs' maps say (an offset into each PD's
// address range on umk); a child PD's TCB goes to its parent, which takes its faults. A
// region at a physical address is device memory (a fresh host shared-memory object behind
// it, as a manifest's `device` region), and a region_paddr setvar gets that address.

import Foundation
import UMKABI

extension SystemDescription {
    /// libmicrokit's cap layout on umk (its <microkit.h>).
    enum Layout {
        static let outputNotification: UInt64 = 128
        static let endpoint: UInt64 = 192
        static let cnodeBits: UInt64 = 9
        static let ppBit: UInt64 = 1 << 63
    }

    /// The plan for this system, or every reason it cannot run yet. PD i's address range
    /// will be `taskAddressRange(i)` (a map's vaddr is an offset into it, and its
    /// setvar_vaddr the address there); without it, maps are refused.
    public func compile(ram: UInt64 = Manifest.defaultRAM,
                        taskAddressRange: ((Int) -> Range<UInt64>)? = nil) throws(ManifestError) -> CompiledSystem {
        var problems: [ManifestDiagnostic] = []
        func report(_ at: SourceLocation, _ message: String) {
            problems.append(ManifestDiagnostic(file: file, location: at, message: message))
        }
        for pd in protectionDomains {
            if let m = pd.maps.first, taskAddressRange == nil {
                report(m.at, "<map>: mapping regions needs the machine's address ranges")
            }
        }
        // A region at a physical address is device memory (x86-64 Microkit's region_paddr
        // needs one): above RAM, in 4 KiB pages, no two overlapping.
        var devices: [DeviceMemory] = []
        var deviceRanges = IntervalSet<String>()
        for r in memoryRegions {
            guard let paddr = r.physicalAddress else { continue }
            let (end, overflow) = paddr.addingReportingOverflow(r.size)
            if r.pageSize != 0x1000 {
                report(r.at, "memory region '\(r.name)': device memory (phys_addr) comes in 4 KiB pages on umk")
            } else if overflow || paddr < ram || end > ManifestCompiler.physicalEnd {
                report(r.at, "memory region '\(r.name)': phys_addr \(hex(paddr)) must put it between RAM's end (\(hex(ram))) "
                       + "and \(hex(ManifestCompiler.physicalEnd))")
            } else if let o = deviceRanges.insert(paddr, end, r.name) {
                report(r.at, "memory region '\(r.name)' at \(hex(paddr))-\(hex(end)) overlaps '\(o.payload)'")
            } else {
                devices.append(DeviceMemory(name: r.name, paddr: paddr, size: r.size, backing: "shm"))
            }
        }
        var images: [ImageModule] = []
        var tasks: [BootPlan.Task] = []
        var domains: [BootPlan.ProtectionDomain] = []
        var pendingChildIDs: [(parent: Int, symbol: String, id: UInt64, at: SourceLocation)] = []
        // Where each child's entry runs, less Microkit's link address (microkit_pd_restart).
        var childEntryOffsets: [Int: [UInt64]] = [:]
        var masks = [(notifications: UInt64, pps: UInt64)](repeating: (0, 0), count: protectionDomains.count)
        var caps: [BootPlan.PDCap] = []
        // Memory regions: one plan region each, mapped at the maps' vaddrs (offsets into
        // each PD's range, clear of init's layout below and the image above).
        var regions = memoryRegions.map { BootPlan.Region(name: $0.name, size: $0.size, pageBits: $0.pageSize == 0x1000 ? 12 : 21,
                                                          mappings: [], device: $0.physicalAddress) }
        for (i, pd) in protectionDomains.enumerated() {
            for m in pd.maps {
                guard let r = memoryRegions.firstIndex(where: { $0.name == m.region }) else { continue }
                let size = memoryRegions[r].size
                guard m.vaddr >= TaskLayout.reservedEnd, m.vaddr + size <= TaskLayout.imageBase else {
                    report(m.at, "map of '\(m.region)' at \(hex(m.vaddr)): on umk a PD maps regions at offsets "
                           + "\(hex(TaskLayout.reservedEnd))-\(hex(TaskLayout.imageBase)) of its address range")
                    continue
                }
                var rights: PlanRights = [.read]
                if m.write { rights.insert(.write) }
                if m.execute { rights.insert(.execute) }
                regions[r].mappings.append(BootPlan.Mapping(task: UInt64(i), address: m.vaddr, rights: rights))
            }
        }
        for c in channels {
            for (from, to) in [(c.ends.0, c.ends.1), (c.ends.1, c.ends.0)] {
                if from.notify {
                    caps.append(.init(task: UInt64(from.pd), slot: Layout.outputNotification + from.id, kind: .notification,
                                      target: UInt64(to.pd), badge: 1 << to.id))
                    masks[from.pd].notifications |= 1 << from.id
                }
                if from.pp {
                    caps.append(.init(task: UInt64(from.pd), slot: Layout.endpoint + from.id, kind: .endpoint,
                                      target: UInt64(to.pd), badge: Layout.ppBit | to.id))
                    masks[from.pd].pps |= 1 << from.id
                }
            }
        }
        for (i, pd) in protectionDomains.enumerated() {
            guard let data = FileManager.default.contents(atPath: pd.imagePath) else {
                report(pd.at, "program image '\(pd.image)': cannot read \(pd.imagePath)")
                continue
            }
            let bytes = [UInt8](data)
            let elf: ELFImage
            do throws(ELFError) {
                elf = try ELFImage(bytes: bytes)
            } catch {
                report(pd.at, "program image '\(pd.image)': \(error.reason)")
                continue
            }
            if let range = taskAddressRange?(i), !elf.fits(bias: elf.bias(rangeStart: range.lowerBound), in: range) {
                report(pd.at, "program image '\(pd.image)' is linked at fixed addresses \(hex(elf.span.lowerBound))-"
                       + "\(hex(elf.span.upperBound)); on umk every PD has its own part of one address space, so link it "
                       + "position-independent: ld.lld -pie (with a Microkit Makefile: make LD=\"ld.lld -pie\")")
                continue
            }
            if let parent = pd.parent, let id = pd.childID, let range = taskAddressRange?(i) {
                let entry = elf.bias(rangeStart: range.lowerBound) &+ elf.entry
                childEntryOffsets[parent, default: Array(repeating: 0, count: Int(SystemDescription.maxChannelID) + 1)][Int(id)] =
                    entry &- SystemDescription.linkAddress
            }
            let symbols = ELFImage.symbols(in: bytes)
            var name = Array(pd.name.utf8.prefix(63))
            name.append(0)
            var patches: [ELFImage.Patch] = []
            let irqMask = pd.irqs.reduce(UInt64(0)) { $0 | 1 << $1.id }, portMask = pd.ioports.reduce(UInt64(0)) { $0 | 1 << $1.id }
            var results = [elf.patch(symbols, "microkit_name", bytes: name),
                           elf.patch(symbols, "microkit_notifications", word: masks[i].notifications),
                           elf.patch(symbols, "microkit_pps", word: masks[i].pps),
                           elf.patch(symbols, "microkit_irqs", word: irqMask),
                           elf.patch(symbols, "microkit_ioports", word: portMask),
                           elf.patch(symbols, "microkit_passive", bytes: [pd.passive ? 1 : 0])]
            // The setvars Microkit's tool patches: a map's address and its region's size, an
            // IRQ's channel id, an I/O port range's id and base.
            for m in pd.maps {
                let start = taskAddressRange?(i).lowerBound ?? 0
                if let s = m.setvarVaddr { results.append(elf.patch(symbols, s, word: start + m.vaddr)) }
                if let s = m.setvarSize, let r = memoryRegions.first(where: { $0.name == m.region }) {
                    results.append(elf.patch(symbols, s, word: r.size))
                }
            }
            for v in pd.setvars {
                if let paddr = memoryRegions.first(where: { $0.name == v.region })?.physicalAddress {
                    results.append(elf.patch(symbols, v.symbol, word: paddr))
                }
            }
            for irq in pd.irqs { if let s = irq.setvarID { results.append(elf.patch(symbols, s, word: irq.id)) } }
            for p in pd.ioports {
                if let s = p.setvarID { results.append(elf.patch(symbols, s, word: p.id)) }
                if let s = p.setvarAddress { results.append(elf.patch(symbols, s, word: p.address)) }
            }
            for result in results {
                switch result {
                case .success(let p): patches.append(p)
                case .failure(let e):
                    report(pd.at, "program image '\(pd.image)' \(e.reason): build it against umk's <microkit.h> with umk cc")
                }
            }
            let index: Int
            if let existing = images.firstIndex(where: { $0.path == pd.imagePath }) {
                index = existing
            } else {
                images.append(ImageModule(path: pd.imagePath, file: URL(fileURLWithPath: pd.imagePath).standardizedFileURL.path,
                                          bytes: bytes, elf: elf))
                index = images.count - 1
            }
            tasks.append(BootPlan.Task(name: pd.name, program: "", priority: pd.priority, mcp: pd.priority,
                                       stackPages: max(pd.stackSize / 4096, 4), cnodeBits: Layout.cnodeBits, faultHandler: nil,
                                       heap: nil, args: [], irqs: [], ports: [], image: UInt64(index)))
            domains.append(.init(task: UInt64(i), patches: patches,
                                 irqs: pd.irqs.map { BootPlan.IRQGrant(irq: $0.line, id: $0.id) },
                                 ports: pd.ioports.map { BootPlan.PortGrant(first: $0.address, last: $0.address + $0.size - 1, id: $0.id) },
                                 parent: pd.parent.map(UInt64.init), childID: pd.childID ?? 0))
            if let s = pd.setvarChildID, let parent = pd.parent {
                // Microkit's tool patches the child's id into the parent's image.
                pendingChildIDs.append((parent, s, pd.childID ?? 0, pd.at))
            }
        }
        // Each parent learns where its children start (microkit_child_entry_offset).
        for (parent, offsets) in childEntryOffsets.sorted(by: { $0.key < $1.key }) where problems.isEmpty {
            let image = images[Int(tasks[parent].image ?? 0)]
            let words = offsets.flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> (8 * UInt64($0))) } }
            switch image.elf.patch(ELFImage.symbols(in: image.bytes), "microkit_child_entry_offset", bytes: words) {
            case .success(let p): domains[parent].patches.append(p)
            case .failure(let e):
                report(protectionDomains[parent].at, "program image '\(protectionDomains[parent].image)' \(e.reason): "
                       + "build it against umk's <microkit.h> with umk cc")
            }
        }
        // setvar_id of child PDs: into their parent's image (known once every image is read).
        for (parent, symbol, id, at) in pendingChildIDs where problems.isEmpty {
            let image = images[Int(tasks[parent].image ?? 0)]
            switch image.elf.patch(ELFImage.symbols(in: image.bytes), symbol, word: id) {
            case .success(let p): domains[parent].patches.append(p)
            case .failure(let e): report(at, "program image of '\(protectionDomains[parent].name)' \(e.reason)")
            }
        }
        guard problems.isEmpty else { throw ManifestError(problems) }
        let plan = BootPlan(name: URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent, tasks: tasks,
                            regions: regions.filter { !$0.mappings.isEmpty },
                            channels: [], protectionDomains: domains, pdCaps: caps)
        let needed = ManifestCompiler.ramNeeded(plan, images: images)
        return CompiledSystem(plan: plan, ram: max(ram, needed), clock: .virtual, console: "terminal", expectation: nil,
                              ramNeeded: needed, images: images,
                              devices: devices.filter { d in plan.regions.contains { $0.name == d.name } })
    }
}
