import CSQLite
import Glibc
import Synchronization

/// A dedicated thread that owns one ``SQLiteConnection`` and runs submitted work on it, one job at a time.
///
/// This keeps blocking SQLite calls off event-loop threads: `await executor.run { connection in ... }`.
/// Jobs run in submission order. ``shutdown()`` finishes queued work, closes the connection and ends the thread.
public final class SQLiteExecutor: Sendable {
    private let shared: Monitor<ExecutorState>

    /// Opens the database on a new thread and runs `configure` there first (pragmas, migrations).
    ///
    /// Blocks the caller until the database is open; throws what opening or `configure` threw.
    public init(
        location: SQLiteConnection.Location, mode: SQLiteConnection.Mode = .readWriteCreate,
        configure: @escaping @Sendable (SQLiteConnection) throws -> Void = { _ in }
    ) throws {
        shared = Monitor(ExecutorState())
        let worker = ExecutorWorker(
            shared: shared, location: location, mode: mode, configure: configure)
        let context = Unmanaged.passRetained(worker).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(
            &thread, nil,
            { raw in
                guard let raw else { fatalError("SQLiteExecutor thread started without its context") }
                Unmanaged<ExecutorWorker>.fromOpaque(raw).takeRetainedValue().main()
                return nil
            }, context)
        guard status == 0 else {
            Unmanaged<ExecutorWorker>.fromOpaque(context).release()
            throw SQLiteError(
                code: SQLITE_ERROR, message: "could not start a thread: \(String(cString: strerror(status)))")
        }
        pthread_detach(thread)
        let openError: (any Error)? = shared.wait { state in
            switch state.phase {
            case .starting: nil
            case .running: .some(nil)
            case .shuttingDown, .stopped: .some(state.openError)
            }
        }
        if let openError { throw openError }
    }

    /// Convenience: opens the database file at `path`.
    public convenience init(
        path: String, mode: SQLiteConnection.Mode = .readWriteCreate,
        configure: @escaping @Sendable (SQLiteConnection) throws -> Void = { _ in }
    ) throws {
        try self.init(location: .path(path), mode: mode, configure: configure)
    }

    deinit {
        // Nobody can submit any more; let the thread finish what is queued and close the connection.
        shared.update { state in
            if state.phase == .running { state.phase = .shuttingDown }
        }
    }

    /// Runs `body` on the executor's thread with its connection and returns the result.
    ///
    /// If the calling task is cancelled before the job starts, the job is skipped and `CancellationError` is
    /// thrown; once started it runs to completion. Throws ``SQLiteError/executorShutDown`` after shutdown.
    @discardableResult
    public func run<Result: Sendable>(
        _ body: @escaping @Sendable (SQLiteConnection) throws -> Result
    ) async throws -> Result {
        let cancellation = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
                let job = ExecutorJob(cancellation: cancellation) { connection, cancelled in
                    if cancelled {
                        continuation.resume(throwing: CancellationError())
                    } else {
                        continuation.resume(with: Swift.Result { try body(connection) })
                    }
                    return .finished
                }
                if !enqueue(job) { continuation.resume(throwing: SQLiteError.executorShutDown) }
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// Copies the database to a new file at `path` without stopping other work.
    ///
    /// Each step of `pagesPerStep` pages is a separate job, so queued work runs between steps, and writes made
    /// on this executor during the copy end up in it. The file appears at `path` only when complete.
    /// Cancelling the calling task abandons the copy.
    public func backup(to path: String, pagesPerStep: Int32 = 256) async throws {
        precondition(pagesPerStep != 0, "SQLiteExecutor.backup: pagesPerStep must not be 0")
        let cancellation = CancellationFlag()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let progress = BackupProgress()
                let job = ExecutorJob(cancellation: cancellation) { connection, cancelled in
                    switch progress.advance(
                        connection: connection, path: path, pages: pagesPerStep, cancelled: cancelled)
                    {
                    case .none:
                        return .requeue
                    case .some(let result):
                        continuation.resume(with: result)
                        return .finished
                    }
                }
                if !enqueue(job) { continuation.resume(throwing: SQLiteError.executorShutDown) }
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// Stops accepting work, waits for queued work to finish, and closes the connection. Idempotent.
    public func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let stopped = shared.update { state -> Bool in
                if state.phase == .stopped { return true }
                if state.phase == .running { state.phase = .shuttingDown }
                state.terminationWaiters.append(continuation)
                return false
            }
            if stopped { continuation.resume() }
        }
    }

    /// Blocking form of ``shutdown()`` for synchronous teardown. Never call it from a job or an event loop.
    public func shutdownAndWait() {
        let isWorker = shared.update { state -> Bool in
            if state.phase == .running { state.phase = .shuttingDown }
            return state.workerThread.map { pthread_equal($0, pthread_self()) != 0 } ?? false
        }
        precondition(!isWorker, "SQLiteExecutor.shutdownAndWait called from its own thread")
        shared.wait { state in state.phase == .stopped ? () : nil }
    }

