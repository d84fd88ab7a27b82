import Dispatch
import XCTest
@testable import Zts

/// A pending read or accept ends promptly when its task is cancelled or its
/// socket is closed from another task.
final class WakeTests: XCTestCase {
    /// Waits (bounded) until a call on `socket` is parked in the reactor,
    /// so the wake-up below is tested on a call that really waits.
    private func parked(_ socket: Socket) async throws {
        let reactor = try Reactor.shared()
        try await within(5, "a call to park") {
            while reactor.parkedWaiters(on: socket) == 0 { await Task.yield() }
        }
    }

    func testCancelWakesPendingRead() async throws {
        let nodes = try nodePair("mem:swift-cancel-read")
        let (server, client) = try await within(10, "a connection") { try await connectedPair(nodes) }
        let reading = Task { try await client.read(maxLength: 100) }
        try await parked(client.socket)
        let start = DispatchTime.now()
        reading.cancel()
        let result = await reading.result
        let ms = elapsedMilliseconds(since: start)
        print("cancel woke a pending read in \(String(format: "%.3f", ms)) ms")
        XCTAssertThrowsError(try result.get()) { XCTAssertTrue($0 is CancellationError, "\($0)") }
        XCTAssertLessThan(ms, 2000)
        // The connection still works after a cancelled read.
        try await server.write([42])
        let bytes = try await within(5, "a read after the cancelled one") { try await client.read(maxLength: 100) }
        XCTAssertEqual(bytes, [42])
        client.close()
        server.close()
    }

    func testCloseWakesPendingRead() async throws {
        let nodes = try nodePair("mem:swift-close-read")
        let (server, client) = try await within(10, "a connection") { try await connectedPair(nodes) }
        let reading = Task { try await client.read(maxLength: 100) }
        try await parked(client.socket)
        let start = DispatchTime.now()
        await Task.detached { client.close() }.value
        let result = await reading.result
        let ms = elapsedMilliseconds(since: start)
        print("close from another task woke a pending read in \(String(format: "%.3f", ms)) ms")
        XCTAssertThrowsError(try result.get()) {
            XCTAssertEqual($0 as? ZtsError, ZtsError(.EBADF, call: "zts_read"))
        }
        XCTAssertLessThan(ms, 2000)
        server.close()
    }

    func testCancelAndCloseWakePendingAccept() async throws {
        let nodes = try nodePair("mem:swift-wake-accept")
        let listener = try TCPListener(node: nodes.a, host: "10.9.0.1", port: 0)
        let accepting = Task { try await listener.accept() }
        try await parked(listener.socket)
        var start = DispatchTime.now()
        accepting.cancel()
        let cancelled = await accepting.result
        print("cancel woke a pending accept in \(String(format: "%.3f", elapsedMilliseconds(since: start))) ms")
        XCTAssertThrowsError(try cancelled.get()) { XCTAssertTrue($0 is CancellationError, "\($0)") }

        let again = Task { try await listener.accept() }
        try await parked(listener.socket)
        start = DispatchTime.now()
        await Task.detached { listener.close() }.value
        let closed = await again.result
        let ms = elapsedMilliseconds(since: start)
        print("close from another task woke a pending accept in \(String(format: "%.3f", ms)) ms")
        XCTAssertThrowsError(try closed.get()) {
            XCTAssertEqual($0 as? ZtsError, ZtsError(.EBADF, call: "zts_accept"))
        }
        XCTAssertLessThan(ms, 2000)
    }

    /// Nobody awaits a socket that has unread data: the reactor must not
    /// keep it in the watch (the level-triggered fd would spin the source).
    func testReadySocketNobodyAwaitsIsNotWatched() async throws {
        let nodes = try nodePair("mem:swift-unwatched")
        let (server, client) = try await within(10, "a connection") { try await connectedPair(nodes) }
        let reading = Task { try await client.read(maxLength: 100) }
        try await parked(client.socket)
        try await server.write([7, 7])
        let first = try await within(5, "the read") { try await reading.value }
        XCTAssertEqual(first, [7, 7])
        try await server.write([8])
        let reactor = try Reactor.shared()
        XCTAssertEqual(reactor.parkedWaiters(on: client.socket), 0)
        XCTAssertFalse(reactor.isWatched(client.socket))
        let second = try await within(5, "the second read") { try await client.read(maxLength: 100) }
        XCTAssertEqual(second, [8])
        client.close()
        server.close()
    }
}
