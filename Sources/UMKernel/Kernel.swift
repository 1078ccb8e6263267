// SPDX-License-Identifier: Apache-2.0
//
// The kernel: a deterministic state machine over RAM, generic over its HAL. Its global
// state (current thread, scheduler queues and bitmap, ASID table, IRQ table) lives in RAM
// as `KernelGlobals` at physical address 0, so the whole kernel state is RAM and can be
// snapshotted. The class itself holds only the HAL and the physmap.

import UMKABI

/// seL4's scheduler action (`ksSchedulerAction`).
public enum SchedulerAction: Equatable, Sendable {
    case resumeCurrentThread
    case chooseNewThread
    case switchToThread(TCBRef)
}

/// Head and tail of a ready queue.
public struct QueueLinks: Sendable {
    public var head: UInt64 = 0
    public var tail: UInt64 = 0
}

/// The kernel's global state, at physical address 0 of RAM.
public struct KernelGlobals {
    /// The running thread (seL4 ksCurThread).
    public var currentThread: UInt64
    /// The idle thread.
    public var idleThread: UInt64
    /// 0 resume current, 1 choose new, else the TCB to switch to.
    var schedulerActionWord: UInt64
    var currentDomain: UInt64
    /// Work done since the last preemption check (seL4 ksWorkUnitsCompleted).
    var workUnitsCompleted: UInt64
    /// Scheduler ticks so far.
    public var ticks: UInt64
    /// Set by the Halt debug syscall.
    public var halted: UInt64
    /// Level 1 of the ready-queue bitmap: bit i set if any priority in 64*i..<64*(i+1) is ready.
    var bitmapL1: UInt64
    var bitmapL2: InlineArray<4, UInt64>
    var readyQueues: InlineArray<256, QueueLinks>
    /// Physical address of each ASID pool (0 = none).
    var asidTable: InlineArray<8, UInt64>
    /// IRQ state per legacy IRQ (0 inactive, 1 signal, 2 reserved).
    var irqState: InlineArray<16, UInt64>
    /// Head of the list of every TCB (seL4 ksDebugTCBs), for dumps and checks.
    var debugTCBHead: UInt64
    /// IRQs raised and not yet delivered.
    var irqPending: UInt64
    /// IRQs masked until Ack.
    var irqMasked: UInt64
}

/// Where the kernel keeps its own data in RAM.
public enum KernelLayout {
    /// KernelGlobals at 0, the IRQ node (one slot per IRQ: the notification cap it signals,
    /// seL4 intStateIRQNode) at 0x3000, the idle thread's TCB at 0x4000, the I/O port
    /// bitmap at 0x6000.
    public static let globals: UInt64 = 0
    public static let irqNode: UInt64 = 0x3000
    /// Legacy PIC IRQ lines 0...15 (seL4 maxIRQ for the PIC).
    public static let irqCount: UInt64 = 16
    public static let idleThread: UInt64 = 0x4000
    /// The allocated I/O ports (seL4 x86KSAllocatedIOPorts), one bit per port: 8 KiB.
    public static let ioPortBitmap: UInt64 = 0x6000
    /// RAM below this is the kernel's; boot hands out what follows.
    public static let reservedTop: UInt64 = 0x8000
    /// Work units between preemption checks (CONFIG_MAX_NUM_WORK_UNITS_PER_PREEMPTION).
    public static let workUnitsPerPreemption: UInt64 = 100
    /// Ticks in a time slice (CONFIG_TIME_SLICE).
    public static let timeSlice: UInt64 = 5
}

/// The kernel state machine.
public final class Kernel<H: HAL> {
    /// The machine the kernel runs on.
    public var hal: H
    /// The kernel's mapping of RAM.
    public let physmap: Physmap
    /// The kernel's globals in RAM.
    let globals: ObjectRef<KernelGlobals>

    /// A kernel over the HAL's RAM. RAM must be zeroed; call `boot` to build the root task.
    public init(hal: H) {
        self.hal = hal
        physmap = hal.physmap
        precondition(MemoryLayout<KernelGlobals>.size <= Int(KernelLayout.irqNode), "globals overflow")
        precondition(MemoryLayout<TCB>.size <= 1 << Int(ObjectSize.tcbBits), "TCB overflows its object size")
        precondition(MemoryLayout<Slot>.size == 1 << Int(ObjectSize.slotBits))
        globals = physmap.ref(KernelGlobals.self, KernelLayout.globals)
        let idle = physmap.ref(TCB.self, KernelLayout.idleThread)
        idle.pointee.state = .idle
        globals.pointee.idleThread = idle.paddr
        globals.pointee.currentThread = idle.paddr
        // Every IRQ line starts inactive and masked, as seL4's initIRQController leaves them.
        globals.pointee.irqMasked = (1 << KernelLayout.irqCount) - 1
    }

    /// The thread the kernel runs next.
    public var currentThread: TCBRef {
        get { physmap.ref(TCB.self, globals.pointee.currentThread) }
        set { globals.pointee.currentThread = newValue.paddr }
    }
    /// The idle thread.
    public var idleThread: TCBRef { physmap.ref(TCB.self, globals.pointee.idleThread) }
    /// True once a guest issued DebugHalt.
    public var isHalted: Bool { globals.pointee.halted != 0 }
    /// DebugHalt's argument (umk's exit status for the system; seL4 ignores it).
    public internal(set) var haltStatus: UInt64 = 0
    /// The run's trace, if one is being recorded (Kernel+Trace.swift).
    public internal(set) var trace = TraceRecorder()

    /// The pending scheduling decision.
    public var schedulerAction: SchedulerAction {
        get {
            switch globals.pointee.schedulerActionWord {
            case 0: .resumeCurrentThread
            case 1: .chooseNewThread
            case let p: .switchToThread(physmap.ref(TCB.self, p))
            }
        }
        set {
            switch newValue {
            case .resumeCurrentThread: globals.pointee.schedulerActionWord = 0
            case .chooseNewThread: globals.pointee.schedulerActionWord = 1
            case .switchToThread(let t): globals.pointee.schedulerActionWord = t.paddr
            }
        }
    }

    // MARK: - Handles

    @inline(__always) package func tcb(_ paddr: UInt64) -> TCBRef { physmap.ref(TCB.self, paddr) }
    @inline(__always) package func slot(_ paddr: UInt64) -> SlotRef { physmap.ref(Slot.self, paddr) }
    @inline(__always) func endpoint(_ paddr: UInt64) -> EndpointRef { physmap.ref(Endpoint.self, paddr) }
    @inline(__always) func notification(_ paddr: UInt64) -> NotificationRef { physmap.ref(Notification.self, paddr) }
}
