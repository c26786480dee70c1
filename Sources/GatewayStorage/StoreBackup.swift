import GatewayCore
import SQLite

/// `purview-gateway backup`: an online copy of a SQLite store from another process than the gateway's.
public enum StoreBackup {
    /// What a finished copy holds.
    public struct Summary: Sendable {
        /// Requests in the copy.
        public var requests: Int
    }

    /// Copies the SQLite database at `databasePath` to `destination` (replacing it), one consistent snapshot,
    /// `pagesPerStep` pages at a time, then checks the copy's integrity. The gateway may keep writing meanwhile:
    /// with write-ahead logging it is never blocked. Blocks the calling thread until done.
    ///
    /// Throws `StoreError` naming what failed; nothing is left at `destination` when the copy fails.
    public static func copySQLite(databasePath: String, to destination: String, pagesPerStep: Int32 = 64) throws
        -> Summary
    {
        do {
            // Read-write only so SQLite may use the write-ahead log's shared memory; nothing is written.
            let connection = try SQLiteConnection(path: databasePath, mode: .readWrite)
            connection.setBusyTimeout(.seconds(5))
            try connection.backupSnapshot(to: destination, pagesPerStep: pagesPerStep)
            let copy = try SQLiteConnection(path: destination, mode: .readOnly)
            let check = try copy.integrityCheck()
            guard check == "ok" else {
                throw StoreError("the copy at \(destination) failed its integrity check: \(check)")
            }
            let requests = try copy.query("SELECT COUNT(*) FROM requests").first?[0].int ?? 0
            return Summary(requests: requests)
        } catch let error as StoreError {
            throw error
        } catch let error as SQLiteError {
            throw StoreError("backup of \(databasePath) failed: \(error.message)")
        }
    }
}
