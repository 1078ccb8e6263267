// SPDX-License-Identifier: Apache-2.0
//
// Checks an SDF's element tree the way Microkit's tool does and builds the
// SystemDescription: required and known attributes, numbers and their ranges, unique names
// and ids, maps that fit their region's pages and do not overlap, channels between known
// PDs whose protected procedure calls go to strictly higher priorities, program images
// found on the search path. Every problem is reported at its element or attribute. What
// umk's machine cannot give (virtual machines, domains, MSI interrupts, SMC, other cores)
// is refused with the reason.

import Foundation
import UMKABI

struct SystemDescriptionChecker {
    var file: String
    /// Where program images are looked for, in order.
    var searchPaths: [String]
    private(set) var diagnostics: [ManifestDiagnostic] = []

    init(file: String, searchPaths: [String]) {
        self.file = file
        self.searchPaths = searchPaths
    }

    mutating func report(_ at: SourceLocation, _ message: String) {
        diagnostics.append(ManifestDiagnostic(file: file, location: at, message: message))
    }

    // MARK: - Attributes

    /// Reports attributes `e` has that are not in `known`; true if there were none.
    @discardableResult
    mutating func onlyKnown(_ e: XMLElementNode, _ known: [String]) -> Bool {
        var ok = true
        for name in e.attributeOrder where !known.contains(name) {
            report(e.attributes[name]!.at, "unknown attribute '\(name)' on <\(e.name)> (known: \(known.joined(separator: ", ")))")
            ok = false
        }
        return ok
    }

    mutating func required(_ e: XMLElementNode, _ name: String) -> Located<String>? {
        guard let v = e.attributes[name] else {
            report(e.at, "<\(e.name)> needs the attribute '\(name)'")
            return nil
        }
        return v
    }

    /// A number as Microkit writes them: decimal or 0x hexadecimal, `_` between digits.
    static func number(_ text: String) -> UInt64? {
        let t = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
        if t.hasPrefix("0x") || t.hasPrefix("0X") { return UInt64(t.dropFirst(2), radix: 16) }
        return UInt64(t, radix: 10)
    }

    mutating func number(_ e: XMLElementNode, _ name: String, required isRequired: Bool = false,
                         range: ClosedRange<UInt64>? = nil) -> UInt64? {
        guard let v = isRequired ? required(e, name) : e.attributes[name] else { return nil }
        guard let n = Self.number(v.value) else {
            report(v.at, "\(name) must be a number (decimal or 0x hexadecimal), not '\(v.value)'")
            return nil
        }
        if let range, !range.contains(n) {
            report(v.at, "\(name) must be between \(range.lowerBound) and \(range.upperBound), not \(n)")
            return nil
        }
        return n
    }

    mutating func boolean(_ e: XMLElementNode, _ name: String, default value: Bool) -> Bool {
        guard let v = e.attributes[name] else { return value }
        switch v.value {
        case "true": return true
        case "false": return false
        default:
            report(v.at, "\(name) must be 'true' or 'false', not '\(v.value)'")
            return value
        }
    }

    // MARK: - The system

    mutating func check(_ root: XMLElementNode) -> SystemDescription? {
        guard root.name == "system" else {
            report(root.at, "the root element must be <system>, not <\(root.name)>")
            return nil
        }
        onlyKnown(root, [])
        var sdf = SystemDescription(file: file)
        // Memory regions first: maps refer to them wherever they are written.
        for e in root.children where e.name == "memory_region" {
            if let r = memoryRegion(e, sdf) { sdf.memoryRegions.append(r) }
        }
        for e in root.children {
            switch e.name {
            case "memory_region", "channel": break
            case "protection_domain": protectionDomain(e, parent: nil, into: &sdf)
            case "virtual_machine": report(e.at, "<virtual_machine>: umk runs no virtual machines (no VT-x)")
            case "domains": report(e.at, "<domains>: umk's kernel has one scheduling domain (no domain schedule)")
            default:
                report(e.at, "unknown element <\(e.name)> in <system> (known: protection_domain, memory_region, channel)")
            }
        }
        if sdf.protectionDomains.isEmpty && root.children.allSatisfy({ $0.name != "protection_domain" }) {
            report(root.at, "the system has no protection domains")
        }
        for e in root.children where e.name == "channel" {
            if let c = channel(e, sdf) { sdf.channels.append(c) }
        }
        checkIDs(sdf)
        checkSystemWide(sdf)
        return diagnostics.isEmpty ? sdf : nil
    }

