// SPDX-License-Identifier: Apache-2.0
//
// An XML document as a tree of elements, each with the place its start tag begins and the
// place of each attribute, for messages that point at them. Parsed with Foundation's
// XMLParser (libxml2's SAX parser); libxml2 reports where a start tag ends, so the start is
// found in the text (the last `<` before it: `<` cannot appear inside a tag).

import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// One element: its name, attributes (with where each is written), children and place.
struct XMLElementNode {
    var name: String
    var attributes: [String: Located<String>]
    var children: [XMLElementNode] = []
    var at: SourceLocation
    /// The attribute names in the order written (for "unknown attribute" messages in order).
    var attributeOrder: [String]
}

/// A problem with the XML itself (not well-formed): where, and what.
struct XMLSyntaxError: Error {
    var at: SourceLocation
    var message: String
}

/// Builds the tree from XMLParser's callbacks.
final class XMLTreeBuilder: NSObject, XMLParserDelegate {
    private let lines: [[UInt8]]
    private var stack: [XMLElementNode] = []
    private(set) var root: XMLElementNode?
    private(set) var error: XMLSyntaxError?

    init(text: String) {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.utf8) }
    }

    /// The document's root element, or the first syntax error.
    static func parse(_ text: String) -> Result<XMLElementNode, XMLSyntaxError> {
        let builder = XMLTreeBuilder(text: text)
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = builder
        parser.shouldProcessNamespaces = false
        _ = parser.parse()
        if let e = builder.error { return .failure(e) }
        guard let root = builder.root else {
            return .failure(XMLSyntaxError(at: SourceLocation(line: 1, column: 1), message: "no root element"))
        }
        return .success(root)
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        guard error == nil else { return }
        let end = SourceLocation(line: parser.lineNumber, column: parser.columnNumber)
        let start = tagStart(before: end)
        var located: [String: Located<String>] = [:]
        var order: [(String, SourceLocation)] = []
        for (key, value) in attributes {
            let at = attributeLocation(key, from: start, to: end) ?? start
            located[key] = Located(value, at: at)
            order.append((key, at))
        }
        order.sort { $0.1 < $1.1 }
        stack.append(XMLElementNode(name: name, attributes: located, at: start, attributeOrder: order.map(\.0)))
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        guard error == nil, let element = stack.popLast() else { return }
        if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
        guard error == nil else { return }
        let code = (parseError as NSError).code
        error = XMLSyntaxError(at: SourceLocation(line: parser.lineNumber, column: max(parser.columnNumber, 1)),
                               message: "not well-formed XML: \(Self.describe(code))")
        parser.abortParsing()
    }

    /// libxml2's error codes (xmlParserErrors) a hand-written SDF most often meets.
    static func describe(_ code: Int) -> String {
        switch code {
        case 4: "the document is empty"
        case 5: "the document ends early (an element is not closed)"
        case 9: "a character that XML does not allow"
        case 23, 24: "an unterminated comment"
        case 26: "an undeclared entity"
        case 38: "an attribute value is not quoted or not terminated"
        case 39: "an attribute without a value"
        case 40, 41: "an attribute's value is not terminated"
        case 42: "an attribute is given twice"
        case 64: "the XML declaration is malformed"
        case 68: "a name was expected"
        case 73: "'>' expected"
        case 76: "an end tag does not match its start tag"
        case 77: "a tag is not closed"
        case 85: "extra content after the root element"
        default: "libxml2 error \(code)"
        }
    }

    /// The place of the last `<` at or before `end` (1-based line and column).
    private func tagStart(before end: SourceLocation) -> SourceLocation {
        var line = min(end.line, lines.count), column = end.column
        while line >= 1 {
            let bytes = lines[line - 1]
            var i = min(column, bytes.count) - 1
            while i >= 0 {
                if bytes[i] == UInt8(ascii: "<") { return SourceLocation(line: line, column: i + 1) }
                i -= 1
            }
            line -= 1
            column = line >= 1 ? lines[line - 1].count : 0
        }
        return end
    }

    /// Where `name=` is written between `start` and `end`.
    private func attributeLocation(_ name: String, from start: SourceLocation, to end: SourceLocation) -> SourceLocation? {
        let key = Array(name.utf8)
        for line in start.line...max(start.line, min(end.line, lines.count)) {
            let bytes = lines[line - 1]
            let first = line == start.line ? start.column : 0
            var i = first
            while i + key.count <= bytes.count {
                let before = i == 0 ? UInt8(ascii: " ") : bytes[i - 1]
                if Array(bytes[i..<i + key.count]) == key, before == UInt8(ascii: " ") || before == UInt8(ascii: "\t") {
                    var j = i + key.count
                    while j < bytes.count, bytes[j] == UInt8(ascii: " ") { j += 1 }
                    if j < bytes.count, bytes[j] == UInt8(ascii: "=") { return SourceLocation(line: line, column: i + 1) }
                }
                i += 1
            }
        }
        return nil
    }
}
