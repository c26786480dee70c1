import GatewayCore
import Glibc
import Synchronization

/// Up to `size` PostgreSQL connections, each owned by its own thread; callers queue for the next free one.
///
/// Every libpq call (connecting included) runs on these threads, never on the caller's: `run` suspends the
/// calling task on a continuation until a thread has done the work. Threads and their connections start on
/// demand, so a quiet store holds few connections. A caller that waits longer than `waitTimeout` for a
/// connection gets a `StoreError`; a cancelled caller that is still waiting leaves the queue at once.
final class PostgresPool: Sendable {
    /// When work may run again after its connection broke.
    enum Retry: Sendable {
        /// Reads: retried once on a fresh connection, whatever happened.
        case always
        /// Writes: retried once only if no statement had been sent, else the caller learns of the failure.
        case ifNothingSent
    }

    let settings: PostgresConnectionSettings
    let size: Int
    let waitTimeout: Duration
    private let shared: PoolMonitor

    init(settings: PostgresConnectionSettings, size: Int, waitTimeout: Duration) {
        precondition(size >= 1, "PostgresPool: size must be at least 1")
        self.settings = settings
        self.size = size
        self.waitTimeout = waitTimeout
        shared = PoolMonitor()
    }

    /// Runs `body` on a pooled connection and returns its result.
    ///
    /// `body` runs on a pool thread and may block there (that is what the threads are for). A connection lost
    /// under it is replaced and `body` run again once if `retry` allows; otherwise its error is thrown.
    func run<Value: Sendable>(
        _ retry: Retry, _ body: @escaping @Sendable (PostgresConnection) throws -> Value
    ) async throws -> Value {
        let deadline = MonotonicTime.now().adding(waitTimeout)
        let holder = JobHolder()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
                let job = PoolJob(deadline: deadline, retry: retry, body: body, continuation: continuation)
                holder.job.withLock { $0 = job }
                if Task.isCancelled {
                    job.fail(CancellationError())
                    return
                }
                if let refusal = enqueue(job) { job.fail(refusal) }
            }
        } onCancel: {
            // Still queued: leave now. Already running: let it finish (its outcome must be reported).
            guard let job = holder.job.withLock({ $0 }) else { return }
            let removed = shared.update { state in state.remove(job) }
            if removed { job.fail(CancellationError()) }
        }
    }

    /// Stops taking work, lets queued work finish, closes every connection and ends the threads.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = shared.update { state -> Bool in
                state.closing = true
                if state.workers == 0 && !state.reaperRunning { return true }
                state.closeWaiters.append(continuation)
                return false
            }
            if finished { continuation.resume() }
        }
    }

    /// Worker threads running now, each with at most one connection (for tests).
    var workerCount: Int { shared.update { $0.workers } }

    /// Connections in use now, and jobs waiting for one (for tests). A job's connection stays in use for a moment
    /// after its caller resumed, while it is settled: `running` does not say whose job holds it.
    var load: (running: Int, queued: Int) { shared.update { ($0.busy, $0.queue.count) } }

    /// Queues `job`, starting a thread if every running one is busy; returns why it was refused, if it was.
    private func enqueue(_ job: any AnyPoolJob) -> StoreError? {
        enum Start { case none, worker, reaper, both }
        let outcome = shared.update { state -> Result<Start, StoreError> in
            guard !state.closing else { return .failure(StoreError("the store is closed")) }
            state.queue.append(job)
            let needsWorker = state.workers < size && state.queue.count > state.workers - state.busy
            if needsWorker { state.workers += 1 }
            let needsReaper = !state.reaperRunning
            if needsReaper { state.reaperRunning = true }
            switch (needsWorker, needsReaper) {
            case (true, true): return .success(.both)
            case (true, false): return .success(.worker)
            case (false, true): return .success(.reaper)
            case (false, false): return .success(.none)
            }
        }
        switch outcome {
        case .failure(let refusal):
            return refusal
        case .success(let start):
            if start == .worker || start == .both { startThread { self.serve() } }
            if start == .reaper || start == .both { startThread { self.reap() } }
            return nil
        }
    }

    /// A worker thread: takes jobs until the pool closes, on a connection it opens when first needed.
    private func serve() {
        var connection: PostgresConnection?
        while true {
            let job: (any AnyPoolJob)? = shared.wait(until: nil) { state in
                if !state.queue.isEmpty {
                    state.busy += 1
                    return .some(state.queue.removeFirst())
                }
                return state.closing ? .some(nil) : nil
            }
            guard let job else { break }
            perform(job, on: &connection)
            shared.update { state in state.busy -= 1 }
        }
        connection = nil
        let waiters = shared.update { state -> [CheckedContinuation<Void, Never>] in
            state.workers -= 1
            return state.takeCloseWaitersIfFinished()
        }
        for waiter in waiters { waiter.resume() }
    }

    private func perform(_ job: any AnyPoolJob, on connection: inout PostgresConnection?) {
        for attempt in 1...2 {
            let current: PostgresConnection
            do throws(PostgresError) {
                if let connection {
                    try connection.ensureUsable()
                    current = connection
                } else {
                    current = try PostgresConnection(settings: settings)
                    connection = current
                }
            } catch {
                job.fail(StoreError("could not connect to PostgreSQL at \(settings.masked): \(error.message)"))
                return
            }
            current.statementSent = false
            let outcome = job.attempt(on: current, mayRetry: attempt == 1)
            current.settle()
            if outcome == .finished { return }
        }
    }

    /// The reaper thread: fails queued jobs whose wait ran out while every connection was busy.
    private func reap() {
        while true {
            let nextDeadline: (PoolState) -> MonotonicTime? = { state in state.queue.first?.deadline }
            let expired: [any AnyPoolJob]? = shared.wait(until: nextDeadline) { state in
                if state.closing && state.queue.isEmpty { return .some(nil) }
                let now = MonotonicTime.now()
                let expired = state.queue.filter { $0.deadline <= now }
                guard !expired.isEmpty else { return nil }
                state.queue.removeAll { $0.deadline <= now }
                return .some(expired)
            }
            guard let expired else { break }
            let failure = StoreError(
                "no PostgreSQL connection became free within \(waitTimeout) (pool of \(size)): "
                    + "the database is slow or the pool is too small")
            for job in expired { job.fail(failure) }
        }
        let waiters = shared.update { state -> [CheckedContinuation<Void, Never>] in
            state.reaperRunning = false
            return state.takeCloseWaitersIfFinished()
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Starts a detached thread running `body` (a pool's worker or reaper).
private func startThread(_ body: @escaping @Sendable () -> Void) {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let status = pthread_create(
        &thread, nil,
        { raw in
            guard let raw else { fatalError("a pool thread started without its context") }
            Unmanaged<Box>.fromOpaque(raw).takeRetainedValue().body()
            return nil
        }, context)
    guard status == 0 else {
        // Without threads the process cannot do anything useful; this is not a recoverable condition.
        fatalError("could not start a PostgreSQL pool thread: \(String(cString: strerror(status)))")
    }
    pthread_detach(thread)
}

// MARK: Jobs

private enum AttemptOutcome {
    case finished
    case retry
}

private protocol AnyPoolJob: AnyObject, Sendable {
    var deadline: MonotonicTime { get }
    /// Runs the job; `.retry` when its connection broke and it may run again (the caller was not told yet).
    func attempt(on connection: PostgresConnection, mayRetry: Bool) -> AttemptOutcome
    func fail(_ error: any Error)
}

private final class PoolJob<Value: Sendable>: AnyPoolJob {
    let deadline: MonotonicTime
    let retry: PostgresPool.Retry
    let body: @Sendable (PostgresConnection) throws -> Value
    let continuation: CheckedContinuation<Value, any Error>

    init(
        deadline: MonotonicTime, retry: PostgresPool.Retry,
        body: @escaping @Sendable (PostgresConnection) throws -> Value,
        continuation: CheckedContinuation<Value, any Error>
    ) {
        self.deadline = deadline
        self.retry = retry
        self.body = body
        self.continuation = continuation
    }

    func attempt(on connection: PostgresConnection, mayRetry: Bool) -> AttemptOutcome {
        do {
            continuation.resume(returning: try body(connection))
        } catch let error as PostgresError where error.isConnectionLost && mayRetry {
            switch retry {
            case .always: return .retry
            case .ifNothingSent:
                if !connection.statementSent { return .retry }
                continuation.resume(throwing: error)
            }
        } catch {
            continuation.resume(throwing: error)
        }
        return .finished
    }

    func fail(_ error: any Error) { continuation.resume(throwing: error) }
}

/// Lets the cancellation handler find the job its task queued.
private final class JobHolder: Sendable {
    let job = Mutex<(any AnyPoolJob)?>(nil)
}

private struct PoolState {
    var queue: [any AnyPoolJob] = []
    /// Worker threads started and not yet ended, and how many of them are running a job.
    var workers = 0
    var busy = 0
    var reaperRunning = false
    var closing = false
    var closeWaiters: [CheckedContinuation<Void, Never>] = []

    /// Removes `job` if it is still queued.
    mutating func remove(_ job: any AnyPoolJob) -> Bool {
        guard let index = queue.firstIndex(where: { $0 === job }) else { return false }
        queue.remove(at: index)
        return true
    }

    mutating func takeCloseWaitersIfFinished() -> [CheckedContinuation<Void, Never>] {
        guard closing, workers == 0, !reaperRunning else { return [] }
        defer { closeWaiters = [] }
        return closeWaiters
    }
}

// MARK: Threads and time

/// A point on the monotonic clock, in nanoseconds (what `pthread_cond_timedwait` is set to wait on).
struct MonotonicTime: Comparable, Sendable {
    var nanoseconds: UInt64

    static func now() -> MonotonicTime {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return MonotonicTime(nanoseconds: UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec))
    }

    func adding(_ duration: Duration) -> MonotonicTime {
        let (seconds, attoseconds) = duration.components
        let nanos = max(0, seconds) * 1_000_000_000 + max(0, attoseconds) / 1_000_000_000
        return MonotonicTime(nanoseconds: nanoseconds &+ UInt64(nanos))
    }

    static func < (a: MonotonicTime, b: MonotonicTime) -> Bool { a.nanoseconds < b.nanoseconds }
}

/// The pool's state behind a pthread mutex, with a condition variable on the monotonic clock.
///
/// Sendable because `state` is only touched with the mutex held.
private final class PoolMonitor: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var state = PoolState()

    init() {
        mutex.initialize(to: pthread_mutex_t())
        condition.initialize(to: pthread_cond_t())
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        precondition(pthread_cond_init(condition, &attributes) == 0, "pthread_cond_init failed")
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deinitialize(count: 1)
        mutex.deinitialize(count: 1)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` with the lock held, then wakes every waiter to re-check the state.
    func update<Result>(_ body: (inout PoolState) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer {
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
        return try body(&state)
    }

    /// Blocks until `body` returns a value, re-checking whenever the state changes and, if `until` names a
    /// time, when that time comes.
    func wait<Result>(
        until deadline: ((PoolState) -> MonotonicTime?)?, _ body: (inout PoolState) -> Result?
    ) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            if let result = body(&state) { return result }
            if let wake = deadline?(state) {
                var time = timespec(
                    tv_sec: Int(wake.nanoseconds / 1_000_000_000), tv_nsec: Int(wake.nanoseconds % 1_000_000_000))
                pthread_cond_timedwait(condition, mutex, &time)
            } else {
                pthread_cond_wait(condition, mutex)
            }
        }
    }
}
