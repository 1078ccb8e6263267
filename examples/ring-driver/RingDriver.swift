// SPDX-License-Identifier: Apache-2.0
//
// ring-driver: a driver for a memory-mapped device whose other side is a host program.
// The device is two regions of device memory: `ring` (a fresh host shared-memory object)
// and `rom` (a host file the device's identity is read from). The host writes lines into
// the ring and raises IRQ 5 (SIGUSR1 to umk); the driver prints each line and tells the
// host how far it has read. The line "quit" ends the system.
//
// The ring's layout (little-endian 64-bit words): at 0 `head`, the bytes the host has
// written so far; at 8 `tail`, the bytes the driver has read so far; from 64 on, the data,
// byte n of the stream at 64 + n % 4032.

import Servers
import UMKGuest

enum RingDriver {
    static let dataOffset: UInt64 = 64
    static let dataSize: UInt64 = 4096 - 64

    /// The byte of the driver's memory at `vaddr` (a device region's, mapped here).
    static func byte(_ vaddr: UInt64) -> UInt8 { unsafe UnsafePointer<UInt8>(bitPattern: UInt(vaddr))!.pointee }

    static let main: Program = { info in
        guard let ring = info.region("ring"), let rom = info.region("rom"),
              let irq = info.cap(named: "irq 5")?.id, let wake = info.cap(named: "ring-wake")?.id else { return 1 }
        // Device memory is as the device left it (never zeroed): the ROM's identity.
        let identity = (0..<rom.size).lazy.map { byte(rom.address + $0) }.prefix { $0 != 0 && $0 != 0x0A }
        debugPrint("ring-driver: device '\(String(decoding: Array(identity), as: UTF8.self))', ring at \(hex(ring.address))\n")
        var line: [UInt8] = []
        while true {
            // IRQ 5 arrives on the bound notification while waiting on the endpoint.
            let (_, badge) = seL4.recv(wake)
            guard badge & (1 << 5) != 0 else { continue }
            var tail = IPCBuffer.load(ring.address + 8)
            let head = IPCBuffer.load(ring.address)
            while tail < head {
                let byte = byte(ring.address + dataOffset + tail % dataSize)
                tail += 1
                guard byte == 0x0A else { line.append(byte); continue }
                let text = String(decoding: line, as: UTF8.self)
                line = []
                debugPrint("ring-driver: line '\(text)'\n")
                if text == "quit" {
                    // A driver is a service: the system runs while it does; "quit" ends both.
                    IPCBuffer.store(ring.address + 8, tail)
                    TaskRuntime.halt(0)
                }
            }
            IPCBuffer.store(ring.address + 8, tail)
            _ = IRQHandler.ack(irq)
        }
    }
}
