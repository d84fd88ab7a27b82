// The C library's names differ in type between Glibc and Darwin; these
// give the rest of the package one spelling.
#if canImport(Glibc)
import Glibc
let sockStream = Int32(SOCK_STREAM.rawValue)
let sockDgram = Int32(SOCK_DGRAM.rawValue)
let shutWrite = Int32(SHUT_WR)
#elseif canImport(Musl)
import Musl
let sockStream = SOCK_STREAM
let sockDgram = SOCK_DGRAM
let shutWrite = SHUT_WR
#elseif canImport(Darwin)
import Darwin
let sockStream = SOCK_STREAM
let sockDgram = SOCK_DGRAM
let shutWrite = SHUT_WR
#endif

let pollIn = Int16(POLLIN)
let pollOut = Int16(POLLOUT)
let pollFailed = Int16(POLLERR | POLLHUP | POLLNVAL)

/// A mutex for state shared by tasks and the reactor's queue; held only
/// for bookkeeping, never across a wait.
final class Lock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() {
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