    mutating func memoryRegion(_ e: XMLElementNode, _ sdf: SystemDescription) -> SystemDescription.MemoryRegion? {
        onlyKnown(e, ["name", "size", "page_size", "phys_addr", "prefill_path", "prefill_bootinfo"])
        for unsupported in ["prefill_path", "prefill_bootinfo"] {
            if let v = e.attributes[unsupported] { report(v.at, "\(unsupported): umk does not prefill memory regions yet") }
        }
        guard let name = required(e, "name") else { return nil }
        if let first = sdf.memoryRegions.first(where: { $0.name == name.value }) {
            report(name.at, "duplicate memory region name '\(name.value)' (first at \(first.at))")
            return nil
        }
        let pageSize = number(e, "page_size") ?? 0x1000
        if let v = e.attributes["page_size"], pageSize != 0x1000 && pageSize != 0x20_0000 {
            report(v.at, "page_size must be 0x1000 or 0x200000 on x86-64, not \(hex(pageSize))")
            return nil
        }
        guard let size = number(e, "size", required: true) else { return nil }
        guard size > 0, size % pageSize == 0 else {
            report(e.attributes["size"]!.at, "size \(hex(size)) is not a positive multiple of the page size \(hex(pageSize))")
            return nil
        }
        let phys = number(e, "phys_addr")
        if let phys, phys % pageSize != 0 {
            report(e.attributes["phys_addr"]!.at, "phys_addr \(hex(phys)) is not aligned to the page size \(hex(pageSize))")
            return nil
        }
        return .init(name: name.value, size: size, pageSize: pageSize, physicalAddress: phys, at: e.at)
    }

    mutating func protectionDomain(_ e: XMLElementNode, parent: Int?, into sdf: inout SystemDescription) {
        var known = ["name", "priority", "budget", "period", "passive", "stack_size", "cpu", "fpu", "smc", "domain"]
        if parent != nil { known += ["id", "setvar_id"] }
        onlyKnown(e, known)
        guard let name = required(e, "name") else { return }
        if let first = sdf.protectionDomains.first(where: { $0.name == name.value }) {
            report(name.at, "duplicate protection domain name '\(name.value)' (first at \(first.at))")
            return
        }
        let priority = number(e, "priority", range: 0...SystemDescription.maxPriority) ?? 0
        let budget = number(e, "budget") ?? 1000
        let period = number(e, "period") ?? budget
        if let v = e.attributes["period"], period < budget {
            report(v.at, "period \(period) is smaller than the budget \(budget)")
        }
        let passive = boolean(e, "passive", default: false)
        _ = boolean(e, "fpu", default: true)
        var stack: UInt64 = 0x2000
        if let v = e.attributes["stack_size"], let n = number(e, "stack_size") {
            if n < 0x1000 || n > 16 << 20 || n % 0x1000 != 0 {
                report(v.at, "stack_size must be a multiple of 4 KiB between 4 KiB and 16 MiB, not \(hex(n))")
            } else {
                stack = n
            }
        }
        if let v = e.attributes["cpu"], number(e, "cpu") != 0 { report(v.at, "cpu: umk runs every PD on one core (cpu 0)") }
        if let v = e.attributes["smc"], boolean(e, "smc", default: false) { report(v.at, "smc: SMC calls are ARM only") }
        if let v = e.attributes["domain"] { report(v.at, "domain: umk's kernel has one scheduling domain") }
        var childID: UInt64?
        if let parent {
            childID = number(e, "id", required: true, range: 0...SystemDescription.maxChannelID)
            if let id = childID, let sibling = sdf.protectionDomains.first(where: { $0.parent == parent && $0.childID == id }) {
                report(e.attributes["id"]!.at, "child id \(id) of '\(sdf.protectionDomains[parent].name)' is already "
                       + "'\(sibling.name)''s (at \(sibling.at))")
            }
        }
        let images = e.children.filter { $0.name == "program_image" }
        var image = "", imagePath = ""
        if images.isEmpty {
            report(e.at, "protection domain '\(name.value)' needs a <program_image>")
        } else {
            for extra in images.dropFirst() { report(extra.at, "protection domain '\(name.value)' has more than one <program_image>") }
            onlyKnown(images[0], ["path", "path_for_symbols"])
            if let path = required(images[0], "path") {
                image = path.value
                if let found = find(path.value) {
                    imagePath = found
                } else {
                    report(path.at, "program image '\(path.value)' not found (searched \(searchPaths.joined(separator: ", ")))")
                }
            }
        }
        var pd = SystemDescription.ProtectionDomain(name: name.value, priority: priority, budget: budget, period: period,
                                                    passive: passive, stackSize: stack, image: image, imagePath: imagePath,
                                                    parent: parent, childID: childID,
                                                    setvarChildID: e.attributes["setvar_id"]?.value, at: e.at)
        var children: [XMLElementNode] = []
        for c in e.children {
            switch c.name {
            case "program_image": break
            case "map": if let m = map(c, sdf, pd) { pd.maps.append(m) }
            case "irq": if let i = irq(c) { pd.irqs.append(i) }
            case "ioport": if let p = ioport(c, pd) { pd.ioports.append(p) }
            case "setvar": if let s = setvar(c, sdf) { pd.setvars.append(s) }
            case "protection_domain": children.append(c)
            case "virtual_machine": report(c.at, "<virtual_machine>: umk runs no virtual machines (no VT-x)")
            case "cspace": report(c.at, "<cspace>: extra capabilities are not supported by umk yet")
            default:
                report(c.at, "unknown element <\(c.name)> in <protection_domain> (known: program_image, map, irq, ioport, "
                       + "setvar, protection_domain)")
            }
        }
        sdf.protectionDomains.append(pd)
        let index = sdf.protectionDomains.count - 1
        for c in children { protectionDomain(c, parent: index, into: &sdf) }
    }

