public import FoundationEssentials
public import GatewayCore
import SQLite
import Synchronization

/// `RequestStore` on an embedded SQLite database: WAL mode, `synchronous=FULL`, group commit.
///
/// One writer connection on its own thread commits every change (inserts, updates, purges) in groups (see
/// `GroupCommitWriter`); a small pool of read-only connections on their own threads answers
/// `get`, `list`, counts and claims in parallel under WAL. No SQLite call runs on the caller's thread. Claims
/// lease in memory (`RequestLeases`), which the process lock makes sound.
/// Times are stored in Unix milliseconds, so they come back rounded to the millisecond.
public final class SQLiteRequestStore: RequestStore {
    /// The database file.
    public let path: String
    let writer: GroupCommitWriter
    private let readers: [SQLiteExecutor]
    private let nextReader = Atomic<Int>(0)
    private let closed = Atomic<Bool>(false)
    /// Held while open: no other process writes the file, so every change goes through this store.
    private let lock: ProcessFileLock
    let changeObservers = RequestChangeObservers()
    /// Claims lease requests in memory: the process lock makes this store the file's only writer.
    let leases = RequestLeases()

    private init(path: String, writer: GroupCommitWriter, readers: [SQLiteExecutor], lock: ProcessFileLock) {
        self.path = path
        self.writer = writer
        self.readers = readers
        self.lock = lock
    }

    /// Opens (creating it and its parent directory if needed) the database at `path` and migrates it.
    ///
    /// Opening blocks the calling thread while migrations run: call it at startup, not from an event loop.
    /// Throws `StoreError` when the file cannot be opened, is not a database, or has a newer schema.
    public static func open(path: String, readers readerCount: Int = 2) async throws -> SQLiteRequestStore {
        precondition(readerCount >= 1, "SQLiteRequestStore.open: at least one reader is needed")
        do {
            try createParentDirectory(of: path)
            let lock = try ProcessFileLock(path: path + "-lock")
            let writerExecutor = try SQLiteExecutor(path: path, mode: .readWriteCreate) { connection in
                connection.setBusyTimeout(busyTimeout)
                try connection.enableWriteAheadLog()
                // Every acknowledged write survives a crash or power loss; group commit pays for the fsyncs.
                try connection.setSynchronous(.full)
                // Each grouped write runs in a savepoint, whose journal would otherwise spill to a temporary file.
                try connection.execute(unsafeSQL: "PRAGMA temp_store = MEMORY")
                try Migrations.apply(on: connection, now: RequestRow.milliseconds(Date()))
            }
            var readers: [SQLiteExecutor] = []
            for _ in 0..<readerCount {
                readers.append(
                    try SQLiteExecutor(path: path, mode: .readOnly) { connection in
                        connection.setBusyTimeout(busyTimeout)
                    })
            }
            return SQLiteRequestStore(
                path: path, writer: GroupCommitWriter(executor: writerExecutor), readers: readers, lock: lock)
        } catch let error as StoreError {
            throw StoreError("could not open the database \(path): \(error.message)")
        } catch let error as SQLiteError {
            throw StoreError("could not open the database \(path): \(error.message)")
        } catch {
            throw StoreError("could not open the database \(path): \(error)")
        }
    }

    /// Opens the SQLite database a URL names; PostgreSQL is not available in this build yet.
    public static func open(_ url: DatabaseURL, readers: Int = 2) async throws -> SQLiteRequestStore {
        switch url {
        case .sqlite(let path): return try await open(path: path, readers: readers)
        case .postgres: throw StoreError("PostgreSQL storage is not available in this build")
        }
    }

    private static let busyTimeout = Duration.seconds(5)

    /// Finishes every submitted write, then closes all connections (the last close checkpoints the log).
    /// Later calls throw `StoreError`. Safe to call twice.
    public func close() async {
        closed.store(true, ordering: .sequentiallyConsistent)
        await writer.close()
        for reader in readers { await reader.shutdown() }
        await writer.executor.shutdown()
    }

    /// Copies a consistent snapshot of the database to a new file at `path` while writes go on.
    ///
    /// The copy runs on a reader (one step inside one read transaction, which WAL lets writers ignore), and the
    /// file appears at `path` only when complete.
    public func backup(to path: String) async throws {
        try await mappingErrors {
            try await reader().backup(to: path, pagesPerStep: -1)
        }
    }

