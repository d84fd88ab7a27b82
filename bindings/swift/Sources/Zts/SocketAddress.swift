import CZts
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address and port in the system's sockaddr layout.
struct SocketAddress: Sendable {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)

    var family: Int32 { Int32(storage.ss_family) }

    /// A numeric IPv4 or IPv6 address; nil for anything else.
    init?(numeric host: String, port: UInt16) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr = v4
            self.init(sin)
        } else if inet_pton(AF_INET6, host, &v6) == 1 {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            sin6.sin6_addr = v6
            self.init(sin6)
        } else {
            return nil
        }
    }

    init() {}

    private init<T>(_ address: T) {
        withUnsafeMutableBytes(of: &storage) { out in
            withUnsafeBytes(of: address) { out.copyMemory(from: $0) }
        }
        length = socklen_t(MemoryLayout<T>.size)
    }

    /// A numeric host, else EINVAL: for binding, which takes no names.
    static func local(_ host: String, port: UInt16, call: String) throws -> SocketAddress {
        guard let address = SocketAddress(numeric: host, port: port) else {
            throw ZtsError(.EINVAL, call: call, message: "not a numeric IP address: \(host)")
        }
        return address
    }

    /// A numeric host at once; a name through the node's resolver
    /// (zts_node_getaddrinfo, which may ask DNS) off the task's thread.
    static func resolve(_ host: String, port: UInt16, on node: Node) async throws -> SocketAddress {
        if let address = SocketAddress(numeric: host, port: port) { return address }
        let nodeID = node.id
        return try await withCheckedThrowingContinuation { c in
            DispatchQueue.global().async {
                c.resume(with: Result { try lookup(host, port: port, node: nodeID) })
            }
        }
    }

    private static func lookup(_ host: String, port: UInt16, node: Int32) throws -> SocketAddress {
        var hints = addrinfo()
        hints.ai_socktype = sockStream
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = zts_node_getaddrinfo(node, host, String(port), &hints, &list)
        // Freed on every path, an answer without an address too (NULL is fine).
        defer { zts_freeaddrinfo(list) }
        guard rc == 0, let first = list, let ai = first.pointee.ai_addr else {
            let text = String(cString: zts_gai_strerror(rc))
            throw ZtsError(.EHOSTUNREACH, call: "zts_node_getaddrinfo", message: "\(host): \(text)")
        }
        var address = SocketAddress()
        let n = min(Int(first.pointee.ai_addrlen), MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutableBytes(of: &address.storage) { out in
            out.copyMemory(from: UnsafeRawBufferPointer(start: ai, count: n))
        }
        address.length = socklen_t(n)
        return address
    }

    /// Lends the address to a call taking (const struct sockaddr *, socklen_t).
    @discardableResult
    func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> T) rethrows -> T {
        try withUnsafeBytes(of: storage) { raw in
            try body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    /// Lets a call (struct sockaddr *, socklen_t *) write the address.
    mutating func fill(_ body: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) throws -> Void) rethrows {
        length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        var len = length
        try withUnsafeMutableBytes(of: &storage) { raw in
            try body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &len)
        }
        length = len
    }

    var port: UInt16 {
        withUnsafeBytes(of: storage) { raw in
            switch family {
            case AF_INET: UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port)
            case AF_INET6: UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port)
            default: 0
            }
        }
    }

    /// The address in text ("10.0.0.1", "fd00::1"); empty when unknown.
    var host: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok: Bool = withUnsafeBytes(of: storage) { raw in
            switch family {
            case AF_INET:
                var a = raw.load(as: sockaddr_in.self).sin_addr
                return inet_ntop(AF_INET, &a, &text, socklen_t(text.count)) != nil
            case AF_INET6:
                var a = raw.load(as: sockaddr_in6.self).sin6_addr
                return inet_ntop(AF_INET6, &a, &text, socklen_t(text.count)) != nil
            default:
                return false
            }
        }
        return ok ? text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } : ""
    }
}
