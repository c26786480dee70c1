import Foundation
import Synchronization
import Testing

@testable import SQLite

@Suite struct SQLiteConnectionTests {
    @Test func bindsAndColumnsRoundTripEveryType() throws {
        let directory = try TemporaryDirectory()
        let db = try SQLiteConnection(path: directory.file("types.db"))
        try db.execute(unsafeSQL: "CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB, n)")
        let blob = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let text = "naïve ☕ 𝄞 日本語 \u{0} after NUL \"quotes\" 'single'"

        let insert = try db.prepare("INSERT INTO t (i, r, s, b, n) VALUES (?, ?, ?, ?, ?)")
        try insert.bind(Int64.max, at: 1)
        try insert.bind(Double.pi, at: 2)
        try insert.bind(text, at: 3)
        try insert.bind(blob, at: 4)
        try insert.bindNull(at: 5)
        try insert.run()
        let firstID = db.lastInsertRowID
        #expect(db.changes == 1)

        insert.reset()
        try insert.bind([.integer(Int64.min), .real(-1e308), .text(""), .blob([]), .null])
        try insert.run()
        insert.reset()
        try insert.bind([.int(-1), 0.5, nil, nil, "typed"])
        try insert.run()
        #expect(db.totalChanges == 3)

        let select = try db.prepare("SELECT i, r, s, b, n FROM t WHERE id = :id")
        try select.bind(.integer(firstID), named: ":id")
        #expect(try select.step())
        #expect(select.int64(at: 0) == Int64.max)
        #expect(select.double(at: 1) == Double.pi)
        #expect(select.string(at: 2) == text)
        #expect(select.blob(at: 3) == blob)
        #expect(select.isNull(at: 4) && select.string(at: 4) == nil && select.blob(at: 4) == nil)
        #expect(select.columnName(at: 2) == "s")
        #expect(try !select.step())

        let rows = try db.query("SELECT i, r, s, b, n FROM t ORDER BY id")
        #expect(rows.count == 3)
        #expect(rows[1].values == [.integer(Int64.min), .real(-1e308), .text(""), .blob([]), .null])
        #expect(rows[2]["i"] == .integer(-1) && rows[2]["s"] == .null && rows[2]["n"]?.string == "typed")
        #expect(rows[2]["missing"] == nil)
        // Empty text and empty blob stay distinct from NULL.
        #expect(try db.query("SELECT count(*) FROM t WHERE s = '' AND b = x''").first?[0] == 1)
    }

    @Test func namedParametersAcceptEveryPrefix() throws {
        let db = try SQLiteConnection.inMemory()
        let statement = try db.prepare("SELECT :a, @b, $c, ?4, :e, :f, :g")
        let text = "colon"
        try statement.bind(text, named: ":a")
        try statement.bind(Int64(2), named: "@b")
        try statement.bind(3.5, named: "$c")
        try statement.bind(4, at: 4)
        try statement.bind([0xde, 0xad], named: ":e")
        try statement.bind(.int(6), named: ":f")
        try statement.bindNull(named: ":g")
        let row = try #require(try statement.allRows().first)
        #expect(row.values == ["colon", 2, 3.5, 4, .blob([0xde, 0xad]), 6, nil])
        #expect(throws: SQLiteError.self) { try statement.bind(.null, named: ":nope") }
    }

    @Test func misuseIsReportedNotIgnored() throws {
        let db = try SQLiteConnection.inMemory()
        try db.execute(unsafeSQL: "CREATE TABLE t (x TEXT UNIQUE NOT NULL); -- comment")
        // A trailing comment is fine, a second statement is not.
        _ = try db.prepare("SELECT 1; -- trailing comment\n")
        #expect(throws: SQLiteError.self) { try db.prepare("SELECT 1; SELECT 2") }
        #expect(throws: SQLiteError.self) { try db.prepare("   ") }
        do {
            _ = try db.prepare("SELEC 1")
            Issue.record("syntax error not reported")
        } catch let error as SQLiteError {
            #expect(error.primaryCode == 1 && error.message.contains("syntax error"))
        }
        let statement = try db.prepare("INSERT INTO t VALUES (?)")
        #expect(throws: SQLiteError.self) { try statement.bind([]) }
        #expect(throws: SQLiteError.self) { try statement.bind(["a", "b"]) }
        #expect(throws: SQLiteError.self) { try statement.bind("x", at: 2) }
        #expect(throws: SQLiteError.self) { try statement.bind("x", at: 0) }
    }

