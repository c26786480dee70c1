import CSQLite
import Glibc

extension SQLiteConnection {
    /// Copies one consistent snapshot of the database to a new file at `path` while other connections (other
    /// processes too) keep writing, `pagesPerStep` pages per step with `pause` between steps.
    ///
    /// A read transaction is held on this connection for the whole copy, so every step reads the same snapshot:
    /// with write-ahead logging, writers are never blocked and never restart the copy (they only keep the log
    /// from being checkpointed past the snapshot until the copy ends). `progress` is told the pages left after
    /// each step. The file appears at `path` only when complete; on failure nothing is left there.
    public func backupSnapshot(
        to path: String, pagesPerStep: Int32 = 64, pause: Duration = .milliseconds(1),
        progress: (_ remainingPages: Int) -> Void = { _ in }
    ) throws {
        precondition(pagesPerStep > 0, "SQLiteConnection.backupSnapshot: pagesPerStep must be positive")
        try execute(unsafeSQL: "BEGIN DEFERRED")
        defer { if isInTransaction { try? execute(unsafeSQL: "ROLLBACK") } }
        // The first read fixes the snapshot the steps copy.
        _ = try query("SELECT COUNT(*) FROM sqlite_schema")
        try copyPages(to: path, pagesPerStep: pagesPerStep) { backup in
            progress(backup.remainingPages)
            if pause > .zero { Self.sleep(pause) }
        }
    }

    /// `PRAGMA integrity_check`: "ok", or the first problem found.
    public func integrityCheck() throws -> String {
        try query("PRAGMA integrity_check(1)").first?[0].string ?? "no answer"
    }

    private static func sleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var pause = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        nanosleep(&pause, nil)
    }
}
