// SPDX-License-Identifier: Apache-2.0
//
// Reads a manifest's YAML (Yams composes the node tree, with each node's mark) into a
// Manifest, collecting every problem of shape: YAML syntax, unknown keys, missing keys,
// wrong types, bad sizes and durations. Meaning is checked afterwards (ManifestValidator).

import Yams

/// Parses manifests; problems go into `diagnostics`.
public struct ManifestParser {
    public let file: String
    public private(set) var diagnostics: [ManifestDiagnostic] = []

    public init(file: String) { self.file = file }

    /// Parses `text`; throws every problem found (shape and meaning are reported together
    /// by `Manifest.load`).
    public mutating func parse(_ text: String) -> Manifest? {
        if let excess = YAMLPrecheck.firstExcess(in: text) {
            report(excess.at, excess.problem)
            return nil
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            report(Self.location(of: error), Self.message(of: error))
            return nil
        } catch {
            report(SourceLocation(line: 1, column: 1), "not YAML: \(error)")
            return nil
        }
        var manifest = Manifest(file: file)
        guard let root else {
            report(SourceLocation(line: 1, column: 1), "the manifest is empty; it needs at least 'tasks' (or 'root')")
            return nil
        }
        manifest.at = at(root)
        guard let top = mapping(root, "the manifest",
                                keys: ["name", "ram", "clock", "console", "root", "tasks", "regions", "channels", "expect"]) else {
            return nil
        }
        manifest.name = string(top["name"], "name")
        manifest.ram = size(top["ram"], "ram")
        if let node = top["clock"], let s = string(node, "clock") {
            if let c = ManifestClock(rawValue: s.value) {
                manifest.clock = Located(c, at: s.at)
            } else {
                report(s.at, "clock must be one of \(ManifestClock.allCases.map(\.rawValue).joined(separator: ", ")), not '\(s.value)'")
            }
        }
        manifest.console = string(top["console"], "console")
        manifest.root = string(top["root"], "root")
        if let root = manifest.root {
            // A root task builds its system itself.
            for key in ["tasks", "regions", "channels"] {
                if let node = top[key] { report(at(node), "'\(key)' cannot be combined with 'root' (at \(root.at)): a root task builds its own system") }
            }
        } else if let node = top["tasks"] {
            let items = sequence(node, "tasks")
            if case .sequence = node, items.isEmpty { report(at(node), "'tasks' is empty; a system needs at least one task") }
            for item in items { if let t = task(item) { manifest.tasks.append(t) } }
        } else {
            report(manifest.at, "the manifest needs 'tasks' (or 'root': a program image to run as the root task)")
        }
        if let node = top["regions"] {
            for item in sequence(node, "regions") { if let r = region(item) { manifest.regions.append(r) } }
        }
        if let node = top["channels"] {
            for item in sequence(node, "channels") { if let c = channel(item) { manifest.channels.append(c) } }
        }
        if let node = top["expect"], let m = mapping(node, "expect", keys: ["output", "timeout", "exit"]) {
            var e = Manifest.Expectation()
            e.output = string(m["output"], "expect.output")
            e.timeout = duration(m["timeout"], "expect.timeout")
            if let n = m["exit"], let v = integer(n, "expect.exit", range: 0...255) { e.exit = Located(Int(v.value), at: v.at) }
            manifest.expect = e
        }
        return manifest
    }

    // MARK: - Items

