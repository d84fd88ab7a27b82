import XCTest
import Zts

final class VXLANTests: XCTestCase {
    /// Two nodes joined by the VXLAN overlay over 127.0.0.1 (real UDP
    /// through the kernel's loopback), a TCP exchange between them.
    func testConnectionOverTheOverlay() async throws {
        let a = try Node()
        // Port 0 picks a free UDP port; `learn=1` admits b, whose port is
        // not known yet.
        let netA = try a.join("vxlan://127.0.0.1:0?vni=4242&learn=1")
        let portA = try a.overlayPort(of: netA)
        XCTAssertNotEqual(portA, 0)
        try a.addAddress("10.42.0.1/24", on: netA)
        try a.start()

        let b = try Node()
        let netB = try b.join("vxlan://127.0.0.1:0?vni=4242&peer=127.0.0.1:\(portA)")
        try b.addAddress("10.42.0.2/24", on: netB)
        try b.start()

        let listener = try TCPListener(node: a, host: "10.42.0.1", port: 4000)
        let message = pseudoRandomBytes(200_000)
        let echoed = try await within(30, "an echo over VXLAN") {
            try await echoThrough(listener, from: b, host: "10.42.0.1", port: 4000, message,
                                  piece: message.count)
        }
        listener.close()
        XCTAssertEqual(echoed.count, message.count)
        XCTAssertEqual(SHA256.hex(echoed), SHA256.hex(message))
    }
}
