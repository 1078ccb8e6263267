// SPDX-License-Identifier: Apache-2.0
//
// The thread control block, a fixed-layout object of 2^ObjectSize.tcbBits bytes in RAM.
// As in seL4 its first bytes are five CNode slots that hold the thread's own caps (CSpace
// root, VSpace root, reply master, caller, IPC buffer frame): they take part in the
// derivation tree, so deleting a CNode cap elsewhere does not pull the CSpace from under
// a running thread. The rest: scheduling, IPC state, fault record and the user registers.

import UMKABI

/// seL4's thread states (`_thread_state`, non-MCS).
public enum ThreadState: UInt64, Sendable {
    case inactive = 0
    case running = 1
    /// Re-executes its interrupted syscall when next run.
    case restart = 2
    case blockedOnReceive = 3
    case blockedOnSend = 4
    case blockedOnReply = 5
    case blockedOnNotification = 6
    case idle = 7

    /// The state a TCB's state word holds (a word the kernel never wrote reads as
    /// inactive). Spelled out rather than `init(rawValue:)`, which the compiler keeps as a
    /// call: this inlines to a compare and a move wherever a state is read.
    @inline(__always) static func decode(_ word: UInt64) -> ThreadState {
        switch word {
        case 1: .running
        case 2: .restart
        case 3: .blockedOnReceive
        case 4: .blockedOnSend
        case 5: .blockedOnReply
        case 6: .blockedOnNotification
        case 7: .idle
        default: .inactive
        }
    }

    /// seL4: isRunnable.
    @inline(__always) public var isRunnable: Bool { self == .running || self == .restart }
    /// seL4: isStopped (inactive or blocked).
    public var isStopped: Bool {
        switch self {
        case .inactive, .blockedOnReceive, .blockedOnSend, .blockedOnNotification, .blockedOnReply: true
        default: false
        }
    }
}

/// Indices of the TCB's own slots (seL4 tcb_cnode_index).
public enum TCBSlot: UInt64, Sendable, CaseIterable {
    case cTable = 0, vTable = 1, reply = 2, caller = 3, ipcBuffer = 4
    /// seL4 tcbCNodeEntries.
    public static let count: UInt64 = 5
}

/// A fault recorded in the TCB while it is delivered (seL4 `seL4_Fault_t` + lookup fault).
public struct FaultRecord: Equatable, Sendable {
    public var type: UInt64 = 0
    public var w0: UInt64 = 0
    public var w1: UInt64 = 0
    public var w2: UInt64 = 0
    /// The lookup failure of a CapFault, as words (type first).
    public var lookup0: UInt64 = 0
    public var lookup1: UInt64 = 0
    public var lookup2: UInt64 = 0
    public var lookup3: UInt64 = 0
}

/// The thread control block as it lies in RAM.
public struct TCB {
    /// The thread's own slots (TCBSlot order). Must stay first: a zombie of a TCB points here.
    var slots: InlineArray<5, Slot>
    var stateWord: UInt64
    /// The endpoint or notification the thread is blocked on.
    public var blockingObject: UInt64
    /// Badge of the cap the thread sends with (BlockedOnSend).
    public var blockingBadge: UInt64
    /// canGrant [0], canGrantReply [1], isCall [2] of the blocked send or receive.
    var blockingFlags: UInt64
    /// Fault endpoint CPtr, looked up in the thread's own CSpace when it faults.
    public var faultEndpoint: UInt64
    /// IPC buffer virtual address.
    public var ipcBuffer: UInt64
    public var priority: UInt64
    public var mcp: UInt64
    /// Ticks left in the time slice.
    public var timeSlice: UInt64
    public var domain: UInt64
    /// Ready-queue links.
    var schedNext: UInt64
    var schedPrev: UInt64
    /// Endpoint or notification queue links.
    var epNext: UInt64
    var epPrev: UInt64
    /// The notification bound to this thread (0 = none).
    public var boundNotification: UInt64
    /// The fault being delivered (type 0 = none).
    public var fault: FaultRecord
    /// seL4_UserContext order (UserRegister); index 0 is the fault IP (the instruction the
    /// thread restarts at), `nextIP` the instruction it resumes at.
    public var registers: InlineArray<20, UInt64>
    public var nextIP: UInt64
    /// How the thread last left user mode (`UserEntry`): what its next resumption restores
    /// (beside nextIP: every kernel exit reads both).
    var userEntryWord: UInt64
    /// Links in the list of all TCBs (seL4 tcbDebugNext/Prev).
    var debugNext: UInt64
    var debugPrev: UInt64
    /// True while the thread is in the ready queue (seL4 tcbQueued).
    var inReadyQueue: UInt64
    /// TCB flags (seL4 SetFlags: fpuDisabled).
    public var flags: UInt64
    /// The thread's name for reports (DebugNameThread), NUL-padded.
    var name: InlineArray<32, UInt8>
    /// Space the machine keeps per thread (the Linux backend's `LinuxThreadArea`: saved
    /// host context, register frame and FP area); the kernel never reads it.
    var machineArea: InlineArray<512, UInt64>

