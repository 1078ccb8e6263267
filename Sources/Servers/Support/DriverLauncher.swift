// SPDX-License-Identifier: Apache-2.0
//
// Starting a driver task the way init does: its own CSpace and VSpace, an endpoint for
// clients, an IOPort cap for its ports, an IRQ handler whose notification (badged) is
// bound to the driver's TCB, and its own CNode to save reply caps in. The slot numbers
// are DriverSlot's.

import UMKGuest

/// The slots every driver started by `startDriver` finds in its own CSpace.
public enum DriverSlot {
    /// The endpoint clients call (the IRQ notification is bound to the driver's TCB).
    public static let endpoint: CPtr = 1
    /// IOPort for the driver's ports.
    public static let ioPort: CPtr = 2
    /// IRQHandler for its line.
    public static let irqHandler: CPtr = 3
    /// The driver's own CNode (to save reply caps in).
    public static let cnode: CPtr = 4
}

/// Where a driver finds its caps: DriverSlot's layout for drivers `startDriver` builds, the
/// ids of its start info for drivers init starts from a manifest.
public struct DriverSlots: Sendable {
    public var endpoint: CPtr
    public var ioPort: CPtr
    public var irqHandler: CPtr
    /// Its own CNode (to save reply caps in), its radix, and the first of its free slots.
    public var cnode: CPtr
    public var cnodeRadix: UInt64
    public var firstReply: CPtr
    public init(endpoint: CPtr, ioPort: CPtr, irqHandler: CPtr, cnode: CPtr, cnodeRadix: UInt64, firstReply: CPtr) {
        self.endpoint = endpoint; self.ioPort = ioPort; self.irqHandler = irqHandler
        self.cnode = cnode; self.cnodeRadix = cnodeRadix; self.firstReply = firstReply
    }
    /// DriverSlot's layout, replies from slot 8.
    public init(cnodeRadix: UInt64) {
        self.init(endpoint: DriverSlot.endpoint, ioPort: DriverSlot.ioPort, irqHandler: DriverSlot.irqHandler,
                  cnode: DriverSlot.cnode, cnodeRadix: cnodeRadix, firstReply: 8)
    }
    /// A manifest task's layout: the first server end, port grant and IRQ grant of its
    /// start info; replies in its free slots.
    public init?(startInfo s: StartInfo) {
        guard let ep = s.caps.first(where: { $0.kind == .endpointServer }), let port = s.caps.first(where: { $0.kind == .ioPort }),
              let irq = s.caps.first(where: { $0.kind == .irqHandler }) else { return nil }
        self.init(endpoint: ep.id, ioPort: port.id, irqHandler: irq.id, cnode: TaskLayout.cnodeSlot, cnodeRadix: s.cnodeBits,
                  firstReply: s.freeSlots.start)
    }
}

/// A started driver: its task and the endpoint clients call (in the builder's CSpace).
public struct DriverTask {
    public var task: Task
    public var endpoint: CPtr
}

/// What went wrong starting a driver.
public struct DriverLaunchError: Error, CustomStringConvertible {
    public var step: String
    public var error: KernelError
    public var description: String { "\(step): \(error)" }
}

extension ObjectAllocator {
    /// Builds and starts `entry` as a driver for `ports` and `irq` at `priority`.
    public mutating func startDriver(_ entry: ThreadEntry, name: String, priority: UInt64, ports: ClosedRange<UInt16>,
                                     irq: UInt64, irqBadge: UInt64, offset: UInt64 = 0x1000_0000,
                                     stackPages: UInt64 = 64, cnodeRadix: UInt64 = 8) throws(DriverLaunchError) -> DriverTask {
        func check(_ e: KernelError, _ step: String) throws(DriverLaunchError) {
            if e != .noError { throw DriverLaunchError(step: step, error: e) }
        }
        guard let endpoint = make(.endpoint), let notification = make(.notification),
              let task = makeTask(priority: priority, offset: offset, stackPages: stackPages, cnodeRadix: cnodeRadix),
              let portSlot = slot(), let handlerSlot = slot(), let badged = slot() else {
            throw DriverLaunchError(step: "objects for \(name)", error: .notEnoughMemory)
        }
        try check(IOPortControl.issue(InitialCap.ioPortControl.rawValue, first: ports.lowerBound, last: ports.upperBound,
                                      root: root, index: portSlot, depth: 64), "I/O ports of \(name)")
        try check(IRQControl.get(InitialCap.irqControl.rawValue, irq: irq, root: root, index: handlerSlot, depth: 64),
                  "IRQ \(irq) of \(name)")
        try check(CNode.mint(root, destIndex: badged, destDepth: 64, srcRoot: root, srcIndex: notification, srcDepth: 64,
                             rights: .all, badge: irqBadge), "IRQ badge of \(name)")
        try check(IRQHandler.setNotification(handlerSlot, notification: badged), "IRQ notification of \(name)")
        try check(TCB.bindNotification(task.tcb, notification: notification), "bound notification of \(name)")
        try check(give(task, endpoint, at: DriverSlot.endpoint), "endpoint of \(name)")
        try check(give(task, portSlot, at: DriverSlot.ioPort), "port cap of \(name)")
        try check(give(task, handlerSlot, at: DriverSlot.irqHandler), "IRQ handler of \(name)")
        try check(give(task, task.cnode, at: DriverSlot.cnode), "CNode of \(name)")
        seL4.debugNameThread(task.tcb, name)
        try check(startThread(task.tcb, entry: entry, stackTop: task.stackTop, arg0: cnodeRadix), "start \(name)")
        return DriverTask(task: task, endpoint: endpoint)
    }
}
