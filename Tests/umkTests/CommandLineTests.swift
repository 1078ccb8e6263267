// SPDX-License-Identifier: Apache-2.0

import Foundation
import Testing

@Suite("umk command line")
struct CommandLineTests {
    /// The built `umk` next to the test bundle.
    static var binary: URL {
        let bundle = Bundle.main.bundleURL
        for dir in [bundle.deletingLastPathComponent(), bundle] {
            let candidate = dir.appendingPathComponent("umk")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return URL(fileURLWithPath: ".build/debug/umk")
    }

    func run(_ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("umk --version prints the version")
    func version() throws {
        let r = try run(["--version"])
        #expect(r.status == 0)
        #expect(r.output.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0")
    }

    @Test("umk --help prints usage")
    func help() throws {
        let r = try run(["--help"])
        #expect(r.status == 0)
        #expect(r.output.contains("USAGE: umk"))
    }

    @Test("umk bench reports kernel-only Call and ReplyRecv costs for both paths")
    func bench() throws {
        let r = try run(["bench", "--samples", "200"])
        #expect(r.status == 0)
        #expect(r.output.contains("fastpath"))
        #expect(r.output.contains("slowpath"))
    }

    @Test("umk bench rejects a non-positive sample count")
    func benchValidation() throws {
        let r = try run(["bench", "--samples", "0"])
        #expect(r.status != 0)
        #expect(r.output.contains("--samples must be positive"))
    }
}
