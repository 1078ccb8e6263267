// SPDX-License-Identifier: Apache-2.0
//
// Bounds checked on libyaml's events before Yams builds the node tree, in one pass linear
// in the text. What YAML aliases expand to: an alias stands for its anchor's whole
// subtree, and anchors may hold aliases of earlier anchors: nine aliases of nine aliases
// of ... (a few hundred bytes) expand to billions of nodes, and Yams' duplicate-key check
// walks them all when they are mapping keys; sizes are counted once per anchor,
// saturating. And how many items the top-level lists (tasks, regions, channels) have: a
// file far beyond what any machine runs is refused before it is built.

import CYaml

enum YAMLPrecheck {
    /// Nodes that aliases may add, all together.
    static let aliasLimit: UInt64 = 100_000
    /// Items a top-level list (tasks, regions, channels) may have.
    static let listLimit = 16_384

    /// The first bound the text passes: where, and what; nil if it stays within them or
    /// does not parse (Yams reports that).
    static func firstExcess(in text: String) -> (at: SourceLocation, problem: String)? {
        var bytes = Array(text.utf8)
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        return bytes.withUnsafeMutableBufferPointer { buffer -> (at: SourceLocation, problem: String)? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var anchors: [String: UInt64] = [:]
            // Each open collection: its size so far, its anchor, its items so far.
            var open: [(size: UInt64, anchor: String?, items: Int)] = []
            var expanded: UInt64 = 0
            // In the top-level mapping, keys and values alternate: the key whose value is
            // being read (nil while a key is awaited).
            var topKey: String?
            func name(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
                p.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            }
            func place(_ event: yaml_event_t) -> SourceLocation {
                SourceLocation(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
            }
            /// A node begins at the current depth: one more item of the collection it is in.
            func item(_ event: yaml_event_t) -> (at: SourceLocation, problem: String)? {
                guard !open.isEmpty else { return nil }
                open[open.count - 1].items += 1
                if open.count == 2, let key = topKey, open[1].items > listLimit {
                    return (place(event), "'\(key)' has more than \(listLimit) items (umk's limit; no machine runs that many)")
                }
                return nil
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
                    if let problem = item(event) { return problem }
                    if let a = name(event.data.scalar.anchor) { anchors[a] = 1 }
                    if open.count == 1 {
                        if topKey == nil {
                            topKey = name(event.data.scalar.value) ?? ""
                        } else {
                            topKey = nil
                        }
                    }
                    add(1)
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    if let problem = item(event) { return problem }
                    let anchor = event.type == YAML_SEQUENCE_START_EVENT
                        ? name(event.data.sequence_start.anchor) : name(event.data.mapping_start.anchor)
                    open.append((1, anchor, 0))
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    guard let done = open.popLast() else { return nil }
                    if let a = done.anchor { anchors[a] = done.size }
                    add(done.size)
                    if open.count == 1 { topKey = nil }
                case YAML_ALIAS_EVENT:
                    if let problem = item(event) { return problem }
                    let size = name(event.data.alias.anchor).flatMap { anchors[$0] } ?? 1
                    let (sum, overflow) = expanded.addingReportingOverflow(size)
                    expanded = overflow ? .max : sum
                    if expanded > aliasLimit {
                        return (place(event), "YAML aliases here expand to more than \(aliasLimit) nodes (umk's limit; "
                            + "an alias bomb?): write the values out, or use fewer aliases of aliases")
                    }
                    if open.count == 1 { topKey = topKey == nil ? "" : nil }
                    add(size)
                default:
                    break
                }
            }
        }
    }
}