    /// How the thread last left user mode.
    public var userEntry: UserEntry {
        get { UserEntry(rawValue: userEntryWord) ?? .notStarted }
        set { userEntryWord = newValue.rawValue }
    }

    /// The thread state.
    public var state: ThreadState {
        @inline(__always) get { ThreadState.decode(stateWord) }
        set { stateWord = newValue.rawValue }
    }
    var blockingCanGrant: Bool {
        get { blockingFlags & 1 != 0 }
        set { blockingFlags = newValue ? blockingFlags | 1 : blockingFlags & ~1 }
    }
    var blockingCanGrantReply: Bool {
        get { blockingFlags & 2 != 0 }
        set { blockingFlags = newValue ? blockingFlags | 2 : blockingFlags & ~2 }
    }
    var blockingIsCall: Bool {
        get { blockingFlags & 4 != 0 }
        set { blockingFlags = newValue ? blockingFlags | 4 : blockingFlags & ~4 }
    }

    /// Register accessor by name.
    public subscript(register: UserRegister) -> UInt64 {
        get { registers[register.rawValue] }
        set { registers[register.rawValue] = newValue }
    }
}

/// A handle to a TCB in RAM.
public typealias TCBRef = ObjectRef<TCB>

extension ObjectRef where Object == TCB {
    /// The TCB's own slot `index` (seL4 TCB_PTR_CTE_PTR).
    @inline(__always) package func slot(_ index: TCBSlot) -> SlotRef {
        advanced(by: index.rawValue << ObjectSize.slotBits, as: Slot.self)
    }

    /// The thread's name, or its physical address if it has none.
    public var name: String {
        var bytes: [UInt8] = []
        for i in 0..<32 { let b = pointee.name[i]; if b == 0 { break }; bytes.append(b) }
        return bytes.isEmpty ? "tcb@" + hex(paddr) : String(decoding: bytes, as: UTF8.self)
    }

    /// Sets the name reported for this thread (truncated to 31 bytes).
    public func setName(_ name: String) {
        let bytes = Array(name.utf8.prefix(31))
        for i in 0..<32 { pointee.name[i] = i < bytes.count ? bytes[i] : 0 }
    }
}

/// seL4: sanitiseRegister — keep IPs canonical and FLAGS a user mode value.
func sanitiseRegister(_ r: UserRegister, _ v: UInt64) -> UInt64 {
    switch r {
    case .rip, .fsBase, .gsBase:
        return (v > 0x0000_7FFF_FFFF_FFFF && v < 0xFFFF_8000_0000_0000) ? 0 : v
    case .rflags:
        // Bit 1 always set, reserved bits clear, interrupts on, no trap flag.
        return ((v | 0x2) & ~0x8028 | 0x200) & 0xED7
    default:
        return v
    }
}