    mutating func task(_ node: Node) -> Manifest.Task? {
        guard let m = mapping(node, "a task", keys: ["name", "program", "image", "priority", "mcp", "stack", "cspace_bits",
                                                     "heap", "fault_handler", "args", "irqs", "ioports"]) else { return nil }
        let name = need(m, "name", in: node, "a task").flatMap { string($0, "name") }
        // A task runs a registered program or an ELF image: exactly one of the two.
        let program = string(m["program"], "program"), image = string(m["image"], "image")
        if m["program"] != nil && m["image"] != nil {
            report(at(m["image"]!), "task '\(name?.value ?? "?")' names both a program and an image; give one")
        } else if m["program"] == nil && m["image"] == nil {
            report(at(node), "task '\(name?.value ?? "?")' needs a program (registered by name) or an image (an ELF file)")
        }
        var args: [String] = []
        if let a = m["args"] {
            for item in sequence(a, "args") { if let s = scalarText(item, "an argument") { args.append(s) } }
        }
        var heap: Manifest.Heap?
        if let h = m["heap"], let hm = mapping(h, "heap", keys: ["size", "address", "pager", "fault_ahead"]) {
            let size = need(hm, "size", in: h, "heap").flatMap { self.size($0, "heap.size") }
            let pager = need(hm, "pager", in: h, "heap").flatMap { string($0, "heap.pager") }
            let ahead = hm["fault_ahead"].flatMap { integer($0, "heap.fault_ahead", range: 1...512) }
            if let size, let pager {
                heap = Manifest.Heap(size: size, address: address(hm["address"], "heap.address"), pager: pager,
                                     faultAhead: ahead, at: at(h))
            }
        }
        var irqs: [Manifest.IRQGrant] = []
        if let list = m["irqs"] {
            for item in sequence(list, "irqs") {
                guard let g = mapping(item, "an IRQ grant", keys: ["irq", "id"]) else { continue }
                if let irq = need(g, "irq", in: item, "an IRQ grant").flatMap({ integer($0, "irq", range: 0...255) }),
                   let id = need(g, "id", in: item, "an IRQ grant").flatMap({ integer($0, "id", range: 0...UInt64.max) }) {
                    irqs.append(Manifest.IRQGrant(irq: irq, id: id))
                }
            }
        }
        var ports: [Manifest.PortGrant] = []
        if let list = m["ioports"] {
            for item in sequence(list, "ioports") {
                guard let g = mapping(item, "an I/O port grant", keys: ["ports", "id"]) else { continue }
                let range = need(g, "ports", in: item, "an I/O port grant").flatMap { portRange($0) }
                let id = need(g, "id", in: item, "an I/O port grant").flatMap { integer($0, "id", range: 0...UInt64.max) }
                if let range, let id {
                    ports.append(Manifest.PortGrant(first: range.value.0, last: range.value.1, ports: range.at, id: id))
                }
            }
        }
        let priority = m["priority"].flatMap { integer($0, "priority", range: 0...UInt64.max) }
        guard let name, program != nil || image != nil else { return nil }
        return Manifest.Task(
            name: name, program: program, image: image, priority: priority ?? Located(100, at: name.at),
            mcp: m["mcp"].flatMap { integer($0, "mcp", range: 0...UInt64.max) },
            stack: size(m["stack"], "stack"),
            cspaceBits: m["cspace_bits"].flatMap { integer($0, "cspace_bits", range: 0...UInt64.max) },
            heap: heap, faultHandler: string(m["fault_handler"], "fault_handler"), args: args, irqs: irqs, ports: ports,
            at: at(node))
    }

    mutating func region(_ node: Node) -> Manifest.Region? {
        guard let m = mapping(node, "a region", keys: ["name", "size", "page_size", "map", "device"]) else { return nil }
        let name = need(m, "name", in: node, "a region").flatMap { string($0, "name") }
        let size = need(m, "size", in: node, "region '\(name?.value ?? "?")'").flatMap { self.size($0, "size") }
        var mappings: [Manifest.Mapping] = []
        if let list = m["map"] {
            for item in sequence(list, "map") {
                guard let mm = mapping(item, "a mapping", keys: ["task", "address", "rights"]) else { continue }
                let task = need(mm, "task", in: item, "a mapping").flatMap { string($0, "task") }
                let address = need(mm, "address", in: item, "a mapping").flatMap { self.address($0, "address") }
                let rights = string(mm["rights"], "rights") ?? Located("rw", at: at(item))
                if let task, let address {
                    mappings.append(Manifest.Mapping(task: task, address: address, rights: rights, at: at(item)))
                }
            }
        } else {
            report(at(node), "region '\(name?.value ?? "?")' needs 'map' (the tasks it is mapped into)")
        }
        var device: Manifest.Device?
        if let d = m["device"], let dm = mapping(d, "device", keys: ["address", "backing"]),
           let address = need(dm, "address", in: d, "device").flatMap({ self.address($0, "device.address") }) {
            device = Manifest.Device(address: address, backing: string(dm["backing"], "device.backing") ?? Located("shm", at: at(d)),
                                     at: at(d))
        }
        guard let name, let size else { return nil }
        return Manifest.Region(name: name, size: size, pageSize: self.size(m["page_size"], "page_size"),
                               mappings: mappings, device: device, at: at(node))
    }

    mutating func channel(_ node: Node) -> Manifest.Channel? {
        guard let m = mapping(node, "a channel", keys: ["name", "kind", "client", "server"]) else { return nil }
        let name = need(m, "name", in: node, "a channel").flatMap { string($0, "name") }
        var kind: Located<Manifest.ChannelKind>?
        if let k = string(m["kind"], "kind") {
            if let v = Manifest.ChannelKind(rawValue: k.value) {
                kind = Located(v, at: k.at)
            } else {
                report(k.at, "kind must be endpoint or notification, not '\(k.value)'")
            }
        }
        let label = "channel '\(name?.value ?? "?")'"
        let clientNode = m["client"]
        let client = clientNode.flatMap { end($0, "client", badge: true) }
        let server = need(m, "server", in: node, label).flatMap { end($0, "server", badge: false) }
        guard let name, let server, clientNode == nil || client != nil else { return nil }
        return Manifest.Channel(name: name, kind: kind, client: client, server: server, at: at(node))
    }

