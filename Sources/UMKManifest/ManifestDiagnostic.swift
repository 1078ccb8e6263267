// SPDX-License-Identifier: Apache-2.0
//
// A problem found in a manifest, at the place in the file it is about.

/// A line and column in the manifest (1-based, columns in Unicode scalars as libyaml counts);
/// line 0 is the file as a whole (it cannot be read, or is not text).
public struct SourceLocation: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) { self.line = line; self.column = column }
    /// The whole file.
    public static let file = SourceLocation(line: 0, column: 0)
    public static func < (a: SourceLocation, b: SourceLocation) -> Bool { (a.line, a.column) < (b.line, b.column) }
    public var description: String { "\(line):\(column)" }
}

/// One problem: `file:line:column: message`.
public struct ManifestDiagnostic: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var location: SourceLocation
    public var message: String
    public init(file: String, location: SourceLocation, message: String) {
        self.file = file; self.location = location; self.message = message
    }
    public var description: String {
        (location.line == 0 ? "\(file): " : "\(file):\(location.line):\(location.column): ") + Self.printable(message)
    }

    /// `text` with control characters (a manifest's, quoted back) escaped: they are not
    /// sent raw to a terminal.
    static func printable(_ text: String) -> String {
        var out = ""
        for u in text.unicodeScalars {
            if u.value < 0x20 && u != "\n" || u.value == 0x7F || (0x80..<0xA0).contains(u.value) {
                out += "\\u{" + String(u.value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }
}

/// A manifest that cannot boot: every problem found, in file order.
public struct ManifestError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ManifestDiagnostic]
    public init(_ diagnostics: [ManifestDiagnostic]) {
        self.diagnostics = diagnostics.sorted { ($0.location, $0.message) < ($1.location, $1.message) }
    }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
