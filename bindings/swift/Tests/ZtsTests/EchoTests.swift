import XCTest
import Zts

final class EchoTests: XCTestCase {
    /// 1 MiB through an echo server comes back whole and in order.
    func testEchoOneMebibyte() async throws {
        let nodes = try nodePair("mem:swift-echo")
        let payload = pseudoRandomBytes(1 << 20)
        let listener = try TCPListener(node: nodes.a, host: "10.9.0.1", port: 7)
        XCTAssertEqual(listener.localPort, 7)

        let echoed = try await within(30, "the 1 MiB echo") {
            try await echoThrough(listener, from: nodes.b, host: "10.9.0.1", port: 7, payload) { client in
                XCTAssertEqual(client.remoteHost, "10.9.0.1")
                XCTAssertEqual(client.remotePort, 7)
            }
        }
        listener.close()
        XCTAssertEqual(echoed.count, payload.count)
        XCTAssertEqual(SHA256.hex(echoed), SHA256.hex(payload))
    }

    /// An accepted connection knows its peer; `for try await` over a
    /// listener ends when the listener is closed.
    func testListenerIterationEndsOnClose() async throws {
        let nodes = try nodePair("mem:swift-iterate")
        let listener = try TCPListener(node: nodes.a, host: "0.0.0.0", port: 0)
        let accepted = try await within(10, "three accepts") {
            async let clients = withThrowingTaskGroup(of: TCPConnection.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        try await TCPConnection.connect(node: nodes.b, host: "10.9.0.1", port: listener.localPort)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            var peers: [String] = []
            for try await connection in listener {
                peers.append("\(connection.remoteHost) \(connection.remotePort != 0)")
                if peers.count == 3 { listener.close() }
            }
            _ = try await clients
            return peers
        }
        XCTAssertEqual(accepted, Array(repeating: "10.9.0.2 true", count: 3))
    }

    /// Dropping the last reference to a connection closes it: the peer
    /// reads the end of the stream.
    func testDeinitClosesTheConnection() async throws {
        let nodes = try nodePair("mem:swift-deinit")
        try await within(10, "the end of stream after deinit") {
            var pair: (server: TCPConnection, client: TCPConnection)? = try await connectedPair(nodes)
            let server = pair!.server
            try await pair!.client.write([1, 2, 3])
            pair = nil
            let bytes = try await readAll(server)
            XCTAssertEqual(bytes, [1, 2, 3])
        }
    }
}
