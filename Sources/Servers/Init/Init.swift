// SPDX-License-Identifier: Apache-2.0
//
// init, the root task of a manifest system: it reads the boot plan from its BootInfo's
// extra chunks, builds the system (SystemBuilder), starts the tasks, and then serves as
// the fault handler of last resort and the tasks' parent: a crashed task is reported with
// its name, fault and registers and stopped while the others go on; a task's exit is
// noted; when every task that is not a service has ended (a service is a channel's server,
// a pager or fault handler, or a driver), or a task asks to halt, init halts the system
// with the exit status: the one asked for, else the first non-zero exit status, else 1 if
// a task crashed, else 0.

import CGuest
import UMKGuest

/// The root task of manifest systems.
public enum Init {
    /// init's entry: arg0 = BootInfo's address.
    public static let root: ThreadEntry = { bootInfoAddress, _ in
        let bootInfo = readBootInfo(at: bootInfoAddress)
        guard let plan = readPlan(bootInfo, at: bootInfoAddress) else {
            debugPrint("init: no boot plan among the boot modules\n")
            seL4.debugHalt(status: 3)
            return
        }
        guard let ownRange = rootAddressRange(bootInfo, at: bootInfoAddress) else {
            debugPrint("init: no address range among the boot modules\n")
            seL4.debugHalt(status: 3)
            return
        }
        let built: SystemBuilder
        do {
            var builder = SystemBuilder(plan: plan, alloc: ObjectAllocator(bootInfo: bootInfo), ownRange: ownRange,
                                        images: try BootImages(bootInfo, at: bootInfoAddress))
            builder.deviceUntypeds = bootInfo.untypedList.enumerated().filter { $0.element.isDevice }.map {
                (bootInfo.untyped.start + UInt64($0.offset), $0.element.paddr, UInt64($0.element.sizeBits))
            }
            try builder.build()
            try builder.start()
            built = builder
        } catch {
            debugPrint("init: cannot build the system: \(error)\n")
            seL4.debugHalt(status: 3)
            return
        }
        var parent = Parent(plan: plan, tasks: built.tasks, endpoint: built.initEndpoint)
        parent.serve()
    }

    /// The boot plan in BootInfo's extra chunks (seL4_BootInfoHeader: id, length in bytes).
    static func readPlan(_ bootInfo: BootInfo, at address: UInt64) -> BootPlan? {
        guard let chunk = extraBootInfoChunk(bootPlanChunkID, bootInfo, at: address) else { return nil }
        var reader = PlanReader(count: chunk.words) { IPCBuffer.load(chunk.address + UInt64($0) * 8) }
        return try? BootPlan(reading: &reader)
    }
}

/// init after the build: the tasks' parent and last-resort fault handler.
struct Parent {
    let plan: BootPlan
    let tasks: [BuiltTask]
    let endpoint: CPtr
    /// Tasks that ended (exited or crashed), and whether each counts toward the end.
    var ended: Set<Int> = []
    var status: Int32?
    var crashed = false
    let services: Set<Int>

    init(plan: BootPlan, tasks: [BuiltTask], endpoint: CPtr) {
        self.plan = plan
        self.tasks = tasks
        self.endpoint = endpoint
        var services: Set<Int> = []
        for c in plan.channels { services.insert(Int(c.server.task)) }
        for t in plan.tasks {
            if let h = t.faultHandler { services.insert(Int(h)) }
            if let h = t.heap { services.insert(Int(h.pager)) }
        }
        for (i, t) in plan.tasks.enumerated() where !t.irqs.isEmpty || !t.ports.isEmpty { services.insert(i) }
        self.services = services
    }

    mutating func serve() -> Never {
        let names = plan.tasks.map(\.name).joined(separator: ", ")
        debugPrint("init: \(plan.name): started \(plan.tasks.count) task\(plan.tasks.count == 1 ? "" : "s"): \(names)\n")
        while true {
            let (msg, badge) = seL4.recv(endpoint)
            let task = Int(badge & (SystemBuilder.faultBadgeBit - 1)) - 1
            guard task >= 0 && task < tasks.count else { continue }
            if badge & SystemBuilder.faultBadgeBit != 0 {
                reportFault(task, msg)
                end(task)
                continue
            }
            switch InitRequest(rawValue: msg.label) {
            case .exit?:
                let code = Int32(truncatingIfNeeded: Int64(bitPattern: IPCBuffer.getMR(0)))
                _ = TCB.suspend(tasks[task].tcb)
                if code != 0 {
                    debugPrint("init: task '\(plan.tasks[task].name)' exited with status \(code)\n")
                    if status == nil { status = code }
                }
                end(task)
            case .halt?:
                let code = Int32(truncatingIfNeeded: Int64(bitPattern: IPCBuffer.getMR(0)))
                debugPrint("init: task '\(plan.tasks[task].name)' halted the system with status \(code)\n")
                seL4.debugHalt(status: UInt64(UInt8(truncatingIfNeeded: code)))
            case .invalidAccess?:
                let client = Int(IPCBuffer.getMR(0)) - 1
                let ip = IPCBuffer.getMR(1), address = IPCBuffer.getMR(2)
                let kind = IPCBuffer.getMR(3)
                guard client >= 0 && client < tasks.count else {
                    seL4.reply(MessageInfo(label: 1, length: 0))
                    continue
                }
                seL4.reply(MessageInfo(label: 0, length: 0))
                if kind == 3 {
                    report(client, "pager '\(plan.tasks[task].name)' ran out of memory for the page at \(hex(address)) "
                           + "(ip \(place(client, ip))): give the manifest more ram")
                } else {
                    let access = ["read", "write", "execute"][Int(min(kind, 2))]
                    report(client, "invalid \(access) at \(hex(address))\(stackOverflow(client, address)) (ip \(place(client, ip))), "
                           + "reported by pager '\(plan.tasks[task].name)'")
                }
                end(client)
            case nil:
                break
            }
        }
    }