    /// Writes committed in transactions (groups) so far: with grouping this stays well below the write count.
    var transactionCount: Int { writer.transactionCount.load(ordering: .relaxed) }

    // MARK: RequestStore

    public func insert(_ request: GatewayRequest, idempotencyWindow: Duration, now: Date) async throws -> InsertOutcome
    {
        let row = RequestRow(request)
        let cutoff = RequestRow.milliseconds(now) - RequestRow.milliseconds(idempotencyWindow)
        let result = try await write { connection in try Self.insert(row, keysValidAfter: cutoff, on: connection) }
        switch result {
        case .inserted:
            var stored = request
            stored.version = 1
            return .inserted(stored)
        case .existing(let document):
            return .existing(try document.decoded())
        }
    }

    private enum InsertResult: Sendable {
        case inserted
        case existing(StoredDocument)
    }

    private static func insert(_ row: RequestRow, keysValidAfter cutoff: Int64, on connection: SQLiteConnection) throws
        -> InsertResult
    {
        if let key = row.idempotencyKey {
            let found = try connection.query(
                """
                SELECT k.created_at, r.doc, r.version FROM idempotency_keys k
                LEFT JOIN requests r ON r.id = k.request_id
                WHERE k.client = ? AND k.idempotency_key = ?
                """, [.text(row.client), .text(key)])
            if let existing = found.first {
                if let created = existing[0].int64, created > cutoff, let document = existing[1].string {
                    return .existing(StoredDocument(document: document, version: existing[2].int ?? 0))
                }
                // Expired (or its request is gone): the key is free for this request.
                try connection.execute(
                    "DELETE FROM idempotency_keys WHERE client = ? AND idempotency_key = ?",
                    [.text(row.client), .text(key)])
            }
        }
        do {
            try connection.execute(
                """
                INSERT INTO requests (id, client, kind, status, requested_by, idempotency_key, created_at, updated_at,
                    next_attempt_at, polled_at, version, lease_owner, lease_until, doc)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, NULL, NULL, ?)
                """,
                [
                    .text(row.id), .text(row.client), .text(row.kind), .text(row.status), .text(row.requestedBy),
                    SQLiteValue(row.idempotencyKey), .integer(row.createdAt), .integer(row.updatedAt),
                    SQLiteValue(row.nextAttemptAt), SQLiteValue(row.polledAt), .text(row.document),
                ])
        } catch let error as SQLiteError where error.isUniqueViolation {
            throw StoreError("a request with id \(row.id) already exists")
        }
        if let key = row.idempotencyKey {
            try connection.execute(
                "INSERT INTO idempotency_keys (client, idempotency_key, request_id, created_at) VALUES (?, ?, ?, ?)",
                [.text(row.client), .text(key), .text(row.id), .integer(row.createdAt)])
        }
        try writeWebhookEvents(row, on: connection)
        return .inserted
    }

    public func get(id: String) async throws -> GatewayRequest? {
        try await read { connection in
            try connection.withCachedStatement("SELECT doc, version FROM requests WHERE id = ?") { statement in
                try statement.bind([.text(id)])
                guard try statement.step() else { return nil }
                return try statement.storedDocument(at: 0).decoded()
            }
        }
    }

    public func storedVersion(id: String) async throws -> Int? {
        try await read { connection in
            try connection.withCachedStatement("SELECT version FROM requests WHERE id = ?") { statement in
                try statement.bind([.text(id)])
                guard try statement.step() else { return nil }
                return statement.int(at: 0)
            }
        }
    }

    public func update(_ request: GatewayRequest, releasingLeaseOf owner: String?) async throws -> GatewayRequest {
        let row = RequestRow(request)
        let expectedVersion = request.version
        try await write { connection in
            // Only the columns a transition can change: the identity columns (client, kind, requested_by,
            // idempotency_key, created_at) are fixed at insert, and naming them here would make SQLite rewrite
            // the three listing indexes built on them at every transition.
            try connection.execute(
                """
                UPDATE requests SET status = ?, updated_at = ?, next_attempt_at = ?, polled_at = ?, doc = ?,
                    version = version + 1
                WHERE id = ? AND version = ?
                """,
                [
                    .text(row.status), .integer(row.updatedAt), SQLiteValue(row.nextAttemptAt),
                    SQLiteValue(row.polledAt), .text(row.document), .text(row.id), .int(expectedVersion),
                ])
            guard connection.changes == 1 else { throw StoreConflict(id: row.id) }
            try Self.writeWebhookEvents(row, on: connection)
        }
        // After the commit, so a claim that finds the lease free reads what was just written.
        if let owner { leases.release(row.id, owner: owner) }
        changeObservers.report(CollectionOfOne(row.id))
        var stored = request
        stored.version += 1
        return stored
    }

