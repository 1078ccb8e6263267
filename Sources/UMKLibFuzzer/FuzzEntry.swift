// SPDX-License-Identifier: Apache-2.0
//
// The libFuzzer target: the same decoder, world and oracles as `umk fuzz`, driven by
// libFuzzer's coverage (built with -sanitize=fuzzer,address by scripts/build-libfuzzer.sh).
// An oracle failure traps, so libFuzzer records and minimises the input like a crash.
// Built without the fuzzer (a plain `swift build`), the same file is a small tool that
// replays inputs given as files, so the target always compiles.

import Glibc
import UMKFuzz

/// The world, built once (booting and setting up takes longer than a run).
nonisolated(unsafe) private var world: FuzzWorld? = nil

/// Runs one input; an oracle failure stops the process.
func fuzzOne(_ bytes: [UInt8]) {
    if world == nil { world = FuzzWorld() }
    let program = SyscallProgram(decoding: bytes)
    do {
        _ = try world!.run(program)
    } catch {
        fatalError("umk fuzz oracle failed: \(error)\n\(program)")
    }
}

#if UMK_LIBFUZZER
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size > 0 && data != nil ? [UInt8](UnsafeBufferPointer(start: data, count: size)) : []
    fuzzOne(bytes)
    return 0
}

/// libFuzzer's driver, for a program that has its own main.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

/// The executable's entry as SwiftPM names it: hand over to libFuzzer.
@_cdecl("UMKLibFuzzer_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector, LLVMFuzzerTestOneInput)
}
#else
@main
struct ReplayInputs {
    static func main() {
        let paths = CommandLine.arguments.dropFirst()
        if paths.isEmpty {
            print("usage: umk-libfuzzer FILE... (build with scripts/build-libfuzzer.sh to fuzz)")
        }
        for path in paths {
            guard let bytes = readFile(path) else { print("\(path): unreadable"); continue }
            fuzzOne(bytes)
            print("\(path): ok")
        }
    }

    static func readFile(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return bytes
    }
}
#endif
