import XCTest

final class SHA256Tests: XCTestCase {
    func testKnownVectors() {
        XCTAssertEqual(SHA256.hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testUpdatesInPiecesMatchOneUpdate() {
        let bytes = pseudoRandomBytes(1000)
        var sha = SHA256()
        for start in stride(from: 0, to: bytes.count, by: 37) {
            sha.update(Array(bytes[start..<min(start + 37, bytes.count)]))
        }
        XCTAssertEqual(sha.finish(), SHA256.hex(bytes))
    }
}
