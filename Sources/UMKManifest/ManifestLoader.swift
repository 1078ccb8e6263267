// SPDX-License-Identifier: Apache-2.0
//
// Reading a manifest file end to end: parse, then check and compile; every problem of
// both steps is reported together.

import Foundation

extension Manifest {
    /// Parses and compiles `text` (from `file`, for messages) for a machine that runs
    /// `addressSpaces` address spaces at once and puts task i's in `taskAddressRange(i)`.
    public static func compile(_ text: String, file: String, programs: Set<String>, addressSpaces: Int = .max,
                               taskAddressRange: ((Int) -> Range<UInt64>)? = nil) throws(ManifestError) -> CompiledSystem {
        var parser = ManifestParser(file: file)
        let manifest = parser.parse(text)
        var compiler = ManifestCompiler(programs: programs, addressSpaces: addressSpaces)
        compiler.taskAddressRange = taskAddressRange
        // Images are found relative to the manifest's directory.
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        compiler.manifestDirectory = directory.standardizedFileURL.path
        compiler.readImage = { path in
            let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : directory.appendingPathComponent(path)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                return .failure(ImageReadError(reason: "no such file (\(url.standardizedFileURL.path))"))
            }
            guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: url.path) else {
                return .failure(ImageReadError(reason: "cannot read \(url.standardizedFileURL.path)"))
            }
            return .success((url.standardizedFileURL.path, [UInt8](data)))
        }
        let system = manifest.flatMap { compiler.compile($0) }
        let problems = parser.diagnostics + compiler.diagnostics
        guard problems.isEmpty, let system else {
            throw ManifestError(problems.isEmpty
                ? [ManifestDiagnostic(file: file, location: SourceLocation(line: 1, column: 1), message: "cannot be compiled")]
                : problems)
        }
        return system
    }

    /// Reads and compiles the manifest at `path`.
    public static func load(path: String, programs: Set<String>, addressSpaces: Int = .max,
                            taskAddressRange: ((Int) -> Range<UInt64>)? = nil) throws(ManifestError) -> CompiledSystem {
        let text = try FileText.text(path).get()
        return try compile(text, file: path, programs: programs, addressSpaces: addressSpaces,
                           taskAddressRange: taskAddressRange)
    }
}