    /// The first file `path` names: itself if absolute, else in the search path's order.
    func find(_ path: String) -> String? {
        let candidates = path.hasPrefix("/") ? [path] : searchPaths.map { URL(fileURLWithPath: $0).appendingPathComponent(path).path }
        var isDirectory: ObjCBool = false
        return candidates.first { FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && !isDirectory.boolValue }
    }

    mutating func map(_ e: XMLElementNode, _ sdf: SystemDescription, _ pd: SystemDescription.ProtectionDomain) -> SystemDescription.Map? {
        onlyKnown(e, ["mr", "vaddr", "perms", "cached", "setvar_vaddr", "setvar_size"])
        guard let mr = required(e, "mr"), let vaddr = number(e, "vaddr", required: true) else { return nil }
        guard let region = sdf.memoryRegions.first(where: { $0.name == mr.value }) else {
            let known = sdf.memoryRegions.map(\.name).joined(separator: ", ")
            report(mr.at, "map of unknown memory region '\(mr.value)' (memory regions: \(known.isEmpty ? "none" : known))")
            return nil
        }
        guard vaddr % region.pageSize == 0 else {
            report(e.attributes["vaddr"]!.at, "vaddr \(hex(vaddr)) is not aligned to '\(mr.value)''s page size \(hex(region.pageSize))")
            return nil
        }
        guard vaddr < 1 << 47, region.size <= (1 << 47) - vaddr else {
            report(e.attributes["vaddr"]!.at, "vaddr \(hex(vaddr)) + \(hex(region.size)) is not a user address range")
            return nil
        }
        let perms = e.attributes["perms"]?.value ?? "rw"
        let letters = Set(perms)
        guard !perms.isEmpty, letters.isSubset(of: ["r", "w", "x"]), letters.count == perms.count, perms != "w" else {
            report(e.attributes["perms"]!.at, "perms must be a combination of r, w and x (not w alone), not '\(perms)'")
            return nil
        }
        if let other = pd.maps.first(where: { vaddr < $0.vaddr + size(of: $0, sdf) && $0.vaddr < vaddr + region.size }) {
            report(e.at, "map of '\(mr.value)' at \(hex(vaddr))-\(hex(vaddr + region.size)) overlaps the map of '\(other.region)' at "
                   + "\(hex(other.vaddr))-\(hex(other.vaddr + size(of: other, sdf))) (at \(other.at))")
            return nil
        }
        return .init(region: mr.value, vaddr: vaddr, read: letters.contains("r"), write: letters.contains("w"),
                     execute: letters.contains("x"), cached: boolean(e, "cached", default: true),
                     setvarVaddr: e.attributes["setvar_vaddr"]?.value, setvarSize: e.attributes["setvar_size"]?.value, at: e.at)
    }

