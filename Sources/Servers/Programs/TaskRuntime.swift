// SPDX-License-Identifier: Apache-2.0
//
// How a task init built starts and ends: TaskRuntime.entry reads the start info init
// wrote TaskLayout.startInfo bytes into its range (a word count, then the words; its
// address arrives as arg0), runs the registered program, and reports its exit status to
// init on the task's init endpoint.

import UMKGuest

/// The start and end of every task init starts.
public enum TaskRuntime {
    /// The entry init starts tasks at: arg0 = the start info's address.
    public static let entry: ThreadEntry = { address, _ in
        guard let info = readStartInfo(at: address) else {
            debugPrint("task: unreadable start info at \(hex(address))\n")
            exit(127)
        }
        guard let program = ProgramRegistry.program(named: info.program) else {
            debugPrint("\(info.name): no program '\(info.program)'\n")
            exit(127)
        }
        exit(program(info))
    }

    /// The start info at `address` of the running task's address space.
    public static func readStartInfo(at address: UInt64) -> StartInfo? {
        let count = IPCBuffer.load(address)
        guard count <= (TaskLayout.startInfoMaxPages * 4096 - 8) / 8 else { return nil }
        var reader = PlanReader(count: Int(count)) { IPCBuffer.load(address + 8 + UInt64($0) * 8) }
        return try? StartInfo(reading: &reader)
    }

    /// Ends the task: init learns its status; the task's threads stop.
    public static func exit(_ status: Int32) -> Never {
        IPCBuffer.setMR(0, UInt64(bitPattern: Int64(status)))
        while true {
            _ = seL4.call(TaskLayout.initSlot, MessageInfo(label: InitRequest.exit.rawValue, length: 1))
        }
    }

    /// Stops the whole system with `status` as umk's exit status.
    public static func halt(_ status: Int32) -> Never {
        IPCBuffer.setMR(0, UInt64(bitPattern: Int64(status)))
        while true {
            _ = seL4.call(TaskLayout.initSlot, MessageInfo(label: InitRequest.halt.rawValue, length: 1))
        }
    }
}