    @Test func constraintErrorsCarryCodeAndMessageButNeverBoundValues() throws {
        let db = try SQLiteConnection.inMemory()
        try db.execute(unsafeSQL: "CREATE TABLE keys (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
        try db.execute("INSERT INTO keys VALUES (?, ?)", ["secret-token-123", "v"])
        do {
            try db.execute("INSERT INTO keys VALUES (?, ?)", ["secret-token-123", "v"])
            Issue.record("duplicate accepted")
        } catch let error as SQLiteError {
            #expect(error.isUniqueViolation && error.isConstraintViolation && !error.isBusy)
            #expect(error.code == 1555)  // SQLITE_CONSTRAINT_PRIMARYKEY
            #expect(error.message.contains("keys.k"))
            #expect(!error.description.contains("secret-token-123"))
            #expect(error.shortDescription == "constraint failed")
        }
        do {
            try db.execute("INSERT INTO keys VALUES (?, ?)", ["other", nil])
            Issue.record("NULL accepted")
        } catch let error as SQLiteError {
            #expect(error.code == 1299)  // SQLITE_CONSTRAINT_NOTNULL
            #expect(error.isConstraintViolation && !error.isUniqueViolation)
        }
    }

    @Test func transactionsCommitOrRollBack() throws {
        struct Abort: Error {}
        let db = try SQLiteConnection.inMemory()
        try db.execute(unsafeSQL: "CREATE TABLE t (x INTEGER)")
        let inserted = try db.transaction { db in
            try db.execute("INSERT INTO t VALUES (?)", [1])
            return db.lastInsertRowID
        }
        #expect(inserted == 1)
        #expect(throws: Abort.self) {
            try db.transaction { db in
                try db.execute("INSERT INTO t VALUES (?)", [2])
                #expect(db.isInTransaction)
                throw Abort()
            }
        }
        #expect(!db.isInTransaction)
        // A nested BEGIN fails, and the outer transaction rolls back.
        #expect(throws: SQLiteError.self) {
            try db.transaction(.deferred) { db in
                try db.execute("INSERT INTO t VALUES (?)", [3])
                try db.transaction { _ in }
            }
        }
        #expect(try db.query("SELECT x FROM t").map { $0[0] } == [1])
    }

    @Test func busyBetweenTwoConnections() throws {
        let directory = try TemporaryDirectory()
        let first = try SQLiteConnection(path: directory.file("busy.db"))
        try first.execute(unsafeSQL: "CREATE TABLE t (x INTEGER)")
        let second = try SQLiteConnection(path: directory.file("busy.db"))
        second.setBusyTimeout(.milliseconds(20))

        try first.execute(unsafeSQL: "BEGIN IMMEDIATE")
        try first.execute("INSERT INTO t VALUES (1)")
        do {
            try second.transaction { try $0.execute("INSERT INTO t VALUES (2)") }
            Issue.record("second writer got the lock")
        } catch let error as SQLiteError {
            #expect(error.isBusy)
            #expect(error.primaryCode == 5)
        }
        #expect(!second.isInTransaction)
        try first.execute(unsafeSQL: "COMMIT")
        try second.transaction { try $0.execute("INSERT INTO t VALUES (2)") }
        #expect(try first.query("SELECT count(*) FROM t").first?[0] == 2)
    }

    @Test func writeAheadLogLetsReadersKeepTheirSnapshot() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("wal.db")
        let writer = try SQLiteConnection(path: path)
        try writer.enableWriteAheadLog()
        #expect(try writer.journalMode() == "wal")
        try writer.setSynchronous(.normal)
        #expect(try writer.query("PRAGMA synchronous").first?[0] == 1)
        try writer.execute(unsafeSQL: "CREATE TABLE t (x INTEGER)")
        try writer.execute("INSERT INTO t VALUES (1)")
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))

        let reader = try SQLiteConnection(path: path, mode: .readOnly)
        #expect(try reader.journalMode() == "wal")
        try reader.execute(unsafeSQL: "BEGIN")
        #expect(try reader.query("SELECT count(*) FROM t").first?[0] == 1)
        // The writer commits while the reader's transaction is open: no busy error, and the reader's view holds.
        try writer.transaction { try $0.execute("INSERT INTO t VALUES (2)") }
        #expect(try reader.query("SELECT count(*) FROM t").first?[0] == 1)
        try reader.execute(unsafeSQL: "COMMIT")
        #expect(try reader.query("SELECT count(*) FROM t").first?[0] == 2)
        #expect(throws: SQLiteError.self) { try reader.execute("INSERT INTO t VALUES (3)") }

        try writer.checkpoint()
        #expect(try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int == 0)
        #expect(throws: SQLiteError.self) { try SQLiteConnection.inMemory().enableWriteAheadLog() }
    }

    @Test func openFailuresThrow() throws {
        let directory = try TemporaryDirectory()
        #expect(throws: SQLiteError.self) { try SQLiteConnection(path: directory.file("missing/dir/x.db")) }
        #expect(throws: SQLiteError.self) { try SQLiteConnection(path: directory.file("absent.db"), mode: .readWrite) }
        #expect(throws: SQLiteError.self) { try SQLiteConnection(path: "") }
        #expect(try directory.contents().isEmpty)
    }

    @Test func backupCopiesIntoPlaceAndReplacesOldCopies() throws {
        let directory = try TemporaryDirectory()
        let db = try SQLiteConnection(path: directory.file("source.db"))
        try db.enableWriteAheadLog()
        try db.execute(unsafeSQL: "CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)")
        try db.transaction { db in
            for index in 0..<2000 {
                try db.execute(
                    "INSERT INTO t (payload) VALUES (?)", [.text("row \(index) " + String(repeating: "x", count: 200))])
            }
        }
        let target = directory.file("copy.db")
        try "not a database".write(toFile: target, atomically: false, encoding: .utf8)
        try "stale log".write(toFile: target + "-wal", atomically: false, encoding: .utf8)
        try db.backup(to: target, pagesPerStep: 7)

        let copy = try SQLiteConnection(path: target, mode: .readOnly)
        #expect(try copy.query("PRAGMA integrity_check").first?[0] == "ok")
        #expect(try copy.query("SELECT count(*), max(id) FROM t").first?.values == [2000, 2000])
        #expect(try copy.journalMode() == "wal")
        #expect(try directory.contents().allSatisfy { !$0.contains("partial") })
        #expect(throws: SQLiteError.self) { try db.backup(to: directory.file("no/such/dir.db")) }
    }
}

