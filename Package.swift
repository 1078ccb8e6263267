// swift-tools-version: 6.2
// SPDX-License-Identifier: Apache-2.0
//
// umk: an seL4-style microkernel that runs as one ordinary Linux process.
// Module map (docs/architecture.md draws it): UMKABI (the guest-visible contract), CGuest
// (the C guests link: the syscall ABI), CShims (the host's C and assembly: switch, entry,
// signals, memory), UMKDevices (the PC devices behind the I/O ports), UMKernel (the kernel
// state machine, its loop and its machines), UMKGuest (the guest runtime), Servers (guest
// tasks: init, pager, drivers, name service), UMKManifest (system manifests and the boot
// plan they compile to), UMKFuzz and UMKBench (tooling over the kernel), CBaselines
// (Linux's own mechanisms, measured), UMKCommandLine (the command line as a library),
// UMKRuntime (what a user's own package imports), ExamplePrograms (the programs of
// examples/, linked into umk), umk (the command-line tool: the command line with the
// example programs).
//
// The kernel's invariant checker (Support/Invariants.swift) is always compiled: tests run
// it after every syscall and `umk fuzz` after every call, in release builds too.

import PackageDescription

let kernelSettings: [SwiftSetting] = [
    .strictMemorySafety(),
    // The kernel's state lives in RAM behind pointers; the only exclusivity checks left
    // are on the Kernel object's own properties (hal, physmap), taken on every entry.
    // Release builds drop them; debug builds and tests keep them. Release builds also put
    // every function on a 64-byte line: otherwise where the fastpath lands moves with
    // unrelated code, and with it a TSC step of its cost (measured: Call in one address
    // space 135 cycles, 113 aligned; ReplyRecv across address spaces 135, 113).
    .unsafeFlags(["-enforce-exclusivity=unchecked", "-Xllvm", "-align-all-functions=6"], .when(configuration: .release)),
]

/// The example systems (examples/NAME/system.yaml with its programs beside it).
let examples = ["hello", "ping-pong", "pager-demo", "name-lookup", "timer", "city", "sandbox", "ring-driver"]
/// Examples whose tasks are C images (built by scripts/build-c-examples.sh, not by SwiftPM):
/// their C sources and images (in c/) are not the target's; a Swift program beside them is.
let cExamples = ["c-hello", "c-crash/c", "c-crash/system.yaml", "c-echo/c", "c-echo/system.yaml", "c-root", "c-uart", "microkit-hello", "microkit-call", "microkit-uart", "microkit-shared", "microkit-fault"]

