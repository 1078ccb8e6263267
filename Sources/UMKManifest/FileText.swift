// SPDX-License-Identifier: Apache-2.0
//
// Reading a file a user named (a manifest, an SDF, a loader image): when it cannot be read,
// the host's own reason (no such file, a directory, permission denied), said of the file as
// a whole.

import Foundation

public enum FileText {
    /// The file's bytes, or the host's reason it cannot be read.
    public static func read(_ path: String) -> Result<Data, ManifestError> {
        // One descriptor: open's errno (no such file, permission denied), then what it is.
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return .failure(problem(path, "cannot read it: \(String(cString: strerror(errno)))")) }
        let file = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var st = stat()
        if fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR {
            return .failure(problem(path, "cannot read it: it is a directory"))
        }
        do {
            return .success(try file.readToEnd() ?? Data())
        } catch {
            return .failure(problem(path, "cannot read it: \(error.localizedDescription)"))
        }
    }

    /// The file read as UTF-8 text.
    public static func text(_ path: String) -> Result<String, ManifestError> {
        read(path).flatMap { data in
            String(data: data, encoding: .utf8).map { .success($0) } ?? .failure(problem(path, "not UTF-8 text"))
        }
    }

    static func problem(_ path: String, _ message: String) -> ManifestError {
        ManifestError([ManifestDiagnostic(file: path, location: .file, message: message)])
    }
}