@Suite struct SQLiteExecutorTests {
    @Test func manyConcurrentTasksShareOneExecutor() async throws {
        let directory = try TemporaryDirectory()
        let executor = try SQLiteExecutor(path: directory.file("executor.db")) { db in
            try db.enableWriteAheadLog()
            try db.execute(unsafeSQL: "CREATE TABLE t (id INTEGER PRIMARY KEY, task INTEGER UNIQUE)")
        }
        let ids = try await withThrowingTaskGroup(of: Int64.self) { group in
            for task in 0..<200 {
                group.addTask {
                    try await executor.run { db in
                        try db.execute("INSERT INTO t (task) VALUES (?)", [.int(task)])
                        return db.lastInsertRowID
                    }
                }
            }
            return try await group.reduce(into: Set<Int64>()) { $0.insert($1) }
        }
        #expect(ids == Set(1...200))
        #expect(try await executor.run { try $0.query("SELECT count(DISTINCT task) FROM t").first?[0] } == 200)
        // Errors thrown inside the job reach the caller.
        await #expect(throws: SQLiteError.self) {
            try await executor.run { try $0.execute("INSERT INTO t (task) VALUES (0)") }
        }
        await executor.shutdown()
    }

    @Test func shutdownFinishesQueuedWorkThenRefusesMore() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("shutdown.db")
        let executor = try SQLiteExecutor(path: path) { db in
            try db.enableWriteAheadLog()
            try db.execute(unsafeSQL: "CREATE TABLE t (x INTEGER)")
        }
        let submitted = SharedCounter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<50 {
                group.addTask {
                    submitted.add()
                    try await executor.run { try $0.execute("INSERT INTO t VALUES (?)", [.int(index)]) }
                }
            }
            while submitted.value < 50 { await Task.yield() }
            try await group.waitForAll()
            await executor.shutdown()
        }
        await executor.shutdown()  // idempotent
        await #expect(throws: SQLiteError.executorShutDown) { try await executor.run { _ in 1 } }
        // The last connection closed cleanly: SQLite checkpointed and removed the write-ahead log.
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        let check = try SQLiteConnection(path: path)
        #expect(try check.query("SELECT count(*) FROM t").first?[0] == 50)
    }

    @Test func openAndConfigureErrorsSurfaceFromInit() throws {
        struct ConfigureFailed: Error {}
        let directory = try TemporaryDirectory()
        #expect(throws: SQLiteError.self) { try SQLiteExecutor(path: directory.file("no/such/dir.db")) }
        #expect(throws: ConfigureFailed.self) {
            try SQLiteExecutor(location: .memory) { _ in throw ConfigureFailed() }
        }
        let blocking = try SQLiteExecutor(location: .memory)
        blocking.shutdownAndWait()
        blocking.shutdownAndWait()
    }

    @Test func cancelledJobsThatHaveNotStartedAreSkipped() async throws {
        let executor = try SQLiteExecutor(location: .memory) { try $0.execute(unsafeSQL: "CREATE TABLE t (x INTEGER)") }
        let release = SharedCounter()
        let blockerStarted = SharedCounter()
        // Occupy the thread so the next job stays queued.
        async let blocker: Void = executor.run { _ in
            blockerStarted.add()
            for _ in 0..<5000 where release.value == 0 { usleep(1000) }
        }
        while blockerStarted.value == 0 { await Task.yield() }
        let queued = Task { try await executor.run { try $0.execute("INSERT INTO t VALUES (1)") } }
        queued.cancel()
        release.add()
        try await blocker
        await #expect(throws: CancellationError.self) { _ = try await queued.value }
        #expect(try await executor.run { try $0.query("SELECT count(*) FROM t").first?[0] } == 0)
        await executor.shutdown()
    }

    @Test func busyTimeoutWaitsForTheOtherWriter() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("wait.db")
        let first = try SQLiteExecutor(path: path) { db in
            try db.enableWriteAheadLog()
            try db.execute(unsafeSQL: "CREATE TABLE t (x INTEGER)")
        }
        let second = try SQLiteExecutor(path: path) { $0.setBusyTimeout(.seconds(10)) }
        try await first.run { db in
            try db.execute(unsafeSQL: "BEGIN IMMEDIATE")
            try db.execute("INSERT INTO t VALUES (1)")
        }
        let waiting = SharedCounter()
        async let secondWrite: Void = second.run { db in
            waiting.add()
            try db.transaction { try $0.execute("INSERT INTO t VALUES (2)") }
        }
        while waiting.value == 0 { await Task.yield() }
        try await Task.sleep(for: .milliseconds(50))
        try await first.run { try $0.execute(unsafeSQL: "COMMIT") }
        try await secondWrite
        #expect(try await first.run { try $0.query("SELECT x FROM t ORDER BY x").map { $0[0] } } == [1, 2])
        await first.shutdown()
        await second.shutdown()
    }

    /// Fills `counter`/`items` so that a consistent copy always has count(items) == counter.value.
    static func makeLedger(_ db: SQLiteConnection, rows: Int) throws {
        try db.enableWriteAheadLog()
        try db.execute(
            unsafeSQL: """
                CREATE TABLE items (id INTEGER PRIMARY KEY, payload TEXT NOT NULL);
                CREATE TABLE counter (value INTEGER NOT NULL);
                INSERT INTO counter VALUES (0);
                """)
        try db.transaction { db in
            for index in 0..<rows { try appendItem(db, index) }
        }
    }

    static func appendItem(_ db: SQLiteConnection, _ index: Int) throws {
        try db.execute(
            "INSERT INTO items (payload) VALUES (?)", [.text("item \(index) " + String(repeating: "p", count: 300))])
        try db.execute("UPDATE counter SET value = value + 1")
    }

    static func checkLedger(at path: String) throws -> Int {
        let copy = try SQLiteConnection(path: path, mode: .readOnly)
        #expect(try copy.query("PRAGMA integrity_check").first?[0] == "ok")
        let row = try #require(try copy.query("SELECT (SELECT count(*) FROM items), (SELECT value FROM counter)").first)
        #expect(row[0] == row[1])
        return row[0].int ?? -1
    }

    @Test func backupInterleavesWithWritesOnTheSameExecutor() async throws {
        let directory = try TemporaryDirectory()
        let executor = try SQLiteExecutor(path: directory.file("live.db")) { try Self.makeLedger($0, rows: 3000) }
        let target = directory.file("live-copy.db")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for index in 0..<300 {
                    try await executor.run { db in try db.transaction { try Self.appendItem($0, index) } }
                }
            }
            group.addTask { try await executor.backup(to: target, pagesPerStep: 2) }
            try await group.waitForAll()
        }
        let copied = try Self.checkLedger(at: target)
        #expect(copied >= 3000 && copied <= 3300)
        #expect(try await executor.run { try $0.query("SELECT value FROM counter").first?[0] } == 3300)
        await executor.shutdown()
    }

    @Test func snapshotBackupFromASecondConnectionWhileAnotherWrites() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("served.db")
        let writer = try SQLiteExecutor(path: path) { try Self.makeLedger($0, rows: 2000) }
        let backupConnection = try SQLiteExecutor(path: path, mode: .readOnly)
        let stepTarget = directory.file("stepped-copy.db")
        let snapshotTarget = directory.file("snapshot-copy.db")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for index in 0..<200 {
                    try await writer.run { db in try db.transaction { try Self.appendItem($0, index) } }
                }
            }
            // One step: a consistent snapshot that never blocks the writer (write-ahead log).
            group.addTask { try await backupConnection.backup(to: snapshotTarget, pagesPerStep: -1) }
            // Many steps from another connection restart on each write, yet finish once writing stops.
            group.addTask { try await backupConnection.backup(to: stepTarget, pagesPerStep: 50) }
            try await group.waitForAll()
        }
        #expect((2000...2200).contains(try Self.checkLedger(at: snapshotTarget)))
        #expect((2000...2200).contains(try Self.checkLedger(at: stepTarget)))
        await backupConnection.shutdown()
        await writer.shutdown()
    }

    @Test func cancelledBackupNeverStarts() async throws {
        let directory = try TemporaryDirectory()
        let executor = try SQLiteExecutor(path: directory.file("big.db")) { try Self.makeLedger($0, rows: 100) }
        let release = SharedCounter()
        let blockerStarted = SharedCounter()
        async let blocker: Void = executor.run { _ in
            blockerStarted.add()
            for _ in 0..<5000 where release.value == 0 { usleep(1000) }
        }
        while blockerStarted.value == 0 { await Task.yield() }
        let target = directory.file("never.db")
        let backup = Task { try await executor.backup(to: target, pagesPerStep: 1) }
        backup.cancel()
        release.add()
        try await blocker
        await #expect(throws: CancellationError.self) { try await backup.value }
        #expect(try directory.contents().allSatisfy { $0.hasPrefix("big.db") })
        await executor.shutdown()
    }

    @Test func abandonedBackupRemovesItsPartialFile() throws {
        let directory = try TemporaryDirectory()
        let db = try SQLiteConnection(path: directory.file("source.db"))
        try Self.makeLedger(db, rows: 500)
        let backup = try SQLiteBackup(source: db, destinationPath: directory.file("copy.db"))
        #expect(try backup.step(pages: 2) == .more)
        #expect(backup.remainingPages > 0)
        #expect(try directory.contents().contains { $0.hasPrefix("copy.db.partial-") })
        backup.abandon()
        backup.abandon()
        #expect(try directory.contents().allSatisfy { $0.hasPrefix("source.db") })
        #expect(throws: SQLiteError.self) { try backup.step(pages: 1) }
    }
}
