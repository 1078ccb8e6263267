// SPDX-License-Identifier: Apache-2.0
//
// A Microkit system as `umk run` and `umk check` are given it: its SDF (with the search
// path for its program images), or the loader image the umk board's microkit tool wrote,
// which names both.

import Foundation
import UMKManifest
import UMKernel

enum MicrokitSystem {
    /// The SDF and search path `file` stands for, or nil if `file` is not a Microkit system
    /// (a YAML manifest). Search paths given on the command line win over an image's.
    static func locate(_ file: String, searchPaths: [String]) throws(ManifestError) -> (sdf: String, searchPaths: [String])? {
        // What cannot be read (a directory, a missing file) is not Microkit's: the manifest
        // loader says why.
        guard case .success(let data) = FileText.read(file) else { return nil }
        let head = data.prefix(512)
        if MicrokitImage.isImage(head) {
            let image = try MicrokitImage.load(path: file)
            return (image.system, searchPaths.isEmpty ? image.searchPaths : searchPaths)
        }
        if file.hasSuffix(".system") || SystemDescription.looksLikeSDF(String(decoding: head.prefix(256), as: UTF8.self)) {
            return (file, searchPaths)
        }
        return nil
    }

    /// The SDF checked, and built into a boot plan for the Linux machine's address ranges.
    static func compile(sdf: String, searchPaths: [String]) throws(ManifestError) -> (SystemDescription, CompiledSystem) {
        let description = try SystemDescription.load(path: sdf, searchPaths: searchPaths)
        return (description, try description.compile(taskAddressRange: LinuxSystem.taskAddressRange))
    }
}