let package = Package(
    name: "umk",
    products: [
        .executable(name: "umk", targets: ["umk"]),
        .executable(name: "umk-libfuzzer", targets: ["UMKLibFuzzer"]),
        .library(name: "UMKernel", targets: ["UMKernel"]),
        .library(name: "UMKABI", targets: ["UMKABI"]),
        .library(name: "UMKFuzz", targets: ["UMKFuzz"]),
        // A user's package depends on this to register its own programs and run the umk
        // command line from its own executable (examples/user-package).
        .library(name: "UMKRuntime", targets: ["UMKRuntime"]),
        .library(name: "UMKGuest", targets: ["UMKGuest"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // What guests link: the direct-call syscall ABI, clocks, deliberate exceptions.
        .target(name: "CGuest"),
        // The host side: the context switch and syscall entry, signal handlers, memory,
        // interrupts and the console (used by the kernel's Linux machine only).
        .target(name: "CShims", dependencies: ["CGuest"]),
        // Linux's own mechanisms measured as umk bench measures umk (host threads, no kernel).
        .target(name: "CBaselines", dependencies: ["CShims"]),
        .target(name: "UMKABI"),
        // The PC devices behind the I/O ports (16550 UART, 8254 PIT): the machines' models.
        // Cross-module optimisation: the kernel's interrupt and port paths call into the
        // device models on every IRQ acknowledgement and port access; without it those
        // are calls the kernel cannot inline (IRQHandler_Ack measured 338 -> 382 cycles).
        .target(name: "UMKDevices", swiftSettings: [
            .strictMemorySafety(),
            .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release)),
        ]),
        .target(name: "UMKernel", dependencies: ["UMKABI", "UMKDevices", "CShims"], swiftSettings: kernelSettings),
        .target(name: "UMKGuest", dependencies: ["UMKABI", "CGuest"]),
        // Structured syscall fuzzing of the kernel on the simulated machine (umk fuzz, the
        // libFuzzer target); `package` access to the kernel's internals.
        .target(name: "UMKFuzz", dependencies: ["UMKernel", "UMKABI"], swiftSettings: [.strictMemorySafety()]),
        // What umk bench measures: the kernel-only rows and the guest systems of the others.
        .target(name: "UMKBench", dependencies: ["UMKernel", "UMKABI", "UMKGuest", "Servers", "CShims"],
                swiftSettings: [.strictMemorySafety()]),
        .target(name: "Servers", dependencies: ["UMKABI", "UMKGuest"], swiftSettings: [.strictMemorySafety()]),
        .target(name: "UMKManifest", dependencies: ["UMKABI", .product(name: "Yams", package: "Yams")]),
        // The example systems' programs: each examples/NAME/ holds a manifest and its Swift
        // programs, which register by name and are linked into umk.
        .target(name: "ExamplePrograms", dependencies: ["UMKABI", "UMKGuest", "Servers"], path: "examples",
                exclude: ["README.md", "user-package", "ring-driver/rom.bin"] + cExamples + examples.map { "\($0)/system.yaml" },
                swiftSettings: [.strictMemorySafety()]),
        // The libFuzzer target (scripts/build-libfuzzer.sh); a plain build is an input replayer.
        .executableTarget(name: "UMKLibFuzzer", dependencies: ["UMKFuzz"]),
        // The command line (run, check, cc, fuzz, bench) as a library.
        .target(
            name: "UMKCommandLine",
            dependencies: [
                "UMKernel",
                "UMKABI",
                "UMKFuzz",
                "UMKBench",
                "CShims",
                "CBaselines",
                "Servers",
                "UMKManifest",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            // The C SDK `umk cc` builds images with: seL4's headers, the runtime, a libc subset.
            resources: [.copy("SDK")]
        ),
        .target(name: "UMKRuntime", dependencies: ["Servers", "UMKABI", "UMKCommandLine", "UMKGuest"]),
        .executableTarget(name: "umk", dependencies: ["UMKCommandLine", "ExamplePrograms"]),
        .testTarget(name: "UMKABITests", dependencies: ["UMKABI", "UMKTestSupport"]),
        .testTarget(name: "UMKernelTests", dependencies: ["UMKernel", "UMKABI", "UMKDevices", "UMKTestSupport"]),
        .testTarget(name: "UMKDevicesTests", dependencies: ["UMKDevices"]),
        .testTarget(name: "UMKFuzzTests", dependencies: ["UMKFuzz", "UMKernel", "UMKABI"],
                    exclude: ["Regressions"]),
        // What the test targets that run real guests share (booting a system, guest checks).
        .target(name: "UMKTestSupport", dependencies: ["UMKernel", "UMKGuest"], path: "Tests/UMKTestSupport"),
        .testTarget(name: "LinuxHALTests",
                    dependencies: ["UMKernel", "UMKGuest", "Servers", "UMKBench", "CShims", "UMKTestSupport"]),
        .testTarget(name: "UMKGuestTests", dependencies: ["UMKGuest", "UMKernel", "UMKTestSupport"]),
        .testTarget(name: "ServersTests", dependencies: ["Servers", "UMKGuest", "UMKernel", "UMKBench", "UMKTestSupport"]),
        .testTarget(name: "UMKManifestTests", dependencies: ["UMKManifest", "UMKABI", "UMKTestSupport"]),
        // C programs the tests build with `umk cc` (C/) are data, not sources of the target.
        .testTarget(name: "umkTests", dependencies: ["umk"], exclude: ["C"]),
    ],
    swiftLanguageModes: [.v6]
)
