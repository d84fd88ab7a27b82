import CZts

/// A listening TCP socket. `for try await connection in listener` accepts
/// connections until the listener is closed (the loop then ends) or the
/// task is cancelled (CancellationError).
public final class TCPListener: AsyncSequence, Sendable {
    public typealias Element = TCPConnection

    public let node: Node
    public let localPort: UInt16
    let socket: Socket

    /// Listens on `host` (a numeric address of the node, or "0.0.0.0" /
    /// "::" for all) and `port` (0 picks one: read `localPort`).
    public init(node: Node, host: String, port: UInt16, backlog: Int32 = 128) throws {
        (socket, localPort) = try Socket.bound(node: node, host: host, port: port, type: sockStream) {
            try check(zts_listen($0, backlog), "zts_listen")
        }
        self.node = node
    }

    /// The next connection, waiting for one as long as it takes.
    public func accept() async throws -> TCPConnection {
        let (fd, remote) = try await socket.io("zts_accept", waitingFor: pollIn) { fd -> (Int32, SocketAddress)? in
            var remote = SocketAddress()
            var accepted: Int32 = -1
            remote.fill { addr, len in accepted = zts_accept(fd, addr, len) }
            return try nonBlocking(accepted, "zts_accept").map { ($0, remote) }
        }
        return TCPConnection(node: node, socket: try Socket(fd: fd, node: node), remote: remote)
    }

    /// Stops listening. Pending accepts end with ZtsError(.EBADF) and
    /// iteration ends; closing again does nothing.
    public func close() {
        socket.close()
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let listener: TCPListener

        public mutating func next() async throws -> TCPConnection? {
            do {
                return try await listener.accept()
            } catch let error as ZtsError where error.code == .EBADF && listener.socket.isClosed {
                return nil
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(listener: self)
    }
}
