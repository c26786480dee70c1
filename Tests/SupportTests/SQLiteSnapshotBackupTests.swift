import Foundation
import Testing

@testable import SQLite

@Suite struct SQLiteSnapshotBackupTests {
    /// Another connection (as the gateway in another process) keeps committing while the copy runs a page at a
    /// time: the copy never restarts, holds exactly the rows of one moment, and the writer is never refused.
    @Test func aSnapshotIsCopiedWhileAnotherConnectionWrites() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("live.db")
        let setup = try SQLiteConnection(path: path)
        try setup.enableWriteAheadLog()
        try setup.execute(unsafeSQL: "CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)")
        try setup.transaction { db in
            for index in 0..<1500 {
                try db.execute(
                    "INSERT INTO t (payload) VALUES (?)", [.text("row \(index) " + String(repeating: "x", count: 200))])
            }
        }
        let stop = SharedCounter()
        let committed = SharedCounter()
        let failures = SharedCounter()
        let writer = Thread {
            guard let db = try? SQLiteConnection(path: path) else {
                failures.add()
                return
            }
            db.setBusyTimeout(.seconds(5))
            var count = 0
            while stop.value == 0 && count < 100_000 {
                count += 1
                do {
                    try db.execute("INSERT INTO t (payload) VALUES (?)", [.text("during \(count)")])
                    committed.add()
                } catch {
                    failures.add()
                }
            }
        }
        writer.start()
        // Let some writes land first, so the snapshot is taken mid-stream.
        let started = ContinuousClock.now
        while committed.value < 20 && started.duration(to: .now) < .seconds(10) { usleep(1_000) }

        let source = try SQLiteConnection(path: path, mode: .readWrite)
        var remaining: [Int] = []
        let before = committed.value
        try source.backupSnapshot(to: directory.file("copy.db"), pagesPerStep: 1, pause: .microseconds(200)) {
            remaining.append($0)
        }
        let after = committed.value
        stop.add()
        while !writer.isFinished { usleep(1_000) }

        #expect(failures.value == 0)
        #expect(after > before, "the writer kept committing during the copy")
        #expect(remaining.count > 10)
        // A restarted copy would count its pages up again.
        #expect(zip(remaining, remaining.dropFirst()).allSatisfy { $0 > $1 })
        #expect(source.isInTransaction == false)
        let copy = try SQLiteConnection(path: directory.file("copy.db"), mode: .readOnly)
        #expect(try copy.integrityCheck() == "ok")
        let rows = try #require(try copy.query("SELECT count(*) FROM t").first?[0].int)
        #expect(rows >= 1500 + before && rows <= 1500 + after)
        // One moment: the copied rows are exactly the first `rows` ids.
        #expect(try copy.query("SELECT max(id) FROM t").first?[0].int == rows)
    }
}
