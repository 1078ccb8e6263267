// SPDX-License-Identifier: Apache-2.0
//
// Structure-aware mutations on syscall programs (syzkaller's in spirit): insert a fresh
// call, delete, duplicate or swap calls, change one field of a call (issuer, syscall,
// capability, label, length, an argument, the extra caps), or splice two programs. Calls
// are generated with the shapes kernel objects expect: mostly Calls on held caps with
// labels of the object families and arguments drawn from small, interesting and held
// values. A seeded SplitMix64 makes a campaign repeat exactly.

import UMKABI
import UMKernel

/// SplitMix64: small, fast, seedable.
public struct FuzzRandom: Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A value in 0..<n (n > 0).
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    public mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
}

/// Makes and mutates programs.
public struct FuzzMutator: Sendable {
    public var random: FuzzRandom
    public init(seed: UInt64) { random = FuzzRandom(seed: seed) }

    /// Labels worth trying on each object family, and any label now and then.
    static let labelGroups: [ClosedRange<UInt64>] = [1...1, 2...15, 16...25, 26...29, 30...30, 33...43, 44...50]

    mutating func cptr() -> CPtrChoice {
        let r = random.below(100)
        if r < 88 { return .held(UInt8(random.below(32))) }
        if r < 96 { return .slot(UInt8(random.below(16))) }
        return .raw(random.next() >> UInt64(random.below(64)))
    }

    mutating func arg() -> ArgChoice {
        let r = random.below(100)
        if r < 35 { return .small(UInt8(random.below(24))) }
        if r < 75 { return .interesting(UInt8(random.below(SyscallProgram.interestingValues.count))) }
        if r < 93 { return .held(UInt8(random.below(32))) }
        return .raw(random.next())
    }

    /// What an invocation's argument is, for calls made to measure (syzkaller's types).
    enum Arg {
        case slot, depth, objectType, sizeBits, count, rights, badge, address, priority, port, flags, any
    }

    /// Argument shapes and extra caps of the object invocations, by label.
    static let templates: [(label: InvocationLabel, args: [Arg], caps: Int)] = [
        (.untypedRetype, [.objectType, .sizeBits, .slot, .depth, .slot, .count], 1),
        (.tcbReadRegisters, [.flags, .count], 0),
        (.tcbWriteRegisters, [.flags, .flags, .any, .any, .any, .any], 0),
        (.tcbCopyRegisters, [.flags], 1),
        (.tcbConfigure, [.slot, .badge, .flags, .address], 3),
        (.tcbSetPriority, [.priority], 1),
        (.tcbSetMCPriority, [.priority], 1),
        (.tcbSetSchedParams, [.priority, .priority], 1),
        (.tcbSetIPCBuffer, [.address], 1),
        (.tcbSetSpace, [.slot, .badge, .flags], 2),
        (.tcbSuspend, [], 0), (.tcbResume, [], 0),
        (.tcbBindNotification, [], 1), (.tcbUnbindNotification, [], 0),
        (.tcbSetTLSBase, [.any], 0), (.tcbSetFlags, [.flags, .flags], 0),
        (.cnodeRevoke, [.slot, .depth], 0), (.cnodeDelete, [.slot, .depth], 0),
        (.cnodeCancelBadgedSends, [.slot, .depth], 0),
        (.cnodeCopy, [.slot, .depth, .slot, .depth, .rights], 1),
        (.cnodeMint, [.slot, .depth, .slot, .depth, .rights, .badge], 1),
        (.cnodeMove, [.slot, .depth, .slot, .depth], 1),
        (.cnodeMutate, [.slot, .depth, .slot, .depth, .badge], 1),
        (.cnodeRotate, [.slot, .depth, .badge, .slot, .depth, .badge, .slot, .depth], 2),
        (.cnodeSaveCaller, [.slot, .depth], 0),
        (.irqIssueIRQHandler, [.count, .slot, .depth], 1),
        (.irqAckIRQ, [], 0), (.irqSetIRQHandler, [], 1), (.irqClearIRQHandler, [], 0),
        (.domainSetSet, [.flags], 1),
        (.x86PDPTMap, [.address, .flags], 1), (.x86PageDirectoryMap, [.address, .flags], 1),
        (.x86PageTableMap, [.address, .flags], 1), (.x86PageMap, [.address, .rights, .flags], 1),
        (.x86PDPTUnmap, [], 0), (.x86PageDirectoryUnmap, [], 0), (.x86PageTableUnmap, [], 0),
        (.x86PageUnmap, [], 0), (.x86PageGetAddress, [], 0), (.x86ASIDPoolAssign, [], 1),
        (.x86ASIDControlMakePool, [.slot, .depth], 2),
        (.x86IOPortControlIssue, [.port, .port, .slot, .depth], 1),
        (.x86IOPortIn8, [.port], 0), (.x86IOPortOut8, [.port, .any], 0), (.x86IOPortIn32, [.port], 0),
    ]

