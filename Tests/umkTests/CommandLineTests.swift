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

    func run(_ args: [String], input: String? = nil, environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = args
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        let stdin = Pipe()
        p.standardInput = stdin
        try p.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
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

    @Test("umk bench --filter ipc --samples 1000 prints a well-formed table: every IPC row (the fastpath's again with the sandbox on), numbers, Linux beside")
    func bench() throws {
        let r = try run(["bench", "--filter", "ipc", "--samples", "1000"])
        #expect(r.status == 0, "\(r.output)")
        let lines = r.output.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("bench: ") }
        guard let header = lines.firstIndex(where: { $0.hasPrefix("row ") }) else {
            Issue.record("no table header in \(r.output)")
            return
        }
        #expect(lines[header].split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                == ["row", "umk", "median", "mean", "p90", "p99", "max", "ns", "linux", "median", "ratio", "seL4"])
        #expect(lines[header + 1].allSatisfy { $0 == "-" || $0 == " " })
        let rows = lines[(header + 2)...].filter { $0.hasPrefix("ipc-") }
        #expect(rows.map { String($0.split(separator: " ")[0]) } == [
            "ipc-call-same", "ipc-replyrecv-same", "ipc-call-different", "ipc-replyrecv-different", "ipc-call-10", "ipc-replyrecv-10",
            "ipc-call-cap", "ipc-call-4level", "ipc-call-threads-1000", "ipc-call-threads-10000",
            // Measured again traced, with --strict, and in a child process with the sandbox on.
            "ipc-call-same-trace", "ipc-call-different-trace", "ipc-call-same-strict", "ipc-call-different-strict",
            "ipc-call-same-sandbox", "ipc-replyrecv-same-sandbox", "ipc-call-different-sandbox", "ipc-replyrecv-different-sandbox",
        ])
        for row in rows {
            let cells = row.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            // name, six umk numbers, the Linux mechanism (one or two words), its median, the ratio, seL4.
            #expect(cells[1...6].allSatisfy { UInt64($0) != nil }, "\(row)")
            #expect(Double(cells[cells.count - 2]) != nil, "\(row)")
        }
        #expect(!r.output.contains("vmfault"))
    }

    @Test("umk bench --json gives machine-readable rows")
    func benchJSON() throws {
        let r = try run(["bench", "--filter", "poll", "--samples", "200", "--json"])
        #expect(r.status == 0, "\(r.output)")
        // Progress and the debug-build notice go to stderr, merged here.
        let json = r.output.split(separator: "\n").filter { !$0.hasPrefix("bench: ") && !$0.hasPrefix("umk bench: ") }.joined(separator: "\n")
        let rows = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
        #expect(rows?.count == 1)
        #expect(rows?.first?["name"] as? String == "poll")
        #expect((rows?.first?["umk"] as? [String: Any])?["median"] is NSNumber)
        #expect((rows?.first?["umk"] as? [String: Any])?["mean"] is NSNumber)
    }

    @Test("umk bench rejects a non-positive sample count")
    func benchValidation() throws {
        let r = try run(["bench", "--samples", "0"])
        #expect(r.status != 0)
        #expect(r.output.contains("--samples must be positive"))
    }

    @Test("umk run boots the example system: two tasks exchange calls, a signal and a cap, then halt")
    func runExample() throws {
        let r = try run(["run", "--ram-mib", "64"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("child: running in its own address space"))
        #expect(r.output.contains("root: call 3 from badge 0x42: 6 words, sum 195"))
        #expect(r.output.contains("root: got a cap from badge 0x42 (extraCaps 1, cap tag 6)"))
        #expect(r.output.contains("root: notification word 0x10"))
        #expect(r.output.contains("umk: halted by \"rootserver\""))
    }

    @Test("umk run rejects a RAM size out of range before anything starts")
    func runValidation() throws {
        let r = try run(["run", "--ram-mib", "1"])
        #expect(r.status != 0)
        #expect(r.output.contains("--ram-mib must be between 4 and 65536"))
        #expect(!r.output.contains("root:"))
    }

    @Test("umk run --system shell: the console driver, the timer server and a shell answer commands from stdin")
    func shell() throws {
        let r = try run(["run", "--system", "shell", "--ram-mib", "64"], input: "time\nsleep 20\necho hi there\nfrobnicate\nquit\n")
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("> slept 200"), "\(r.output)")
        #expect(r.output.contains("> hi there\n"))
        #expect(r.output.contains("> unknown command: frobnicate\n"))
        #expect(r.output.contains("> bye\n"))
    }

    @Test("umk run --record then --replay: the replay prints the same bytes without reading the console")
    func recordReplay() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("umk-cli-\(getpid()).rec").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let first = try run(["run", "--system", "shell", "--ram-mib", "64", "--record", file],
                            input: "echo one\nsleep 3\ntime\nquit\n")
        #expect(first.status == 0, "\(first.output)")
        let second = try run(["run", "--system", "shell", "--ram-mib", "64", "--replay", file], input: "quit\n")
        #expect(second.status == 0)
        #expect(second.output == first.output)
        #expect(first.output.contains("> one\n"))
    }

    @Test("umk run refuses --record with --realtime, and an unknown console binding")
    func clockValidation() throws {
        let r = try run(["run", "--realtime", "--record", "/tmp/x.rec"])
        #expect(r.status != 0)
        #expect(r.output.contains("--record, --replay and --seed need virtual time (drop --realtime)"))
        let c = try run(["run", "--console", "serial0"])
        #expect(c.status != 0)
        #expect(c.output.contains("--console must be terminal, pty, none or unix:PATH"))
    }

    @Test("umk fuzz runs a seeded campaign with the invariants on and ends clean")
    func fuzzCampaign() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("umk-fuzz-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try run(["fuzz", "--runs", "300", "--seed", "5", "--corpus", dir, "--artifacts", dir])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("runs 300"), "\(r.output)")
        #expect(r.output.contains("done: 300 programs, no failure"))
        let saved = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(!saved.isEmpty)
        // Any saved input replays with its trace.
        let replay = try run(["fuzz", "--replay", dir + "/" + saved.sorted()[0]])
        #expect(replay.status == 0, "\(replay.output)")
        #expect(replay.output.contains("trace:"))
        #expect(replay.output.contains("ok: every oracle held"))
    }

    @Test("umk fuzz stops a campaign whose input runs past --timeout, and tells a kill from outside from a trap")
    func fuzzSupervisor() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("umk-fuzz-hang-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let start = Date()
        let hang = try run(["fuzz", "--runs", "50", "--timeout", "0.5", "--artifacts", dir],
                           environment: ["UMK_FUZZ_CHILD_FAULT": "hang"])
        #expect(hang.status == 1, "\(hang.output)")
        #expect(hang.output.contains("hang: an input ran longer than 0.5 s"), "\(hang.output)")
        // Run alone (without the injected fault) the input finishes, so it is printed, not minimised.
        #expect(hang.output.contains("the last input run does not reproduce it alone:"), "\(hang.output)")
        #expect(Date().timeIntervalSince(start) < 20)
        let trap = try run(["fuzz", "--runs", "50"], environment: ["UMK_FUZZ_CHILD_FAULT": "trap"])
        #expect(trap.status == 1 && trap.output.contains("crash: the campaign died with signal 6"), "\(trap.output)")
        let killed = try run(["fuzz", "--runs", "50"], environment: ["UMK_FUZZ_CHILD_FAULT": "kill"])
        #expect(killed.status == 1, "\(killed.output)")
        #expect(killed.output.contains("the campaign was killed by signal 9, which no kernel trap raises: not minimised"),
                "\(killed.output)")
        #expect(!killed.output.contains("crash:"), "\(killed.output)")
        let bad = try run(["fuzz", "--runs", "10", "--timeout", "0"])
        #expect(bad.status != 0 && bad.output.contains("--timeout must be positive"), "\(bad.output)")
    }

    @Test("umk fuzz needs a limit")
    func fuzzValidation() throws {
        let r = try run(["fuzz", "--runs", "0"])
        #expect(r.status != 0)
        #expect(r.output.contains("give --runs or --max-time"))
    }
}
