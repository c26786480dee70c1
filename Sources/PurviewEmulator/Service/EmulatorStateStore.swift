import FoundationEssentials
import PurviewWorkflow
import SQLite
import Synchronization

/// `--state FILE`: the engine snapshot as JSON in one row of a SQLite table, written on the store's own
/// thread.
final class EmulatorStateStore: Sendable {
    private let executor: SQLiteExecutor
    /// The snapshot found when the file was opened, if any.
    let restoredSnapshot: JSONValue?

    /// Opens (or creates) the file and reads the snapshot in it. Blocks until the file is open.
    init(path: String) throws(EmulatorStateError) {
        let found = Mutex<String?>(nil)
        do {
            executor = try SQLiteExecutor(path: path) { connection in
                // Another process (or a test's reader) may hold the file for a moment.
                connection.setBusyTimeout(.seconds(5))
                try connection.execute(
                    unsafeSQL: """
                        CREATE TABLE IF NOT EXISTS emulator_state (
                            id INTEGER PRIMARY KEY CHECK (id = 1),
                            snapshot TEXT NOT NULL,
                            saved_at TEXT NOT NULL
                        )
                        """)
                let rows = try connection.query("SELECT snapshot FROM emulator_state WHERE id = 1")
                let text = rows.first?[0].string
                found.withLock { $0 = text }
            }
        } catch {
            throw EmulatorStateError(message: "cannot open the state file \(path): \(error)")
        }
        guard let text = found.withLock({ $0 }) else {
            restoredSnapshot = nil
            return
        }
        do {
            restoredSnapshot = try JSONValue(parsing: text)
        } catch {
            executor.shutdownAndWait()
            throw EmulatorStateError(message: "the state file \(path) holds no readable snapshot: \(error)")
        }
    }

    /// Replaces the stored snapshot.
    func save(_ snapshot: [UInt8], savedAt: String) async throws {
        let text = String(decoding: snapshot, as: UTF8.self)
        try await executor.run { connection in
            _ = try connection.execute(
                "INSERT OR REPLACE INTO emulator_state (id, snapshot, saved_at) VALUES (1, ?, ?)",
                [.text(text), .text(savedAt)])
        }
    }

    func shutdown() async { await executor.shutdown() }
}

/// The state file cannot be opened, read or restored.
public struct EmulatorStateError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
