import CZts

/// A UDP socket bound to a local address and port.
public final class UDPSocket: Sendable {
    public let node: Node
    public let localPort: UInt16
    let socket: Socket

    /// Binds to `host` (a numeric address of the node, or "0.0.0.0" / "::")
    /// and `port` (0 picks one: read `localPort`).
    public init(node: Node, host: String, port: UInt16) throws {
        (socket, localPort) = try Socket.bound(node: node, host: host, port: port, type: sockDgram)
        self.node = node
    }

    /// Sends one datagram to `host` (numeric, or a name the node resolves).
    public func send(_ bytes: [UInt8], to host: String, port: UInt16) async throws {
        let remote = try await SocketAddress.resolve(host, port: port, on: node)
        _ = try await socket.io("zts_sendto", waitingFor: pollOut) { fd in
            try bytes.withUnsafeBytes { data in
                try remote.withSockaddr { addr, len in
                    try nonBlocking(zts_sendto(fd, data.baseAddress, data.count, 0, addr, len), "zts_sendto")
                }
            }
        }
    }

    /// The next datagram (cut to `maxLength`) and who sent it.
    public func receive(maxLength: Int) async throws -> (bytes: [UInt8], host: String, port: UInt16) {
        precondition(maxLength >= 0, "maxLength must not be negative")
        return try await socket.io("zts_recvfrom", waitingFor: pollIn) { fd in
            var from = SocketAddress()
            var n = -1
            let bytes = [UInt8](unsafeUninitializedCapacity: maxLength) { buf, count in
                from.fill { addr, len in n = zts_recvfrom(fd, buf.baseAddress, maxLength, 0, addr, len) }
                count = max(n, 0)
            }
            return try nonBlocking(n, "zts_recvfrom").map { _ in (bytes, from.host, from.port) }
        }
    }

    /// Closes the socket. Pending calls end with ZtsError(.EBADF).
    public func close() {
        socket.close()
    }
}
