// SPDX-License-Identifier: Apache-2.0
//
// What Microkit's tool writes for the umk board (`microkit x.system ... -o loader.img`).
// On a board the image holds the kernel, the loader and every PD; umk boots from the SDF
// itself, so its image names the system to run: the SDF and the search path its program
// images were found on, as a short text file that `umk run` and `umk check` read. Its
// first line is `#!UMK run`, so the file runs by itself too.

import Foundation

/// A Microkit system as the umk board's loader image names it.
public struct MicrokitImage: Sendable, Equatable {
    /// The SDF (an absolute path).
    public var system: String
    /// Where its program images are (absolute paths).
    public var searchPaths: [String]

    public init(system: String, searchPaths: [String]) {
        self.system = system
        self.searchPaths = searchPaths
    }

    static let magic = "umk-microkit-image: 1"

    /// The file's text; `umk` is the executable its #! line runs.
    public func encoded(umk: String) -> String {
        var lines = ["#!\(umk) run",
                     "# A Microkit system for umk, written by the umk board's microkit tool: run it with",
                     "# `umk run FILE` (or run the file). It names the system; the images are read at boot.",
                     Self.magic,
                     "system: \(system)"]
        lines += searchPaths.map { "search-path: \($0)" }
        return lines.joined(separator: "\n") + "\n"
    }

    /// True if `bytes` (a file's first bytes) start a loader image.
    public static func isImage(_ bytes: some Sequence<UInt8>) -> Bool {
        let head = String(decoding: Array(bytes.prefix(512)), as: UTF8.self)
        return head.hasPrefix("#!") && head.split(separator: "\n").prefix(4).contains { $0 == magic }
    }

    /// Reads the image at `path`: every problem as file:line:column.
    public static func load(path: String) throws(ManifestError) -> MicrokitImage {
        func failure(_ line: Int, _ column: Int, _ message: String) -> ManifestError {
            ManifestError([ManifestDiagnostic(file: path, location: SourceLocation(line: line, column: column), message: message)])
        }
        let data = try FileText.read(path).get()
        guard isImage(data) else { throw failure(1, 1, "not a umk Microkit image (no '\(magic)' line)") }
        var system: String?
        var searchPaths: [String] = []
        for (n, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.hasPrefix("#") || line == magic || line.isEmpty { continue }
            guard let colon = line.firstIndex(of: ":") else { throw failure(n + 1, 1, "expected 'key: value', not '\(line)'") }
            let key = line[..<colon], value = line[line.index(after: colon)...].drop { $0 == " " }
            guard value.hasPrefix("/") else {
                throw failure(n + 1, line.distance(from: line.startIndex, to: value.startIndex) + 1, "\(key) must be an absolute path")
            }
            switch key {
            case "system":
                guard system == nil else { throw failure(n + 1, 1, "a second 'system'") }
                system = String(value)
            case "search-path": searchPaths.append(String(value))
            default: throw failure(n + 1, 1, "unknown key '\(key)' (expected system or search-path)")
            }
        }
        guard let system else { throw failure(1, 1, "names no system (no 'system:' line)") }
        return MicrokitImage(system: system, searchPaths: searchPaths)
    }
}
