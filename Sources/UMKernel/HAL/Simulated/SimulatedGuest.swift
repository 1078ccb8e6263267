// SPDX-License-Identifier: Apache-2.0
//
// A guest of the simulated machine driven step by step: a test, the fuzzer or the kernel
// benchmark sets a thread's registers and IPC buffer as a guest would and enters the
// kernel through its syscall entry directly, without the kernel loop (which
// SimulatedHAL+Run.swift drives with scripted guests).

import UMKABI

/// Drives a booted kernel as its guests would, through syscalls only.
public struct SimulatedGuest {
    public let kernel: Kernel<SimulatedHAL>
    public let boot: BootResult
    public var root: TCBRef { boot.rootThread }

    public init(kernel: Kernel<SimulatedHAL>, boot: BootResult) {
        self.kernel = kernel
        self.boot = boot
    }

    /// Puts a syscall into `t`'s registers (and MRs beyond 4 and extra caps in its IPC
    /// buffer), with its IP at the simulated syscall instruction.
    public func load(_ t: TCBRef, cptr: UInt64, info: MessageInfo, mrs: [UInt64] = [], caps: [UInt64] = []) {
        t.pointee[.rdi] = cptr
        t.pointee[.rsi] = info.word
        let buffer = kernel.ipcBuffer(of: t, isReceiver: false)
        for (i, v) in mrs.enumerated() {
            if i < MessageLimits.fastMessageRegisters {
                t.pointee[messageRegister(i)] = v
            } else if let buffer {
                kernel.setBufferWord(buffer, IPCBufferLayout.msg + i, v)
            }
        }
        if let buffer {
            for (i, c) in caps.enumerated() { kernel.setBufferWord(buffer, IPCBufferLayout.capsOrBadges + i, c) }
        }
        t.pointee[.rip] = SimulatedHAL.syscallSite
        t.pointee.nextIP = SimulatedHAL.syscallSite + 2
    }

    /// Invokes `cptr` with Call as the root task; precondition: it succeeds.
    public func invoke(_ cptr: UInt64, _ label: InvocationLabel, _ args: [UInt64], caps: [UInt64] = []) {
        precondition(kernel.currentThread == root, "setup runs as the root task")
        load(root, cptr: cptr, info: MessageInfo(label: label.rawValue, extraCaps: UInt64(caps.count),
                                                 length: UInt64(args.count)), mrs: args, caps: caps)
        kernel.handleSyscall(Syscall.call.rawValue)
        precondition(MessageInfo(word: root.pointee[.rsi]).label == 0, "setup: \(label) failed")
    }

    /// Two threads at priority 100 in the root's spaces; the server waits on the endpoint
    /// and the client runs. Returns (client, server, endpoint CPtr).
    public func pingPongPair() -> (TCBRef, TCBRef, UInt64) {
        let cnode = InitialCap.initThreadCNode.rawValue, tcbCap = InitialCap.initThreadTCB.rawValue
        let untyped = boot.bootInfo.untyped.start + UInt64(boot.bootInfo.untypedList.indices.max {
            boot.bootInfo.untypedList[$0].sizeBits < boot.bootInfo.untypedList[$1].sizeBits
        }!)
        let first = boot.bootInfo.empty.start
        let ep = first, serverCap = first + 1, clientCap = first + 2
        invoke(untyped, .untypedRetype, [ObjectType.endpoint.rawValue, 0, 0, 0, ep, 1], caps: [cnode])
        invoke(untyped, .untypedRetype, [ObjectType.tcb.rawValue, 0, 0, 0, serverCap, 2], caps: [cnode])
        for t in [serverCap, clientCap] {
            invoke(t, .tcbConfigure, [0, 0, 0, 0],
                   caps: [cnode, InitialCap.initThreadVSpace.rawValue, InitialCap.initThreadIPCBuffer.rawValue])
            invoke(t, .tcbSetSchedParams, [100, 100], caps: [tcbCap])
        }
        invoke(clientCap, .tcbResume, [])
        invoke(serverCap, .tcbResume, [])
        invoke(tcbCap, .tcbSetPriority, [1], caps: [tcbCap])
        // The server was resumed last, so it runs first: it waits on the endpoint.
        let server = kernel.currentThread
        load(server, cptr: ep, info: MessageInfo(label: 0, length: 0))
        kernel.handleSyscall(Syscall.recv.rawValue)
        return (kernel.currentThread, server, ep)
    }
}
