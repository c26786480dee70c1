import CSQLite
import Glibc

/// An online copy of a connection's main database into a new file, made in steps.
///
/// Lives on the source connection's thread. The copy goes to a temporary file beside the destination and is
/// renamed into place by ``finish()``; ``abandon()`` removes it.
final class SQLiteBackup {
    /// Whether a step copied everything, made progress, or met a lock.
    enum StepResult {
        case done
        case more
        case busy
    }

    /// How many consecutive busy steps to tolerate before giving up (with ``pauseAfterBusy()`` between them).
    static let maximumBusyRetries = 5000

    private let source: SQLiteConnection
    private var destination: OpaquePointer?
    private var backup: OpaquePointer?
    private let destinationPath: String
    private let temporaryPath: String

    init(source: SQLiteConnection, destinationPath: String) throws {
        guard !destinationPath.isEmpty, !destinationPath.utf8.contains(0) else {
            throw SQLiteError(code: SQLITE_CANTOPEN, message: "invalid backup path")
        }
        self.source = source
        self.destinationPath = destinationPath
        self.temporaryPath = destinationPath + ".partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var db: OpaquePointer? = nil
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let status = sqlite3_open_v2(temporaryPath, &db, flags, nil)
        guard status == SQLITE_OK, let db else {
            let error = SQLiteError(code: status, db: db)
            sqlite3_close_v2(db)
            Self.removeFiles(at: temporaryPath)
            throw error
        }
        guard let backup = sqlite3_backup_init(db, "main", source.handle, "main") else {
            let error = SQLiteError(code: sqlite3_extended_errcode(db), db: db)
            sqlite3_close_v2(db)
            Self.removeFiles(at: temporaryPath)
            throw error
        }
        self.destination = db
        self.backup = backup
    }

    deinit {
        if backup != nil || destination != nil { abandon() }
    }

    /// Copies up to `pages` pages (-1: all that remain).
    func step(pages: Int32) throws -> StepResult {
        guard let backup else { throw SQLiteError(code: SQLITE_MISUSE, message: "backup already finished") }
        let status = sqlite3_backup_step(backup, pages)
        switch status & 0xff {
        case SQLITE_DONE: return .done
        case SQLITE_OK: return .more
        case SQLITE_BUSY, SQLITE_LOCKED: return .busy
        default: throw SQLiteError(code: status, db: destination)
        }
    }

    /// Pages still to copy as of the last step.
    var remainingPages: Int { backup.map { Int(sqlite3_backup_remaining($0)) } ?? 0 }

    /// Completes the copy: closes the new file and renames it over the destination path.
    func finish() throws {
        guard let backup, let destination else {
            throw SQLiteError(code: SQLITE_MISUSE, message: "backup already finished")
        }
        self.backup = nil
        let status = sqlite3_backup_finish(backup)
        guard status == SQLITE_OK else {
            let error = SQLiteError(code: status, db: destination)
            abandon()
            throw error
        }
        self.destination = nil
        let closeStatus = sqlite3_close(destination)
        guard closeStatus == SQLITE_OK else {
            // Unreachable unless a statement leaked on a handle only this type uses.
            sqlite3_close_v2(destination)
            Self.removeFiles(at: temporaryPath)
            throw SQLiteError(code: closeStatus, message: "could not close the backup file")
        }
        // A stale log left at the destination would be replayed into the new file; remove it first.
        for suffix in ["-wal", "-shm", "-journal"] { unlink(destinationPath + suffix) }
        guard rename(temporaryPath, destinationPath) == 0 else {
            let reason = String(cString: strerror(errno))
            Self.removeFiles(at: temporaryPath)
            throw SQLiteError(code: SQLITE_IOERR, message: "could not move the backup into place: \(reason)")
        }
        Self.syncDirectory(containing: destinationPath)
    }

    /// Stops the copy and deletes the partial file. Safe to call more than once.
    func abandon() {
        if let backup { sqlite3_backup_finish(backup) }
        backup = nil
        if let destination { sqlite3_close_v2(destination) }
        destination = nil
        Self.removeFiles(at: temporaryPath)
    }

    /// Sleeps briefly after a busy step, so a retry loop does not spin.
    static func pauseAfterBusy() {
        var pause = timespec(tv_sec: 0, tv_nsec: 1_000_000)
        nanosleep(&pause, nil)
    }

    private static func removeFiles(at path: String) {
        for suffix in ["", "-journal", "-wal", "-shm"] { unlink(path + suffix) }
    }

    /// Makes the rename durable.
    private static func syncDirectory(containing path: String) {
        let directory: String
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            directory = "."
        }
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}
