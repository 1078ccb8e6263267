// swift-tools-version: 6.2
// SPDX-License-Identifier: Apache-2.0
//
// A package of one's own that runs its programs on umk: it depends on umk (here by path,
// elsewhere by URL), registers its programs by name and runs the umk command line from its
// own executable. No file of umk is edited.

import PackageDescription

let package = Package(
    name: "user-package",
    dependencies: [
        .package(name: "umk", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "greeter-system",
            dependencies: [.product(name: "UMKRuntime", package: "umk")],
            path: "Sources/Greeter"
        ),
    ],
    swiftLanguageModes: [.v6]
)