    mutating func end(_ node: Node, _ what: String, badge: Bool) -> Manifest.End? {
        guard let m = mapping(node, what, keys: badge ? ["task", "id", "badge"] : ["task", "id"]) else { return nil }
        let task = need(m, "task", in: node, what).flatMap { string($0, "task") }
        let id = need(m, "id", in: node, what).flatMap { integer($0, "id", range: 0...UInt64.max) }
        let b = badge ? m["badge"].flatMap { integer($0, "badge", range: 0...((1 << 63) - 1)) } : nil
        guard let task, let id else { return nil }
        return Manifest.End(task: task, id: id, badge: b, at: at(node))
    }

    // MARK: - Shapes

    func at(_ node: Node) -> SourceLocation {
        node.mark.map { SourceLocation(line: $0.line, column: $0.column) } ?? SourceLocation(line: 1, column: 1)
    }

    mutating func report(_ location: SourceLocation, _ message: String) {
        diagnostics.append(ManifestDiagnostic(file: file, location: location, message: message))
    }

    /// A mapping whose keys are all in `keys` (others are reported, with the known ones).
    mutating func mapping(_ node: Node, _ what: String, keys: [String]) -> [String: Node]? {
        guard case .mapping(let m) = node else {
            report(at(node), "\(what) must be a mapping (key: value lines)")
            return nil
        }
        var result: [String: Node] = [:]
        for (k, v) in m {
            guard let key = k.string, case .scalar = k else {
                report(at(k), "keys in \(what) must be plain words")
                continue
            }
            if keys.contains(key) {
                if result[key] != nil { report(at(k), "'\(key)' is given twice in \(what)") }
                result[key] = v
            } else {
                let hint = keys.min { distance(key, $0) < distance(key, $1) }.flatMap { distance(key, $0) <= 2 ? $0 : nil }
                report(at(k), "unknown key '\(key)' in \(what)" + (hint.map { "; did you mean '\($0)'?" } ?? "")
                    + " (known: \(keys.joined(separator: ", ")))")
            }
        }
        return result
    }

    mutating func sequence(_ node: Node, _ what: String) -> [Node] {
        guard case .sequence(let s) = node else {
            report(at(node), "\(what) must be a list (lines starting with '- ')")
            return []
        }
        return Array(s)
    }

    /// The value of a key that must be there (reported when it is not).
    mutating func need(_ m: [String: Node], _ key: String, in node: Node, _ what: String) -> Node? {
        guard let v = m[key] else {
            report(at(node), "\(what) needs '\(key)'")
            return nil
        }
        return v
    }

    mutating func scalarText(_ node: Node, _ what: String) -> String? {
        guard case .scalar(let s) = node else {
            report(at(node), "\(what) must be a single value, not a list or mapping")
            return nil
        }
        return s.string
    }

    mutating func string(_ node: Node?, _ what: String) -> Located<String>? {
        guard let node else { return nil }
        guard let s = scalarText(node, what) else { return nil }
        return Located(s, at: at(node))
    }

    mutating func integer(_ node: Node, _ what: String, range: ClosedRange<UInt64>) -> Located<UInt64>? {
        guard let s = scalarText(node, what) else { return nil }
        guard let v = Self.parseInteger(s) else {
            report(at(node), "\(what) must be an integer, not '\(s)'")
            return nil
        }
        guard range.contains(v) else {
            report(at(node), "\(what) must be between \(range.lowerBound) and \(range.upperBound), not \(s)")
            return nil
        }
        return Located(v, at: at(node))
    }

    mutating func address(_ node: Node?, _ what: String) -> Located<UInt64>? {
        guard let node else { return nil }
        return integer(node, what, range: 0...UInt64.max)
    }

    /// A size: bytes, or a number with B, KiB, MiB or GiB (K, M, G also).
    mutating func size(_ node: Node?, _ what: String) -> Located<UInt64>? {
        guard let node, let s = scalarText(node, what) else { return nil }
        let t = s.trimmingCharacters()
        if (t.hasPrefix("0x") || t.hasPrefix("0X")), t.last == "B" || t.last == "b", !t.contains(" ") {
            // 0x1000B: B is a hex digit too.
            report(at(node), "\(what) '\(s)' is ambiguous (B is a hex digit): write '\(t.dropLast()) B' for bytes")
            return nil
        }
        guard let v = Self.parseSize(s) else {
            report(at(node), "\(what) must be a size such as 4096, 64 KiB or 16 MiB, not '\(s)'")
            return nil
        }
        return Located(v, at: at(node))
    }

