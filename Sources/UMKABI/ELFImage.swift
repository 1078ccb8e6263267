// SPDX-License-Identifier: Apache-2.0
//
// A program image as umk loads it: an ELF64 x86_64 executable, static (no interpreter, no
// shared libraries), position-independent (ET_DYN, a static PIE) or linked at fixed
// addresses (ET_EXEC). Parsing checks everything a loader relies on, so a bad image is
// refused with the reason before anything runs: the host checks it when it reads the
// manifest, and init, which loads it as a root task on seL4 would, checks it again. The
// only relocations a static PIE needs are R_X86_64_RELATIVE (the load bias plus an addend);
// any other kind is refused. Field offsets are the ELF64 ABI's.

/// A checked ELF image: its loadable segments, entry point and relocations.
public struct ELFImage: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// ET_DYN without an interpreter: loaded at any page-aligned bias.
        case staticPIE
        /// ET_EXEC: loaded where it was linked.
        case executable
    }

    /// A PT_LOAD segment.
    public struct Segment: Hashable, Sendable {
        public var vaddr: UInt64
        public var memorySize: UInt64
        public var fileOffset: UInt64
        public var fileSize: UInt64
        public var writable: Bool
        public var executable: Bool
        /// The page-aligned addresses the segment occupies (before the load bias).
        public var pages: Range<UInt64> {
            (vaddr & ~0xFFF)..<((vaddr + memorySize + 0xFFF) & ~0xFFF)
        }
    }

    /// An R_X86_64_RELATIVE relocation: the word at `offset` (before the bias) becomes
    /// bias + `addend`.
    public struct Relocation: Hashable, Sendable {
        public var offset: UInt64
        public var addend: UInt64
    }

    /// The PT_TLS segment: the initial image of each thread's TLS block (`fileSize` bytes
    /// at `fileOffset`, then zeros up to `memorySize`), aligned to `align`.
    public struct TLS: Hashable, Sendable {
        public var fileOffset: UInt64
        public var fileSize: UInt64
        public var memorySize: UInt64
        public var align: UInt64
    }

    public var kind: Kind
    public var entry: UInt64
    public var tls: TLS?
    /// PT_LOAD segments in address order, no two sharing a page.
    public var segments: [Segment]
    public var relocations: [Relocation]

    /// The page-aligned span of all segments (before the bias).
    public var span: Range<UInt64> { segments.first!.pages.lowerBound..<segments.last!.pages.upperBound }
    /// Bytes of memory the loaded segments take (whole pages).
    public var memoryBytes: UInt64 { segments.reduce(0) { $0 + UInt64($1.pages.count) } }

    static let pageSize: UInt64 = 4096
    /// Largest span an image may have: a quarter of a task's address range.
    public static let maxSpan: UInt64 = 1 << 32
    /// Largest TLS block (with its alignment) a thread gets.
    public static let maxTLS: UInt64 = 1 << 20

    /// Parses and checks `bytes`; throws the first problem found.
    public init(bytes: [UInt8]) throws(ELFError) {
        let file = ELFBytes(bytes)
        guard bytes.count >= 64 else { throw ELFError("truncated: \(bytes.count) bytes, less than an ELF header (64)") }
        guard bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else {
            throw ELFError("not an ELF file (no \\x7FELF magic)")
        }
        guard bytes[4] == 2 else { throw ELFError("not a 64-bit ELF file (class \(bytes[4]))") }
        guard bytes[5] == 1 else { throw ELFError("not little-endian (data encoding \(bytes[5]))") }
        let type = file.u16(16), machine = file.u16(18)
        guard machine == 62 else { throw ELFError("built for machine \(machine), not x86_64 (62)") }
        switch type {
        case 3: kind = .staticPIE
        case 2: kind = .executable
        default: throw ELFError("not an executable (e_type \(type); umk loads ET_DYN static PIEs and ET_EXEC)")
        }
        entry = file.u64(24)
        let phoff = file.u64(32), phentsize = UInt64(file.u16(54)), phnum = UInt64(file.u16(56))
        guard phnum > 0 else { throw ELFError("no program headers") }
        guard phentsize == 56 else { throw ELFError("program header entries of \(phentsize) bytes, not 56") }
        guard phoff <= UInt64(bytes.count), phnum * 56 <= UInt64(bytes.count) - phoff else {
            throw ELFError("truncated: \(phnum) program headers at offset \(phoff) run past the end of the file (\(bytes.count) bytes)")
        }

        var loads: [(index: Int, segment: Segment)] = []
        var dynamic: (offset: UInt64, size: UInt64)?
        var tls: TLS?
        for i in 0..<Int(phnum) {
            let h = Int(phoff) + i * 56
            let pType = file.u32(h), flags = file.u32(h + 4)
            let offset = file.u64(h + 8), vaddr = file.u64(h + 16)
            let fileSize = file.u64(h + 32), memorySize = file.u64(h + 40), align = file.u64(h + 48)
            switch pType {
            case 1: // PT_LOAD
                guard align == 0 || align & (align - 1) == 0 else {
                    throw ELFError("segment \(i): alignment \(align) is not a power of two")
                }
                guard align <= 1 || vaddr % align == offset % align else {
                    throw ELFError("segment \(i): address \(hex(vaddr)) and file offset \(hex(offset)) differ modulo its alignment \(align)")
                }
                guard vaddr % Self.pageSize == offset % Self.pageSize else {
                    throw ELFError("segment \(i): address \(hex(vaddr)) and file offset \(hex(offset)) differ within a page")
                }
                guard fileSize <= memorySize else {
                    throw ELFError("segment \(i): \(fileSize) bytes in the file but only \(memorySize) in memory")
                }
                guard offset <= UInt64(bytes.count), fileSize <= UInt64(bytes.count) - offset else {
                    throw ELFError("truncated: segment \(i)'s \(fileSize) bytes at offset \(offset) run past the end of the file (\(bytes.count) bytes)")
                }
                let (end, overflow) = vaddr.addingReportingOverflow(memorySize)
                guard !overflow, end <= 1 << 47 else {
                    throw ELFError("segment \(i): \(hex(vaddr)) + \(memorySize) bytes is not a user address range")
                }
                guard memorySize > 0 else { continue }
                loads.append((i, Segment(vaddr: vaddr, memorySize: memorySize, fileOffset: offset, fileSize: fileSize,
                                         writable: flags & 2 != 0, executable: flags & 1 != 0)))
            case 2: // PT_DYNAMIC
                guard offset <= UInt64(bytes.count), fileSize <= UInt64(bytes.count) - offset else {
                    throw ELFError("truncated: the dynamic section runs past the end of the file")
                }
                dynamic = (offset, fileSize)
            case 3: // PT_INTERP
                throw ELFError("needs a dynamic loader (PT_INTERP); link it static (-static-pie)")
            case 7: // PT_TLS
                let a = max(align, 1)
                guard a & (a - 1) == 0, a <= Self.pageSize else {
                    throw ELFError("thread-local storage: alignment \(align) is not a power of two up to 4096")
                }
                guard fileSize <= memorySize else {
                    throw ELFError("thread-local storage: \(fileSize) bytes in the file but only \(memorySize) in memory")
                }
                guard offset <= UInt64(bytes.count), fileSize <= UInt64(bytes.count) - offset else {
                    throw ELFError("truncated: the thread-local storage's \(fileSize) bytes at offset \(offset) run past the end of the file")
                }
                guard memorySize <= Self.maxTLS else {
                    throw ELFError("thread-local storage of \(memorySize) bytes; a thread's may be at most \(Self.maxTLS >> 10) KiB")
                }
                tls = TLS(fileOffset: offset, fileSize: fileSize, memorySize: memorySize, align: a)
            default:
                continue
            }
        }
        guard !loads.isEmpty else { throw ELFError("no loadable segments") }
        loads.sort { $0.segment.vaddr < $1.segment.vaddr }
        for (a, b) in zip(loads, loads.dropFirst()) where b.segment.pages.lowerBound < a.segment.pages.upperBound {
            let pa = a.segment.pages, pb = b.segment.pages
            throw ELFError("segments \(a.index) and \(b.index) overlap: pages \(hex(pa.lowerBound))-\(hex(pa.upperBound)) "
                           + "and \(hex(pb.lowerBound))-\(hex(pb.upperBound)) (link with -z separate-loadable-segments)")
        }
        let loaded = loads.map(\.segment), start = entry
        let span = loaded.first!.pages.lowerBound..<loaded.last!.pages.upperBound
        guard UInt64(span.count) <= Self.maxSpan else {
            throw ELFError("spans \(UInt64(span.count) >> 20) MiB; an image may span at most \(Self.maxSpan >> 20) MiB")
        }
        guard loaded.contains(where: { $0.executable && $0.vaddr <= start && start < $0.vaddr + $0.memorySize }) else {
            throw ELFError("entry point \(hex(start)) lies outside the executable segments")
        }
        segments = loaded
        self.tls = tls
        relocations = try dynamic.map { d throws(ELFError) in try Self.relocations(file, dynamic: d, segments: loaded) } ?? []
    }

    /// The R_X86_64_RELATIVE relocations the dynamic section lists; anything a static
    /// loader cannot resolve is refused.
    static func relocations(_ file: ELFBytes, dynamic: (offset: UInt64, size: UInt64),
                            segments: [Segment]) throws(ELFError) -> [Relocation] {
        var rela: UInt64?, relaSize: UInt64 = 0, relaEntry: UInt64 = 24
        var d = dynamic.offset
        entries: while d + 16 <= dynamic.offset + dynamic.size {
            let tag = file.u64(Int(d)), value = file.u64(Int(d) + 8)
            d += 16
            switch tag {
            case 0: break entries // DT_NULL
            case 1: throw ELFError("needs a shared library (DT_NEEDED); link it static (-static-pie)")
            case 7: rela = value
            case 8: relaSize = value
            case 9: relaEntry = value
            case 17, 18: throw ELFError("has REL relocations (DT_REL); x86_64 images use RELA")
            case 23: throw ELFError("has PLT relocations (DT_JMPREL); link it static (-static-pie)")
            case 35, 36: throw ELFError("has packed relative relocations (DT_RELR); link without -z pack-relative-relocs")
            default: continue
            }
        }
        guard let rela, relaSize > 0 else { return [] }
        guard relaEntry == 24 else { throw ELFError("relocation entries of \(relaEntry) bytes, not 24") }
        // The table's address is a virtual address: find it in a segment's file bytes.
        // (Differences, not sums, of the file's values: nothing here can overflow.)
        guard let s = segments.first(where: { $0.vaddr <= rela && rela - $0.vaddr <= $0.fileSize && relaSize <= $0.fileSize - (rela - $0.vaddr) }) else {
            throw ELFError("the relocation table at \(hex(rela)) is not in the file's loaded bytes")
        }
        let base = Int(s.fileOffset + (rela - s.vaddr))
        var list: [Relocation] = []
        for i in 0..<Int(relaSize / 24) {
            let e = base + i * 24
            let offset = file.u64(e), info = file.u64(e + 8), addend = file.u64(e + 16)
            switch info & 0xFFFF_FFFF {
            case 0: continue // R_X86_64_NONE
            case 8: // R_X86_64_RELATIVE
                guard offset % 8 == 0 else { throw ELFError("relocation \(i) at \(hex(offset)) is not 8-byte aligned") }
                guard segments.contains(where: { $0.writable && $0.vaddr <= offset && $0.memorySize >= 8 && offset - $0.vaddr <= $0.memorySize - 8 }) else {
                    throw ELFError("relocation \(i) at \(hex(offset)) lies outside the writable segments")
                }
                list.append(Relocation(offset: offset, addend: addend))
            case let type:
                throw ELFError("relocation \(i) at \(hex(offset)) has type \(type), which umk does not handle (only R_X86_64_RELATIVE, 8)")
            }
        }
        return list
    }
}

/// Why an image was refused.
public struct ELFError: Error, Hashable, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Little-endian reads of a file's bytes (the caller checked the bounds).
struct ELFBytes {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    func u16(_ o: Int) -> UInt16 { UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8 }
    func u32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[o + $1]) << (8 * UInt32($1)) } }
    func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[o + $1]) << (8 * UInt64($1)) } }
}
