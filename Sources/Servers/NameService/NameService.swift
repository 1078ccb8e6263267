// SPDX-License-Identifier: Apache-2.0
//
// The name service: tasks register an endpoint under a name, others look it up and get
// the cap back by capability transfer (the reply carries it), and the owner unregisters
// it. A name belongs to the badge it was registered with (the registering task's client
// end of the name service channel): only that badge may unregister it. Requests carry
// the name as bytes: MR0 = length, MR1... = bytes, 8 per word.

import UMKGuest

/// The name service's protocol and program.
public enum NameService {
    /// Request labels.
    public enum Request: UInt64, Sendable {
        /// The name, and one extra cap: the endpoint to register.
        case register = 1
        /// The name. Reply: the cap as an extra cap, MR0 = the owner's badge.
        case lookup = 2
        /// The name (registered with the caller's badge).
        case unregister = 3
    }

    /// Reply labels: 0 for success, else the reason.
    public enum Status: UInt64, Error, Sendable, CustomStringConvertible {
        case ok = 0
        case duplicate = 1
        case unknown = 2
        case notOwner = 3
        case noCap = 4
        case full = 5
        case badRequest = 6

        public var description: String {
            switch self {
            case .ok: "ok"
            case .duplicate: "the name is already registered"
            case .unknown: "no such name"
            case .notOwner: "the name belongs to another task"
            case .noCap: "a registration needs exactly one endpoint cap"
            case .full: "the name service has no room left"
            case .badRequest: "not a name service request"
            }
        }
    }

    /// The longest name (bytes).
    public static let maxName = 128

    struct Entry {
        var owner: UInt64
        var slot: CPtr
    }

    /// The `names` program: serves its first server channel.
    public static let main: Program = { info in
        guard let endpoint = info.caps.first(where: { $0.kind == .endpointServer })?.id else {
            debugPrint("\(info.name): the names program needs a server channel\n")
            return 1
        }
        var free = Array((info.freeSlots.start..<info.freeSlots.end).reversed())
        let root = TaskLayout.cnodeSlot, depth = info.cnodeBits
        var names: [String: Entry] = [:]
        var receive = free.popLast()!
        IPCBuffer.setCapReceivePath(root: root, index: receive, depth: depth)
        var (msg, badge) = seL4.recv(endpoint)
        while true {
            let name = Self.name(msg)
            var status = Status.badRequest
            var reply = MessageInfo(label: 0, length: 0)
            switch Request(rawValue: msg.label) {
            case .register?:
                let gotCap = msg.extraCaps == 1 && msg.capsUnwrapped == 0
                if name == nil {
                    status = .badRequest
                } else if !gotCap {
                    status = .noCap
                } else if names[name!] != nil {
                    status = .duplicate
                } else if let next = free.popLast() {
                    names[name!] = Entry(owner: badge, slot: receive)
                    receive = next
                    IPCBuffer.setCapReceivePath(root: root, index: receive, depth: depth)
                    status = .ok
                } else {
                    status = .full
                }
                // A cap that was not kept leaves the receive slot for the next request.
                if gotCap && status != .ok { _ = CNode.delete(root, index: receive, depth: depth) }
            case .lookup?:
                if let name, let entry = names[name] {
                    IPCBuffer.setCap(0, entry.slot)
                    IPCBuffer.setMR(0, entry.owner)
                    reply = MessageInfo(label: 0, extraCaps: 1, length: 1)
                    status = .ok
                } else {
                    status = name == nil ? .badRequest : .unknown
                }
            case .unregister?:
                if let name, let entry = names[name] {
                    if entry.owner == badge {
                        _ = CNode.delete(root, index: entry.slot, depth: depth)
                        free.append(entry.slot)
                        names[name] = nil
                        status = .ok
                    } else {
                        status = .notOwner
                    }
                } else {
                    status = name == nil ? .badRequest : .unknown
                }
            case nil:
                if msg.extraCaps > 0 && msg.capsUnwrapped == 0 { _ = CNode.delete(root, index: receive, depth: depth) }
            }
            if status != .ok { reply = MessageInfo(label: status.rawValue, length: 0) }
            (msg, badge) = seL4.replyRecv(endpoint, reply)
        }
    }

    /// The name a request carries, if it is well formed.
    static func name(_ msg: MessageInfo) -> String? {
        guard msg.length >= 1 else { return nil }
        let count = IPCBuffer.getMR(0)
        guard count >= 1, count <= UInt64(maxName), (count + 7) / 8 <= msg.length - 1 else { return nil }
        return String(decoding: IPCBuffer.getBytes(Int(count), from: 1), as: UTF8.self)
    }
}

/// A client's side of the name service.
public enum NameClient {
    static func put(_ name: String) -> UInt64? {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= NameService.maxName else { return nil }
        IPCBuffer.setMR(0, UInt64(bytes.count))
        return UInt64(1 + IPCBuffer.setBytes(bytes, from: 1))
    }

    /// Registers `endpoint` as `name` with the name service at `service`.
    public static func register(_ service: CPtr, _ name: String, endpoint: CPtr) -> NameService.Status {
        guard let length = put(name) else { return .badRequest }
        IPCBuffer.setCap(0, endpoint)
        let reply = seL4.call(service, MessageInfo(label: NameService.Request.register.rawValue, extraCaps: 1, length: length))
        return NameService.Status(rawValue: reply.label) ?? .badRequest
    }

    /// Looks `name` up; the endpoint cap arrives in slot `index` of the CNode `root` (at
    /// `depth`), which must be empty. Returns the owner's badge.
    public static func lookup(_ service: CPtr, _ name: String, root: CPtr, index: CPtr,
                              depth: UInt64) -> Result<UInt64, NameService.Status> {
        guard let length = put(name) else { return .failure(.badRequest) }
        IPCBuffer.setCapReceivePath(root: root, index: index, depth: depth)
        let reply = seL4.call(service, MessageInfo(label: NameService.Request.lookup.rawValue, length: length))
        guard reply.label == 0 else { return .failure(NameService.Status(rawValue: reply.label) ?? .badRequest) }
        guard reply.extraCaps == 1 else { return .failure(.noCap) }
        return .success(IPCBuffer.getMR(0))
    }

    /// Removes `name` (it must have been registered through the same badge).
    public static func unregister(_ service: CPtr, _ name: String) -> NameService.Status {
        guard let length = put(name) else { return .badRequest }
        let reply = seL4.call(service, MessageInfo(label: NameService.Request.unregister.rawValue, length: length))
        return NameService.Status(rawValue: reply.label) ?? .badRequest
    }
}
