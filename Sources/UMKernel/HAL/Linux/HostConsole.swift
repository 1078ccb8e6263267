// SPDX-License-Identifier: Apache-2.0
//
// The host side of the UART: where its transmitted bytes go and its received bytes come
// from. The terminal by default; a pseudo-terminal (its name printed so a user can attach
// `screen` or `picocom`), a Unix socket umk listens on (the first client becomes the
// console), or descriptors given by the embedder (tests use pipes).

import CShims
import Glibc

/// Where the console (COM1) is connected on the host.
public enum ConsoleBinding: Sendable, Equatable {
    /// stdin and stdout.
    case terminal
    /// A fresh pseudo-terminal; its slave's path is printed on stderr.
    case pseudoTerminal
    /// A Unix stream socket listening at `path`; the first client to connect is the console.
    case unixSocket(path: String)
    /// Descriptors owned by the caller (-1: none).
    case descriptors(input: Int32, output: Int32)
    /// No host side: output is kept in memory only, nothing is received.
    case none
}

/// Open host console descriptors.
struct HostConsole {
    /// Where received bytes are read (-1: none), and transmitted bytes written (-1: none).
    var input: Int32 = -1
    var output: Int32 = -1
    /// A listening socket still waiting for its client.
    var listener: Int32 = -1
    /// Descriptors this console opened and closes.
    var owned: [Int32] = []
    /// The input reached end of file (or failed): nothing more can arrive.
    var inputClosed = false
    /// What the binding is called, for messages (a pty's path).
    var name = ""

    init(_ binding: ConsoleBinding) throws(HostError) {
        switch binding {
        case .terminal:
            // A terminal's stdin and stdout share one open file description: reading it
            // non-blocking must not make stdout non-blocking, so read through a fresh one.
            let fresh = unsafe open("/proc/self/fd/0", O_RDONLY | O_CLOEXEC)
            input = fresh >= 0 ? fresh : 0
            if fresh >= 0 { owned = [fresh] }
            output = 1
        case .descriptors(let i, let o):
            input = i
            output = o
        case .none:
            inputClosed = true
        case .pseudoTerminal:
            var path = [CChar](repeating: 0, count: 256)
            let master = try LinuxSyscalls.check(unsafe umk_open_pty(&path, UInt64(path.count)), "posix_openpt")
            name = String(decoding: path.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            input = master
            output = master
            owned = [master]
        case .unixSocket(let path):
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw HostError(call: "socket", errno: errno) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
                Glibc.close(fd)
                throw HostError(call: "bind(\(path)): path too long", errno: ENAMETOOLONG)
            }
            _ = unsafe unlink(path)
            // SAFETY: sun_path is a fixed C array of 108 bytes; the path fits (checked).
            unsafe withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, b) in bytes.enumerated() { unsafe raw[i] = b }
                unsafe raw[bytes.count] = 0
            }
            let bound = unsafe withUnsafePointer(to: &address) {
                unsafe $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    unsafe bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard bound == 0, listen(fd, 1) == 0 else {
                let e = errno
                Glibc.close(fd)
                throw HostError(call: "bind/listen(\(path))", errno: e)
            }
            name = path
            listener = fd
            input = fd   // readable when a client connects
            owned = [fd]
        }
    }

    /// Accepts the socket console's client if one is waiting; true if the console changed.
    mutating func acceptClient() -> Bool {
        guard listener >= 0 else { return false }
        let client = umk_accept(listener)
        guard client >= 0 else { return false }
        // The listener stays open (and owned) until the console closes: its descriptor
        // number must not be reused while the interrupt layer may still name it.
        listener = -1
        owned.append(client)
        input = client
        output = client
        return true
    }

    /// Reads what is available without blocking; nil at end of input.
    mutating func readAvailable() -> [UInt8]? {
        guard input >= 0, !inputClosed else { return [] }
        if listener >= 0 {
            _ = acceptClient()
            if listener >= 0 { return [] }
        }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let n = unsafe buffer.withUnsafeMutableBytes { unsafe read(input, $0.baseAddress, $0.count) }
            if n > 0 {
                result += buffer[0..<n]
                if n < buffer.count { break }
            } else if n == 0 {
                inputClosed = true
                return result.isEmpty ? nil : result
            } else {
                if errno == EINTR { continue }
                if errno != EAGAIN && errno != EWOULDBLOCK { inputClosed = true }
                break
            }
        }
        return result
    }

    /// Writes transmitted bytes (a console that went away drops them).
    func write(_ bytes: [UInt8]) {
        guard output >= 0 else { return }
        Self.writeAll(bytes, to: output)
    }

    /// Writes one line of text to `fd` (a recording).
    func writeLine(_ line: String, to fd: Int32) {
        Self.writeAll(Array((line + "\n").utf8), to: fd)
    }

    /// Writes all of `bytes` to `fd`, waiting while a non-blocking descriptor is full; a
    /// socket peer that went away must not end the process with SIGPIPE.
    static func writeAll(_ bytes: [UInt8], to fd: Int32) {
        var offset = 0
        while offset < bytes.count {
            var n = unsafe bytes.withUnsafeBytes {
                unsafe send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n < 0 && errno == ENOTSOCK {
                n = unsafe bytes.withUnsafeBytes { unsafe Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            }
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                var fds = [pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)]
                if unsafe poll(&fds, 1, 1000) <= 0 { return }
            } else {
                return
            }
        }
    }

    /// Closes what this console opened.
    mutating func close() {
        for fd in owned { Glibc.close(fd) }
        owned = []
        input = -1
        output = -1
        listener = -1
    }
}
