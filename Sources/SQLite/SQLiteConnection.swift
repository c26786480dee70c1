import CSQLite

/// One SQLite database connection. Not Sendable: use it from one thread at a time, for example inside an
/// ``SQLiteExecutor``, which keeps SQLite calls off event-loop threads.
public final class SQLiteConnection {
    /// Where the database lives.
    public enum Location: Sendable, Hashable {
        /// A file at this path.
        case path(String)
        /// A private in-memory database, gone when the connection closes.
        case memory
    }

    /// How the database is opened.
    public enum Mode: Sendable, Hashable {
        /// Read only; the file must exist.
        case readOnly
        /// Read and write; the file must exist.
        case readWrite
        /// Read and write, creating the file if needed.
        case readWriteCreate
    }

    /// How a transaction takes its locks (see SQLite's `BEGIN` documentation).
    public enum TransactionKind: Sendable, Hashable {
        /// Locks on first read or write; may fail with busy when it later needs to write.
        case deferred
        /// Takes the write lock at once, so the body never meets a busy error half way.
        case immediate
        /// Like immediate; in rollback-journal mode also keeps readers out.
        case exclusive
    }

    /// How hard SQLite syncs to disk (`PRAGMA synchronous`).
    public enum SynchronousMode: String, Sendable, Hashable {
        case off = "OFF"
        case normal = "NORMAL"
        case full = "FULL"
        case extra = "EXTRA"
    }

    /// The sqlite3 handle, valid for the connection's lifetime.
    let handle: OpaquePointer

    /// Where this connection's database lives.
    public let location: Location

    /// Statements compiled once by ``withCachedStatement(_:_:)``, by SQL text; none is in use while it is here.
    private var cachedStatements: [String: SQLiteStatement] = [:]
    /// Bounds the cache for callers that build SQL text dynamically.
    static let cachedStatementLimit = 64

    /// Opens (or creates) a database.
    public init(location: Location, mode: Mode = .readWriteCreate) throws {
        var flags: Int32 = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        switch mode {
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .readWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        }
        let filename: String
        switch location {
        case .path(let path):
            guard !path.isEmpty, !path.utf8.contains(0) else {
                throw SQLiteError(code: SQLITE_CANTOPEN, message: "invalid database path")
            }
            filename = path
        case .memory:
            filename = ":memory:"
            flags |= SQLITE_OPEN_MEMORY
        }
        var db: OpaquePointer? = nil
        let status = sqlite3_open_v2(filename, &db, flags, nil)
        guard status == SQLITE_OK, let db else {
            let error = SQLiteError(code: status, db: db)
            // sqlite3_open_v2 may hand back a handle even on failure; it must still be closed.
            sqlite3_close_v2(db)
            throw error
        }
        sqlite3_extended_result_codes(db, 1)
        self.handle = db
        self.location = location
    }

    /// Opens (or creates) the database file at `path`.
    public convenience init(path: String, mode: Mode = .readWriteCreate) throws {
        try self.init(location: .path(path), mode: mode)
    }

    /// Opens a private in-memory database.
    public static func inMemory() throws -> SQLiteConnection {
        try SQLiteConnection(location: .memory)
    }

    deinit {
        cachedStatements.removeAll()
        // close_v2 defers the close until every statement and backup of this handle is finished.
        sqlite3_close_v2(handle)
    }

    /// Runs one or more SQL statements with no parameters (DDL, pragmas, transaction control).
    ///
    /// Never build this text from untrusted input; use ``execute(_:_:)`` or ``prepare(_:)`` with bindings.
    public func execute(unsafeSQL sql: String) throws {
        let status = sqlite3_exec(handle, sql, nil, nil, nil)
        guard status == SQLITE_OK else { throw SQLiteError(code: status, db: handle) }
    }

    /// Compiles one SQL statement; text after the first statement is rejected.
    public func prepare(_ sql: String) throws -> SQLiteStatement {
        try SQLiteStatement(connection: self, sql: sql)
    }

    /// Runs `body` with the statement compiled from `sql`, compiling it only the first time this connection sees
    /// that text (parsing and planning cost more than running a simple statement). The statement is reset and
    /// its bindings cleared when `body` returns, so it holds no read snapshot afterwards; do not keep it.
    public func withCachedStatement<Result>(_ sql: String, _ body: (SQLiteStatement) throws -> Result) throws
        -> Result
    {
        // Taken out while in use, so a nested use of the same text compiles its own.
        let statement =
            try cachedStatements.removeValue(forKey: sql)
            ?? SQLiteStatement(connection: self, sql: sql, retainingConnection: false)
        defer {
            statement.reset()
            statement.clearBindings()
            if cachedStatements.count < Self.cachedStatementLimit { cachedStatements[sql] = statement }
        }
        return try body(statement)
    }

