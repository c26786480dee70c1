import Foundation
import GatewayCore
import GatewayStorage
import SQLite
import Testing

/// `storedVersion(id:)` on every store, and the SQLite connection's statement cache.
@Suite struct StoredVersionAndStatementCacheTests {
    @Test(arguments: StoreKind.allCases)
    func theStoredVersionFollowsEveryUpdate(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            #expect(try await store.storedVersion(id: "r1") == nil)
            _ = try await store.insert(Fixtures.request("r1"), idempotencyWindow: Fixtures.day, now: Fixtures.t0)
            #expect(try await store.storedVersion(id: "r1") == 1)
            var request = try #require(try await store.get(id: "r1"))
            request.comment = "changed"
            let updated = try await store.update(request)
            #expect(try await store.storedVersion(id: "r1") == 2)
            #expect(updated.version == 2)
            // A claim leases the row without changing the document: the version stays.
            _ = try await store.claimForwardable(now: Fixtures.time(60_000), limit: 10, owner: "f", lease: .seconds(60))
            #expect(try await store.storedVersion(id: "r1") == 2)
            #expect(try await store.storedVersion(id: "r2") == nil)
        }
    }

    @Test func aCachedQueryLeftMidwayHoldsNoSnapshot() throws {
        try withTemporaryFile { path in
            let writer = try SQLiteConnection(path: path)
            try writer.enableWriteAheadLog()
            try writer.execute(unsafeSQL: "CREATE TABLE t (n INTEGER)")
            try writer.execute("INSERT INTO t (n) VALUES (?), (?)", [.integer(1), .integer(2)])
            let reader = try SQLiteConnection(path: path, mode: .readOnly)
            let countSQL = "SELECT count(*) FROM t"
            let firstOnly = try reader.withCachedStatement("SELECT n FROM t ORDER BY n") { statement in
                // Stops after the first of two rows: the statement is reset on return, ending its read.
                try statement.step() ? statement.int(at: 0) : nil
            }
            #expect(firstOnly == 1)
            #expect(!reader.isInTransaction)
            try writer.execute("INSERT INTO t (n) VALUES (?)", [.integer(3)])
            #expect(try reader.query(countSQL).first?[0].int == 3)
            // The same text again reuses the compiled statement, its old bindings cleared.
            let rows = try reader.withCachedStatement("SELECT n FROM t ORDER BY n") { try $0.allRows() }
            #expect(rows.map { $0[0].int } == [1, 2, 3])
            try writer.execute("INSERT INTO t (n) VALUES (?)", [.integer(4)])
            #expect(try reader.query(countSQL).first?[0].int == 4)
        }
    }

    @Test func theSameTextNestedCompilesItsOwnStatement() throws {
        let connection = try SQLiteConnection.inMemory()
        try connection.execute(unsafeSQL: "CREATE TABLE t (n INTEGER)")
        for n in 1...3 { try connection.execute("INSERT INTO t (n) VALUES (?)", [.integer(Int64(n))]) }
        let sql = "SELECT n FROM t WHERE n >= ? ORDER BY n"
        let pairs = try connection.withCachedStatement(sql) { outer in
            try outer.bind([.integer(2)])
            var pairs: [[Int]] = []
            while try outer.step() {
                let value = outer.int(at: 0)
                let inner = try connection.withCachedStatement(sql) { inner in
                    try inner.bind([.integer(Int64(value))])
                    return try inner.allRows().map { $0[0].int ?? 0 }
                }
                pairs.append([value] + inner)
            }
            return pairs
        }
        #expect(pairs == [[2, 2, 3], [3, 3]])
    }

    @Test func aFailedStatementLeavesTheCachedOneUsable() throws {
        let connection = try SQLiteConnection.inMemory()
        try connection.execute(unsafeSQL: "CREATE TABLE t (n INTEGER UNIQUE)")
        let insert = "INSERT INTO t (n) VALUES (?)"
        try connection.execute(insert, [.integer(1)])
        #expect(throws: SQLiteError.self) { try connection.execute(insert, [.integer(1)]) }
        try connection.execute(insert, [.integer(2)])
        #expect(try connection.query("SELECT count(*) FROM t").first?[0].int == 2)
    }
}

/// Runs `body` with the path of a database file in a new temporary directory, removed afterwards.
private func withTemporaryFile(_ body: (String) throws -> Void) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stmt-cache-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try body(directory.appendingPathComponent("test.db").path)
}
