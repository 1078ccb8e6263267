// SPDX-License-Identifier: Apache-2.0
//
// Program images: Swift programs linked into umk, registered by name. A manifest's task
// names its program; init starts the task at TaskRuntime.entry, which finds the program
// here and calls it with the task's start info. The built-in servers are registered from
// the start; umk registers the example programs before it boots.

import UMKGuest

/// A program's entry: it gets its start info and returns its exit status.
public typealias Program = @Sendable (StartInfo) -> Int32

/// Programs by name.
public enum ProgramRegistry {
    /// The registry; written before a system boots, read by its tasks.
    nonisolated(unsafe) static var programs: [String: Program] = [
        "console": ConsoleDriver.program,
        "timer": TimerServer.program,
        "pager": PagerProgram.main,
        "names": NameService.main,
    ]

    /// Registers `program` as `name` (replacing one of the same name).
    public static func register(_ name: String, _ program: @escaping Program) { unsafe programs[name] = program }

    /// The names a manifest may use.
    public static var names: Set<String> { unsafe Set(programs.keys) }

    /// The program called `name`.
    public static func program(named name: String) -> Program? { unsafe programs[name] }
}
