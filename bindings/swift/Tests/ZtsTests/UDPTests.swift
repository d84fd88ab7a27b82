import XCTest
import Zts

final class UDPTests: XCTestCase {
    /// A datagram each way between two nodes; each side sees the other's
    /// address and port.
    func testDatagramsBothWays() async throws {
        let nodes = try nodePair("mem:swift-udp")
        let a = try UDPSocket(node: nodes.a, host: "10.9.0.1", port: 5353)
        let b = try UDPSocket(node: nodes.b, host: "0.0.0.0", port: 0)
        XCTAssertEqual(a.localPort, 5353)
        XCTAssertNotEqual(b.localPort, 0)

        try await within(10, "a datagram each way") {
            async let atA = a.receive(maxLength: 2048)
            try await b.send(Array("ping".utf8), to: "10.9.0.1", port: 5353)
            let request = try await atA
            XCTAssertEqual(request.bytes, Array("ping".utf8))
            XCTAssertEqual(request.host, "10.9.0.2")
            XCTAssertEqual(request.port, b.localPort)

            async let atB = b.receive(maxLength: 2048)
            let reply = pseudoRandomBytes(1400)
            try await a.send(reply, to: request.host, port: request.port)
            let answer = try await atB
            XCTAssertEqual(answer.bytes, reply)
            XCTAssertEqual(answer.host, "10.9.0.1")
            XCTAssertEqual(answer.port, 5353)
        }
        a.close()
        b.close()
    }

    /// A datagram longer than maxLength is cut to it.
    func testReceiveCutsToMaxLength() async throws {
        let nodes = try nodePair("mem:swift-udp-cut")
        let a = try UDPSocket(node: nodes.a, host: "10.9.0.1", port: 0)
        let b = try UDPSocket(node: nodes.b, host: "10.9.0.2", port: 0)
        let got = try await within(10, "a datagram") {
            async let received = a.receive(maxLength: 3)
            try await b.send([1, 2, 3, 4, 5], to: "10.9.0.1", port: a.localPort)
            return try await received.bytes
        }
        XCTAssertEqual(got, [1, 2, 3])
    }
}
