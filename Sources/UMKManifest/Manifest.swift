// SPDX-License-Identifier: Apache-2.0
//
// A system manifest as written (docs/manifest.md): the machine, tasks, memory regions,
// channels and CI expectations, each value with the place it came from so that later
// checks can point at it.

/// A value and where the manifest wrote it.
public struct Located<Value: Sendable>: Sendable {
    public var value: Value
    public var at: SourceLocation
    public init(_ value: Value, at: SourceLocation) { self.value = value; self.at = at }
}

/// The machine's clock (see `umk run --help`).
public enum ManifestClock: String, Sendable, CaseIterable {
    case virtual, realtime
}

/// A system manifest.
public struct Manifest: Sendable {
    public struct Heap: Sendable {
        public var size: Located<UInt64>
        public var address: Located<UInt64>?
        public var pager: Located<String>
        /// Pages the pager maps per fault (1...512), from the faulting one on.
        public var faultAhead: Located<UInt64>?
        public var at: SourceLocation
    }
    public struct IRQGrant: Sendable {
        public var irq: Located<UInt64>
        public var id: Located<UInt64>
    }
    public struct PortGrant: Sendable {
        public var first: UInt64
        public var last: UInt64
        public var ports: SourceLocation
        public var id: Located<UInt64>
    }
    public struct Task: Sendable {
        public var name: Located<String>
        /// A program registered by name, or
        public var program: Located<String>?
        /// an ELF image's path (relative to the manifest).
        public var image: Located<String>?
        public var priority: Located<UInt64>
        public var mcp: Located<UInt64>?
        public var stack: Located<UInt64>?
        public var cspaceBits: Located<UInt64>?
        public var heap: Heap?
        public var faultHandler: Located<String>?
        public var args: [String]
        public var irqs: [IRQGrant]
        public var ports: [PortGrant]
        public var at: SourceLocation
    }
    public struct Mapping: Sendable {
        public var task: Located<String>
        public var address: Located<UInt64>
        public var rights: Located<String>
        public var at: SourceLocation
    }
    public struct Region: Sendable {
        public var name: Located<String>
        public var size: Located<UInt64>
        public var pageSize: Located<UInt64>?
        public var mappings: [Mapping]
        /// Device memory instead of RAM: its physical address (outside RAM) and host backing.
        public var device: Device?
        public var at: SourceLocation
    }
    /// A region of device memory: where it is in the physical address space and what is
    /// behind it in the host: a fresh shared-memory object (`shm`) or a file (`file:PATH`).
    public struct Device: Sendable {
        public var address: Located<UInt64>
        public var backing: Located<String>
        public var at: SourceLocation
    }
    public struct End: Sendable {
        public var task: Located<String>
        public var id: Located<UInt64>
        public var badge: Located<UInt64>?
        public var at: SourceLocation
    }
    public enum ChannelKind: String, Sendable, CaseIterable {
        case endpoint, notification
    }
    public struct Channel: Sendable {
        public var name: Located<String>
        public var kind: Located<ChannelKind>?
        /// nil: the server hands the object out itself (through the name service, say).
        public var client: End?
        public var server: End
        public var at: SourceLocation
    }
    public struct Expectation: Sendable {
        /// Text the console output must contain; the run stops with success when it appears.
        public var output: Located<String>?
        /// Host seconds the run may take.
        public var timeout: Located<Double>?
        /// The exit status the system must end with.
        public var exit: Located<Int>?
    }

    public var file: String
    public var name: Located<String>?
    public var ram: Located<UInt64>?
    public var clock: Located<ManifestClock>?
    public var console: Located<String>?
    /// A program image that runs as the root task instead of init (seL4's root-task
    /// environment); such a manifest has no tasks, regions or channels.
    public var root: Located<String>?
    public var tasks: [Task] = []
    public var regions: [Region] = []
    public var channels: [Channel] = []
    public var expect: Expectation?
    /// Where the document starts (for problems about the whole system).
    public var at = SourceLocation(line: 1, column: 1)

    /// RAM when the manifest does not say.
    public static let defaultRAM: UInt64 = 64 << 20
}
