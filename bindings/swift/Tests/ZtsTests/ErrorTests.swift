import XCTest
@testable import Zts

final class ErrorTests: XCTestCase {
    func testRefusedConnect() async throws {
        let nodes = try nodePair("mem:swift-refused")
        do {
            let connection = try await within(10, "a refused connect") {
                try await TCPConnection.connect(node: nodes.b, host: "10.9.0.1", port: 9)
            }
            XCTFail("connected to a port nobody listens on: \(connection.remotePort)")
        } catch let error as ZtsError {
            XCTAssertEqual(error.code, .ECONNREFUSED)
            XCTAssertEqual(error.call, "zts_connect")
        }
    }

    func testReadAfterCloseIsEBADF() async throws {
        let nodes = try nodePair("mem:swift-ebadf")
        let (server, client) = try await within(10, "a connection") { try await connectedPair(nodes) }
        client.close()
        client.close()
        do {
            _ = try await client.read(maxLength: 10)
            XCTFail("read after close succeeded")
        } catch let error as ZtsError {
            XCTAssertEqual(error, ZtsError(.EBADF, call: "zts_read"))
        }
        server.close()
    }

    func testBadArgumentsThrow() throws {
        let node = try Node()
        XCTAssertThrowsError(try node.join("nonsense:x")) { error in
            XCTAssertEqual((error as? ZtsError)?.code, .EPROTONOSUPPORT)
        }
        let net = try node.join("mem:swift-bad-args")
        XCTAssertThrowsError(try node.addAddress("10.0.0.300/24", on: net)) { error in
            XCTAssertEqual((error as? ZtsError)?.call, "zts_addr_add")
        }
        try node.start()
        XCTAssertThrowsError(try TCPListener(node: node, host: "not-an-address", port: 1)) { error in
            XCTAssertEqual((error as? ZtsError)?.code, .EINVAL)
        }
    }
}

final class NodeStopTests: XCTestCase {
    /// Stopping the node ends a pending read on it with ENETDOWN.
    func testStopEndsPendingRead() async throws {
        let nodes = try nodePair("mem:swift-stop")
        let (server, client) = try await within(10, "a connection") { try await connectedPair(nodes) }
        let reading = Task { try await client.read(maxLength: 100) }
        try await within(5, "a call to park") {
            while try Reactor.shared().parkedWaiters(on: client.socket) == 0 { await Task.yield() }
        }
        try nodes.b.stop()
        let result = try await within(5, "the read to end") { await reading.result }
        XCTAssertThrowsError(try result.get()) {
            XCTAssertEqual(($0 as? ZtsError)?.code, .ENETDOWN, "\($0)")
        }
        server.close()
        client.close()
    }
}
