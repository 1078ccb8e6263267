// SPDX-License-Identifier: Apache-2.0
//
// A coverage-guided campaign over the fuzz world. Coverage is a proxy made of what each
// call did (syscall, invoked object type, label, reply, resulting thread state, and
// interrupts with the thread they woke): a program that shows a new combination joins the
// corpus. A failing program is minimised (calls removed while the same oracle still fails,
// then arguments simplified) and handed back with the failure.

import UMKernel

/// A coverage-guided fuzzing campaign.
public struct FuzzCampaign {
    public var world: FuzzWorld
    public var mutator: FuzzMutator
    public private(set) var corpus: [SyscallProgram] = []
    public private(set) var coverage: Set<UInt32> = []
    public private(set) var executions = 0
    public private(set) var syscalls = 0

    public init(seed: UInt64, world: FuzzWorld = FuzzWorld()) {
        self.world = world
        mutator = FuzzMutator(seed: seed)
    }

    /// Runs `program`; adds it to the corpus if it showed new coverage. Returns the failure
    /// it caused, if any.
    @discardableResult
    public mutating func execute(_ program: SyscallProgram) -> FuzzFailure? {
        executions += 1
        do {
            let outcome = try world.run(program)
            syscalls += outcome.issued
            var new = false
            for f in outcome.features where coverage.insert(f).inserted { new = true }
            if new { corpus.append(program) }
            return nil
        } catch {
            syscalls += program.calls.count
            return error
        }
    }

    /// The next program to run: a mutation of a corpus entry, or a fresh one.
    public mutating func nextProgram() -> SyscallProgram {
        if corpus.isEmpty || mutator.random.chance(8) { return mutator.program() }
        let base = corpus[mutator.random.below(corpus.count)]
        let other = corpus[mutator.random.below(corpus.count)]
        return mutator.mutate(base, other: other)
    }

    /// Removes calls and simplifies arguments while `program` still fails the same oracle.
    public func minimize(_ program: SyscallProgram, failure: FuzzFailure) -> SyscallProgram {
        func fails(_ p: SyscallProgram) -> Bool {
            do { _ = try world.run(p); return false } catch { return error.oracle == failure.oracle }
        }
        var best = program
        // Calls after the failing one are not needed.
        if failure.call < best.calls.count - 1 { best.calls = Array(best.calls.prefix(failure.call + 1)) }
        var chunk = max(1, best.calls.count / 2)
        while chunk >= 1 {
            var i = 0
            var removed = false
            while i < best.calls.count {
                var candidate = best
                candidate.calls.removeSubrange(i..<min(i + chunk, candidate.calls.count))
                if fails(candidate) { best = candidate; removed = true } else { i += chunk }
            }
            if !removed { chunk /= 2 }
        }
        // Simplify what is left: fewer caps, shorter messages, small arguments.
        for i in best.calls.indices {
            guard case .syscall(let s) = best.calls[i] else { continue }
            var simplest = s
            for attempt in 0..<3 {
                var t = simplest
                switch attempt {
                case 0: t.caps = []
                case 1: t.args = t.args.map { _ in .small(0) }
                default: t.length = 0; t.args = []
                }
                var candidate = best
                candidate.calls[i] = .syscall(t)
                if fails(candidate) { simplest = t; best = candidate }
            }
            for j in simplest.args.indices {
                var t = simplest
                t.args[j] = .small(0)
                var candidate = best
                candidate.calls[i] = .syscall(t)
                if fails(candidate) { simplest = t; best = candidate }
            }
        }
        return best
    }
}