    private func enqueue(_ job: ExecutorJob) -> Bool {
        shared.update { state in
            guard state.phase == .running else { return false }
            state.jobs.append(job)
            return true
        }
    }
}

/// A job's answer: done, or run again after the work queued behind it (for stepwise jobs such as backup).
enum JobOutcome {
    case finished
    case requeue
}

/// One unit of work. The closure is told whether its task was cancelled before it runs.
struct ExecutorJob: Sendable {
    let cancellation: CancellationFlag
    let body: @Sendable (SQLiteConnection, _ cancelled: Bool) -> JobOutcome
}

/// Set once when the submitting task is cancelled.
final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func cancel() { flag.store(true, ordering: .relaxed) }
    var isCancelled: Bool { flag.load(ordering: .relaxed) }
}

struct ExecutorState: Sendable {
    enum Phase: Sendable, Equatable {
        case starting
        case running
        case shuttingDown
        case stopped
    }

    var phase = Phase.starting
    var jobs: [ExecutorJob] = []
    var openError: (any Error)? = nil
    var workerThread: pthread_t? = nil
    var terminationWaiters: [CheckedContinuation<Void, Never>] = []
}

/// The thread's side: opens the connection, runs jobs until shut down, then closes it.
private final class ExecutorWorker: Sendable {
    let shared: Monitor<ExecutorState>
    let location: SQLiteConnection.Location
    let mode: SQLiteConnection.Mode
    let configure: @Sendable (SQLiteConnection) throws -> Void

    init(
        shared: Monitor<ExecutorState>, location: SQLiteConnection.Location, mode: SQLiteConnection.Mode,
        configure: @escaping @Sendable (SQLiteConnection) throws -> Void
    ) {
        self.shared = shared
        self.location = location
        self.mode = mode
        self.configure = configure
    }

    func main() {
        var connection: SQLiteConnection?
        do {
            let opened = try SQLiteConnection(location: location, mode: mode)
            try configure(opened)
            connection = opened
        } catch {
            finish(openError: error)
            return
        }
        shared.update { state in
            state.phase = .running
            state.workerThread = pthread_self()
        }
        if let connection { serve(connection) }
        // Close before anyone waiting on shutdown is told the executor stopped.
        connection = nil
        finish(openError: nil)
    }

    private func serve(_ connection: SQLiteConnection) {
        while true {
            let batch: [ExecutorJob]? = shared.wait { state in
                if !state.jobs.isEmpty {
                    defer { state.jobs.removeAll(keepingCapacity: true) }
                    return .some(state.jobs)
                }
                return state.phase == .shuttingDown ? .some(nil) : nil
            }
            guard let batch else { return }
            var again: [ExecutorJob] = []
            for job in batch where job.body(connection, job.cancellation.isCancelled) == .requeue {
                again.append(job)
            }
            if !again.isEmpty {
                // Behind anything submitted meanwhile, so stepwise jobs interleave with other work.
                shared.update { state in state.jobs.append(contentsOf: again) }
            }
        }
    }

    private func finish(openError: (any Error)?) {
        let waiters = shared.update { state -> [CheckedContinuation<Void, Never>] in
            state.phase = .stopped
            state.openError = openError
            defer { state.terminationWaiters = [] }
            return state.terminationWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// A backup's state between its steps. Touched only on the executor's thread (the job runs nowhere else),
/// which is why the unchecked Sendable is sound.
private final class BackupProgress: @unchecked Sendable {
    private var backup: SQLiteBackup?
    private var busyRetries = 0

    /// Runs one step; nil means "more to do", otherwise the final result (the backup is finished or abandoned).
    func advance(
        connection: SQLiteConnection, path: String, pages: Int32, cancelled: Bool
    ) -> Result<Void, any Error>? {
        do {
            if cancelled { throw CancellationError() }
            if backup == nil { backup = try SQLiteBackup(source: connection, destinationPath: path) }
            guard let backup else { return .failure(SQLiteError(code: SQLITE_MISUSE, message: "no backup")) }
            switch try backup.step(pages: pages) {
            case .done:
                self.backup = nil
                try backup.finish()
                return .success(())
            case .more:
                busyRetries = 0
                return nil
            case .busy:
                busyRetries += 1
                guard busyRetries <= SQLiteBackup.maximumBusyRetries else {
                    throw SQLiteError(code: SQLITE_BUSY, message: "backup gave up: the database stayed locked")
                }
                SQLiteBackup.pauseAfterBusy()
                return nil
            }
        } catch {
            backup?.abandon()
            backup = nil
            return .failure(error)
        }
    }
}
