// An echo server and its client on two zts nodes joined by an in-process
// network: the smallest complete use of the package.
//
// usage: zts-echo [message...]
import Foundation
import Zts

let message = CommandLine.arguments.dropFirst().joined(separator: " ")
let text = message.isEmpty ? "hello from Swift over zts" : message

do {
    let net = "mem:zts-echo"
    let server = try Node()
    try server.addAddress("10.0.0.1/24", on: try server.join(net))
    try server.start()
    let client = try Node()
    try client.addAddress("10.0.0.2/24", on: try client.join(net))
    try client.start()

    let listener = try TCPListener(node: server, host: "0.0.0.0", port: 7)
    // The server echoes each connection until its client shuts down.
    let serving = Task {
        for try await connection in listener {
            Task {
                defer { connection.close() }
                while true {
                    let bytes = try await connection.read(maxLength: 4096)
                    if bytes.isEmpty { return }
                    try await connection.write(bytes)
                }
            }
        }
    }

    let connection = try await TCPConnection.connect(node: client, host: "10.0.0.1", port: 7)
    try await connection.write(Array(text.utf8))
    try connection.shutdownWrite()
    var echoed: [UInt8] = []
    while true {
        let bytes = try await connection.read(maxLength: 4096)
        if bytes.isEmpty { break }
        echoed += bytes
    }
    print("sent \(text.utf8.count) bytes to \(connection.remoteHost):\(connection.remotePort), echoed: \(String(decoding: echoed, as: UTF8.self))")
    connection.close()
    listener.close()
    try await serving.value
} catch {
    print("zts-echo: \(error)")
    exit(1)
}
