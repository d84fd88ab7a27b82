import CZts

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed zts call: the errno it set and which call it was.
public struct ZtsError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: POSIXErrorCode
    /// The C function that failed, e.g. "zts_connect".
    public let call: String
    /// zts's explanation (zts_errmsg) when the error came from the library.
    public let message: String

    public init(_ code: POSIXErrorCode, call: String, message: String? = nil) {
        self.code = code
        self.call = call
        self.message = message ?? String(cString: strerror(code.rawValue))
    }

    /// The error the calling thread's last failing zts call left.
    static func last(_ call: String) -> ZtsError {
        // The message first: it stays valid only until the next zts call.
        let message = zts_errmsg().map { String(cString: $0) }
        let errno = zts_errno()
        return ZtsError(POSIXErrorCode(rawValue: errno) ?? .EIO, call: call, message: message)
    }

    /// The message is explanation only: two errors are equal when the code
    /// and the call are.
    public static func == (a: ZtsError, b: ZtsError) -> Bool {
        a.code == b.code && a.call == b.call
    }

    public var description: String { "\(call): \(message) (\(code))" }
}

/// Checks a zts return value: the value when it succeeded, nil when the
/// call would block (EAGAIN), else throws the call's error.
@inline(__always)
func nonBlocking<T: BinaryInteger>(_ result: T, _ call: String) throws -> T? {
    if result >= 0 { return result }
    let errno = zts_errno()
    if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
    throw ZtsError.last(call)
}

/// Checks a zts return value of a call that does not block.
@inline(__always)
@discardableResult
func check<T: BinaryInteger>(_ result: T, _ call: String) throws -> T {
    if result < 0 { throw ZtsError.last(call) }
    return result
}