    func size(of map: SystemDescription.Map, _ sdf: SystemDescription) -> UInt64 {
        sdf.memoryRegions.first { $0.name == map.region }?.size ?? 0
    }

    mutating func irq(_ e: XMLElementNode) -> SystemDescription.IRQ? {
        onlyKnown(e, ["id", "pin", "vector", "ioapic", "trigger", "polarity", "setvar_id", "irq", "pcidev", "handle"])
        if let v = e.attributes["pcidev"] ?? e.attributes["handle"] {
            report(v.at, "MSI interrupts (pcidev, handle): umk's machine has no PCI devices")
            return nil
        }
        if let v = e.attributes["irq"] {
            report(v.at, "irq: on x86-64 an interrupt is an IOAPIC 'pin' (with a 'vector'), not an 'irq' number")
            return nil
        }
        guard let id = number(e, "id", required: true, range: 0...SystemDescription.maxChannelID),
              let pin = number(e, "pin", required: true), number(e, "vector", required: true, range: 0...107) != nil else {
            return nil
        }
        guard pin < 16 else {
            report(e.attributes["pin"]!.at, "pin \(pin): umk's machine has the PC's IRQ lines 0-15 on IOAPIC pins 0-15")
            return nil
        }
        if let v = e.attributes["ioapic"], number(e, "ioapic") != 0 { report(v.at, "ioapic: umk's machine has one IOAPIC (0)") }
        for (name, values) in [("trigger", ["edge", "level"]), ("polarity", ["high", "low"])] {
            if let v = e.attributes[name], !values.contains(v.value) {
                report(v.at, "\(name) must be \(values.joined(separator: " or ")), not '\(v.value)'")
            }
        }
        return .init(id: id, line: pin, setvarID: e.attributes["setvar_id"]?.value, at: e.at)
    }

    mutating func ioport(_ e: XMLElementNode, _ pd: SystemDescription.ProtectionDomain) -> SystemDescription.IOPort? {
        onlyKnown(e, ["id", "addr", "size", "setvar_id", "setvar_addr"])
        guard let id = number(e, "id", required: true, range: 0...SystemDescription.maxChannelID),
              let addr = number(e, "addr", required: true, range: 0...0xFFFF),
              let size = number(e, "size", required: true, range: 1...0x10000) else { return nil }
        guard addr + size <= 0x10000 else {
            report(e.attributes["size"]!.at, "ports \(hex(addr)) + \(size) run past the last port 0xffff")
            return nil
        }
        if let other = pd.ioports.first(where: { $0.id == id }) {
            report(e.attributes["id"]!.at, "I/O port id \(id) of '\(pd.name)' is already used (at \(other.at))")
            return nil
        }
        return .init(id: id, address: addr, size: size, setvarID: e.attributes["setvar_id"]?.value,
                     setvarAddress: e.attributes["setvar_addr"]?.value, at: e.at)
    }

    mutating func setvar(_ e: XMLElementNode, _ sdf: SystemDescription) -> SystemDescription.SetVar? {
        onlyKnown(e, ["symbol", "region_paddr"])
        guard let symbol = required(e, "symbol"), let mr = required(e, "region_paddr") else { return nil }
        guard let region = sdf.memoryRegions.first(where: { $0.name == mr.value }) else {
            report(mr.at, "region_paddr names unknown memory region '\(mr.value)'")
            return nil
        }
        guard region.physicalAddress != nil else {
            report(mr.at, "region_paddr: memory region '\(mr.value)' has no phys_addr (on x86-64 it must state one)")
            return nil
        }
        return .init(symbol: symbol.value, region: mr.value, at: e.at)
    }

