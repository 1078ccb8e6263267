// SPDX-License-Identifier: Apache-2.0
//
// The fuzzer's input format: a byte string decodes to a program of syscalls, the way
// syzkaller describes calls with typed arguments and treats capabilities as resources.
// Every byte string decodes to something (missing bytes read as zero), the decoder never
// changes meaning between versions (corpora stay valid), and every program has one
// canonical encoding that decodes back to it, so mutations work on programs and inputs
// are written as bytes.
//
// A call: [op] [cptr] [label] [length] [extra caps] [args...] [caps...]
//   op: low 4 bits the kind (Call x4, Send, NBSend, Recv, NBRecv, Reply, ReplyRecv, Yield,
//       Signal, Wait, Poll, any syscall number, an interrupt or tick); high 4 bits the
//       issuing thread (mod the world's thread count).
//   a CPtr: < 0xE0 the n-th cap the issuer holds; 0xE0...0xEF a slot index, held or
//       not; 0xF0... eight raw bytes follow.
//   an argument: < 0x80 a small value; 0x80...0xBF an interesting value (object types,
//       sizes, rights, addresses, limits); 0xC0...0xDF the CPtr of a held cap; then raw.

import UMKABI
import UMKernel

/// How a call names a capability.
public enum CPtrChoice: Equatable, Sendable {
    /// The n-th (mod count) cap the issuing thread holds.
    case held(UInt8)
    /// A slot index of the issuer's CNode, whatever it holds.
    case slot(UInt8)
    /// Any 64-bit CPtr.
    case raw(UInt64)
}

/// A message register's value.
public enum ArgChoice: Equatable, Sendable {
    case small(UInt8)
    case interesting(UInt8)
    case held(UInt8)
    case raw(UInt64)
}

/// One step of a program.
public enum FuzzCall: Equatable, Sendable {
    /// A syscall by `thread` (seL4 number, negative; any value for `raw` kinds).
    case syscall(FuzzSyscall)
    /// IRQ `irq` is raised (0...15), or the kernel's timer ticks (16).
    case interrupt(UInt8)
}

/// A syscall with its typed arguments.
public struct FuzzSyscall: Equatable, Sendable {
    public var thread: UInt8
    public var number: Int64
    public var cptr: CPtrChoice
    public var label: UInt64
    public var length: UInt8
    public var args: [ArgChoice]
    public var caps: [CPtrChoice]

    public init(thread: UInt8, number: Int64, cptr: CPtrChoice, label: UInt64, length: UInt8,
                args: [ArgChoice], caps: [CPtrChoice]) {
        self.thread = thread
        self.number = number
        self.cptr = cptr
        self.label = label
        self.length = length
        self.args = args
        self.caps = caps
    }
}

/// A decoded fuzz input.
public struct SyscallProgram: Equatable, Sendable {
    public var calls: [FuzzCall]
    public init(calls: [FuzzCall] = []) { self.calls = calls }

    /// The kinds an op's low nibble selects (14: any number, 15: interrupt).
    static let kinds: [Syscall] = [.call, .call, .call, .call, .send, .nbSend, .recv, .nbRecv, .reply, .replyRecv,
                                   .yield, .send, .recv, .nbRecv]
    /// Encoded arguments per call at most (further MRs are filled from their index).
    public static let maxEncodedArgs = 8
    /// Calls per program at most.
    public static let maxCalls = 64
    public static let threadCount: UInt8 = 3

    /// Values the 0x80...0xBF argument bytes name.
    public static let interestingValues: [UInt64] = [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,         // object types, rights, small sizes
        16, 20, 21, 22, 30, 47, 48, 63, 64, 65, 127, 128, 255, 256, 4096, 0x1_0000,
        0x1000_0000, 0x1000_1000, 0x1020_0000, 0x4000_0000, 0x7FFF_FFFF_F000, 0x8000_0000_0000, 0xFFFF_FFFF, 0x1_0000_0000,
        UInt64.max, UInt64.max - 1, 1 << 63, (1 << 63) - 1, 0x3F8, 0x40, 0x3FF, 0xFFFF,
        59, 60, 61, 62, 32, 24, 18, 12, 0x42, 0x1_0000_0001, 0xDEAD_BEEF, 0x8000, 0x202, 0x1F80, 100, 200,
    ]

    // MARK: Decoding

