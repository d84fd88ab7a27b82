import XCTest
import Zts

final class ManyClientsTests: XCTestCase {
    /// 200 clients at once against one listener, each echoing its own
    /// message, while the process keeps under 20 threads: waiting costs
    /// no thread per socket.
    func testTwoHundredConcurrentClients() async throws {
        let clients = 200
        let nodes = try nodePair("mem:swift-many")
        let listener = try TCPListener(node: nodes.a, host: "10.9.0.1", port: 8000, backlog: 256)
        let server = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for try await connection in listener {
                    group.addTask { try await echo(connection) }
                }
                try await group.waitForAll()
            }
        }

        let allConnected = Barrier(parties: clients)
        let threadCounts = try await within(60, "200 clients") {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<clients {
                    group.addTask {
                        let connection = try await TCPConnection.connect(node: nodes.b, host: "10.9.0.1", port: 8000)
                        defer { connection.close() }
                        // All 200 connections are open at once from here on.
                        await allConnected.arrive()
                        let threads = threadCount()
                        let message = Array("client \(i) ".utf8) + pseudoRandomBytes(2000, seed: UInt64(i + 1))
                        try await connection.write(message)
                        try connection.shutdownWrite()
                        let echoed = try await readAll(connection)
                        XCTAssertEqual(echoed, message, "client \(i)")
                        return threads
                    }
                }
                return try await group.reduce(into: [threadCount()]) { $0.append($1) }
            }
        }
        listener.close()
        try await within(10, "the server to finish") { try await server.value }

        let most = threadCounts.max() ?? -1
        print("threads during 200 concurrent clients: at most \(most) (\(threadCounts.count) samples)")
        XCTAssertEqual(threadCounts.count, clients + 1)
        XCTAssertGreaterThan(most, 0)
        XCTAssertLessThan(most, 20)
    }
}

/// Holds every caller of arrive() until `parties` have called it.
actor Barrier {
    private let parties: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []
    private var arrived = 0

    init(parties: Int) {
        self.parties = parties
    }

    func arrive() async {
        arrived += 1
        if arrived >= parties {
            waiting.forEach { $0.resume() }
            waiting = []
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }
}
