// SPDX-License-Identifier: Apache-2.0
//
// The two clocks (DESIGN.md section 2). Real time: host monotonic time, timer signals,
// asynchronous preemption at async-safe points. Virtual time: time advances a fixed amount
// per kernel entry and jumps to the next deadline when the system is idle; nothing is
// preempted asynchronously; host input is taken only at kernel entries (and recorded), so
// a run is reproducible from the same recording.

/// Which clock a Linux machine runs on.
public enum ClockMode: Sendable, Equatable {
    case realtime
    /// Virtual time advancing `nanosecondsPerEntry` per kernel entry.
    case virtual(nanosecondsPerEntry: UInt64)

    public static let deterministic = ClockMode.virtual(nanosecondsPerEntry: 1_000)
}

/// How a Linux machine is set up besides RAM.
public struct MachineOptions: Sendable {
    public var clock: ClockMode = .deterministic
    /// The kernel's scheduling tick (separate from the PIT): 250 Hz.
    public var tickNanoseconds: UInt64 = 4_000_000
    public var console: ConsoleBinding = .none
    /// Virtual time only: write host input events to this file as they are taken.
    public var recordPath: String? = nil
    /// Write the capability graph (DOT) here: at every DebugSnapshot and at the end of the
    /// run (`writeCapabilityGraph`), one digraph after the other.
    public var capabilityGraphPath: String? = nil
    /// Write the kernel's trace (Chrome trace JSON) here, at most `traceLimit` bytes.
    public var tracePath: String? = nil
    public var traceLimit: Int = 256 << 20
    /// Virtual time only: take host input from these events instead of the host.
    public var replay: [RecordedInput]? = nil
    /// Stop the run (StopReason.expectedOutput) once the console or debug output contains this.
    public var expectOutput: [UInt8]? = nil
    /// Virtual time: where the clock starts (a seed's offset moves where the scheduling tick
    /// falls, picking another reproducible interleaving of equal-priority threads).
    public var clockOffset: UInt64 = 0
    /// Allocate all of RAM in the host before the run (about 0.3 ms per MiB here), so that
    /// no guest access to it waits for the host to supply a page: what a machine's RAM is
    /// like, and the steady state of a long run. Off by default: a short run then pays
    /// only for the memory it touches.
    public var populateRAM = false
    /// Confine the process once the system is built (off for in-process users).
    public var sandbox: SandboxMode = .off
    /// While a guest runs, kernel RAM and every other address space's window are
    /// inaccessible (host protection changes on every switch): a stray access is a fault.
    public var strict = false

    public init(clock: ClockMode = .deterministic, console: ConsoleBinding = .none) {
        self.clock = clock
        self.console = console
    }
}
