import CSQLite

/// An error reported by SQLite: the extended result code and SQLite's message (never bound values).
public struct SQLiteError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The extended result code (for example 2067, `SQLITE_CONSTRAINT_UNIQUE`).
    public let code: Int32

    /// SQLite's explanation (`sqlite3_errmsg`), for example `UNIQUE constraint failed: requests.key`.
    public let message: String

    /// Creates an error from a result code and message.
    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    /// The primary result code (the low 8 bits), for example `SQLITE_CONSTRAINT` (19).
    public var primaryCode: Int32 { code & 0xff }

    /// True for `SQLITE_BUSY` and `SQLITE_LOCKED`: another connection holds a conflicting lock; retry later.
    public var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }

    /// True for any constraint violation (unique, not null, check, foreign key).
    public var isConstraintViolation: Bool { primaryCode == SQLITE_CONSTRAINT }

    /// True when a UNIQUE or PRIMARY KEY constraint failed.
    public var isUniqueViolation: Bool {
        code == SQLITE_CONSTRAINT_UNIQUE_CODE || code == SQLITE_CONSTRAINT_PRIMARYKEY_CODE
    }

    /// SQLite's fixed English text for the code (`sqlite3_errstr`); bounded, fit for metric labels.
    public var shortDescription: String { String(cString: sqlite3_errstr(code)) }

    public var description: String { "SQLiteError(\(code)): \(message)" }

    /// The error for work submitted to an executor that has shut down.
    public static let executorShutDown = SQLiteError(code: SQLITE_MISUSE, message: "the SQLite executor is shut down")

    /// The last error on `db` for result code `code`.
    init(code: Int32, db: OpaquePointer?) {
        self.code = code
        if let db, let text = sqlite3_errmsg(db) {
            self.message = String(cString: text)
        } else {
            self.message = String(cString: sqlite3_errstr(code))
        }
    }
}

// The extended codes are function-like macros in sqlite3.h, so they are spelled out here.
private let SQLITE_CONSTRAINT_UNIQUE_CODE: Int32 = SQLITE_CONSTRAINT | (8 << 8)
private let SQLITE_CONSTRAINT_PRIMARYKEY_CODE: Int32 = SQLITE_CONSTRAINT | (6 << 8)