    mutating func channel(_ e: XMLElementNode, _ sdf: SystemDescription) -> SystemDescription.Channel? {
        onlyKnown(e, [])
        let ends = e.children.filter { $0.name == "end" }
        for other in e.children where other.name != "end" {
            report(other.at, "unknown element <\(other.name)> in <channel> (a channel has two <end>s)")
        }
        guard ends.count == 2 else {
            report(e.at, "a channel has exactly two <end>s, not \(ends.count)")
            return nil
        }
        var parsed: [SystemDescription.Channel.End] = []
        for end in ends {
            onlyKnown(end, ["pd", "id", "pp", "notify"])
            guard let pd = required(end, "pd"),
                  let id = number(end, "id", required: true, range: 0...SystemDescription.maxChannelID) else { continue }
            guard let index = sdf.protectionDomains.firstIndex(where: { $0.name == pd.value }) else {
                let known = sdf.protectionDomains.map(\.name).joined(separator: ", ")
                report(pd.at, "channel end names unknown protection domain '\(pd.value)' (protection domains: \(known))")
                continue
            }
            parsed.append(.init(pd: index, id: id, pp: boolean(end, "pp", default: false),
                                notify: boolean(end, "notify", default: true), at: end.at))
        }
        guard parsed.count == 2 else { return nil }
        let (a, b) = (parsed[0], parsed[1])
        if a.pd == b.pd {
            report(e.at, "a channel connects two different protection domains, not '\(sdf.protectionDomains[a.pd].name)' with itself")
            return nil
        }
        for (caller, callee) in [(a, b), (b, a)] where caller.pp {
            let from = sdf.protectionDomains[caller.pd], to = sdf.protectionDomains[callee.pd]
            if to.priority <= from.priority {
                report(caller.at, "'\(from.name)' (priority \(from.priority)) makes protected procedure calls to '\(to.name)' "
                       + "(priority \(to.priority)): the callee's priority must be higher")
            }
        }
        return .init(ends: (a, b), at: e.at)
    }

    /// Per PD, channel and IRQ ids share one space (notifications arrive by id).
    mutating func checkIDs(_ sdf: SystemDescription) {
        for (index, pd) in sdf.protectionDomains.enumerated() {
            var used: [UInt64: SourceLocation] = [:]
            var uses: [(UInt64, SourceLocation)] = pd.irqs.map { ($0.id, $0.at) }
            for c in sdf.channels {
                for end in [c.ends.0, c.ends.1] where end.pd == index { uses.append((end.id, end.at)) }
            }
            for (id, at) in uses.sorted(by: { $0.1 < $1.1 }) {
                if let first = used[id] {
                    report(at, "id \(id) of protection domain '\(pd.name)' is already used (at \(first))")
                } else {
                    used[id] = at
                }
            }
        }
    }

    /// An IRQ line, and a port, belongs to one PD.
    mutating func checkSystemWide(_ sdf: SystemDescription) {
        var lines: [UInt64: (String, SourceLocation)] = [:]
        var ports: [(String, SystemDescription.IOPort)] = []
        for pd in sdf.protectionDomains {
            for irq in pd.irqs {
                if let first = lines[irq.line] {
                    report(irq.at, "IRQ pin \(irq.line) is already '\(first.0)''s (at \(first.1))")
                } else {
                    lines[irq.line] = (pd.name, irq.at)
                }
            }
            for p in pd.ioports {
                if let (owner, other) = ports.first(where: { p.address < $0.1.address + $0.1.size && $0.1.address < p.address + p.size }) {
                    report(p.at, "ports \(hex(p.address))-\(hex(p.address + p.size - 1)) overlap '\(owner)''s "
                           + "\(hex(other.address))-\(hex(other.address + other.size - 1)) (at \(other.at))")
                }
                ports.append((pd.name, p))
            }
        }
    }
}

extension SystemDescription {
    /// Reads and checks the SDF at `path`; program images are looked for in `searchPaths`
    /// (the SDF's own directory when empty).
    public static func load(path: String, searchPaths: [String] = []) throws(ManifestError) -> SystemDescription {
        let text = try FileText.text(path).get()
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try check(text, file: path, searchPaths: searchPaths.isEmpty ? [directory] : searchPaths)
    }

    /// Checks SDF `text` (from `file`, for messages).
    public static func check(_ text: String, file: String, searchPaths: [String]) throws(ManifestError) -> SystemDescription {
        let root: XMLElementNode
        switch XMLTreeBuilder.parse(text) {
        case .success(let r): root = r
        case .failure(let e): throw ManifestError([ManifestDiagnostic(file: file, location: e.at, message: e.message)])
        }
        var checker = SystemDescriptionChecker(file: file, searchPaths: searchPaths)
        guard let sdf = checker.check(root), checker.diagnostics.isEmpty else { throw ManifestError(checker.diagnostics) }
        return sdf
    }

    /// True if `text` looks like an SDF (XML whose root is `system`) rather than YAML.
    public static func looksLikeSDF(_ text: String) -> Bool {
        let t = text.drop { $0.isWhitespace }
        return t.hasPrefix("<?xml") || t.hasPrefix("<system") || t.hasPrefix("<!--")
    }
}
