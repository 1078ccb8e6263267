// SPDX-License-Identifier: Apache-2.0
//
// `umk cc`: compiles and links C (and assembly) into an image umk runs, against umk's SDK
// (seL4's headers, the C runtime, a freestanding libc subset; Sources/UMKCommandLine/SDK),
// with the Swift toolchain's own clang and ld.lld: a static position-independent
// executable for x86_64, each loadable segment on pages of its own.

import ArgumentParser
import Foundation

struct CCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cc",
        abstract: "Build a C program for umk: umk cc [-g] [-O LEVEL] [-I DIR] [-D NAME[=VALUE]] -o prog.elf file.c ...",
        discussion: """
            Compiles each source (.c, .S) freestanding for x86_64 with the SDK's headers (<sel4/sel4.h>, \
            <sel4runtime.h>, <stdio.h>, <string.h>, <stdlib.h>, <assert.h>) and links them with the SDK's \
            runtime into a static PIE that a manifest names as a task's image. Uses the clang and ld.lld \
            beside `swift` on PATH (or in $UMK_TOOLCHAIN).
            """)

    @Option(name: .short, help: "The image to write.")
    var output: String

    @Flag(name: .short, help: "Debug information in the image.")
    var g = false

    @Option(name: .customShort("O", allowingJoined: true), help: "Optimisation level (0, 1, 2, 3, s, z).")
    var optimisation: String = "2"

    @Option(name: .customShort("I", allowingJoined: true), help: "A directory of headers to search.")
    var includes: [String] = []

    @Option(name: .customShort("D", allowingJoined: true), help: "A macro: NAME or NAME=VALUE (-D UMK_SYSCALL_TRAP: seL4 syscalls by the syscall instruction, trapped, instead of the direct call).")
    var defines: [String] = []

    @Argument(help: "C and assembly sources (.c, .S).")
    var sources: [String]

    func validate() throws {
        guard !sources.isEmpty else { throw ValidationError("give at least one source file") }
        guard ["0", "1", "2", "3", "s", "z"].contains(optimisation) else {
            throw ValidationError("-O must be 0, 1, 2, 3, s or z, not '\(optimisation)'")
        }
        for s in sources where !(s.hasSuffix(".c") || s.hasSuffix(".S") || s.hasSuffix(".s")) {
            throw ValidationError("\(s): umk cc builds .c and .S sources")
        }
    }

    func run() throws {
        let sdk = try SDK.locate()
        let tools = try SDK.toolchain()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("umk-cc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let flags = ["-O\(optimisation)"] + (g ? ["-g"] : []) + includes.flatMap { ["-I", $0] } + defines.map { "-D\($0)" }
        let objects = try SDK.compile(sdk: sdk, tools: tools, sources: sources + [sdk.runtime], flags: flags, into: work)
        // libmicrokit goes in from an archive: it is linked (with its main, which runs a
        // PD's init and event loop) only into a program that has no main of its own.
        let library = work.appendingPathComponent("libmicrokit.a").path
        try SDK.archive(sdk: sdk, tools: tools, sources: [sdk.microkit], flags: flags, library: library)
        try SDK.execute(tools.lld, SDK.linkFlags + objects + [library, "-o", output], what: output)
    }
}

/// Where the SDK and the toolchain are, and how images are built against them.
enum SDK {
    struct Location {
        var include: String
        var runtime: String
        /// libmicrokit's source (Microkit's API for protection domains).
        var microkit: String = ""
    }

    /// The SDK this umk carries (its resources).
    static func locate() throws -> Location {
        guard let root = Bundle.module.url(forResource: "SDK", withExtension: nil)?.path else {
            throw ValidationError("umk's C SDK is missing from its resources")
        }
        return Location(include: root + "/include", runtime: root + "/src/runtime.c", microkit: root + "/src/microkit.c")
    }

    typealias Tools = (clang: String, lld: String, ar: String)

    /// Compiles each source with the SDK's flags and `flags` into an object in `work`.
    static func compile(sdk: Location, tools: Tools, sources: [String], flags: [String], into work: URL) throws -> [String] {
        try sources.enumerated().map { i, source in
            let object = work.appendingPathComponent("\(i)-\(URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent).o").path
            try execute(tools.clang, compileFlags(sdk: sdk) + flags + ["-c", source, "-o", object], what: source)
            return object
        }
    }

    /// Compiles `sources` into the static library `library`.
    static func archive(sdk: Location, tools: Tools, sources: [String], flags: [String], library: String) throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("umk-ar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let objects = try compile(sdk: sdk, tools: tools, sources: sources, flags: flags, into: work)
        try? FileManager.default.removeItem(atPath: library)
        try execute(tools.ar, ["rcs", library] + objects, what: URL(fileURLWithPath: library).lastPathComponent)
    }

    /// clang, ld.lld and llvm-ar: $UMK_TOOLCHAIN, else the directory of `swift` on PATH.
    static func toolchain() throws -> Tools {
        var directories: [String] = []
        if let dir = ProcessInfo.processInfo.environment["UMK_TOOLCHAIN"] { directories.append(dir) }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) {
            let swift = dir + "/swift"
            if FileManager.default.isExecutableFile(atPath: swift) {
                let resolved = URL(fileURLWithPath: swift).resolvingSymlinksInPath().deletingLastPathComponent().path
                directories += [resolved, dir]
            }
        }
        for dir in directories {
            let clang = dir + "/clang", lld = dir + "/ld.lld", ar = dir + "/llvm-ar"
            if [clang, lld, ar].allSatisfy({ FileManager.default.isExecutableFile(atPath: $0) }) {
                return (clang, lld, ar)
            }
        }
        throw ValidationError("no clang, ld.lld and llvm-ar beside swift on PATH (set UMK_TOOLCHAIN to the toolchain's bin directory)")
    }

    /// Freestanding x86_64, position-independent, the SDK's headers before clang's own.
    static func compileFlags(sdk: Location) -> [String] {
        ["--target=x86_64-unknown-none-elf", "-ffreestanding", "-fPIE", "-fno-stack-protector", "-nostdlibinc",
         "-isystem", sdk.include, "-Wall"]
    }

    /// A static PIE, no interpreter, each loadable segment on pages of its own.
    static let linkFlags = ["-pie", "--no-dynamic-linker", "-z", "separate-loadable-segments", "-e", "_start"]

    /// Runs a tool; its output passes through; a failure is umk's exit status 1.
    static func execute(_ tool: String, _ args: [String], what: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            FileHandle.standardError.write(Data("umk cc: \(URL(fileURLWithPath: tool).lastPathComponent) failed on \(what)\n".utf8))
            throw ExitCode(1)
        }
    }
}
