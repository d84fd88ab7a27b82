import CZts

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A TCP connection. Reads and writes suspend the task, not a thread;
/// cancelling the task ends a pending one with CancellationError, and
/// close() from another task ends it with ZtsError(.EBADF).
public final class TCPConnection: Sendable {
    public let node: Node
    public let remoteHost: String
    public let remotePort: UInt16
    let socket: Socket

    init(node: Node, socket: Socket, remote: SocketAddress) {
        self.node = node
        self.socket = socket
        self.remoteHost = remote.host
        self.remotePort = remote.port
    }

    /// Connects to `host` (a numeric address, or a name the node resolves)
    /// on `port`. Refused: ZtsError(.ECONNREFUSED).
    public static func connect(node: Node, host: String, port: UInt16) async throws -> TCPConnection {
        let remote = try await SocketAddress.resolve(host, port: port, on: node)
        let socket = try Socket(node: node, family: remote.family, type: sockStream)
        do {
            let done = try socket.use("zts_connect") { fd in
                try remote.withSockaddr { addr, len in
                    if zts_connect(fd, addr, len) == 0 { return true }
                    if zts_errno() == EINPROGRESS { return false }
                    throw ZtsError.last("zts_connect")
                }
            }
            if !done {
                try await socket.io("zts_connect", waitingFor: pollOut) { fd in
                    try connectFinished(fd) ? () : nil
                }
            }
        } catch {
            socket.close()
            throw error
        }
        return TCPConnection(node: node, socket: socket, remote: remote)
    }

    /// Whether a non-blocking connect ended; throws how it failed.
    private static func connectFinished(_ fd: Int32) throws -> Bool {
        var p = pollfd(fd: fd, events: pollOut, revents: 0)
        try check(zts_poll(&p, 1, 0), "zts_poll")
        if p.revents == 0 { return false }
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        try check(zts_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), "zts_getsockopt")
        if err != 0 {
            throw ZtsError(POSIXErrorCode(rawValue: err) ?? .EIO, call: "zts_connect")
        }
        if p.revents & pollOut == 0 {
            // Hung up with no error recorded: still no connection.
            throw ZtsError(.ECONNREFUSED, call: "zts_connect")
        }
        return true
    }

    /// Up to `maxLength` bytes, as soon as any are there; empty at the end
    /// of the stream.
    public func read(maxLength: Int) async throws -> [UInt8] {
        precondition(maxLength >= 0, "maxLength must not be negative")
        if maxLength == 0 { return [] }
        return try await socket.io("zts_read", waitingFor: pollIn) { fd in
            var n = -1
            let bytes = [UInt8](unsafeUninitializedCapacity: maxLength) { buf, count in
                n = zts_read(fd, buf.baseAddress, maxLength)
                count = max(n, 0)
            }
            return try nonBlocking(n, "zts_read").map { _ in bytes }
        }
    }

    /// Writes all of `bytes`, waiting for room as needed. When it throws
    /// (cancelled, say), part of the bytes may have been sent.
    public func write(_ bytes: [UInt8]) async throws {
        var offset = 0
        while offset < bytes.count {
            offset += try await socket.io("zts_write", waitingFor: pollOut) { fd in
                try bytes.withUnsafeBytes { all in
                    try nonBlocking(zts_write(fd, all.baseAddress! + offset, all.count - offset), "zts_write")
                }
            }
        }
    }

    /// Ends the sending side: the peer reads the end of stream once the
    /// bytes written so far have arrived. Reading goes on.
    public func shutdownWrite() throws {
        try socket.use("zts_shutdown") { try check(zts_shutdown($0, shutWrite), "zts_shutdown") }
    }

    /// The local port of the connection.
    public var localPort: UInt16 {
        (try? socket.localAddress().port) ?? 0
    }

    /// Closes the connection (queued bytes are still delivered). Pending
    /// calls end with ZtsError(.EBADF); closing again does nothing.
    public func close() {
        socket.close()
    }
}
