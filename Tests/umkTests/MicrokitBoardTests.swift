// SPDX-License-Identifier: Apache-2.0
//
// Microkit systems built the way Microkit users build them: each example's own Makefile
// against the umk board that `umk sdk` writes (board/umk/debug, bin/microkit), with the
// toolchain's clang and ld.lld, then the loader image run by `umk run`. And what the board
// refuses: a PD linked at fixed addresses, another board or configuration, a bad image.

import Foundation
import Testing

@Suite("Microkit board")
struct MicrokitBoardTests {
    static let make = ["/usr/bin/make", "/usr/local/bin/make"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The SDK, written once for the suite.
    static let sdk: String = {
        let dir = NSTemporaryDirectory() + "umk-board-sdk-\(UUID().uuidString)"
        _ = try? ManifestRunTests().umk(["sdk", dir])
        return dir
    }()

    /// The toolchain's bin directory (clang, ld.lld), first on PATH.
    static let path: String = {
        let env = ProcessInfo.processInfo.environment
        let dirs = (env["PATH"] ?? "").split(separator: ":").map(String.init)
        let swift = dirs.map { $0 + "/swift" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        let toolchain = swift.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().deletingLastPathComponent().path }
        return ([toolchain].compactMap { $0 } + dirs).joined(separator: ":")
    }()

    /// Runs `tool` with `args` in `directory` (the toolchain first on PATH); its status and
    /// output. (Also the gdb test's.)
    func run(_ tool: String, _ args: [String], in directory: String) throws -> ManifestRunTests.Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: directory)
        p.environment = ProcessInfo.processInfo.environment.merging(["PATH": Self.path]) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        // make waits for its children by SIGCHLD: the test's thread may have it blocked (a
        // blocked mask is inherited).
        var chld = sigset_t()
        sigemptyset(&chld)
        sigaddset(&chld, SIGCHLD)
        pthread_sigmask(SIG_UNBLOCK, &chld, nil)
        try p.run()
        nonisolated(unsafe) var errData = Data()
        let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !reader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        return .init(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                     stderr: String(decoding: errData, as: UTF8.self))
    }

    /// `make` in example `name` with the umk board, into a new build directory.
    func build(_ name: String, pie: Bool = true) throws -> (build: String, result: ManifestRunTests.Run) {
        let build = NSTemporaryDirectory() + "umk-board-\(name)-\(UUID().uuidString)"
        var args = ["BUILD_DIR=\(build)", "MICROKIT_SDK=\(Self.sdk)", "MICROKIT_BOARD=umk", "MICROKIT_CONFIG=debug", "LLVM=True"]
        if pie { args.append("LD=ld.lld -pie") }
        let r = try run(Self.make!, args, in: ManifestRunTests.root.appendingPathComponent("examples/\(name)").path)
        return (build, r)
    }

    static let examples: [(name: String, input: String, output: [String])] = [
        ("microkit-hello", "", ["hello, world from greeter"]),
        ("microkit-call", "", ["server: protected call on channel 1 with 41, label 7", "client: the server answered 42 in 1 word"]),
        ("microkit-shared", "", ["reader: the writer says \"hello through shared memory\""]),
        ("microkit-uart", "typed here\n", ["uart: got \"typed here\""]),
        ("microkit-fault", "", ["worker: run 3, writing through a null pointer", "monitor: child 1 took a VM fault at a write; stopping it"]),
    ]

    @Test("RUN0033 each Microkit example builds with its own Makefile against the umk board (LD=\"ld.lld -pie\"); bin/microkit writes a loader image and a report; umk run (or the image itself) runs it, exit 0",
          .enabled(if: make != nil), arguments: examples.map(\.name))
    func example(_ name: String) throws {
        let (build, made) = try build(name)
        defer { try? FileManager.default.removeItem(atPath: build) }
        #expect(made.status == 0, "\(made.all)")
        #expect(made.stdout.contains("wrote \(build)/loader.img (run it: umk run \(build)/loader.img) and \(build)/report.txt"),
                "\(made.all)")
        let expected = Self.examples.first { $0.name == name }!
        let r = try ManifestRunTests().umk(["run", build + "/loader.img"], input: expected.input)
        #expect(r.status == 0, "\(r.all)")
        for line in expected.output { #expect(r.stdout.contains(line), "\(r.all)") }
        #expect(r.stderr.contains("umk: every protection domain waits and nothing can wake one; the run ends"), "\(r.all)")
        let report = try String(contentsOfFile: build + "/report.txt", encoding: .utf8)
        #expect(report.contains("cap 1           input endpoint (notification bound to the TCB)"), "\(report)")
        let checked = try ManifestRunTests().umk(["check", build + "/loader.img"])
        #expect(checked.status == 0 && checked.stdout.contains("\(build)/loader.img: ok: Microkit system"), "\(checked.all)")
        if name == "microkit-hello" {
            // The image runs by itself (its #! line names umk).
            let direct = try run(build + "/loader.img", [], in: build)
            #expect(direct.status == 0 && direct.stdout.contains("hello, world from greeter"), "\(direct.all)")
            #expect(report.contains("Protection domain 'greeter': priority 100"), "\(report)")
        }
        if name == "microkit-fault" {
            #expect(report.contains("cap 321         child 1: 'worker' TCB; its faults come to fault()"), "\(report)")
        }
    }

    @Test("RUN0034 the umk board refuses, with the reason and the fix: a PD linked without -pie (by its link script, and by umk run for an ET_EXEC image), another board or configuration, a bad SDF, a bad loader image",
          .enabled(if: make != nil))
    func refusals() throws {
        let (build, made) = try build("microkit-hello", pie: false)
        defer { try? FileManager.default.removeItem(atPath: build) }
        #expect(made.status != 0)
        #expect(made.stderr.contains("a Microkit PD for umk links as a position-independent executable: ld.lld -pie (make LD='ld.lld -pie')"),
                "\(made.all)")
        // The same object linked at fixed addresses without the board's script.
        let linked = try run("/bin/sh", ["-c", "ld.lld -L\(Self.sdk)/board/umk/debug/lib hello.o -lmicrokit -e _start -o hello.elf"],
                             in: build)
        #expect(linked.status == 0, "\(linked.all)")
        let sdf = ManifestRunTests.root.appendingPathComponent("examples/microkit-hello/hello.system").path
        let fixed = try ManifestRunTests().umk(["run", "--search-path", build, sdf])
        #expect(fixed.status == 2, "\(fixed.all)")
        #expect(fixed.stderr.contains("\(sdf):5:5: program image 'hello.elf' is linked at fixed addresses 0x200000-"), "\(fixed.all)")
        #expect(fixed.stderr.contains("link it position-independent: ld.lld -pie (with a Microkit Makefile: make LD=\"ld.lld -pie\")"),
                "\(fixed.all)")

        let tool = Self.sdk + "/bin/microkit"
        let board = try run(tool, [sdf, "--board", "qemu_virt_aarch64", "--config", "debug"], in: build)
        #expect(board.status != 0 && board.stderr.contains("argument --board: unknown parameter 'qemu_virt_aarch64' (this SDK has the board umk)"),
                "\(board.all)")
        let config = try run(tool, [sdf, "--board", "umk", "--config", "release"], in: build)
        #expect(config.status != 0 && config.stderr.contains("argument --config: invalid choice 'release' (choose from: debug)"),
                "\(config.all)")
        let bad = build + "/bad.system"
        try "<system>\n  <protection_domain name=\"a\" priority=\"300\">\n    <program_image path=\"hello.elf\" />\n  </protection_domain>\n</system>\n"
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let sdfError = try run(tool, [bad, "--board", "umk", "--config", "debug", "--search-path", build, "-o", "x.img"], in: build)
        #expect(sdfError.status == 2, "\(sdfError.all)")
        #expect(sdfError.stderr.contains("\(bad):2:"), "\(sdfError.all)")
        #expect(!FileManager.default.fileExists(atPath: build + "/x.img"), "nothing written for a bad system")

        let image = build + "/bad.img"
        try "#!/bin/false run\numk-microkit-image: 1\nsystem: hello.system\n".write(toFile: image, atomically: true, encoding: .utf8)
        let r = try ManifestRunTests().umk(["run", image])
        #expect(r.status == 2, "\(r.all)")
        #expect(r.stderr.contains("\(image):3:9: system must be an absolute path"), "\(r.all)")
    }
}
