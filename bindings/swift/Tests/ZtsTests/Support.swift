import Foundation
import XCTest
import Zts

struct Timeout: Error, CustomStringConvertible {
    let what: String
    let seconds: Double
    var description: String { "\(what) took over \(seconds) s" }
}

/// Runs `body`, failing with Timeout if it has not finished in `seconds`:
/// every wait in the tests is bounded, so a bug fails instead of hanging.
func within<T: Sendable>(
    _ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            return nil
        }
        defer { group.cancelAll() }
        guard case .some(.some(let value)) = try await group.next() else {
            throw Timeout(what: what, seconds: seconds)
        }
        return value
    }
}

/// Two started nodes on one network: `a` is 10.9.0.1, `b` 10.9.0.2.
func nodePair(_ uri: String) throws -> (a: Node, b: Node) {
    let a = try Node()
    try a.addAddress("10.9.0.1/24", on: try a.join(uri))
    try a.start()
    let b = try Node()
    try b.addAddress("10.9.0.2/24", on: try b.join(uri))
    try b.start()
    return (a, b)
}

/// A connected pair: `server` accepted on node `a`, `client` from node `b`.
func connectedPair(_ nodes: (a: Node, b: Node)) async throws -> (server: TCPConnection, client: TCPConnection) {
    let listener = try TCPListener(node: nodes.a, host: "10.9.0.1", port: 0)
    defer { listener.close() }
    async let accepted = listener.accept()
    let client = try await TCPConnection.connect(node: nodes.b, host: "10.9.0.1", port: listener.localPort)
    return (try await accepted, client)
}

/// Reads until the end of the stream.
func readAll(_ connection: TCPConnection, chunk: Int = 64 * 1024) async throws -> [UInt8] {
    var all: [UInt8] = []
    while true {
        let bytes = try await connection.read(maxLength: chunk)
        if bytes.isEmpty { return all }
        all += bytes
    }
}

/// Echoes what the connection sends until its end of stream, then closes.
/// Sends `message` from `node` to the echo behind `listener` in writes of
/// at most `piece` bytes, reading the echo meanwhile (it cannot hold much
/// in its buffers), and returns what came back; `connected` sees the
/// client first.
func echoThrough(
    _ listener: TCPListener, from node: Node, host: String, port: UInt16,
    _ message: [UInt8], piece: Int = 100_000,
    connected: (TCPConnection) -> Void = { _ in }
) async throws -> [UInt8] {
    async let served: Void = echo(try await listener.accept())
    let client = try await TCPConnection.connect(node: node, host: host, port: port)
    connected(client)
    async let received = readAll(client)
    for start in stride(from: 0, to: message.count, by: piece) {
        try await client.write(Array(message[start..<min(start + piece, message.count)]))
    }
    try client.shutdownWrite()
    let bytes = try await received
    try await served
    client.close()
    return bytes
}

func echo(_ connection: TCPConnection) async throws {
    defer { connection.close() }
    while true {
        let bytes = try await connection.read(maxLength: 64 * 1024)
        if bytes.isEmpty { return }
        try await connection.write(bytes)
    }
}

/// Deterministic bytes that are not a repeating pattern (xorshift).
func pseudoRandomBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var x = seed
    return [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
        for i in 0..<count {
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
            out[i] = UInt8(truncatingIfNeeded: x)
        }
        initialized = count
    }
}

/// The process's thread count: the entries of /proc/self/task.
func threadCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? -1
}

func elapsedMilliseconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
}
