// The Swift side of the throughput comparison with examples-c/transfer.c: two
// nodes on a mem: network, one task writes N MiB (128 KiB writes) over
// TCP, another reads (256 KiB reads), comparing each read with what was
// sent, to the end of stream.
// Prints "swift: 256 MiB in 0.300 s, 853 MiB/s".
//
// usage: zts-transfer [MiB]   (default 256)
import Dispatch
import Foundation
import Zts

let writeSize = 128 * 1024
let readSize = 256 * 1024
let mib = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 256 : 256

func node(_ cidr: String) throws -> Node {
    let node = try Node()
    try node.addAddress(cidr, on: try node.join("mem:swift-bench-swift"))
    try node.start()
    return node
}

do {
    let server = try node("10.78.0.1/24")
    let client = try node("10.78.0.2/24")
    let listener = try TCPListener(node: server, host: "10.78.0.1", port: 5001)
    async let accepted = listener.accept()
    let sender = try await TCPConnection.connect(node: client, host: "10.78.0.1", port: 5001)
    let receiver = try await accepted

    let total = mib << 20
    // The same seeded bytes as examples-c/transfer.c, made before the
    // clock starts: whole for checking each read, and as the 128 KiB
    // arrays the writes take (so writing copies nothing more than C does).
    var pattern = [UInt8](repeating: 0, count: total)
    var x: UInt32 = 12345
    for i in 0..<total {
        x = x &* 1_103_515_245 &+ 12345
        pattern[i] = UInt8(truncatingIfNeeded: x >> 24)
    }
    let chunks = stride(from: 0, to: total, by: writeSize).map {
        Array(pattern[$0..<min($0 + writeSize, total)])
    }
    let start = DispatchTime.now()
    let writer = Task {
        for chunk in chunks {
            try await sender.write(chunk)
        }
        sender.close()
    }
    var got = 0
    while true {
        let bytes = try await receiver.read(maxLength: readSize)
        if bytes.isEmpty { break }
        let same = got + bytes.count <= total && pattern.withUnsafeBytes { want in
            bytes.withUnsafeBytes { memcmp($0.baseAddress!, want.baseAddress! + got, bytes.count) == 0 }
        }
        guard same else {
            print("zts-transfer: the bytes at offset \(got) are not what was sent")
            exit(1)
        }
        got += bytes.count
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    try await writer.value
    guard got == total else {
        print("zts-transfer: read \(got) bytes, expected \(total)")
        exit(1)
    }
    print("swift: \(mib) MiB in \(String(format: "%.3f", seconds)) s, \(Int((Double(mib) / seconds).rounded())) MiB/s")
    receiver.close()
    listener.close()
} catch {
    print("zts-transfer: \(error)")
    exit(1)
}
