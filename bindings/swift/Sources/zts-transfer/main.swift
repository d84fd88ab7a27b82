// The Swift side of the throughput comparison with examples-c/transfer.c: two
// nodes on a mem: network, one task writes N MiB (128 KiB writes) over
// TCP, another reads (256 KiB reads) and counts to the end of stream.
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
    let start = DispatchTime.now()
    let writer = Task {
        let chunk = [UInt8](repeating: 0x7a, count: writeSize)
        var sent = 0
        while sent < total {
            let n = min(writeSize, total - sent)
            try await sender.write(n == writeSize ? chunk : Array(chunk[..<n]))
            sent += n
        }
        sender.close()
    }
    var got = 0
    while true {
        let bytes = try await receiver.read(maxLength: readSize)
        if bytes.isEmpty { break }
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