    struct Reader {
        let bytes: [UInt8]
        var at = 0
        var atEnd: Bool { at >= bytes.count }
        mutating func u8() -> UInt8 {
            defer { at += 1 }
            return at < bytes.count ? bytes[at] : 0
        }
        mutating func u64() -> UInt64 {
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(u8()) << (8 * UInt64(i)) }
            return v
        }
    }

    /// Decodes any bytes.
    public init(decoding bytes: [UInt8]) {
        var r = Reader(bytes: bytes)
        var calls: [FuzzCall] = []
        while !r.atEnd && calls.count < Self.maxCalls {
            let op = r.u8()
            let kind = Int(op & 0x0F)
            let thread = (op >> 4) % Self.threadCount
            if kind == 15 {
                calls.append(.interrupt(r.u8() % 17))
                continue
            }
            let number = kind == 14 ? Int64(Int8(bitPattern: r.u8())) : Self.kinds[kind].rawValue
            let cptr = Self.decodeCPtr(&r)
            let lb = r.u8()
            let label = lb < 0xF0 ? UInt64(lb % 53) : UInt64(r.u8()) | UInt64(r.u8()) << 8
            let lenByte = r.u8()
            let length = lenByte < 0xF8 ? lenByte % 16 : r.u8() % 128
            let capCount = Int(r.u8() % 4)
            var args: [ArgChoice] = []
            for _ in 0..<min(Int(length), Self.maxEncodedArgs) { args.append(Self.decodeArg(&r)) }
            var caps: [CPtrChoice] = []
            for _ in 0..<capCount { caps.append(Self.decodeCPtr(&r)) }
            calls.append(.syscall(FuzzSyscall(thread: thread, number: number, cptr: cptr, label: label, length: length,
                                              args: args, caps: caps)))
        }
        self.calls = calls
    }

    static func decodeCPtr(_ r: inout Reader) -> CPtrChoice {
        let b = r.u8()
        if b < 0xE0 { return .held(b) }
        if b < 0xF0 { return .slot(b & 0x0F) }
        return .raw(r.u64())
    }

    static func decodeArg(_ r: inout Reader) -> ArgChoice {
        let b = r.u8()
        if b < 0x80 { return .small(b) }
        if b < 0xC0 { return .interesting(b - 0x80) }
        if b < 0xE0 { return .held(b - 0xC0) }
        return .raw(r.u64())
    }

    // MARK: Encoding

    /// The canonical bytes of this program (decoding them gives it back).
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        func u64(_ v: UInt64) { for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
        func cptr(_ c: CPtrChoice) {
            switch c {
            case .held(let b): out.append(min(b, 0xDF))
            case .slot(let s): out.append(0xE0 | (s & 0x0F))
            case .raw(let v): out.append(0xF0); u64(v)
            }
        }
        for call in calls.prefix(Self.maxCalls) {
            switch call {
            case .interrupt(let irq):
                out.append(0x0F)
                out.append(irq % 17)
            case .syscall(let s):
                let thread = (s.thread % Self.threadCount) << 4
                if let kind = Self.kinds.firstIndex(where: { $0.rawValue == s.number }) {
                    out.append(UInt8(kind) | thread)
                } else {
                    out.append(14 | thread)
                    out.append(UInt8(bitPattern: Int8(truncatingIfNeeded: s.number)))
                }
                cptr(s.cptr)
                if s.label < 53 {
                    out.append(UInt8(s.label))
                } else {
                    out.append(0xF0)
                    out.append(UInt8(truncatingIfNeeded: s.label))
                    out.append(UInt8(truncatingIfNeeded: s.label >> 8))
                }
                if s.length < 16 {
                    out.append(s.length)
                } else {
                    out.append(0xF8)
                    out.append(s.length % 128)
                }
                out.append(UInt8(min(s.caps.count, 3)))
                for i in 0..<min(Int(s.length), Self.maxEncodedArgs) {
                    let a = i < s.args.count ? s.args[i] : .small(0)
                    switch a {
                    case .small(let v): out.append(v & 0x7F)
                    case .interesting(let i): out.append(0x80 + (i & 0x3F))
                    case .held(let i): out.append(0xC0 + (i & 0x1F))
                    case .raw(let v): out.append(0xE0); u64(v)
                    }
                }
                for c in s.caps.prefix(3) { cptr(c) }
            }
        }
        return out
    }
}

extension SyscallProgram: CustomStringConvertible {
    /// One line per call, seL4's names where there are some.
    public var description: String {
        calls.enumerated().map { i, c in "\(i): " + c.description }.joined(separator: "\n")
    }
}

extension FuzzCall: CustomStringConvertible {
    public var description: String {
        switch self {
        case .interrupt(let irq): irq == 16 ? "tick" : "interrupt IRQ \(irq)"
        case .syscall(let s): s.description
        }
    }
}

extension FuzzSyscall: CustomStringConvertible {
    public var description: String {
        let name = Syscall(rawValue: number).map { "\($0)" } ?? "syscall(\(number))"
        let labelName = InvocationLabel(rawValue: label).map { "\($0)" } ?? "label \(label)"
        var s = "t\(thread) \(name) cptr=\(cptr.text) \(labelName) length=\(length)"
        if !args.isEmpty { s += " args=[" + args.map(\.text).joined(separator: ", ") + "]" }
        if !caps.isEmpty { s += " caps=[" + caps.map(\.text).joined(separator: ", ") + "]" }
        return s
    }
}

extension CPtrChoice {
    var text: String {
        switch self {
        case .held(let n): "held#\(n)"
        case .slot(let s): "slot \(s)"
        case .raw(let v): hex(v)
        }
    }
}

extension ArgChoice {
    /// The value, with `held` resolved through `heldCPtrs`.
    func value(heldCPtrs: [UInt64]) -> UInt64 {
        switch self {
        case .small(let v): UInt64(v)
        case .interesting(let i): SyscallProgram.interestingValues[Int(i) % SyscallProgram.interestingValues.count]
        case .held(let i): heldCPtrs.isEmpty ? 0 : heldCPtrs[Int(i) % heldCPtrs.count]
        case .raw(let v): v
        }
    }
    var text: String {
        switch self {
        case .small(let v): "\(v)"
        case .interesting(let i): hex(SyscallProgram.interestingValues[Int(i) % SyscallProgram.interestingValues.count])
        case .held(let i): "held#\(i)"
        case .raw(let v): hex(v)
        }
    }
}
