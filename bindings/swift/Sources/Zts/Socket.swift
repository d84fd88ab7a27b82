import CZts

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A non-blocking zts fd shared by the public socket types.
///
/// Every call on the fd holds a use, and close() marks the socket closed
/// at once (waking its waiters) but closes the fd only when no call holds
/// it: a closed fd number may be handed to a new socket, so a call must
/// never reach the fd after its close.
final class Socket: @unchecked Sendable {
    let fd: Int32
    private let reactor: Reactor
    /// Released only after deinit closed the fd, so a socket is closed
    /// (not reset by zts_node_free) when the last references go together.
    private let node: Node
    /// Guarded by reactor.lock.
    private var closed = false
    private var uses = 0

    /// Takes ownership of `fd`, a socket of `node`, and makes it
    /// non-blocking; closes it on failure.
    init(fd: Int32, node: Node) throws {
        self.node = node
        do {
            reactor = try Reactor.shared()
            try check(zts_fcntl(fd, F_SETFL, O_NONBLOCK), "zts_fcntl")
        } catch {
            zts_close(fd)
            throw error
        }
        self.fd = fd
    }

    /// A new socket on `node`.
    convenience init(node: Node, family: Int32, type: Int32) throws {
        try self.init(fd: check(zts_node_socket(node.id, family, type, 0), "zts_node_socket"), node: node)
    }

    deinit { close() }

    /// A socket of `type` bound to `host`:`port`, after `then` (listen,
    /// say) ran on its fd, and the port it got; closed again on failure.
    static func bound(
        node: Node, host: String, port: UInt16, type: Int32,
        then: (Int32) throws -> Void = { _ in }
    ) throws -> (Socket, UInt16) {
        let local = try SocketAddress.local(host, port: port, call: "zts_bind")
        let socket = try Socket(node: node, family: local.family, type: type)
        do {
            try socket.use("zts_bind") { fd in
                try local.withSockaddr { try check(zts_bind(fd, $0, $1), "zts_bind") }
                try then(fd)
            }
            return (socket, try socket.localAddress().port)
        } catch {
            socket.close()
            throw error
        }
    }

    var closedLocked: Bool { closed }

    var isClosed: Bool { reactor.lock.withLock { closed } }

    /// Runs `body` on the fd once; EBADF (for `call`) when closed.
    @discardableResult
    func use<T>(_ call: String, _ body: (Int32) throws -> T) throws -> T {
        try reactor.lock.withLock {
            if closed { throw ZtsError(.EBADF, call: call) }
            uses += 1
        }
        defer { release() }
        return try body(fd)
    }

    /// Runs `attempt` (a non-blocking call that returns nil when it would
    /// block) until it gives a result, waiting for `events` in between.
    func io<T>(_ call: String, waitingFor events: Int16, _ attempt: (Int32) throws -> T?) async throws -> T {
        while true {
            if let result = try use(call, attempt) { return result }
            try await reactor.wait(for: self, events: events)
        }
    }

    private func release() {
        let last = reactor.lock.withLock {
            uses -= 1
            return closed && uses == 0
        }
        if last { zts_close(fd) }
    }

    /// Closes the socket: pending and later calls fail with EBADF.
    /// Closing again does nothing.
    func close() {
        let (woken, last) = reactor.lock.withLock {
            if closed { return ([CheckedContinuation<Void, any Error>](), false) }
            closed = true
            return (reactor.takeWaitersLocked(fd), uses == 0)
        }
        // Woken waiters retry and meet the EBADF themselves.
        for c in woken { c.resume() }
        if last { zts_close(fd) }
    }

    /// The socket's local address.
    func localAddress() throws -> SocketAddress {
        try use("zts_getsockname") { fd in
            var address = SocketAddress()
            try address.fill { try check(zts_getsockname(fd, $0, $1), "zts_getsockname") }
            return address
        }
    }
}