    /// Runs one statement with positional `bindings` to completion and returns the number of rows it changed.
    @discardableResult
    public func execute(_ sql: String, _ bindings: [SQLiteValue] = []) throws -> Int {
        try withCachedStatement(sql) { statement in
            try statement.bind(bindings)
            try statement.run()
        }
        return changes
    }

    /// Runs one query with positional `bindings` and returns every row.
    public func query(_ sql: String, _ bindings: [SQLiteValue] = []) throws -> [SQLiteRow] {
        try withCachedStatement(sql) { statement in
            try statement.bind(bindings)
            return try statement.allRows()
        }
    }

    /// Runs `body` in a transaction: commits when it returns, rolls back when it (or the commit) throws.
    @discardableResult
    public func transaction<Result>(
        _ kind: TransactionKind = .immediate, _ body: (SQLiteConnection) throws -> Result
    ) throws -> Result {
        switch kind {
        case .deferred: try execute(unsafeSQL: "BEGIN DEFERRED")
        case .immediate: try execute(unsafeSQL: "BEGIN IMMEDIATE")
        case .exclusive: try execute(unsafeSQL: "BEGIN EXCLUSIVE")
        }
        do {
            let result = try body(self)
            try execute(unsafeSQL: "COMMIT")
            return result
        } catch {
            // SQLite may already have rolled back (for example after SQLITE_FULL); only roll back if still open.
            if isInTransaction { try? execute(unsafeSQL: "ROLLBACK") }
            throw error
        }
    }

    /// True while a transaction is open (the connection is not in autocommit mode).
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// How long a statement waits for another connection's lock before failing with busy.
    public func setBusyTimeout(_ timeout: Duration) {
        let milliseconds = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        sqlite3_busy_timeout(handle, Int32(clamping: max(0, milliseconds)))
    }

    /// Switches the database to write-ahead logging, so readers and one writer work concurrently.
    ///
    /// The mode is stored in the file and persists. Throws if SQLite keeps another mode (in-memory databases).
    public func enableWriteAheadLog() throws {
        let mode = try query("PRAGMA journal_mode=WAL").first?[0].string?.lowercased()
        guard mode == "wal" else {
            throw SQLiteError(code: SQLITE_ERROR, message: "journal mode stayed \(mode ?? "unknown"), not wal")
        }
    }

    /// The current journal mode, lowercased (for example `wal` or `delete`).
    public func journalMode() throws -> String {
        try query("PRAGMA journal_mode").first?[0].string?.lowercased() ?? ""
    }

    /// Sets `PRAGMA synchronous` for this connection.
    public func setSynchronous(_ mode: SynchronousMode) throws {
        try execute(unsafeSQL: "PRAGMA synchronous=\(mode.rawValue)")
    }

    /// Checkpoints the write-ahead log into the database file and truncates it (for example before shutdown).
    public func checkpoint() throws {
        let status = sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_TRUNCATE, nil, nil)
        guard status == SQLITE_OK else { throw SQLiteError(code: status, db: handle) }
    }

    /// The rowid of the most recent successful INSERT on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the most recent INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes64(handle)) }

    /// Rows changed since the connection opened.
    public var totalChanges: Int { Int(sqlite3_total_changes64(handle)) }

    /// Copies the whole database to a new file at `path`, `pagesPerStep` pages at a time.
    ///
    /// The copy is written next to `path` and renamed into place only when complete, so `path` never holds a
    /// partial database. Writes made through this connection during the copy are included. A write through
    /// another connection restarts the copy; with write-ahead logging, `pagesPerStep: -1` copies a consistent
    /// snapshot in one step without blocking writers.
    public func backup(to path: String, pagesPerStep: Int32 = 256) throws {
        try copyPages(to: path, pagesPerStep: pagesPerStep, afterStep: { _ in })
    }

    /// Runs a backup to `path` step by step until it is done (`afterStep` after each step that left pages to
    /// copy), retrying a bounded number of times while the source is locked; a failed copy leaves nothing.
    func copyPages(to path: String, pagesPerStep: Int32, afterStep: (_ backup: SQLiteBackup) -> Void) throws {
        let backup = try SQLiteBackup(source: self, destinationPath: path)
        do {
            var busyRetries = 0
            while true {
                switch try backup.step(pages: pagesPerStep) {
                case .done:
                    try backup.finish()
                    return
                case .more:
                    busyRetries = 0
                    afterStep(backup)
                case .busy:
                    busyRetries += 1
                    guard busyRetries <= SQLiteBackup.maximumBusyRetries else {
                        throw SQLiteError(code: SQLITE_BUSY, message: "backup gave up: the database stayed locked")
                    }
                    SQLiteBackup.pauseAfterBusy()
                }
            }
        } catch {
            backup.abandon()
            throw error
        }
    }
}

@available(*, unavailable, message: "SQLiteConnection is not thread-safe; use SQLiteExecutor to share it")
extension SQLiteConnection: Sendable {}
