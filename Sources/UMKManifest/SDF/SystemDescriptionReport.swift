// SPDX-License-Identifier: Apache-2.0
//
// The report Microkit's tool writes beside its image (-r report.txt), for the umk board:
// per protection domain where its image and memory regions lie in its part of the address
// space, and the capabilities libmicrokit finds in its CSpace (umk's layout), so a PD's
// author can see what a channel, IRQ or child became.

import Foundation
import UMKABI

extension SystemDescription {
    /// The report of this system as `compiled` (from `compile(taskAddressRange:)` with the
    /// same `taskAddressRange`).
    public func report(_ compiled: CompiledSystem, taskAddressRange: (Int) -> Range<UInt64>) -> String {
        func cap(_ slot: UInt64) -> String { "cap \(slot)".padding(toLength: 16, withPad: " ", startingAt: 0) }
        var out: [String] = ["Microkit system \(file) on umk (board umk, config debug)", ""]
        func channel(_ pd: Int) -> [(id: UInt64, peer: Int, pp: Bool, notify: Bool)] {
            channels.flatMap { c in
                [(c.ends.0, c.ends.1), (c.ends.1, c.ends.0)].filter { $0.0.pd == pd }.map { ($0.0.id, $0.1.pd, $0.0.pp, $0.0.notify) }
            }.sorted { $0.id < $1.id }
        }
        for (i, pd) in protectionDomains.enumerated() {
            let range = taskAddressRange(i)
            var head = "Protection domain '\(pd.name)': priority \(pd.priority)"
            if let parent = pd.parent { head += ", child \(pd.childID ?? 0) of '\(protectionDomains[parent].name)'" }
            if pd.passive { head += ", passive" }
            out.append(head)
            out.append("  address range   \(hex(range.lowerBound))-\(hex(range.upperBound))")
            if let index = compiled.plan.tasks[i].image {
                let elf = compiled.images[Int(index)].elf
                let bias = elf.bias(rangeStart: range.lowerBound)
                out.append("  image           \(pd.imagePath): \(elf.memoryBytes >> 10) KiB at \(hex(bias &+ elf.span.lowerBound))-"
                           + "\(hex(bias &+ elf.span.upperBound)), entry \(hex(bias &+ elf.entry))")
            }
            for m in pd.maps {
                let size = memoryRegions.first { $0.name == m.region }?.size ?? 0
                let perms = (m.read ? "r" : "-") + (m.write ? "w" : "-") + (m.execute ? "x" : "-")
                var line = "  map             '\(m.region)' (\(hex(size)) bytes) at \(hex(range.lowerBound + m.vaddr)) \(perms)"
                if let s = m.setvarVaddr { line += ", \(s) = \(hex(range.lowerBound + m.vaddr))" }
                if let s = m.setvarSize { line += ", \(s) = \(hex(size))" }
                out.append(line)
            }
            out.append("  \(cap(BootPlan.pdInputSlot))input endpoint (notification bound to the TCB)")
            for c in channel(i) {
                let peer = protectionDomains[c.peer].name
                if c.notify {
                    out.append("  \(cap(SystemDescription.Layout.outputNotification + c.id))"
                               + "channel \(c.id): notifies '\(peer)'")
                }
                if c.pp {
                    out.append("  \(cap(SystemDescription.Layout.endpoint + c.id))"
                               + "channel \(c.id): protected procedure calls to '\(peer)'")
                }
                if !c.notify && !c.pp { out.append("  \("channel \(c.id)".padding(toLength: 16, withPad: " ", startingAt: 0))from '\(peer)' only") }
            }
            for irq in pd.irqs {
                out.append("  \(cap(BootPlan.pdIRQSlot + irq.id))channel \(irq.id): IRQ \(irq.line) handler")
            }
            for (child, c) in protectionDomains.enumerated() where c.parent == i {
                out.append("  \(cap(BootPlan.pdTCBSlot + (c.childID ?? 0)))child \(c.childID ?? 0): "
                           + "'\(protectionDomains[child].name)' TCB; its faults come to fault()")
            }
            for p in pd.ioports {
                out.append("  \(cap(BootPlan.pdIOPortSlot + p.id))I/O ports \(hex(p.address))-"
                           + "\(hex(p.address + p.size - 1)) (id \(p.id))")
            }
            out.append("")
        }
        for r in memoryRegions {
            let users = protectionDomains.filter { $0.maps.contains { $0.region == r.name } }.map { "'\($0.name)'" }
            out.append("Memory region '\(r.name)': \(hex(r.size)) bytes in \(hex(r.pageSize))-byte pages, mapped by "
                       + (users.isEmpty ? "no PD" : users.joined(separator: ", ")))
        }
        out.append("RAM: \(compiled.ramNeeded >> 20) MiB needed")
        return out.joined(separator: "\n") + "\n"
    }
}
