// SPDX-License-Identifier: Apache-2.0
//
// `umk sdk DIR`: writes the C SDK `umk cc` uses (headers, the runtime) to a folder, with a
// make fragment and a CMake toolchain file carrying the same compiler, flags and linker, for
// people who build with their own tools.

import ArgumentParser
import Foundation

struct SDKCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sdk",
        abstract: "Write umk's C SDK to a folder: include/, src/runtime.c, umk.mk for make, umk.cmake for CMake, and a Microkit board (board/umk, bin/microkit).",
        discussion: """
            In a Makefile: include DIR/umk.mk, then compile each source and $(UMK_RUNTIME) with \
            $(UMK_CC) $(UMK_CFLAGS) and link the objects with $(UMK_LD) $(UMK_LDFLAGS) -- or use \
            $(call umk_image,prog.elf,prog.c other.c) in a rule's recipe.

            With CMake: cmake -DCMAKE_TOOLCHAIN_FILE=DIR/umk.cmake, and in CMakeLists.txt \
            umk_image(prog prog.c other.c) (an executable prog.elf with the runtime), or \
            add_executable with ${UMK_RUNTIME} among its sources.

            For Microkit: a Makefile written for Microkit's SDK builds with MICROKIT_SDK=DIR \
            MICROKIT_BOARD=umk MICROKIT_CONFIG=debug LLVM=True LD="ld.lld -pie" (clang and \
            ld.lld on PATH); its loader image runs with `umk run`.
            """)

    @Argument(help: "The folder to write (created if missing; the SDK's files in it are replaced).")
    var directory: String

    func run() throws {
        let sdk = try SDK.locate()
        let tools = try SDK.toolchain()
        let fm = FileManager.default
        let target = URL(fileURLWithPath: directory)
        try fm.createDirectory(at: target, withIntermediateDirectories: true)
        let root = URL(fileURLWithPath: sdk.include).deletingLastPathComponent()
        for part in ["include", "src"] {
            let to = target.appendingPathComponent(part)
            if fm.fileExists(atPath: to.path) { try fm.removeItem(at: to) }
            try fm.copyItem(at: root.appendingPathComponent(part), to: to)
        }
        let include = target.appendingPathComponent("include").standardizedFileURL.path
        let flags = SDK.compileFlags(sdk: .init(include: include, runtime: "")).joined(separator: " ")
        let make = """
            # umk's C SDK for make (written by `umk sdk`). Compile each source and the runtime with
            # $(UMK_CC) $(UMK_CFLAGS), link with $(UMK_LD) $(UMK_LDFLAGS); or, in a recipe:
            #   prog.elf: prog.c
            #   \t$(call umk_image,$@,$^)
            UMK_SDK := \(target.standardizedFileURL.path)
            UMK_CC ?= \(tools.clang)
            UMK_LD ?= \(tools.lld)
            UMK_CFLAGS := \(flags) -O2
            UMK_LDFLAGS := \(SDK.linkFlags.joined(separator: " "))
            UMK_RUNTIME := $(UMK_SDK)/src/runtime.c
            # $(call umk_image,OUTPUT,SOURCES): compiles SOURCES and the runtime, links OUTPUT.
            umk_image = $(foreach s,$(2) $(UMK_RUNTIME),$(UMK_CC) $(UMK_CFLAGS) $(CFLAGS) -c $(s) -o $(1).$(notdir $(s)).o &&) \\
                $(UMK_LD) $(UMK_LDFLAGS) $(foreach s,$(2) $(UMK_RUNTIME),$(1).$(notdir $(s)).o) -o $(1) && \\
                rm -f $(foreach s,$(2) $(UMK_RUNTIME),$(1).$(notdir $(s)).o)

            """
        try make.write(to: target.appendingPathComponent("umk.mk"), atomically: true, encoding: .utf8)
        let cmake = """
            # umk's C SDK for CMake (written by `umk sdk`): a toolchain file.
            #   cmake -DCMAKE_TOOLCHAIN_FILE=\(target.standardizedFileURL.path)/umk.cmake ...
            # In CMakeLists.txt: umk_image(prog prog.c other.c) makes prog.elf (the runtime
            # included); or list ${UMK_RUNTIME} among an executable's sources.
            set(CMAKE_SYSTEM_NAME Generic)
            set(CMAKE_SYSTEM_PROCESSOR x86_64)
            set(CMAKE_C_COMPILER "\(tools.clang)")
            set(CMAKE_C_COMPILER_TARGET x86_64-unknown-none-elf)
            set(CMAKE_C_FLAGS_INIT "\(flags)")
            set(CMAKE_C_FLAGS_RELEASE_INIT "-O2")
            set(CMAKE_EXE_LINKER_FLAGS_INIT "\(SDK.linkFlags.joined(separator: " "))")
            set(CMAKE_C_LINK_EXECUTABLE "\(tools.lld) <CMAKE_C_LINK_FLAGS> <LINK_FLAGS> <OBJECTS> -o <TARGET> <LINK_LIBRARIES>")
            # The compiler checks link a test program: a static library needs no runtime.
            set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
            set(UMK_SDK "\(target.standardizedFileURL.path)")
            set(UMK_RUNTIME "${UMK_SDK}/src/runtime.c")
            function(umk_image name)
              add_executable(${name} ${ARGN} ${UMK_RUNTIME})
              set_target_properties(${name} PROPERTIES SUFFIX ".elf")
            endfunction()

            """
        try cmake.write(to: target.appendingPathComponent("umk.cmake"), atomically: true, encoding: .utf8)
        try writeMicrokitBoard(sdk: sdk, tools: tools, root: root, target: target)
        print("umk sdk: wrote \(target.standardizedFileURL.path) (include/, src/runtime.c, umk.mk, umk.cmake; "
              + "board/umk/debug and bin/microkit for Microkit Makefiles)")
    }

    /// Microkit's SDK layout for a board named umk: board/umk/debug/include (the headers,
    /// with kernel/gen_config.h, which Microkit's Makefiles read), board/umk/debug/lib
    /// (libmicrokit.a with the runtime, and microkit.ld), and bin/microkit, Microkit's tool
    /// for this board (`umk microkit`).
    func writeMicrokitBoard(sdk: SDK.Location, tools: SDK.Tools, root: URL, target: URL) throws {
        let fm = FileManager.default
        let board = target.appendingPathComponent("board/umk/debug")
        if fm.fileExists(atPath: board.path) { try fm.removeItem(at: board) }
        let lib = board.appendingPathComponent("lib")
        try fm.createDirectory(at: lib, withIntermediateDirectories: true)
        try fm.copyItem(at: root.appendingPathComponent("include"), to: board.appendingPathComponent("include"))
        try fm.copyItem(at: root.appendingPathComponent("board/microkit.ld"), to: lib.appendingPathComponent("microkit.ld"))
        try SDK.archive(sdk: sdk, tools: tools, sources: [sdk.runtime, sdk.microkit], flags: ["-O2", "-g"],
                        library: lib.appendingPathComponent("libmicrokit.a").path)
        let bin = target.appendingPathComponent("bin")
        try fm.createDirectory(at: bin, withIntermediateDirectories: true)
        let umk = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let tool = bin.appendingPathComponent("microkit")
        try """
            #!/bin/sh
            # Microkit's tool for the umk board (written by `umk sdk`): checks a system and
            # writes a loader image that `umk run` runs.
            exec '\(umk.replacingOccurrences(of: "'", with: "'\\''"))' microkit "$@"

            """.write(to: tool, atomically: true, encoding: .utf8)
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tool.path)
    }
}
