// SPDX-License-Identifier: Apache-2.0
//
// A bound on what YAML aliases expand to, checked on libyaml's events before Yams builds
// the node tree. An alias stands for its anchor's whole subtree, and anchors may hold
// aliases of earlier anchors: nine aliases of nine aliases of ... (a few hundred bytes)
// expand to billions of nodes, and Yams' duplicate-key check walks them all when they
// are mapping keys. Sizes are counted once per anchor (linear in the text), saturating.

import CYaml

enum YAMLAliasBudget {
    /// Nodes that aliases may add, all together.
    static let limit: UInt64 = 100_000

    /// Where the aliases first pass `limit` (line and column of that alias), or nil if they
    /// stay within it or the text does not parse (Yams reports that).
    static func firstExcess(in text: String) -> SourceLocation? {
        var bytes = Array(text.utf8)
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        return bytes.withUnsafeMutableBufferPointer { buffer -> SourceLocation? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var anchors: [String: UInt64] = [:]
            // Each open collection: its size so far and its anchor.
            var open: [(size: UInt64, anchor: String?)] = []
            var expanded: UInt64 = 0
            func name(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
                p.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            }
            func add(_ size: UInt64) {
                guard !open.isEmpty else { return }
                let (sum, overflow) = open[open.count - 1].size.addingReportingOverflow(size)
                open[open.count - 1].size = overflow ? .max : sum
            }
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return nil
                case YAML_SCALAR_EVENT:
                    if let a = name(event.data.scalar.anchor) { anchors[a] = 1 }
                    add(1)
                case YAML_SEQUENCE_START_EVENT:
                    open.append((1, name(event.data.sequence_start.anchor)))
                case YAML_MAPPING_START_EVENT:
                    open.append((1, name(event.data.mapping_start.anchor)))
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    guard let done = open.popLast() else { return nil }
                    if let a = done.anchor { anchors[a] = done.size }
                    add(done.size)
                case YAML_ALIAS_EVENT:
                    let size = name(event.data.alias.anchor).flatMap { anchors[$0] } ?? 1
                    let (sum, overflow) = expanded.addingReportingOverflow(size)
                    expanded = overflow ? .max : sum
                    if expanded > limit {
                        return SourceLocation(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
                    }
                    add(size)
                default:
                    break
                }
            }
        }
    }
}