    public func observeChanges(_ observer: @escaping @Sendable (String) -> Void) -> Bool {
        changeObservers.add(observer)
        return true
    }

    public func list(_ filter: RequestFilter, limit: Int, after cursor: RequestCursor?) async throws -> [GatewayRequest]
    {
        guard limit > 0 else { return [] }
        var conditions: [String] = []
        var bindings: [SQLiteValue] = []
        if let client = filter.clientName {
            conditions.append("client = ?")
            bindings.append(.text(client))
        }
        if !filter.statuses.isEmpty {
            conditions.append("status IN (\(Self.placeholders(filter.statuses.count)))")
            bindings += filter.statuses.map { .text($0.rawValue) }
        }
        if !filter.kinds.isEmpty {
            conditions.append("kind IN (\(Self.placeholders(filter.kinds.count)))")
            bindings += filter.kinds.map { .text($0.rawValue) }
        }
        if let person = filter.requestedBy {
            conditions.append("requested_by = ?")
            bindings.append(.text(person))
        }
        if let after = filter.createdAfter {
            conditions.append("created_at > ?")
            bindings.append(.integer(RequestRow.milliseconds(after)))
        }
        if let before = filter.createdBefore {
            conditions.append("created_at < ?")
            bindings.append(.integer(RequestRow.milliseconds(before)))
        }
        if let cursor {
            let createdAt = RequestRow.milliseconds(cursor.createdAt)
            conditions.append("(created_at < ? OR (created_at = ? AND id < ?))")
            bindings += [.integer(createdAt), .integer(createdAt), .text(cursor.id)]
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT doc, version FROM requests \(whereClause) ORDER BY created_at DESC, id DESC LIMIT ?"
        bindings.append(.int(limit))
        return try await read { [bindings] connection in
            let statement = try connection.prepare(sql)
            try statement.bind(bindings)
            var requests: [GatewayRequest] = []
            while try statement.step() { requests.append(try statement.storedDocument(at: 0).decoded()) }
            return requests
        }
    }

    public func claimForwardable(now: Date, limit: Int, owner: String, lease: Duration) async throws -> [GatewayRequest]
    {
        let nowMs = RequestRow.milliseconds(now)
        return try await claim(
            condition: "status = ? AND (next_attempt_at IS NULL OR next_attempt_at <= ?) AND import_id IS NULL",
            bindings: [.text(RequestStatus.queued.rawValue), .integer(nowMs)],
            order: "next_attempt_at, id", now: now, limit: limit, owner: owner, lease: lease)
    }

    public func claimStaleSubmitting(now: Date, limit: Int, owner: String, lease: Duration) async throws
        -> [GatewayRequest]
    {
        try await claim(
            condition: "status = ?", bindings: [.text(RequestStatus.submitting.rawValue)],
            order: "created_at, id", now: now, limit: limit, owner: owner, lease: lease)
    }

    public func claimPollable(now: Date, polledBefore: Date, limit: Int, owner: String, lease: Duration) async throws
        -> [GatewayRequest]
    {
        let polled = RequestStatus.allCases.filter(\.isPolled)
        return try await claim(
            condition: "status IN (\(Self.placeholders(polled.count))) AND (polled_at IS NULL OR polled_at < ?)",
            bindings: polled.map { .text($0.rawValue) } + [.integer(RequestRow.milliseconds(polledBefore))],
            order: "polled_at, id", now: now, limit: limit, owner: owner, lease: lease)
    }

    /// Leases up to `limit` unleased rows matching `condition` to `owner`, in `order`.
    ///
    /// A read, not a write: the leases are kept in memory (`RequestLeases`). The ids are scanned first (looking
    /// past the rows leased now, which would otherwise come first again), leased, and only then are their
    /// documents read, each with `condition` checked again: a read that began before another worker's last
    /// write to a row and its release of the lease cannot hand out the row's old state.
    func claim(
        condition: String, bindings: [SQLiteValue], order: String, now: Date, limit: Int, owner: String,
        lease: Duration
    ) async throws -> [GatewayRequest] {
        guard limit > 0 else { return [] }
        let nowMs = RequestRow.milliseconds(now)
        let untilMs = nowMs + RequestRow.milliseconds(lease)
        let scan = "SELECT id FROM requests WHERE \(condition) ORDER BY \(order) LIMIT ?"
        let fetch = "SELECT doc, version FROM requests WHERE id = ? AND \(condition)"
        let leases = leases
        let documents = try await read { connection in
            let scanLimit = limit + leases.count(at: nowMs)
            let candidates = try connection.withCachedStatement(scan) { statement in
                try statement.bind(bindings + [.int(scanLimit)])
                var ids: [String] = []
                while try statement.step() { ids.append(statement.string(at: 0) ?? "") }
                return ids
            }
            let taken = leases.take(candidates, limit: limit, owner: owner, nowMs: nowMs, untilMs: untilMs)
            var documents: [(id: String, document: StoredDocument)] = []
            do {
                for id in taken {
                    let document = try connection.withCachedStatement(fetch) { statement -> StoredDocument? in
                        try statement.bind([.text(id)] + bindings)
                        guard try statement.step() else { return nil }
                        return statement.storedDocument(at: 0)
                    }
                    if let document { documents.append((id, document)) } else { leases.release(id, owner: owner) }
                }
            } catch {
                for id in taken { leases.release(id, owner: owner) }
                throw error
            }
            return documents
        }
        var claimed: [GatewayRequest] = []
        claimed.reserveCapacity(documents.count)
        do {
            for (_, document) in documents { claimed.append(try document.decoded()) }
        } catch {
            for (id, _) in documents { leases.release(id, owner: owner) }
            throw error
        }
        return claimed
    }

    public func release(id: String, owner: String) async throws {
        guard !closed.load(ordering: .sequentiallyConsistent) else { throw StoreError("the store is closed") }
        leases.release(id, owner: owner)
    }

    public func countByStatus() async throws -> [RequestStatus: Int] {
        try await read { connection in
            var counts: [RequestStatus: Int] = [:]
            for row in try connection.query("SELECT status, COUNT(*) FROM requests GROUP BY status") {
                // A status this build does not know (written by a newer one) is not counted.
                guard let status = row[0].string.flatMap(RequestStatus.init(rawValue:)) else { continue }
                counts[status] = row[1].int ?? 0
            }
            return counts
        }
    }

    public func ping() async throws {
        try await read { connection in _ = try connection.query("SELECT 1") }
    }

    /// Deletes Idempotency-Keys created before `cutoff` (they no longer match anything); returns how many.
    @discardableResult
    public func purgeExpiredIdempotencyKeys(before cutoff: Date) async throws -> Int {
        let cutoffMs = RequestRow.milliseconds(cutoff)
        return try await write { connection in
            try connection.execute("DELETE FROM idempotency_keys WHERE created_at < ?", [.integer(cutoffMs)])
        }
    }

    // MARK: Plumbing

    /// Runs `body` in the writer's next group.
    func write<Value: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> Value) async throws -> Value {
        try await mappingErrors {
            try await writer.write(body)
        }
    }

    func read<Value: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> Value) async throws
        -> Value
    {
        try await mappingErrors {
            try await reader().run(body)
        }
    }

    private func reader() throws -> SQLiteExecutor {
        guard !closed.load(ordering: .sequentiallyConsistent) else { throw StoreError("the store is closed") }
        let turn = UInt(bitPattern: nextReader.wrappingAdd(1, ordering: .relaxed).oldValue)
        return readers[Int(turn % UInt(readers.count))]
    }

    /// Lets `StoreConflict`, `StoreError` and cancellation through; anything else becomes a `StoreError`.
    private func mappingErrors<Value>(_ body: () async throws -> Value) async throws -> Value {
        do {
            return try await body()
        } catch let error as StoreConflict {
            throw error
        } catch let error as StoreError {
            throw error
        } catch let error as CancellationError {
            throw error
        } catch let error as SQLiteError {
            if error == SQLiteError.executorShutDown { throw StoreError("the store is closed") }
            throw StoreError("database error: \(error.message)")
        } catch {
            throw StoreError("database error: \(error)")
        }
    }

    private static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }

    private static func createParentDirectory(of path: String) throws {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        let directory = String(path[..<slash])
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }
}
