// SPDX-License-Identifier: Apache-2.0
//
// How umk writes an address or a word in reports, the same everywhere (kernel, servers,
// manifests, fuzzer): lowercase hex with 0x.

/// `v` as 0x-prefixed lowercase hex.
public func hex<T: BinaryInteger>(_ v: T) -> String { "0x" + String(v, radix: 16) }
