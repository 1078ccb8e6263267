// SPDX-License-Identifier: Apache-2.0
//
// `umk sdk DIR`: writes the C SDK `umk cc` uses (headers, the runtime) to a folder, with a
// make fragment carrying the same flags, for people who build with their own tools.

import ArgumentParser
import Foundation

struct SDKCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sdk",
        abstract: "Write umk's C SDK to a folder: include/, src/runtime.c and umk.mk for make.",
        discussion: """
            In a Makefile: include DIR/umk.mk, then compile each source and $(UMK_RUNTIME) with \
            $(UMK_CC) $(UMK_CFLAGS) and link the objects with $(UMK_LD) $(UMK_LDFLAGS) -- or use \
            $(call umk_image,prog.elf,prog.c other.c) in a rule's recipe.
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
        print("umk sdk: wrote \(target.standardizedFileURL.path) (include/, src/runtime.c, umk.mk)")
    }
}
