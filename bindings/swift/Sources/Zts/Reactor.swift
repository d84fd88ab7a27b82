import CZts
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The one reactor of the process: a zts watch whose OS fd sits in a
/// Dispatch read source, so waiting on any number of sockets costs no
/// thread. An awaiting call registers what it waits for, the socket is
/// watched for the union of what its waiters want, and the source's
/// handler resumes the waiters whose socket became ready.
///
/// The watch is level-triggered: its fd stays readable while a watched
/// socket is ready. So the handler drains every ready socket and takes
/// each woken waiter's interest out of the watch; a socket nobody awaits
/// is not watched, or the source would fire forever.
final class Reactor: @unchecked Sendable {
    private static let instance: Result<Reactor, any Error> = Result { try Reactor() }

    static func shared() throws -> Reactor {
        try instance.get()
    }

    /// Guards the reactor's tables and every Socket's open/closed state,
    /// so a close and a waiter's registration cannot interleave.
    let lock = Lock()
    private let watch: Int32
    private let queue = DispatchQueue(label: "zts.reactor")
    private var source: DispatchSourceRead?

    private enum Wait {
        /// Registered, not yet parked (its continuation not yet made).
        case pending
        /// Cancelled before it parked.
        case cancelled
        case parked(fd: Int32, CheckedContinuation<Void, any Error>)
    }

    private var nextID: UInt64 = 0
    private var waits: [UInt64: Wait] = [:]
    /// Parked waiters by socket: waiter id -> events it waits for.
    private var interest: [Int32: [UInt64: Int16]] = [:]
    /// What the zts watch holds for each fd, to touch it only on change.
    private var watched: [Int32: Int16] = [:]

    private init() throws {
        watch = try check(zts_watch_new(), "zts_watch_new")
        let source = DispatchSource.makeReadSource(fileDescriptor: watch, queue: queue)
        source.setEventHandler { [unowned self] in self.dispatchReady() }
        source.activate()
        self.source = source
    }

    /// Suspends until `socket` may be ready for `events` (POLLIN or
    /// POLLOUT; errors and hangups always wake), it is closed, or the
    /// task is cancelled (CancellationError). The caller retries its call:
    /// a wake-up is a hint, not a promise.
    func wait(for socket: Socket, events: Int16) async throws {
        let id: UInt64 = lock.withLock {
            nextID += 1
            waits[nextID] = .pending
            return nextID
        }
        defer { lock.withLock { _ = waits.removeValue(forKey: id) } }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                enum Now { case park, resume, cancel }
                let now: Now = lock.withLock {
                    guard case .pending = waits[id] else { return .cancel }
                    if socket.closedLocked { return .resume }
                    waits[id] = .parked(fd: socket.fd, c)
                    interest[socket.fd, default: [:]][id] = events
                    if updateWatchLocked(socket.fd) { return .park }
                    // The watch refused the fd: let the caller's retry
                    // meet the error.
                    waits[id] = nil
                    interest[socket.fd]?[id] = nil
                    return .resume
                }
                switch now {
                case .park: break
                case .resume: c.resume()
                case .cancel: c.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            self.cancel(id)
        }
    }

    /// How many calls wait on the socket now (for tests).
    func parkedWaiters(on socket: Socket) -> Int {
        lock.withLock { interest[socket.fd]?.count ?? 0 }
    }

    /// Whether the watch holds the socket now (for tests).
    func isWatched(_ socket: Socket) -> Bool {
        lock.withLock { watched[socket.fd] != nil }
    }

    private func cancel(_ id: UInt64) {
        let woken: CheckedContinuation<Void, any Error>? = lock.withLock {
            switch waits[id] {
            case .pending:
                waits[id] = .cancelled
                return nil
            case .parked(let fd, let c):
                waits[id] = nil
                interest[fd]?[id] = nil
                _ = updateWatchLocked(fd)
                return c
            case .cancelled, nil:
                return nil
            }
        }
        woken?.resume(throwing: CancellationError())
    }

    /// For a socket being closed (under `lock`): forgets its fd and returns
    /// its waiters, to be resumed once the lock is released.
    func takeWaitersLocked(_ fd: Int32) -> [CheckedContinuation<Void, any Error>] {
        var woken: [CheckedContinuation<Void, any Error>] = []
        takeAllLocked(fd, into: &woken)
        _ = updateWatchLocked(fd)
        return woken
    }

    private func takeAllLocked(_ fd: Int32, into woken: inout [CheckedContinuation<Void, any Error>]) {
        for id in (interest.removeValue(forKey: fd) ?? [:]).keys {
            if case .parked(_, let c) = waits.removeValue(forKey: id) { woken.append(c) }
        }
    }

    /// Makes the watch hold the union of the fd's parked waiters' events,
    /// or drops the fd when there are none. False when zts refused the fd.
    private func updateWatchLocked(_ fd: Int32) -> Bool {
        let ids = interest[fd] ?? [:]
        if ids.isEmpty { interest[fd] = nil }
        let want = ids.values.reduce(Int16(0)) { $0 | $1 }
        let have = watched[fd] ?? 0
        if want == have { return true }
        if want == 0 {
            watched[fd] = nil
            _ = zts_watch_del(watch, fd)
            return true
        }
        if zts_watch_add(watch, fd, want) < 0 {
            watched[fd] = nil
            return false
        }
        watched[fd] = want
        return true
    }

    /// The source's handler: resumes the waiters of every ready socket.
    private func dispatchReady() {
        let batch = 64
        var ready = [pollfd](repeating: pollfd(), count: batch)
        while true {
            let n = Int(zts_watch_ready(watch, &ready, Int32(batch)))
            if n <= 0 { return }
            let woken: [CheckedContinuation<Void, any Error>] = lock.withLock {
                var woken: [CheckedContinuation<Void, any Error>] = []
                for entry in ready[0..<n] {
                    wakeLocked(entry.fd, entry.revents, into: &woken)
                }
                return woken
            }
            for c in woken { c.resume() }
            if n < batch { return }
        }
    }

    private func wakeLocked(
        _ fd: Int32, _ revents: Int16, into woken: inout [CheckedContinuation<Void, any Error>]
    ) {
        if revents & Int16(POLLNVAL) != 0 {
            // zts forgot the closed fd already.
            watched[fd] = nil
        }
        guard var ids = interest[fd] else {
            // Nobody waits (the fd changed hands, say): stop watching it.
            if watched.removeValue(forKey: fd) != nil { _ = zts_watch_del(watch, fd) }
            return
        }
        let all = revents & pollFailed != 0
        for (id, events) in ids where all || events & revents != 0 {
            ids[id] = nil
            if case .parked(_, let c) = waits.removeValue(forKey: id) { woken.append(c) }
        }
        interest[fd] = ids
        if !updateWatchLocked(fd) {
            // The fd is no longer a zts socket: wake the rest to find out.
            takeAllLocked(fd, into: &woken)
        }
    }
}