    /// A duration: seconds, or a number with ms, s or min.
    mutating func duration(_ node: Node?, _ what: String) -> Located<Double>? {
        guard let node, let s = scalarText(node, what) else { return nil }
        guard let v = Self.parseDuration(s), v > 0 else {
            report(at(node), "\(what) must be a duration such as 10 s or 500 ms, not '\(s)'")
            return nil
        }
        // The run's clocks count nanoseconds in 64 bits; a limit below a millisecond would
        // round to none.
        guard v >= 0.001, v <= 1_000_000 else {
            report(at(node), "\(what) must be between 1 ms and 1000000 s, not '\(s)'")
            return nil
        }
        return Located(v, at: at(node))
    }

    /// "0x3F8-0x3FF" or a single port.
    mutating func portRange(_ node: Node) -> Located<(UInt64, UInt64)>? {
        guard let s = scalarText(node, "ports") else { return nil }
        let parts = s.split(separator: "-", omittingEmptySubsequences: false).map { $0.trimmingCharacters() }
        let values = parts.map { Self.parseInteger($0) }
        guard (parts.count == 1 || parts.count == 2), values.allSatisfy({ $0 != nil }) else {
            report(at(node), "ports must be a port or a range such as 0x3F8-0x3FF, not '\(s)'")
            return nil
        }
        let first = values[0]!, last = values.last!!
        guard first <= last, last <= 0xFFFF else {
            report(at(node), "ports \(s) is not a range of I/O ports (0 to 0xFFFF, first <= last)")
            return nil
        }
        return Located((first, last), at: at(node))
    }

    // MARK: - Scalars

    static func parseInteger(_ text: String) -> UInt64? {
        let s = text.replacingUnderscores()
        if s.hasPrefix("0x") || s.hasPrefix("0X") { return UInt64(s.dropFirst(2), radix: 16) }
        if s.hasPrefix("0b") { return UInt64(s.dropFirst(2), radix: 2) }
        return UInt64(s)
    }

    static func parseSize(_ text: String) -> UInt64? {
        let s = text.trimmingCharacters()
        // Hex digits after 0x, else decimal ones: "16777216B" is 16777216 bytes.
        let hex = s.hasPrefix("0x") || s.hasPrefix("0X")
        let digits = hex ? "0x" + s.dropFirst(2).prefix { $0.isHexDigit || $0 == "_" } : String(s.prefix { $0.isNumber || $0 == "_" })
        guard let n = parseInteger(digits) else { return nil }
        let unit = s.dropFirst(digits.count).trimmingCharacters()
        let shift: UInt64
        switch unit {
        case "", "B": shift = 0
        case "K", "KiB", "KB", "k": shift = 10
        case "M", "MiB", "MB": shift = 20
        case "G", "GiB", "GB": shift = 30
        default: return nil
        }
        guard n <= UInt64.max >> shift else { return nil }
        return n << shift
    }

    static func parseDuration(_ text: String) -> Double? {
        let s = text.trimmingCharacters()
        let number = s.prefix { $0.isNumber || $0 == "." }
        guard let v = Double(number) else { return nil }
        switch s.dropFirst(number.count).trimmingCharacters() {
        case "", "s": return v
        case "ms": return v / 1000
        case "min": return v * 60
        default: return nil
        }
    }

    static func location(of error: YamlError) -> SourceLocation {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return SourceLocation(line: mark.line, column: mark.column)
        case .duplicatedKeysInMapping(_, let context):
            return SourceLocation(line: context.mark.line, column: context.mark.column)
        case .reader(_, let offset?, _, let yaml):
            // A byte libyaml's reader refused (a NUL, a control character): its line and
            // column in the text.
            let before = yaml.utf8.prefix(max(0, offset))
            let line = before.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
            let column = String(decoding: before.reversed().prefix { $0 != 0x0A }.reversed(), as: UTF8.self).unicodeScalars.count + 1
            return SourceLocation(line: line, column: column)
        default:
            return SourceLocation(line: 1, column: 1)
        }
    }

    static func message(of error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _),
             .composer(let context, let problem, _, _):
            return "YAML: \(problem)" + (context.map { " (\($0.text))" } ?? "")
        case .duplicatedKeysInMapping(let duplicates, _):
            return "YAML: keys given twice: \(duplicates.joined(separator: ", "))"
        case .reader(let problem, _, let value, _):
            return "YAML: \(problem) (\(value >= 0 ? "U+" + String(value, radix: 16, uppercase: true) : "a byte that is not UTF-8"))"
        default:
            return "YAML: \(error)"
        }
    }
}

/// Edit distance, for "did you mean" on unknown keys (and commands).
public func distance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var row = Array(0...b.count)
    for i in 1...max(1, a.count) where !a.isEmpty {
        var previous = row[0]
        row[0] = i
        for j in 1...max(1, b.count) where !b.isEmpty {
            let old = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
            previous = old
        }
    }
    return a.isEmpty ? b.count : row[b.count]
}

extension StringProtocol {
    func trimmingCharacters() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
