// SPDX-License-Identifier: Apache-2.0
//
// A client's side of the console driver's protocol.

import UMKGuest

/// Talks to the console driver through an endpoint cap.
public enum ConsoleClient {
    /// Writes `text` through the driver; false if the driver refused.
    @discardableResult
    public static func write(_ endpoint: CPtr, _ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var offset = 0
        repeat {
            let chunk = bytes[offset..<min(offset + ConsoleDriver.maxLine, bytes.count)]
            IPCBuffer.setMR(0, UInt64(chunk.count))
            let words = IPCBuffer.setBytes(chunk, from: 1)
            let reply = seL4.call(endpoint, MessageInfo(label: ConsoleDriver.Request.write.rawValue, length: UInt64(1 + words)))
            guard reply.label == 0 else { return false }
            offset += chunk.count
        } while offset < bytes.count
        return true
    }

    /// The next line of console input (blocks until one is complete); nil on an error.
    public static func readLine(_ endpoint: CPtr) -> String? {
        let reply = seL4.call(endpoint, MessageInfo(label: ConsoleDriver.Request.readLine.rawValue, length: 0))
        guard reply.label == 0, reply.length >= 1 else { return nil }
        return String(decoding: IPCBuffer.getBytes(Int(IPCBuffer.getMR(0)), from: 1), as: UTF8.self)
    }
}