    /// Marks `task` ended; halts when every task that is not a service has.
    mutating func end(_ task: Int) {
        guard ended.insert(task).inserted else { return }
        let workers = Set(plan.tasks.indices).subtracting(services)
        guard !workers.isEmpty, workers.isSubset(of: ended) else { return }
        let code = status ?? (crashed ? 1 : 0)
        debugPrint("init: all tasks done; exit status \(code)\n")
        seL4.debugHalt(status: UInt64(UInt8(truncatingIfNeeded: code)))
    }

    mutating func reportFault(_ task: Int, _ msg: MessageInfo) {
        let mr = { (i: Int) in IPCBuffer.getMR(i) }
        let what: String
        switch FaultType(rawValue: msg.label) {
        case .vmFault?:
            let fetch = mr(FaultLayout.VMFault.prefetchFault) != 0, write = mr(FaultLayout.VMFault.fsr) & 2 != 0
            let address = mr(FaultLayout.VMFault.address)
            what = "VMFault: \(fetch ? "execute" : write ? "write" : "read") at \(hex(address))\(stackOverflow(task, address)) "
                + "(ip \(place(task, mr(FaultLayout.VMFault.ip))))"
        case .capFault?:
            what = "CapFault: cap \(hex(mr(FaultLayout.CapFault.address))) (ip \(place(task, mr(FaultLayout.CapFault.ip))))"
        case .userException?:
            let vector = mr(FaultLayout.UserException.number), ip = mr(FaultLayout.UserException.faultIP)
            what = "UserException: vector \(vector)\(exceptionName(task, vector, ip)), code \(mr(FaultLayout.UserException.code)) "
                + "(ip \(place(task, ip)))"
        case .unknownSyscall?:
            what = "UnknownSyscall \(Int64(bitPattern: mr(FaultLayout.UnknownSyscall.syscall))) (ip \(place(task, mr(FaultLayout.UnknownSyscall.faultIP))))"
        default:
            what = "fault \(msg.label)"
        }
        report(task, what)
    }

    /// An IP, with the function of the task's image it lies in and its source line; in a
    /// Swift program's code (outside the task's window), its offset into the program (for
    /// addr2line's source line) and the program's function there.
    func place(_ task: Int, _ ip: UInt64) -> String {
        if !tasks[task].range.contains(ip), ip >= umk_program_base() {
            let offset = ip - umk_program_base()
            let function = ImageSymbol.find(offset, in: ImageSymbol.program)
                .map { ", in \(ImageSymbol.demangled($0.symbol.name)) + \(hex($0.offset))" } ?? ""
            return "\(hex(ip)), program offset \(hex(offset))\(function)"
        }
        let linked = ip &- tasks[task].imageBias
        guard let function = ImageSymbol.describe(linked, in: tasks[task].symbols) else { return hex(ip) }
        let line = ELFImage.sourceLine(linked, in: tasks[task].lines).map { " at \($0)" } ?? ""
        return "\(hex(ip)), \(function)\(line)"
    }

    /// ", just below the stack: a stack overflow" for an address in the 64 KiB below the
    /// task's stack, else "".
    func stackOverflow(_ task: Int, _ address: UInt64) -> String {
        let bottom = tasks[task].range.lowerBound + TaskLayout.stackTop - plan.tasks[task].stackPages * 4096
        return address < bottom && address >= bottom - 0x1_0000 ? ", just below the stack: a stack overflow" : ""
    }

    /// What an x86 exception vector means, and for #UD in a Swift program (umk's own code,
    /// outside the task's window) what raised it: Swift's runtime traps.
    func exceptionName(_ task: Int, _ vector: UInt64, _ ip: UInt64) -> String {
        switch vector {
        case 0: return " (divide error)"
        case 3: return " (breakpoint, int3)"
        case 6 where !tasks[task].range.contains(ip):
            return " (invalid opcode: a Swift runtime trap, such as a failed precondition, an arithmetic overflow or a nil unwrapped)"
        case 6: return " (invalid opcode, ud2)"
        case 13: return " (general protection)"
        case 17: return " (alignment check)"
        default: return ""
        }
    }

    /// Prints the crash report and stops the task; the rest of the system keeps running.
    mutating func report(_ task: Int, _ what: String) {
        crashed = true
        let tcb = tasks[task].tcb
        var text = "init: task '\(plan.tasks[task].name)' crashed: \(what)\n"
        if case .success(let regs) = TCB.readRegisters(tcb, suspendSource: true) {
            for (n, r) in UserRegister.allCases.enumerated() {
                text += (n % 4 == 0 ? "init:  " : "") + " \(String(describing: r).padding(6)) \(hex(regs[r.rawValue]).padding(18))"
                if n % 4 == 3 { text += "\n" }
            }
        } else {
            _ = TCB.suspend(tcb)
        }
        debugPrint(text)
        // A debugger stops here, with the task's thread as it faulted.
        unsafe plan.tasks[task].name.withCString { name in unsafe text.withCString { unsafe umk_debug_task_crashed(name, $0) } }
    }
}


extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
