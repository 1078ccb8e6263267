// SPDX-License-Identifier: Apache-2.0
//
// `umk run FILE` and `umk check FILE` end to end: every example boots and prints what it
// should; a bad manifest exits 2 before anything starts; expectations (output, exit
// status, time limit) decide the status; Ctrl-C stops a run cleanly.

import Foundation
import Testing

@Suite("umk run with manifests")
struct ManifestRunTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static func example(_ name: String) -> String { root.appendingPathComponent("examples/\(name)/system.yaml").path }

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var all: String { stdout + stderr }
    }

    /// Runs umk; `interruptAfter` sends SIGINT that many seconds after start.
    func umk(_ args: [String], interruptAfter: Double? = nil, input: String = "") throws -> Run {
        let p = Process()
        p.executableURL = CommandLineTests.binary
        p.arguments = args
        let out = Pipe(), err = Pipe(), stdin = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = stdin
        try p.run()
        try stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        if let interruptAfter {
            Thread.sleep(forTimeInterval: interruptAfter)
            kill(p.processIdentifier, SIGINT)
        }
        // Both pipes drain concurrently so neither fills up.
        nonisolated(unsafe) var errData = Data()
        let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while reader.isExecuting || !reader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        return Run(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                   stderr: String(decoding: errData, as: UTF8.self))
    }

    func manifest(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "umk-manifest-\(UUID().uuidString).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("RUN0001 every example passes umk check", arguments: ["hello", "ping-pong", "pager-demo", "name-lookup", "timer", "city", "sandbox", "ring-driver"])
    func check(_ name: String) throws {
        let r = try umk(["check", Self.example(name)])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("system/\(name)/system.yaml: ok") || r.stdout.contains("\(name)/system.yaml: ok"), "\(r.all)")
    }

    @Test("RUN0002 hello: the greeting comes through the console driver; init halts when the greeter is done")
    func hello() throws {
        let r = try umk(["run", Self.example("hello")])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("init: hello: started 2 tasks: console, hello"))
        #expect(r.stdout.contains("hello, world, from task 'hello' (id 2)"))
        #expect(r.stdout.contains("init: all tasks done; exit status 0"))
    }

    @Test("RUN0003 ping-pong: 1000 calls across address spaces, answered in order, with the client end's badge")
    func pingPong() throws {
        let r = try umk(["run", Self.example("ping-pong")])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("ping: 1000 calls answered in order by pong (which saw badge 7)"), "\(r.all)")
    }

    @Test("RUN0004 pager-demo: a heap backed lazily; a wild pointer is reported with registers and the rest goes on")
    func pagerDemo() throws {
        let r = try umk(["run", Self.example("pager-demo")])
        #expect(r.status == 0, "the manifest expects exit status 1: \(r.all)")
        #expect(r.stdout.contains("worker: touched 2048 pages of its 8 MiB heap, each backed at first touch; fresh pages zero: true, sum correct"), "\(r.all)")
        #expect(r.stdout.contains("init: task 'wild' crashed: invalid write at 0x90000000"), "\(r.all)")
        #expect(r.stdout.contains("init:   rip    0x") && r.stdout.contains(" rdi    0x90000000 "), "\(r.all)")
        #expect(!r.stdout.contains("wild: still running?"))
        #expect(r.stdout.contains("init: all tasks done; exit status 1"))
        // Without the manifest's expectation the status is the system's own.
        let text = try String(contentsOfFile: Self.example("pager-demo"), encoding: .utf8)
        let plain = try manifest(String(text[..<text.range(of: "expect:")!.lowerBound]))
        defer { try? FileManager.default.removeItem(atPath: plain) }
        #expect(try umk(["run", plain]).status == 1)
    }

    @Test("RUN0012 a seeded run repeats byte for byte, with the addresses a crash report prints", arguments: ["pager-demo", "city"])
    func seededRepeat(_ name: String) throws {
        let first = try umk(["run", "--seed", "11", Self.example(name)])
        let second = try umk(["run", "--seed", "11", Self.example(name)])
        #expect(first.status == 0, "\(first.all)")
        #expect(first.stdout == second.stdout, "\(first.stdout)\n---\n\(second.stdout)")
        if name == "pager-demo" {
            // The report names a stack in a window (16 TiB up) and an IP in umk's own text.
            #expect(first.stdout.contains("rsp    0x10"), "\(first.stdout)")
            #expect(first.stdout.contains("rip    0x"), "\(first.stdout)")
        }
    }

    @Test("RUN0013 c-hello: a C image built with the toolchain's clang and ld.lld runs in two tasks, each with its own data and TLS")
    func cImage() throws {
        let build = Process()
        build.executableURL = URL(fileURLWithPath: "/bin/bash")
        build.arguments = [Self.root.appendingPathComponent("scripts/build-c-examples.sh").path]
        try build.run()
        build.waitUntilExit()
        #expect(build.terminationStatus == 0)
        let r = try umk(["run", Self.example("c-hello")])
        #expect(r.status == 0, "\(r.all)")
        // Relocated pointers ("hello from C"), and each task's globals its own despite
        // the yield between writing and reading them.
        // TLS: each thread's block starts from the image's .tdata and .tbss.
        #expect(r.stdout.contains("first: hello from C; my id is 1, greetings 101, visits 41 (TLS is mine)"), "\(r.all)")
        #expect(r.stdout.contains("second: hello from C; my id is 2, greetings 102, visits 42 (TLS is mine)"), "\(r.all)")
        #expect(r.stdout.contains("init: all tasks done; exit status 0"), "\(r.all)")
    }

    @Test("RUN0015 an ET_EXEC linked inside its task's window runs there; linked elsewhere, it is refused before boot")
    func fixedAddressImage() throws {
        let dir = NSTemporaryDirectory() + "umk-exec-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The first task's window is the second (init has the first): 0x1000_0000_0000 +
        // 32 GiB; the image goes 4 GiB into it.
        let source = Self.root.appendingPathComponent("examples/c-hello/hello.c").path
        let build = Process()
        build.executableURL = URL(fileURLWithPath: "/bin/bash")
        build.arguments = ["-c", """
            set -e; bin="$(dirname "$(readlink -f "$(command -v swift)")")"
            "$bin/clang" --target=x86_64-unknown-none-elf -ffreestanding -fPIE -fno-stack-protector -nostdlib -O2 -c '\(source)' -o '\(dir)/h.o'
            "$bin/ld.lld" --image-base=0x100900000000 -z separate-loadable-segments -e _start '\(dir)/h.o' -o '\(dir)/fixed.elf'
            """]
        try build.run()
        build.waitUntilExit()
        #expect(build.terminationStatus == 0)
        let good = dir + "/good.yaml", bad = dir + "/bad.yaml"
        try "tasks:\n  - {name: solo, image: fixed.elf}\n".write(toFile: good, atomically: true, encoding: .utf8)
        // Two tasks of one ET_EXEC: the second's window is not where it was linked.
        try "tasks:\n  - {name: other, image: fixed.elf}\n  - {name: solo, image: fixed.elf}\n"
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let r = try umk(["run", good])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("solo: hello from C; my id is 1, greetings 101"), "\(r.all)")
        let refused = try umk(["check", bad])
        #expect(refused.status == 2, "\(refused.all)")
        #expect(refused.stderr.contains("bad.yaml:3:25: image 'fixed.elf': linked at fixed addresses (ET_EXEC at 0x100900000000-"),
                "\(refused.all)")
    }

    @Test("RUN0016 a 3 MiB image: its boot module spans many BootInfo pages (the root's stack moves up), and it loads and runs")
    func largeImage() throws {
        let dir = NSTemporaryDirectory() + "umk-large-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
            #include <stdint.h>
            typedef struct { int64_t number; uint64_t cptr, info, mr[4]; } block;
            static unsigned char big[3 << 20] = {7, [(3 << 20) - 1] = 9};
            static void (*enter)(block *);
            static void out(char c) { block b = {-9, (uint8_t)c, 0, {0}}; enter(&b); }
            void _start(const uint64_t *info, void (*entry)(block *), uint64_t ipc) {
                enter = entry;
                unsigned sum = 0;
                for (unsigned i = 0; i < sizeof big; i++) sum += big[i];
                out('0' + sum / 10); out('0' + sum % 10); out('\\n');
                for (;;) { block b = {-1, 68, 1 << 12 | 1, {0}}; enter(&b); }
            }
            """.write(toFile: dir + "/big.c", atomically: true, encoding: .utf8)
        let build = Process()
        build.executableURL = URL(fileURLWithPath: "/bin/bash")
        build.arguments = ["-c", """
            set -e; bin="$(dirname "$(readlink -f "$(command -v swift)")")"; cd '\(dir)'
            "$bin/clang" --target=x86_64-unknown-none-elf -ffreestanding -fPIE -fno-stack-protector -nostdlib -O1 -c big.c
            "$bin/ld.lld" -pie --no-dynamic-linker -z separate-loadable-segments -e _start big.o -o big.elf
            """]
        try build.run()
        build.waitUntilExit()
        #expect(build.terminationStatus == 0)
        let size = (try FileManager.default.attributesOfItem(atPath: dir + "/big.elf")[.size] as? Int) ?? 0
        #expect(size > 3 << 20)
        let manifest = dir + "/system.yaml"
        try "ram: 64 MiB\ntasks:\n  - {name: big, image: big.elf}\n".write(toFile: manifest, atomically: true, encoding: .utf8)
        let r = try umk(["run", manifest])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("16\n"), "\(r.all)")
    }

    @Test("RUN0017 c-echo: a C server, two C clients built with umk cc against seL4's API and a Swift client; each reply carries the caller's badge")
    func cEcho() throws {
        let build = Process()
        build.executableURL = URL(fileURLWithPath: "/bin/bash")
        build.arguments = [Self.root.appendingPathComponent("scripts/build-c-examples.sh").path]
        build.environment = ProcessInfo.processInfo.environment.merging(["UMK": CommandLineTests.binary.path]) { $1 }
        try build.run()
        build.waitUntilExit()
        #expect(build.terminationStatus == 0)
        let r = try umk(["run", Self.example("c-echo")])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("short: sent 1 words, got them back unchanged, labelled with my badge 11"), "\(r.all)")
        #expect(r.stdout.contains("long: sent 10 words, got them back unchanged, labelled with my badge 22"), "\(r.all)")
        #expect(r.stdout.contains("swift: sent 3 words from Swift, got them back unchanged, labelled with my badge 33"), "\(r.all)")
    }

    @Test("RUN0018 umk cc: the SDK's wrappers from C get seL4's answers; a C error fails the build with the compiler's message")
    func sdkCheck() throws {
        let dir = NSTemporaryDirectory() + "umk-sdk-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = Self.root.appendingPathComponent("Tests/umkTests/C/sdk-check.c").path
        let cc = try umk(["cc", "-o", dir + "/check.elf", source])
        #expect(cc.status == 0, "\(cc.all)")
        try "tasks:\n  - {name: check, image: check.elf}\n".write(toFile: dir + "/system.yaml", atomically: true, encoding: .utf8)
        let r = try umk(["run", dir + "/system.yaml"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("sdk: 36 checks, 0 failed"), "\(r.all)")
        try "int main(void) { return undeclared; }\n".write(toFile: dir + "/bad.c", atomically: true, encoding: .utf8)
        let bad = try umk(["cc", "-o", dir + "/bad.elf", dir + "/bad.c"])
        #expect(bad.status == 1, "\(bad.all)")
        #expect(bad.stderr.contains("bad.c:1:25: error: use of undeclared identifier 'undeclared'"), "\(bad.all)")
        #expect(bad.stderr.contains("umk cc: clang failed on"), "\(bad.all)")
    }

    @Test("RUN0019 umk sdk writes the SDK with a make fragment; a Makefile of one's own builds c-echo with it and it runs",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/make")))
    func sdkWithMake() throws {
        let dir = NSTemporaryDirectory() + "umk-make-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let written = try umk(["sdk", dir + "/sdk"])
        #expect(written.status == 0, "\(written.all)")
        let app = dir + "/app"
        try FileManager.default.createDirectory(atPath: app + "/c", withIntermediateDirectories: true)
        for name in ["echo-server", "echo-client"] {
            try FileManager.default.copyItem(atPath: Self.root.appendingPathComponent("examples/c-echo/c/\(name).c").path,
                                             toPath: "\(app)/c/\(name).c")
        }
        try FileManager.default.copyItem(atPath: Self.example("c-echo"), toPath: app + "/system.yaml")
        try """
            include ../sdk/umk.mk
            all: c/echo-server.elf c/echo-client.elf
            %.elf: %.c
            \t$(call umk_image,$@,$<)
            """.write(toFile: app + "/Makefile", atomically: true, encoding: .utf8)
        let make = Process()
        make.executableURL = URL(fileURLWithPath: "/usr/bin/make")
        make.arguments = ["-s", "-C", app]
        try make.run()
        make.waitUntilExit()
        #expect(make.terminationStatus == 0)
        let r = try umk(["run", app + "/system.yaml"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("long: sent 10 words, got them back unchanged, labelled with my badge 22"), "\(r.all)")
    }

    @Test("RUN0020 a C root task (umk run --root, and a manifest's root) does the tutorial steps from BootInfo alone")
    func cRoot() throws {
        let dir = NSTemporaryDirectory() + "umk-root-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cc = try umk(["cc", "-o", dir + "/root.elf", Self.root.appendingPathComponent("examples/c-root/root.c").path])
        #expect(cc.status == 0, "\(cc.all)")
        try FileManager.default.copyItem(atPath: Self.example("c-root"), toPath: dir + "/system.yaml")
        for run in [try umk(["run", "--root", dir + "/root.elf"]), try umk(["run", dir + "/system.yaml"])] {
            #expect(run.status == 0, "\(run.all)")
            for line in ["Hello, World! (rootserver, argc 1)",
                         "untyped: a 4 KiB untyped gave one page, refused a second, and gave it again after a revoke",
                         "mapping: the page at 0x", "holds 0xc0ffee",
                         "thread: hello from a second thread (argument 0x", "its own TLS counter 42)",
                         "ipc: a call with badge 0x61: 6 x 7", "thread: the reply says 42 (label 0)",
                         "notifications: two signals arrived as one, badge 0x5",
                         "tutorial: all steps passed"] {
                #expect(run.stdout.contains(line), "\(line) in \(run.all)")
            }
        }
    }

    @Test("RUN0022 every SDK wrapper from a C root task gets seL4's answer, by direct call and by the trapped syscall instruction alike (the sandbox on); a syscall seL4 does not have, and a host one, are UnknownSyscall faults")
    func rootCheck() throws {
        let dir = NSTemporaryDirectory() + "umk-root-check-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = Self.root.appendingPathComponent("Tests/umkTests/C/root-check.c").path
        var outputs: [String] = []
        for (name, flags) in [("direct", [String]()), ("trap", ["-D", "UMK_SYSCALL_TRAP"])] {
            let cc = try umk(["cc"] + flags + ["-o", "\(dir)/\(name).elf", source])
            #expect(cc.status == 0, "\(cc.all)")
            // With the sandbox on (the default): the two mechanisms side by side.
            let r = try umk(["run", "--stats", "--root", "\(dir)/\(name).elf"])
            if r.stderr.contains("has no Syscall User Dispatch") { return }
            #expect(r.stderr.contains("; sandbox on"), "\(name): \(r.all)")
            #expect(r.status == 0, "\(name): \(r.all)")
            #expect(r.stdout.contains("root: 112 checks, 0 failed"), "\(name): \(r.all)")
            #expect(r.stdout.contains("ok a host syscall: seL4's number is RDX (write's count): 5"), "\(name): \(r.all)")
            // The host's write(2) never ran.
            #expect(!r.stdout.contains("host\n"), "\(name): \(r.all)")
            outputs.append(r.stdout)
        }
        #expect(outputs.count == 2 && outputs[0] == outputs[1])
    }

    @Test("RUN0023 c-uart: a C 16550 driver on I/O port and IRQ caps, interrupt-driven both ways; its C client reads a line typed on the console")
    func cUART() throws {
        let dir = NSTemporaryDirectory() + "umk-uart-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/c", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["uart-driver", "uart-client"] {
            let cc = try umk(["cc", "-o", "\(dir)/c/\(name).elf",
                              Self.root.appendingPathComponent("examples/c-uart/c/\(name).c").path])
            #expect(cc.status == 0, "\(cc.all)")
        }
        try FileManager.default.copyItem(atPath: Self.example("c-uart"), toPath: dir + "/system.yaml")
        let r = try umk(["run", dir + "/system.yaml"], input: "hello uart\n")
        #expect(r.status == 0, "\(r.all)")
        for line in ["uart: 16550 driver ready (IRQ 4, ports 0x3f8-0x3ff)\n", "hello uart\n", "client: type a line, please\n",
                     "client: the driver read \"hello uart\" (10 bytes)\n"] {
            #expect(r.stdout.contains(line), "\(line) in \(r.all)")
        }
    }

    @Test("RUN0021 a bad root image: the file and the reason, exit 2; 'root' with 'tasks' in a manifest is refused at its place")
    func badRoot() throws {
        let notELF = try umk(["run", "--root", Self.example("hello")])
        #expect(notELF.status == 2, "\(notELF.all)")
        #expect(notELF.stderr.contains("umk: \(Self.example("hello")): not an ELF file"), "\(notELF.all)")
        let missing = try umk(["run", "--root", "/nonexistent/root.elf"])
        #expect(missing.status == 2 && missing.stderr.contains("/nonexistent/root.elf: cannot read the file"), "\(missing.all)")
        let both = try manifest("""
            root: root.elf
            tasks:
              - {name: t, program: hello}
            """)
        defer { try? FileManager.default.removeItem(atPath: both) }
        let r = try umk(["check", both])
        #expect(r.status == 2, "\(r.all)")
        #expect(r.stderr.contains("\(both):3:3: 'tasks' cannot be combined with 'root' (at 1:7)"), "\(r.all)")
        #expect(r.stderr.contains("\(both):1:7: image 'root.elf': no such file"), "\(r.all)")
    }

    static let cmake = ["/usr/bin/cmake", "/usr/local/bin/cmake"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test("RUN0024 umk sdk writes a CMake toolchain file; a CMakeLists.txt of one's own builds the C echo server and client with it, and they run",
          .enabled(if: cmake != nil))
    func sdkWithCMake() throws {
        let dir = NSTemporaryDirectory() + "umk-cmake-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try umk(["sdk", dir + "/sdk"]).status == 0)
        let app = dir + "/app"
        try FileManager.default.createDirectory(atPath: app, withIntermediateDirectories: true)
        for name in ["echo-server", "echo-client"] {
            try FileManager.default.copyItem(atPath: Self.root.appendingPathComponent("examples/c-echo/c/\(name).c").path,
                                             toPath: "\(app)/\(name).c")
        }
        try """
            cmake_minimum_required(VERSION 3.16)
            project(echo C)
            umk_image(echo-server echo-server.c)
            umk_image(echo-client echo-client.c)
            """.write(toFile: app + "/CMakeLists.txt", atomically: true, encoding: .utf8)
        for args in [["-S", app, "-B", dir + "/build", "-DCMAKE_TOOLCHAIN_FILE=\(dir)/sdk/umk.cmake", "-DCMAKE_BUILD_TYPE=Release"],
                     ["--build", dir + "/build"]] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.cmake!)
            p.arguments = args
            p.standardOutput = FileHandle.nullDevice
            // cmake waits for its children by SIGCHLD: the test's thread may have it blocked
            // (a blocked mask is inherited).
            var chld = sigset_t()
            sigemptyset(&chld)
            sigaddset(&chld, SIGCHLD)
            pthread_sigmask(SIG_UNBLOCK, &chld, nil)
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "cmake \(args)")
        }
        try """
            tasks:
              - {name: server, image: build/echo-server.elf, priority: 150}
              - {name: short, image: build/echo-client.elf, args: ["built by cmake"]}
            channels:
              - {name: echo, client: {task: short, id: 1, badge: 11}, server: {task: server, id: 1}}
            """.write(toFile: dir + "/system.yaml", atomically: true, encoding: .utf8)
        let r = try umk(["run", dir + "/system.yaml"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("short: sent 2 words, got them back unchanged, labelled with my badge 11"), "\(r.all)")
    }

    @Test("RUN0025 umk check takes a Microkit SDF: images on --search-path, checked as umk run loads them; problems at file:line:column with exit 2")
    func checkSDF() throws {
        let dir = NSTemporaryDirectory() + "umk-check-sdf-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/build", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = FileManager.default.createFile(atPath: dir + "/build/hello.elf", contents: Data([0x7F]))
        let sdf = dir + "/call.system"
        try """
            <?xml version="1.0" encoding="UTF-8"?>
            <system>
                <protection_domain name="hello" priority="1">
                    <program_image path="hello.elf" />
                </protection_domain>
            </system>
            """.write(toFile: sdf, atomically: true, encoding: .utf8)
        let missing = try umk(["check", sdf])
        #expect(missing.status == 2, "\(missing.all)")
        #expect(missing.stderr.contains("\(sdf):4:24: program image 'hello.elf' not found (searched \(dir))"), "\(missing.all)")
        let truncated = try umk(["check", "--search-path", dir + "/build", sdf])
        #expect(truncated.status == 2, "\(truncated.all)")
        #expect(truncated.stderr.contains("\(sdf):3:5: program image 'hello.elf': truncated: 1 bytes, less than an ELF header (64)"),
                "\(truncated.all)")
        let cc = try umk(["cc", "-o", dir + "/build/hello.elf", Self.root.appendingPathComponent("examples/microkit-hello/hello.c").path])
        #expect(cc.status == 0, "\(cc.all)")
        let ok = try umk(["check", "--search-path", dir + "/build", sdf])
        #expect(ok.status == 0, "\(ok.all)")
        #expect(ok.stdout.contains("\(sdf): ok: Microkit system, 1 protection domain, 0 channels, 0 memory regions; needs 1 MiB of RAM"),
                "\(ok.all)")
    }

    @Test("RUN0026 a system that blocks for good ends with each waiting thread and what it waits on")
    func waitingReport() throws {
        let dir = NSTemporaryDirectory() + "umk-waiting-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The server takes the call and ends without replying: the caller waits for ever.
        try "#include <sel4/sel4.h>\nint main(void) { seL4_Word b; seL4_Recv(3, &b); return 0; }\n"
            .write(toFile: dir + "/server.c", atomically: true, encoding: .utf8)
        try "#include <sel4/sel4.h>\nint main(void) { seL4_Call(2, seL4_MessageInfo_new(0, 0, 0, 0)); return 0; }\n"
            .write(toFile: dir + "/caller.c", atomically: true, encoding: .utf8)
        for name in ["server", "caller"] {
            #expect(try umk(["cc", "-o", "\(dir)/\(name).elf", "\(dir)/\(name).c"]).status == 0)
        }
        try """
            tasks:
              - {name: server, image: server.elf, priority: 150}
              - {name: caller, image: caller.elf}
            channels:
              - {name: c, client: {task: caller, id: 2, badge: 5}, server: {task: server, id: 3}}
            """.write(toFile: dir + "/system.yaml", atomically: true, encoding: .utf8)
        let r = try umk(["run", dir + "/system.yaml"])
        #expect(r.status == 1, "\(r.all)")
        #expect(r.stderr.contains("no thread can run any more and nothing halted the system; the threads that wait:"), "\(r.all)")
        #expect(r.stderr.contains("umk:   \"caller\" (priority 100, in a syscall): waiting for the reply to its call or fault message"),
                "\(r.all)")
        #expect(r.stderr.contains("umk:   \"rootserver\" (priority 255, in a syscall): receiving on endpoint 0x"), "\(r.all)")
        #expect(!r.stderr.contains("\"server\""), "\(r.all)")
    }

    @Test("RUN0027 a PD written against <microkit.h> builds with umk cc and gets libmicrokit's main and symbols; a program with its own main does not")
    func microkitAPI() throws {
        let dir = NSTemporaryDirectory() + "umk-microkit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pd = try umk(["cc", "-o", dir + "/pd.elf", Self.root.appendingPathComponent("Tests/umkTests/C/microkit-api.c").path])
        #expect(pd.status == 0, "\(pd.all)")
        let plain = try umk(["cc", "-o", dir + "/plain.elf", Self.root.appendingPathComponent("examples/c-echo/c/echo-server.c").path])
        #expect(plain.status == 0, "\(plain.all)")
        func symbols(_ image: String) throws -> Set<String> {
            let nm = Process()
            nm.executableURL = URL(fileURLWithPath: "/bin/bash")
            nm.arguments = ["-c", "\"$(dirname \"$(readlink -f \"$(command -v swift)\")\")/llvm-nm\" \"$0\"", image]
            let out = Pipe()
            nm.standardOutput = out
            try nm.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            nm.waitUntilExit()
            return Set(String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) })
        }
        let pdSymbols = try symbols(dir + "/pd.elf"), plainSymbols = try symbols(dir + "/plain.elf")
        for name in ["main", "init", "notified", "protected", "fault", "microkit_name", "microkit_notifications", "microkit_pps",
                     "microkit_irqs", "microkit_ioports", "microkit_passive"] {
            #expect(pdSymbols.contains(name), "\(name) in the PD")
        }
        #expect(plainSymbols.contains("main") && !plainSymbols.contains(where: { $0.hasPrefix("microkit_") }))
    }

    @Test("RUN0028 a Microkit system runs from its SDF: PDs built against <microkit.h>, a notification and a protected procedure call; it ends when every PD waits")
    func microkitHello() throws {
        let dir = NSTemporaryDirectory() + "umk-microkit-run-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/build", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["server", "client"] {
            let cc = try umk(["cc", "-o", "\(dir)/build/\(name).elf",
                              Self.root.appendingPathComponent("examples/microkit-call/\(name).c").path])
            #expect(cc.status == 0, "\(cc.all)")
        }
        let sdf = dir + "/call.system"
        try FileManager.default.copyItem(atPath: Self.root.appendingPathComponent("examples/microkit-call/call.system").path,
                                         toPath: sdf)
        let r = try umk(["run", "--search-path", dir + "/build", sdf])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("""
            server: init
            client: init, notifying the server
            server: notified on channel 0
            server: protected call on channel 1 with 41, label 7
            client: the server answered 42 in 1 word
            """), "\(r.all)")
        #expect(r.stderr.contains("umk: every protection domain waits and nothing can wake one; the run ends"), "\(r.all)")
    }

    @Test("RUN0030 a Microkit PD drives the 16550 through its <ioport> and <irq>, with the channel id and port base patched into its variables")
    func microkitUART() throws {
        let dir = NSTemporaryDirectory() + "umk-microkit-uart-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cc = try umk(["cc", "-o", dir + "/uart.elf", Self.root.appendingPathComponent("examples/microkit-uart/uart.c").path])
        #expect(cc.status == 0, "\(cc.all)")
        try FileManager.default.copyItem(atPath: Self.root.appendingPathComponent("examples/microkit-uart/uart.system").path,
                                         toPath: dir + "/uart.system")
        let r = try umk(["run", dir + "/uart.system"], input: "hello pd\n")
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("uart: 16550 driver ready (a Microkit PD), type a line\nuart: got \"hello pd\" (8 bytes)\n"),
                "\(r.all)")
    }

    @Test("RUN0031 Microkit PDs share a memory region, each finding it through its patched setvar_vaddr (read-write in one, read-only in the other)")
    func microkitShared() throws {
        let dir = NSTemporaryDirectory() + "umk-microkit-shared-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["reader", "writer"] {
            let cc = try umk(["cc", "-o", "\(dir)/\(name).elf",
                              Self.root.appendingPathComponent("examples/microkit-shared/\(name).c").path])
            #expect(cc.status == 0, "\(cc.all)")
        }
        try FileManager.default.copyItem(atPath: Self.root.appendingPathComponent("examples/microkit-shared/shared.system").path,
                                         toPath: dir + "/shared.system")
        let r = try umk(["run", dir + "/shared.system"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("writer: wrote the message, notifying the reader\nreader: the writer says \"hello through shared memory\""),
                "\(r.all)")
        // A map below init's layout of the range is refused at its place.
        let low = dir + "/low.system"
        try String(contentsOfFile: dir + "/shared.system", encoding: .utf8).replacingOccurrences(of: "0x5000000", with: "0x1000")
            .write(toFile: low, atomically: true, encoding: .utf8)
        let bad = try umk(["run", low])
        #expect(bad.status == 2, "\(bad.all)")
        #expect(bad.stderr.contains("\(low):8:9: map of 'buffer' at 0x1000: on umk a PD maps regions at offsets 0x2000000-0x100000000 of its address range"),
                "\(bad.all)")
    }

    @Test("RUN0032 a child PD's faults go to its parent's fault(), which restarts it at Microkit's entry address (its memory kept) and then stops it; the parent learns the child's id through setvar_id")
    func microkitFault() throws {
        let dir = NSTemporaryDirectory() + "umk-microkit-fault-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["monitor", "worker"] {
            let cc = try umk(["cc", "-o", "\(dir)/\(name).elf",
                              Self.root.appendingPathComponent("examples/microkit-fault/\(name).c").path])
            #expect(cc.status == 0, "\(cc.all)")
        }
        try FileManager.default.copyItem(atPath: Self.root.appendingPathComponent("examples/microkit-fault/fault.system").path,
                                         toPath: dir + "/fault.system")
        let r = try umk(["run", dir + "/fault.system"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("""
            monitor: watching child 1
            worker: run 1, writing through a null pointer
            monitor: child 1 took a VM fault at a write; restarting it
            worker: run 2, writing through a null pointer
            monitor: child 1 took a VM fault at a write; restarting it
            worker: run 3, writing through a null pointer
            monitor: child 1 took a VM fault at a write; stopping it
            """), "\(r.all)")
        #expect(!r.stdout.contains("still running"), "\(r.all)")
        #expect(!r.all.contains("crashed"), "the fault went to the parent, not to init: \(r.all)")
    }

    @Test("RUN0029 umk run of an SDF refuses, at their places, what it does not build yet and an image without libmicrokit")
    func microkitRefusals() throws {
        let dir = NSTemporaryDirectory() + "umk-microkit-bad-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cc = try umk(["cc", "-o", dir + "/plain.elf", Self.root.appendingPathComponent("examples/c-echo/c/echo-server.c").path])
        #expect(cc.status == 0, "\(cc.all)")
        let sdf = dir + "/bad.system"
        try """
            <?xml version="1.0"?>
            <system>
                <memory_region name="device" size="0x1000" phys_addr="0xfee00000" />
                <protection_domain name="plain" priority="10">
                    <program_image path="plain.elf" />
                    <setvar symbol="device_paddr" region_paddr="device" />
                    <map mr="device" vaddr="0x4000000" perms="rw" />
                </protection_domain>
            </system>
            """.write(toFile: sdf, atomically: true, encoding: .utf8)
        let r = try umk(["run", sdf])
        #expect(r.status == 2, "\(r.all)")
        // Device memory itself is fine now (RUN0045); the setvar's symbol is not in the image.
        #expect(!r.stderr.contains(":7:9:"), "\(r.all)")
        #expect(r.stderr.contains("\(sdf):4:5: program image 'plain.elf' has no symbol 'microkit_name' (or it is stripped): "
                                  + "build it against umk's <microkit.h> with umk cc"), "\(r.all)")
        // A child's setvar_id names a variable its parent's image does not have.
        let hello = try umk(["cc", "-o", dir + "/hello.elf", Self.root.appendingPathComponent("examples/microkit-hello/hello.c").path])
        #expect(hello.status == 0, "\(hello.all)")
        try """
            <system>
                <protection_domain name="parent" priority="10">
                    <program_image path="hello.elf" />
                    <protection_domain name="child" id="3" setvar_id="child_id"><program_image path="hello.elf" /></protection_domain>
                </protection_domain>
            </system>
            """.write(toFile: sdf, atomically: true, encoding: .utf8)
        let child = try umk(["check", sdf])
        #expect(child.status == 2, "\(child.all)")
        #expect(child.stderr.contains("\(sdf):4:9: program image of 'parent' has no symbol 'child_id' (or it is stripped)"), "\(child.all)")
    }

    static let refusals: [(task: String, syscall: String, number: Int)] = [
        ("open", "openat", 257), ("socket", "socket", 41), ("fork", "clone", 56), ("execve", "execve", 59), ("kill", "kill", 62),
        ("ptrace", "ptrace", 101), ("mprotect-exec", "mprotect", 10), ("sigaction", "rt_sigaction", 13),
        ("exit", "exit_group", 231), ("abort", "tgkill", 234),
    ]

    @Test("RUN0035 sandbox: each host syscall a guest must not make is refused, reported by name and as an UnknownSyscall fault with the host's number; ping and pong run on")
    func sandbox() throws {
        let r = try umk(["run", "--stats", Self.example("sandbox")])
        #expect(r.status == 0, "the expected status 1 (tasks crashed): \(r.all)")
        for (task, syscall, number) in Self.refusals {
            #expect(r.stdout.contains("\(task): trying \(task)"), "\(task): \(r.all)")
            #expect(r.all.contains("umk: the sandbox refused host syscall \(syscall) (\(number)) made by thread '\(task)'; "
                                   + "its fault handler gets an UnknownSyscall fault"), "\(task): \(r.all)")
            #expect(r.stdout.contains("init: task '\(task)' crashed: UnknownSyscall \(number) (ip 0x"), "\(task): \(r.all)")
        }
        #expect(!r.all.contains("the sandbox did not refuse"), "\(r.all)")
        #expect(r.stdout.contains("ping: 1000 calls answered in order by pong (which saw badge 7)"), "\(r.all)")
        #expect(r.stdout.contains("init: all tasks done; exit status 1"), "\(r.all)")
        #expect(r.stderr.contains("; sandbox on"), "\(r.all)")
    }

    @Test("RUN0036 --sandbox audit lets a host syscall run (the host kernel logs it); --no-sandbox and --sandbox off confine nothing")
    func sandboxModes() throws {
        let path = try manifest("""
            tasks:
              - {name: open, program: host-call, args: [open]}
            expect: {exit: 1}
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        for flags in [["--sandbox", "audit"], ["--sandbox=off"], ["--no-sandbox"]] {
            let r = try umk(["run", "--stats"] + flags + [path])
            #expect(r.status == 0, "\(flags): \(r.all)")
            #expect(r.stdout.contains("open: open returned ") && r.stdout.contains("the sandbox did not refuse it"), "\(flags): \(r.all)")
            #expect(!r.all.contains("umk: the sandbox refused"), "\(flags): \(r.all)")
            #expect(r.stderr.contains("; sandbox \(flags == ["--sandbox", "audit"] ? "audit" : "off")"), "\(flags): \(r.all)")
        }
        let bad = try umk(["run", "--sandbox", "maybe", path])
        #expect(bad.status == 64 && bad.stderr.contains("maybe"), "\(bad.all)")
    }

    @Test("RUN0037 --strict runs the examples as without it (the sandbox on too, C images' code reopened by mapping) and prints what keeping memory closed cost",
          arguments: ["ping-pong", "c-echo", "pager-demo"])
    func strict(_ name: String) throws {
        if name == "c-echo" { try #require(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent("examples/c-echo/c/echo-server.elf").path), "scripts/build-c-examples.sh first") }
        let plain = try umk(["run", Self.example(name)])
        let r = try umk(["run", "--strict", Self.example(name)])
        #expect(r.status == 0 && r.status == plain.status, "\(r.all)")
        // The same output, crash reports' registers aside (a register the syscall stub
        // clobbers keeps whatever the kernel's last host call left in it).
        func text(_ out: String) -> [Substring] { out.split(separator: "\n").filter { !$0.hasPrefix("init:   ") } }
        #expect(text(r.stdout) == text(plain.stdout), "the same output: \(r.all)")
        let line = r.stderr.split(separator: "\n").first { $0.hasPrefix("umk: strict: kernel RAM closed for ") }
        #expect(line?.contains(" switches between address spaces, ") == true && line?.contains(" µs per guest entry)") == true, "\(r.all)")
    }

    static let dot = ["/usr/bin/dot", "/usr/local/bin/dot"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test("RUN0038 --cap-graph: ping-pong's capabilities as DOT, ping's badged endpoint cap pointing at the endpoint pong receives on, both copied from init's CSpace")
    func capabilityGraph() throws {
        let path = NSTemporaryDirectory() + "umk-caps-\(UUID().uuidString).dot"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try umk(["run", "--cap-graph", path, Self.example("ping-pong")])
        #expect(r.status == 0, "\(r.all)")
        let dot = try String(contentsOfFile: path, encoding: .utf8)
        #expect(dot.hasPrefix("digraph capabilities {") && dot.hasSuffix("}\n"), "\(dot)")
        func node(_ label: String) -> String? {
            dot.split(separator: "\n").first { $0.contains("[label=\"\(label)\\n") }
                .map { String($0.drop { $0 == " " }.prefix { $0 != " " }) }
        }
        let ping = try #require(node("CSpace of ping")), pong = try #require(node("CSpace of pong"))
        let initCSpace = try #require(node("CSpace of rootserver"))
        let edges = dot.split(separator: "\n").filter { $0.contains(" -> ") }
        // ping's slot 1: the endpoint, badge 7, write and grant; pong's slot 1: the same endpoint.
        let pingCap = try #require(edges.first { $0.hasPrefix("  \(ping) -> ") && $0.contains("[label=\"slot 1 WGg\\nbadge 7\"]") })
        let endpoint = String(pingCap.split(separator: " ")[2])
        #expect(endpoint.hasPrefix("\"endpoint_"), "\(pingCap)")
        #expect(edges.contains { $0.hasPrefix("  \(pong) -> \(endpoint) [label=\"slot 1 R") }, "\(dot)")
        #expect(edges.contains { $0.hasPrefix("  \(initCSpace) -> \(ping) [style=dashed, label=\"copy slot ") && $0.contains(" → slot 1\"]") },
                "\(dot)")
        if let dotTool = Self.dot {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: dotTool)
            p.arguments = ["-Tsvg", path, "-o", path + ".svg"]
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "dot renders it")
            try? FileManager.default.removeItem(atPath: path + ".svg")
        }
    }

    @Test("RUN0039 --trace: city's run as Chrome trace JSON: a named track per thread, running slices, syscalls, and every message an arrow from its sender's track to its receiver's")
    func trace() throws {
        let path = NSTemporaryDirectory() + "umk-trace-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try umk(["run", "--trace", path, Self.example("city")])
        #expect(r.status == 0, "\(r.all)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        let events = try #require(json?["traceEvents"] as? [[String: Any]])
        func tid(_ e: [String: Any]) -> Int { e["tid"] as? Int ?? -1 }
        let names = Dictionary(events.filter { $0["name"] as? String == "thread_name" }
            .map { (tid($0), ($0["args"] as? [String: Any])?["name"] as? String ?? "") }, uniquingKeysWith: { a, _ in a })
        #expect(Set(names.values) == ["kernel", "rootserver", "console", "timer", "names", "pager", "kv", "reporter",
                                      "worker-1", "worker-2", "worker-3", "worker-4"], "\(names)")
        // Each thread that ran has running slices on its own track.
        let running = Set(events.filter { $0["name"] as? String == "running" && $0["ph"] as? String == "X" }.map(tid))
        #expect(running.isSuperset(of: names.filter { $0.value.hasPrefix("worker") }.map(\.key)), "\(running)")
        // Flows: every start has its finish (same id) on another track, both named tracks.
        let starts = events.filter { $0["ph"] as? String == "s" }, finishes = events.filter { $0["ph"] as? String == "f" }
        #expect(starts.count == finishes.count && starts.count > 100)
        let finishTrack = Dictionary(finishes.map { ($0["id"] as? Int ?? 0, tid($0)) }, uniquingKeysWith: { a, _ in a })
        for s in starts {
            let to = finishTrack[s["id"] as? Int ?? -1]
            #expect(to != nil && to != tid(s) && names[tid(s)] != nil && names[to ?? -1] != nil, "\(s)")
        }
        let kinds = Set(starts.compactMap { $0["name"] as? String })
        #expect(kinds.isSuperset(of: ["message", "reply", "fault", "signal"]), "\(kinds)")
        // The workers' heaps are paged: their faults go to the pager's track.
        let pager = try #require(names.first { $0.value == "pager" }?.key)
        #expect(starts.contains { $0["name"] as? String == "fault" && finishTrack[$0["id"] as? Int ?? -1] == pager })
        #expect(events.contains { $0["name"] as? String == "Call" && $0["ph"] as? String == "i" })

        // A size limit: the trace stops there, says so, and stays valid JSON.
        let limited = try umk(["run", "--trace", path, "--trace-limit-mib", "1", Self.example("city")])
        #expect(limited.status == 0, "\(limited.all)")
        #expect(limited.stderr.contains("umk: the trace reached --trace-limit-mib 1; later events are not in it"), "\(limited.all)")
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(data.count < (1 << 20) + (64 << 10), "\(data.count) bytes")
        let small = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let smallEvents = try #require(small?["traceEvents"] as? [[String: Any]])
        #expect(smallEvents.contains { ($0["name"] as? String)?.hasPrefix("trace truncated") == true })
    }

    @Test("RUN0040 crash reports say what happened: the function and source line of a C image's faulting IP, a stack overflow, a Swift runtime trap")
    func crashReports() throws {
        let dir = NSTemporaryDirectory() + "umk-crash-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/c", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cc = try umk(["cc", "-g", "-o", dir + "/c/crash.elf", Self.root.appendingPathComponent("examples/c-crash/c/crash.c").path])
        #expect(cc.status == 0, "\(cc.all)")
        try FileManager.default.copyItem(atPath: Self.example("c-crash"), toPath: dir + "/system.yaml")
        let r = try umk(["run", dir + "/system.yaml"])
        #expect(r.status == 0, "the expected status 1: \(r.all)")
        // With debug information, the source line (DWARF's line table).
        #expect(r.stdout.contains("init: task 'null' crashed: VMFault: write at 0x0 (ip 0x")
                && r.stdout.contains(", write_through_null+0x4 at examples/c-crash/c/crash.c:8)"), "\(r.all)")
        #expect(r.stdout.contains("init: task 'deep' crashed: VMFault: write at 0x") && r.stdout.contains(", just below the stack: a stack overflow (ip 0x"),
                "\(r.all)")
        #expect(r.stdout.contains("init: task 'trap' crashed: UserException: vector 6 (invalid opcode: a Swift runtime trap, such as a failed precondition, "
                                  + "an arithmetic overflow or a nil unwrapped)"), "\(r.all)")
        // A Swift guest's IP: its offset into the program, for addr2line, and the function.
        #expect(r.stdout.contains("stack overflow (ip 0x") && r.stdout.contains(", program offset 0x"), "\(r.all)")
        #expect(r.stdout.contains(", in static ExamplePrograms.Crashes.recurse(Swift.Int) -> Swift.Int + 0x"), "\(r.all)")
        #expect(r.stdout.contains(" in variable initialization expression of static ExamplePrograms.Crashes.trap"), "\(r.all)")
        #expect(!r.stdout.contains("still running"), "\(r.all)")
    }

    static let gdb = ["/usr/bin/gdb", "/usr/local/bin/gdb"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test("RUN0041 umk gdb (gdb with scripts/umk-gdb.py) stops at a breakpoint in a C guest (its image's symbols added at its load address), lists the guest threads and shows a blocked one's backtrace",
          .enabled(if: gdb != nil))
    func gdbGuests() throws {
        let dir = NSTemporaryDirectory() + "umk-gdb-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/c", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["echo-server", "echo-client"] {
            let cc = try umk(["cc", "-g", "-O0", "-o", "\(dir)/c/\(name).elf",
                              Self.root.appendingPathComponent("examples/c-echo/c/\(name).c").path])
            #expect(cc.status == 0, "\(cc.all)")
        }
        try FileManager.default.copyItem(atPath: Self.example("c-echo"), toPath: dir + "/system.yaml")
        // umk gdb: gdb with the extension (scripts/umk-gdb.py) loaded.
        let text = try MicrokitBoardTests().run(CommandLineTests.binary.path,
            ["gdb", "-batch", "-nx", "-ex", "break echo-server.c:19", "-ex", "run", "-ex", "info umk-threads",
             "-ex", "umk-thread swift", "-ex", "kill", "--", "umk", "run", "--no-sandbox", dir + "/system.yaml"], in: dir).all
        #expect(text.contains("umk: symbols of \(dir)/c/echo-server.elf for task server, at offset 0x"), "\(text)")
        #expect(text.contains("Breakpoint 1, main (") && text.contains("echo-server.c:19"), "\(text)")
        let rows = text.split(separator: "\n").map(String.init)
        #expect(rows.contains { $0.hasPrefix("  N   Name ") && $0.contains(" VSpace ") && $0.contains(" Waits on") }, "\(text)")
        #expect(rows.contains { $0.hasPrefix("* ") && $0.contains(" server ") && $0.contains(" running ") }, "\(text)")
        #expect(rows.contains { $0.contains(" swift ") && $0.contains(" blocked on reply ") }, "\(text)")
        #expect(rows.contains { $0.contains(" rootserver ") && $0.contains(" blocked on receive ") }, "\(text)")
        #expect(text.contains("guest thread 1, swift (blocked on reply): pc 0x"), "\(text)")
        #expect(text.contains(" in static seL4.call(_:_:) ") && text.contains("SwiftEchoClient.swift:"), "\(text)")
        #expect(!text.contains("server: serving\nswift: sent"), "stopped before the reply: \(text)")
    }

    @Test("RUN0042 umk gdb lets the faults pagers answer pass and stops where a task crashes, its thread where it faulted",
          .enabled(if: gdb != nil))
    func gdbStopsOnCrash() throws {
        let dir = NSTemporaryDirectory() + "umk-gdb-crash-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/c", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cc = try umk(["cc", "-g", "-O0", "-o", dir + "/c/crash.elf", Self.root.appendingPathComponent("examples/c-crash/c/crash.c").path])
        #expect(cc.status == 0, "\(cc.all)")
        // A paged heap beside the crash: its faults go to the pager and pass.
        try """
            tasks:
              - {name: pager, program: pager, priority: 200}
              - {name: paged, program: heap-worker, heap: {size: 8 MiB, pager: pager}}
              - {name: null, image: c/crash.elf}
            """.write(toFile: dir + "/system.yaml", atomically: true, encoding: .utf8)
        let text = try MicrokitBoardTests().run(CommandLineTests.binary.path,
            ["gdb", "-batch", "-nx", "-ex", "run", "-ex", "umk-thread null", "-ex", "kill",
             "--", "umk", "run", "--no-sandbox", dir + "/system.yaml"], in: dir).all
        #expect(text.contains("umk: stopped: init: task 'null' crashed: VMFault: write at 0x0 (ip 0x"), "\(text)")
        #expect(text.contains("umk: `umk-thread null` shows where it faulted"), "\(text)")
        #expect(text.contains("guest thread ") && text.contains(", null (inactive): pc 0x"), "\(text)")
        #expect(text.contains("write_through_null (p=0x0) at ") && text.contains("crash.c:8"), "\(text)")
        #expect(text.contains("in main () at ") , "\(text)")
        #expect(!text.contains("Program received signal SIGSEGV"), "\(text)")
    }

    @Test("RUN0043 what the command line says when things go wrong: an unreadable file's reason, control characters escaped and placed, a mistyped command, host failures as status 4, a bench filter that matches nothing")
    func messages() throws {
        let dir = NSTemporaryDirectory()
        let directory = try umk(["run", dir])
        #expect(directory.status == 2 && directory.stderr.contains(": cannot read it: it is a directory"), "\(directory.all)")
        let control = try manifest("tasks:\n  - {name: \"t\u{1B}[31mred\", program: hello}\n")
        defer { try? FileManager.default.removeItem(atPath: control) }
        let c = try umk(["check", control])
        #expect(c.status == 2 && c.stderr.contains("\(control):2:14: YAML: control characters are not allowed (U+1B)"), "\(c.all)")
        #expect(!c.all.contains("\u{1B}"), "raw escape in: \(c.all)")
        let nul = try manifest("tasks:\n  - {name: t, program: hel\u{0}lo}\n")
        defer { try? FileManager.default.removeItem(atPath: nul) }
        let n = try umk(["check", nul])
        #expect(n.status == 2 && n.stderr.contains("\(nul):2:27: YAML: control characters are not allowed (U+0)"), "\(n.all)")
        let typo = try umk(["rnu", "x.yaml"])
        #expect(typo.status == 64 && typo.stderr.contains("umk: 'rnu' is not a command; did you mean 'run'?"), "\(typo.all)")
        let socket = try manifest("console: unix:/nonexistent/dir/sock\ntasks:\n  - {name: t, program: hello}\n")
        defer { try? FileManager.default.removeItem(atPath: socket) }
        let s = try umk(["run", socket])
        #expect(s.status == 4 && s.stderr.contains("umk: host failure: bind/listen(/nonexistent/dir/sock) failed: No such file or directory"), "\(s.all)")
        let record = try umk(["run", "--record", "/nonexistent/run.rec", Self.example("hello")])
        #expect(record.status == 4 && record.stderr.contains("umk: host failure: open(/nonexistent/run.rec) failed"), "\(record.all)")
        let bench = try umk(["bench", "--filter", "no-such-row", "--samples", "10"])
        #expect(bench.status != 0 && bench.stderr.contains("--filter 'no-such-row' matches no row"), "\(bench.all)")
    }

    @Test("RUN0044 ring-driver: a guest driver reads lines a host program writes into device memory (a shared-memory object) after each IRQ, and writes back how far it read; its ROM region is a file, not zeroed")
    func deviceRing() throws {
        let p = Process()
        p.executableURL = CommandLineTests.binary
        p.arguments = ["run", Self.example("ring-driver")]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        defer { if p.isRunning { p.terminate() } }
        // The host side: the ring's path, as umk prints it.
        var stderr = ""
        let deadline = Date().addingTimeInterval(20)
        while !stderr.contains("umk: device memory 'rom'") && Date() < deadline && p.isRunning {
            stderr += String(decoding: err.fileHandleForReading.availableData, as: UTF8.self)
        }
        let prefix = "umk: device memory 'ring' at 0xc0000000 (4 KiB): "
        let path = try #require(stderr.split(separator: "\n").first { $0.hasPrefix(prefix) }?.dropFirst(prefix.count), "\(stderr)")
        #expect(path.hasPrefix("/proc/\(p.processIdentifier)/fd/"))
        let ring = try #require(FileHandle(forUpdatingAtPath: String(path)))
        func word(_ offset: UInt64) throws -> UInt64 {
            try ring.seek(toOffset: offset)
            let bytes = ring.readData(ofLength: 8)
            return bytes.count == 8 ? bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } : 0
        }
        func send(_ text: String, after head: UInt64) throws -> UInt64 {
            try ring.seek(toOffset: 64 + head)
            try ring.write(contentsOf: Data(text.utf8))
            let newHead = head + UInt64(text.utf8.count)
            try ring.seek(toOffset: 0)
            try ring.write(contentsOf: withUnsafeBytes(of: newHead) { Data($0) })
            kill(p.processIdentifier, SIGUSR1)
            return newHead
        }
        // The driver is up (its IRQ granted) once it has named the device.
        var stdout = ""
        while !stdout.contains("ring-driver: device") && Date() < deadline && p.isRunning {
            stdout += String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        }
        let head = try send("hello from the host\nsecond line\n", after: 0)
        // The driver writes back how far it read; the IRQ is raised again until it has, as a
        // device holds its line until served.
        var tail: UInt64 = 0, waited = 0
        while tail != head && Date() < deadline && p.isRunning {
            Thread.sleep(forTimeInterval: 0.01)
            waited += 1
            if waited % 50 == 0 { kill(p.processIdentifier, SIGUSR1) }
            tail = try word(8)
        }
        #expect(tail == head)
        _ = try send("quit\n", after: head)
        p.waitUntilExit()
        stdout += String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 0, "\(stdout)\(stderr)")
        #expect(stdout.contains("ring-driver: device 'UMK-RING-DEVICE v1', ring at 0x"), "\(stdout)")
        #expect(stdout.contains("ring-driver: line 'hello from the host'\nring-driver: line 'second line'\nring-driver: line 'quit'"),
                "\(stdout)")
    }

    @Test("RUN0045 a Microkit PD maps a memory region at a physical address (device memory) and gets its address through a region_paddr setvar")
    func microkitDevice() throws {
        let dir = NSTemporaryDirectory() + "umk-microkit-device-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
            #include <stdint.h>
            #include <microkit.h>

            uintptr_t ring_vaddr;
            uintptr_t ring_paddr;

            static void put_hex(uint64_t v) {
                char text[19] = "0x";
                for (int i = 0; i < 16; i++) text[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xF];
                text[18] = 0;
                microkit_dbg_puts(text);
            }

            void init(void) {
                volatile uint64_t *ring = (volatile uint64_t *)ring_vaddr;
                ring[1] = 0x1234;
                microkit_dbg_puts("device: paddr ");
                put_hex(ring_paddr);
                microkit_dbg_puts(" word ");
                put_hex(ring[1]);
                microkit_dbg_puts("\\n");
            }

            void notified(microkit_channel ch) { (void)ch; }
            """.write(toFile: dir + "/device.c", atomically: true, encoding: .utf8)
        let cc = try umk(["cc", "-o", dir + "/device.elf", dir + "/device.c"])
        #expect(cc.status == 0, "\(cc.all)")
        try """
            <?xml version="1.0" encoding="UTF-8"?>
            <system>
                <memory_region name="ring" size="0x1000" phys_addr="0xc0000000" />
                <protection_domain name="device" priority="100">
                    <program_image path="device.elf" />
                    <map mr="ring" vaddr="0x4000000" perms="rw" setvar_vaddr="ring_vaddr" />
                    <setvar symbol="ring_paddr" region_paddr="ring" />
                </protection_domain>
            </system>
            """.write(toFile: dir + "/device.system", atomically: true, encoding: .utf8)
        let r = try umk(["run", dir + "/device.system"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stderr.contains("umk: device memory 'ring' at 0xc0000000 (4 KiB): /proc/"), "\(r.all)")
        #expect(r.stdout.contains("device: paddr 0x00000000c0000000 word 0x0000000000001234"), "\(r.all)")
    }

    @Test("RUN0014 a task whose image is not an ELF file: file:line:column, exit 2, nothing started")
    func badImage() throws {
        let path = try manifest("""
            tasks:
              - name: t
                image: \(Self.example("hello"))
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try umk(["run", path])
        #expect(r.status == 2, "\(r.all)")
        #expect(r.stderr.contains("\(path):3:12: image '\(Self.example("hello"))': not an ELF file"), "\(r.all)")
        #expect(!r.stdout.contains("init:"), "\(r.all)")
    }

    @Test("RUN0005 name-lookup: registered, found by name, called through the transferred cap; errors are clear")
    func nameLookup() throws {
        let r = try umk(["run", Self.example("name-lookup")])
        #expect(r.status == 0, "\(r.all)")
        for line in ["echo: register \"echo\": ok; again: the name is already registered",
                     "client: lookup \"no-such-service\": no such name",
                     "client: \"echo\" (registered by badge 1) answered: HELLO THROUGH THE NAME SERVICE (badge 0xec40)",
                     "client: unregister \"echo\": the name belongs to another task"] {
            #expect(r.stdout.contains(line), "\(line) in \(r.all)")
        }
    }

    @Test("RUN0006 timer: sleeps, a deadline and a timeout through the timer server")
    func timer() throws {
        let r = try umk(["run", Self.example("timer")])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.components(separatedBy: "slept at least that").count == 4, "\(r.all)")
        #expect(r.stdout.contains("sleeper: woke at or after its deadline"))
        #expect(r.stdout.contains("sleeper: job timed out after 12 steps of 1 ms (timeout 12 ms)"), "\(r.all)")
    }

    @Test("RUN0007 city: ten tasks; the workers use the name service, pager, timer, console and a shared region")
    func city() throws {
        let r = try umk(["run", Self.example("city")])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("init: city: started 10 tasks"))
        for i in 1...4 { #expect(r.stdout.contains("worker-\(i): \(i * 256) heap pages, result"), "\(r.all)") }
        #expect(r.stdout.contains("city: all 4 workers reported; total 3272960; region and kv agree"), "\(r.all)")
    }

    @Test("RUN0008 a bad manifest: every problem as file:line:column, exit 2, nothing started")
    func badManifest() throws {
        let path = try manifest("""
            tasks:
              - {name: a, program: nosuch}
              - {name: b, program: ping, priority: 300}
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        for command in ["run", "check"] {
            let r = try umk([command, path])
            #expect(r.status == 2, "\(r.all)")
            let lines = r.stderr.split(separator: "\n").map(String.init)
            #expect(lines.count == 2, "\(r.all)")
            #expect(lines.first?.hasPrefix("\(path):2:24: unknown program 'nosuch'") == true, "\(r.all)")
            #expect(lines.last == "\(path):3:40: priority must be between 1 and 254 (init runs at 255), not 300", "\(r.all)")
            #expect(!r.stdout.contains("init:"), "nothing may start: \(r.all)")
        }
        let missing = try umk(["check", "/nonexistent/system.yaml"])
        #expect(missing.status == 2 && missing.stderr.contains("/nonexistent/system.yaml: cannot read it: No such file or directory"))
    }

    @Test("RUN0009 expectations: output stops the run with success; a wrong exit status or a time limit fails it")
    func expectations() throws {
        let text = try String(contentsOfFile: Self.example("ping-pong"), encoding: .utf8)
        let body = String(text[..<text.range(of: "expect:")!.lowerBound])
        let output = try manifest(body + "expect:\n  output: \"calls answered in order\"\n")
        let wrongExit = try manifest(body + "expect:\n  exit: 3\n")
        let slow = try manifest(body.replacingOccurrences(of: "[\"1000\"]", with: "[\"100000000000\"]")
                                + "expect:\n  timeout: 500 ms\n")
        defer { for p in [output, wrongExit, slow] { try? FileManager.default.removeItem(atPath: p) } }
        let o = try umk(["run", output])
        #expect(o.status == 0 && o.stderr.contains("umk: expected output \"calls answered in order\" appeared"), "\(o.all)")
        #expect(!o.stdout.contains("init: all tasks done"), "the run stops when the output appears: \(o.all)")
        let w = try umk(["run", wrongExit])
        #expect(w.status == 1 && w.stderr.contains("umk: the system exited with status 0; the manifest expects 3"), "\(w.all)")
        let s = try umk(["run", slow])
        #expect(s.status == 1 && s.stderr.contains("umk: time limit of 0.5 s reached"), "\(s.all)")
    }

    @Test("RUN0010 Ctrl-C stops a running system cleanly with status 130")
    func interrupt() throws {
        let text = try String(contentsOfFile: Self.example("ping-pong"), encoding: .utf8)
        let endless = try manifest(String(text[..<text.range(of: "expect:")!.lowerBound])
            .replacingOccurrences(of: "[\"1000\"]", with: "[\"100000000000\"]"))
        defer { try? FileManager.default.removeItem(atPath: endless) }
        let r = try umk(["run", endless], interruptAfter: 0.5)
        #expect(r.status == 130, "\(r.all)")
        #expect(r.stderr.contains("umk: interrupted"), "\(r.all)")
        #expect(!r.stderr.contains("forced stop"), "the kernel stopped at its next exit: \(r.all)")
    }

    @Test("RUN0011 --stats reports when every task of the manifest had run, and the run's totals")
    func stats() throws {
        let r = try umk(["run", Self.example("city"), "--stats"])
        #expect(r.status == 0, "\(r.all)")
        // The city's lowest-priority tasks run last; every time is after the manifest check.
        let boot = r.stderr.split(separator: "\n").first { $0.hasPrefix("umk: boot: all 10 tasks running ") }
        #expect(boot?.hasSuffix(" (worker-1))") == true, "\(r.all)")
        // (10 tasks,) boot, manifest checked, init's first run, the first and the last task's first run.
        let times = (boot ?? "").split(separator: " ").compactMap { Double($0) }.dropFirst().map { $0 }
        #expect(times.count == 5 && times[1] <= times[2] && times[2] <= times[3] && times[3] <= times[4] && times[0] == times[4],
                "\(r.all)")
        #expect(r.stderr.contains(" kernel entries, ") && r.stderr.contains(", 11 threads"), "\(r.all)")
        #expect(!r.stderr.contains("RAM allocated up front"), "\(r.all)")
        let populated = try umk(["run", Self.example("hello"), "--stats", "--populate-ram"])
        #expect(populated.status == 0 && populated.stderr.contains(", 3 threads; RAM allocated up front; sandbox on"), "\(populated.all)")
        // A task that never got to run is named: ping-pong without end, stopped by a time
        // limit, with a task below it that the busy pair keeps from ever running.
        let text = try String(contentsOfFile: Self.example("ping-pong"), encoding: .utf8)
        let starved = try manifest(String(text[..<text.range(of: "channels:")!.lowerBound])
            .replacingOccurrences(of: "[\"1000\"]", with: "[\"100000000000\"]")
            + "  - name: idler\n    program: pong\n    priority: 50\n\n"
            + String(text[text.range(of: "channels:")!.lowerBound...]).replacingOccurrences(of: "timeout: 30 s", with: "timeout: 0.5 s"))
        defer { try? FileManager.default.removeItem(atPath: starved) }
        let s = try umk(["run", starved, "--stats"])
        #expect(s.stderr.contains("umk: boot: 2 of 3 tasks ran; never: idler"), "\(s.all)")
    }
}
