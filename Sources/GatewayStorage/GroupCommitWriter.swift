import GatewayCore
import SQLite
import Synchronization

/// The one writer: commits writes in groups, one transaction (and one fsync) per group.
///
/// Writes submitted while a group commits wait and form the next group, so under load many writes share one
/// commit and throughput grows with concurrency instead of being capped by the disk's fsync rate. Each write
/// runs in its own savepoint: a write that fails (unique violation, version conflict) is rolled back alone
/// and its group mates commit. A caller resumes only after its group's COMMIT returned.
final class GroupCommitWriter: Sendable {
    private struct State: Sendable {
        var pending: [any GroupedWrite] = []
        /// A drain loop is running (it picks up anything appended to `pending`).
        var draining = false
        var closed = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let executor: SQLiteExecutor
    private let state = Mutex(State())
    /// The most writes committed in one transaction (bounds the wait of the first write in a big group).
    let maximumGroupSize: Int
    /// Transactions begun by the writer since opening (each group is one).
    let transactionCount = Atomic<Int>(0)

    init(executor: SQLiteExecutor, maximumGroupSize: Int = 512) {
        precondition(maximumGroupSize > 0, "GroupCommitWriter: maximumGroupSize must be positive")
        self.executor = executor
        self.maximumGroupSize = maximumGroupSize
    }

    /// Runs `body` inside the next group's transaction and returns its result once the group committed.
    ///
    /// Once submitted, a write is carried out even if the calling task is cancelled (its outcome must be known
    /// before the caller moves on), so this does not observe cancellation.
    func write<Value: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            let write = PendingWrite(body: body, continuation: continuation)
            let admission = state.withLock { state -> Admission in
                guard !state.closed else { return .refused }
                state.pending.append(write)
                if state.draining { return .queued }
                state.draining = true
                return .startDrain
            }
            switch admission {
            case .refused:
                continuation.resume(throwing: StoreError("the store is closed"))
            case .queued:
                break
            case .startDrain:
                // The drain loop lives exactly as long as there is work queued. It is not tied to this caller:
                // the caller resumes when its own group commits, while the loop goes on with later writes.
                Task { await self.drain() }
            }
        }
    }

    private enum Admission {
        case refused
        case queued
        case startDrain
    }

    /// Writes waiting for a group (for tests that stage a group).
    var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Refuses new writes, waits until every submitted write has committed or failed.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { state -> Bool in
                state.closed = true
                if !state.draining { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    /// Commits groups until nothing is pending. Each group is its own executor job, so other jobs queued on
    /// the writer (none today; backups run on readers) are not starved by a long busy period.
    private func drain() async {
        while true {
            do {
                let more = try await executor.run { connection in self.commitNextGroup(on: connection) }
                if !more { return }
            } catch {
                let (orphans, waiters) = state.withLock { state in
                    state.draining = false
                    defer {
                        state.pending = []
                        state.idleWaiters = []
                    }
                    return (state.pending, state.idleWaiters)
                }
                let failure = StoreError("the database writer stopped: \(error)")
                for write in orphans { write.finish(failure: failure) }
                for waiter in waiters { waiter.resume() }
                return
            }
        }
    }

    /// Takes the next group, runs it in one transaction and reports each write. Returns whether more is pending.
    private func commitNextGroup(on connection: SQLiteConnection) -> Bool {
        let group = state.withLock { state -> [any GroupedWrite] in
            let count = min(state.pending.count, maximumGroupSize)
            defer { state.pending.removeFirst(count) }
            return Array(state.pending.prefix(count))
        }
        if !group.isEmpty { commit(group, on: connection) }
        let (more, waiters) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
            if !state.pending.isEmpty { return (true, []) }
            state.draining = false
            defer { state.idleWaiters = [] }
            return (false, state.idleWaiters)
        }
        for waiter in waiters { waiter.resume() }
        return more
    }

    private func commit(_ group: [any GroupedWrite], on connection: SQLiteConnection) {
        // Writes applied in the open transaction, reported once it commits.
        var applied: [any GroupedWrite] = []
        var inTransaction = false
        func abandonTransaction(_ error: any Error) {
            if connection.isInTransaction { try? connection.execute(unsafeSQL: "ROLLBACK") }
            inTransaction = false
            for write in applied { write.finish(failure: error) }
            applied = []
        }
        for write in group {
            do {
                if !inTransaction {
                    transactionCount.add(1, ordering: .relaxed)
                    try connection.execute(unsafeSQL: "BEGIN IMMEDIATE")
                    inTransaction = true
                }
                try connection.execute("SAVEPOINT grouped_write")
            } catch {
                abandonTransaction(error)
                write.finish(failure: error)
                continue
            }
            if write.apply(on: connection) {
                do {
                    try connection.execute("RELEASE grouped_write")
                    applied.append(write)
                } catch {
                    abandonTransaction(error)
                    write.finish(failure: error)
                }
                continue
            }
            // The write failed: undo it alone, unless SQLite already ended the transaction (disk full, I/O
            // error), which took the writes applied before it along.
            if connection.isInTransaction {
                do {
                    try connection.execute(unsafeSQL: "ROLLBACK TO grouped_write")
                    try connection.execute("RELEASE grouped_write")
                } catch {
                    abandonTransaction(error)
                }
            } else {
                abandonTransaction(StoreError("the transaction was rolled back by an earlier error in its group"))
            }
            write.finishWithOwnResult()
        }
        guard inTransaction else { return }
        do {
            try connection.execute(unsafeSQL: "COMMIT")
        } catch {
            abandonTransaction(error)
            return
        }
        for write in applied { write.finishWithOwnResult() }
    }
}

/// A write waiting for (or running in) a group. Type-erases the write's result.
protocol GroupedWrite: AnyObject, Sendable {
    /// Runs the write on the writer's connection; false if it threw (the error is kept for the report).
    func apply(on connection: SQLiteConnection) -> Bool
    /// Resumes the caller with what `apply` produced.
    func finishWithOwnResult()
    /// Resumes the caller with `failure` (its transaction did not commit, or it never ran).
    func finish(failure: any Error)
}

/// One caller's write and its continuation.
///
/// `result` is written and read only on the writer thread (after the write crossed over through the writer's
/// mutex), which is why the unchecked Sendable is sound.
private final class PendingWrite<Value: Sendable>: GroupedWrite, @unchecked Sendable {
    private let body: @Sendable (SQLiteConnection) throws -> Value
    private let continuation: CheckedContinuation<Value, any Error>
    private var result: Result<Value, any Error>?

    init(
        body: @escaping @Sendable (SQLiteConnection) throws -> Value,
        continuation: CheckedContinuation<Value, any Error>
    ) {
        self.body = body
        self.continuation = continuation
    }

    func apply(on connection: SQLiteConnection) -> Bool {
        do {
            result = .success(try body(connection))
            return true
        } catch {
            result = .failure(error)
            return false
        }
    }

    func finishWithOwnResult() {
        continuation.resume(with: result ?? .failure(StoreError("a grouped write finished without running")))
    }

    func finish(failure: any Error) {
        continuation.resume(throwing: failure)
    }
}
