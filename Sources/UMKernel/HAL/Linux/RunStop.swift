// SPDX-License-Identifier: Apache-2.0
//
// Ending a run from the host side: Ctrl-C or SIGTERM, the run's time limit (both caught by
// CShims' stop handler and taken at a kernel exit like any host event), or the output a
// manifest's expectation waits for appearing on the console or the debug output.

/// Why the host stopped a run.
public enum StopReason: Sendable, Equatable {
    case expectedOutput
    case interrupted
    case timeLimit
}

/// Watches output for a byte string across writes.
struct OutputWatch: Sendable {
    let pattern: [UInt8]
    /// The last pattern.count - 1 bytes seen, so a match split across writes is found.
    var tail: [UInt8] = []

    init(_ pattern: [UInt8]) { self.pattern = pattern }

    /// Feeds `bytes`; true once the pattern has appeared.
    mutating func feed<C: Collection<UInt8>>(_ bytes: C) -> Bool {
        guard !pattern.isEmpty else { return false }
        tail.append(contentsOf: bytes)
        if tail.count >= pattern.count {
            for i in 0...(tail.count - pattern.count) where tail[i] == pattern[0] {
                if tail[i..<(i + pattern.count)].elementsEqual(pattern) { return true }
            }
        }
        if tail.count >= pattern.count { tail.removeFirst(tail.count - pattern.count + 1) }
        return false
    }
}