    mutating func arg(_ kind: Arg) -> ArgChoice {
        switch kind {
        case .slot: random.chance(70) ? .small(UInt8(random.below(32))) : .held(UInt8(random.below(32)))
        case .depth: [.small(5), .interesting(24), .small(0), .small(UInt8(random.below(70)))][random.below(4)]
        case .objectType: .small(UInt8(random.below(13)))
        case .sizeBits: .small(UInt8(random.below(3) == 0 ? random.below(24) : 4 + random.below(9)))
        case .count: .small(UInt8(random.below(5)))
        case .rights: .small(UInt8(random.below(16)))
        case .badge: random.chance(70) ? .small(UInt8(random.below(64))) : .raw(random.next())
        case .address: random.chance(70) ? .interesting(UInt8(32 + random.below(5))) : .raw(random.next() & 0x7FFF_FFFF_F000)
        case .priority: random.chance(70) ? .small(UInt8(random.below(128))) : .interesting(UInt8(random.below(64)))
        case .port: .interesting(UInt8(random.chance(50) ? 44 + random.below(3) : random.below(64)))
        case .flags: .small(UInt8(random.below(4)))
        case .any: arg()
        }
    }

    /// An invocation shaped as its object expects (on a held cap, with typed arguments).
    mutating func templateCall() -> FuzzCall {
        let t = Self.templates[random.below(Self.templates.count)]
        var args = t.args.map { arg($0) }
        if random.chance(10), !args.isEmpty { args[random.below(args.count)] = arg() }
        let length = UInt8(min(args.count, SyscallProgram.maxEncodedArgs))
        let caps = (0..<t.caps).map { _ in random.chance(90) ? CPtrChoice.held(UInt8(random.below(32))) : cptr() }
        return .syscall(FuzzSyscall(thread: UInt8(random.below(Int(SyscallProgram.threadCount))), number: Syscall.call.rawValue,
                                    cptr: .held(UInt8(random.below(32))), label: t.label.rawValue, length: length,
                                    args: Array(args.prefix(Int(length))), caps: caps))
    }

    /// A fresh call.
    public mutating func call() -> FuzzCall {
        if random.chance(3) { return .interrupt(UInt8(random.below(17))) }
        if random.chance(45) { return templateCall() }
        let numbers: [Int64] = [-1, -1, -1, -1, -1, -1, -2, -3, -4, -5, -6, -7, -8]
        let number = random.chance(2) ? Int64(Int8(truncatingIfNeeded: random.next())) : numbers[random.below(numbers.count)]
        let group = Self.labelGroups[random.below(Self.labelGroups.count)]
        let label = random.chance(5) ? UInt64(random.below(70)) : group.lowerBound + UInt64(random.below(group.count))
        let length = UInt8(random.chance(5) ? random.below(128) : random.below(9))
        var args: [ArgChoice] = []
        for _ in 0..<min(Int(length), SyscallProgram.maxEncodedArgs) { args.append(arg()) }
        var caps: [CPtrChoice] = []
        for _ in 0..<(random.chance(30) ? random.below(4) : 0) { caps.append(cptr()) }
        return .syscall(FuzzSyscall(thread: UInt8(random.below(Int(SyscallProgram.threadCount))), number: number,
                                    cptr: cptr(), label: label, length: length, args: args, caps: caps))
    }

    /// A fresh program of a few calls.
    public mutating func program() -> SyscallProgram {
        SyscallProgram(calls: (0..<(1 + random.below(12))).map { _ in call() })
    }

    /// One to four mutations of `p`, `other` available for splicing.
    public mutating func mutate(_ p: SyscallProgram, other: SyscallProgram?) -> SyscallProgram {
        var calls = p.calls
        for _ in 0...random.below(4) {
            let r = random.below(100)
            if calls.isEmpty || r < 20 {
                calls.insert(call(), at: random.below(calls.count + 1))
            } else if r < 30 {
                calls.remove(at: random.below(calls.count))
            } else if r < 36 {
                let i = random.below(calls.count)
                calls.insert(calls[i], at: random.below(calls.count + 1))
            } else if r < 42, calls.count > 1 {
                calls.swapAt(random.below(calls.count), random.below(calls.count))
            } else if r < 50, let other, !other.calls.isEmpty {
                let cut = random.below(calls.count + 1), from = random.below(other.calls.count)
                calls = Array(calls[..<cut]) + Array(other.calls[from...])
            } else {
                let i = random.below(calls.count)
                calls[i] = mutateField(calls[i])
            }
        }
        return SyscallProgram(calls: Array(calls.prefix(SyscallProgram.maxCalls)))
    }

    mutating func mutateField(_ c: FuzzCall) -> FuzzCall {
        guard case .syscall(var s) = c else { return call() }
        switch random.below(8) {
        case 0: s.thread = UInt8(random.below(Int(SyscallProgram.threadCount)))
        case 1: if case .syscall(let n) = call() { s.number = n.number }
        case 2: s.cptr = cptr()
        case 3:
            let group = Self.labelGroups[random.below(Self.labelGroups.count)]
            s.label = random.chance(10) ? random.next() & 0xFFFF : group.lowerBound + UInt64(random.below(group.count))
        case 4:
            s.length = UInt8(random.chance(10) ? random.below(128) : random.below(9))
            while s.args.count < min(Int(s.length), SyscallProgram.maxEncodedArgs) { s.args.append(arg()) }
            s.args = Array(s.args.prefix(min(Int(s.length), SyscallProgram.maxEncodedArgs)))
        case 5, 6:
            if !s.args.isEmpty { s.args[random.below(s.args.count)] = arg() } else { s.cptr = cptr() }
        default:
            if s.caps.isEmpty || random.chance(50) {
                if s.caps.count < 3 { s.caps.append(cptr()) }
            } else {
                s.caps.remove(at: random.below(s.caps.count))
            }
        }
        return .syscall(s)
    }
}
