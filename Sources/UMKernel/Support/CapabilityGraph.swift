// SPDX-License-Identifier: Apache-2.0
//
// Who holds which capability, as a Graphviz DOT digraph (what seL4's DebugSnapshot dumps
// as capDL): each CNode reachable from a thread's CSpace is a box (named after the
// threads whose CSpace root it is), each kernel object an ellipse, each cap an edge from
// the CNode that holds it to its object, labelled with its slot, rights and badge. The
// derivation tree is dashed: a copy or mint goes from the CNode holding the original to
// the one holding the copy, a retype from the untyped to the object made from it. Frames
// and paging structures are counted per CNode rather than drawn one by one (a task's
// image alone is hundreds), and their derivations are left out.

import UMKABI

extension Kernel {
    /// The capability graph of the system as it is now.
    public func capabilityGraph() -> String {
        // Every CNode reachable from a thread's CSpace root, and where each slot is.
        var rootsOf: [UInt64: [String]] = [:]
        var radixOf: [UInt64: UInt64] = [:]
        var work: [UInt64] = []
        let threads = allThreads
        for t in threads {
            let root = t.slot(.cTable).pointee.cap
            guard root.type == .cnode else { continue }
            rootsOf[root.paddr, default: []].append(t.name)
            if radixOf[root.paddr] == nil { radixOf[root.paddr] = root.cnodeRadix; work.append(root.paddr) }
        }
        var holder: [UInt64: (cnode: UInt64, index: UInt64)] = [:]
        while let c = work.popLast() {
            for i in 0..<(UInt64(1) << radixOf[c]!) {
                let p = c + (i << ObjectSize.slotBits)
                holder[p] = (c, i)
                let cap = slot(p).pointee.cap
                if cap.type == .cnode, radixOf[cap.paddr] == nil {
                    radixOf[cap.paddr] = cap.cnodeRadix
                    work.append(cap.paddr)
                }
            }
        }

        var lines = ["digraph capabilities {", "  rankdir=LR;", "  node [fontname=\"monospace\", fontsize=10];",
                     "  edge [fontname=\"monospace\", fontsize=9];"]
        var objects: [String: String] = [:]
        var edges: [String] = []
        /// A DOT string: quotes escaped (labels keep their \n line breaks).
        func quote(_ s: String) -> String {
            var out = "\""
            for ch in s { out += ch == "\"" ? "\\\"" : String(ch) }
            return out + "\""
        }
        let names = Dictionary(threads.map { ($0.paddr, $0) }, uniquingKeysWith: { a, _ in a })
        /// The node of the object `cap` names (declared once), or nil for memory.
        func object(_ cap: Capability) -> String? {
            let id: String, label: String
            switch cap.type {
            case .frame, .pageTable, .pageDirectory, .pdpt, .null, .zombie, .reply: return nil
            case .cnode: return "cnode_\(hex(cap.paddr))"
            case .irqControl, .asidControl, .ioPortControl, .domain:
                id = "\(cap.type)"
                label = "\(cap.type)"
            case .irqHandler:
                id = "irq_\(cap.irq)"
                label = "IRQ \(cap.irq) handler"
            case .ioPort:
                id = "ports_\(cap.ioPortFirst)_\(cap.ioPortLast)"
                label = "I/O ports \(hex(cap.ioPortFirst))-\(hex(cap.ioPortLast))"
            case .thread:
                id = "tcb_\(hex(cap.paddr))"
                let t = names[cap.paddr]
                label = "TCB \(t?.name ?? hex(cap.paddr))" + (t.map { "\\npriority \($0.pointee.priority)" } ?? "")
            case .untyped:
                id = "untyped_\(hex(cap.paddr))"
                label = "Untyped 2^\(cap.untypedSizeBits)\(cap.untypedIsDevice ? " device" : "")\\n\(hex(cap.paddr))"
            case .endpoint, .notification, .pml4, .asidPool:
                id = "\(cap.type)_\(hex(cap.paddr))"
                let kind = switch cap.type {
                case .pml4: "VSpace (PML4)"
                case .asidPool: "ASID pool"
                case .endpoint: "Endpoint"
                default: "Notification"
                }
                label = "\(kind)\\n\(hex(cap.paddr))"
            }
            if objects[id] == nil {
                let shape = cap.type == .thread ? "shape=component" : cap.type == .endpoint || cap.type == .notification ? "shape=ellipse, style=filled, fillcolor=lightyellow" : "shape=ellipse"
                objects[id] = "  \(quote(id)) [label=\(quote(label)), \(shape)];"
            }
            return id
        }
        func rights(_ cap: Capability) -> String {
            switch cap.type {
            case .endpoint, .notification, .frame:
                let r = cap.rights
                return (r.contains(.read) ? "R" : "") + (r.contains(.write) ? "W" : "") + (r.contains(.grant) ? "G" : "")
                    + (r.contains(.grantReply) ? "g" : "")
            default: return ""
            }
        }

        var memory: [UInt64: [String: Int]] = [:]
        for (c, radix) in radixOf.sorted(by: { $0.key < $1.key }) {
            let holders = rootsOf[c].map { "CSpace of " + $0.joined(separator: ", ") } ?? "CNode"
            lines.append("  \(quote("cnode_\(hex(c))")) [label=\(quote("\(holders)\\n2^\(radix) slots at \(hex(c))")), shape=box, style=bold];")
            for i in 0..<(UInt64(1) << radix) {
                let cap = slot(c + (i << ObjectSize.slotBits)).pointee.cap
                guard !cap.isNull else { continue }
                guard let target = object(cap) else {
                    if [.frame, .pageTable, .pageDirectory, .pdpt].contains(cap.type) {
                        memory[c, default: [:]]["\(cap.type == .frame ? "frames" : String(describing: cap.type) + "s")", default: 0] += 1
                    }
                    continue
                }
                var label = "slot \(i)"
                let r = rights(cap)
                if !r.isEmpty { label += " \(r)" }
                if (cap.type == .endpoint || cap.type == .notification) && cap.badge != 0 {
                    label += "\\nbadge " + (cap.badge < 1 << 16 ? String(cap.badge) : hex(cap.badge))
                }
                edges.append("  \(quote("cnode_\(hex(c))")) -> \(quote(target)) [label=\(quote(label))];")
            }
        }
        for (c, counts) in memory.sorted(by: { $0.key < $1.key }) {
            let id = "memory_\(hex(c))"
            let text = counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: "\\n")
            lines.append("  \(quote(id)) [label=\(quote(text)), shape=note];")
            edges.append("  \(quote("cnode_\(hex(c))")) -> \(quote(id)) [style=dotted];")
        }
        // Each thread's CSpace and VSpace roots.
        for t in threads {
            guard let me = object(.thread(paddr: t.paddr)) else { continue }
            let c = t.slot(.cTable).pointee.cap, v = t.slot(.vTable).pointee.cap
            if c.type == .cnode { edges.append("  \(quote(me)) -> \(quote("cnode_\(hex(c.paddr))")) [label=\"cspace\", style=bold];") }
            if v.type == .pml4, let vs = object(v) { edges.append("  \(quote(me)) -> \(quote(vs)) [label=\"vspace\", style=bold];") }
        }
        // The derivation tree: each cap's parent is the nearest earlier one in the CDT that
        // is its MDB parent.
        for (p, at) in holder.sorted(by: { $0.key < $1.key }) {
            let s = slot(p)
            let cap = s.pointee.cap
            guard !cap.isNull, object(cap) != nil else { continue }
            var q = s.pointee.prev
            while q != 0, !isMDBParentOf(slot(q), s) { q = slot(q).pointee.prev }
            guard q != 0, let from = holder[q] else { continue }
            let parent = slot(q).pointee.cap
            if parent.type == .untyped, cap.type != .untyped || cap.paddr != parent.paddr {
                if let u = object(parent), let o = object(cap) {
                    edges.append("  \(quote(u)) -> \(quote(o)) [style=dashed, label=\"retype\"];")
                }
            } else {
                edges.append("  \(quote("cnode_\(hex(from.cnode))")) -> \(quote("cnode_\(hex(at.cnode))")) "
                             + "[style=dashed, label=\(quote("copy slot \(from.index) → slot \(at.index)"))];")
            }
        }
        lines += objects.sorted { $0.key < $1.key }.map(\.value)
        lines += edges
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }
}
