import CSQLite

/// A compiled statement. Parameters are numbered from 1 (SQLite's convention), result columns from 0.
///
/// Not Sendable; it keeps its connection open while it exists.
public final class SQLiteStatement {
    let handle: OpaquePointer
    /// Kept so the database outlives the statement; nil for the statements a connection caches itself, which it
    /// finalizes before it closes (a strong reference would keep both alive forever).
    private let owner: SQLiteConnection?
    private unowned(unsafe) let connection: SQLiteConnection

    init(connection: SQLiteConnection, sql: String, retainingConnection: Bool = true) throws {
        var statement: OpaquePointer? = nil
        var tail: UnsafePointer<CChar>? = nil
        let status = sql.withCString { text in
            let status = sqlite3_prepare_v2(connection.handle, text, -1, &statement, &tail)
            // Reject a second statement rather than silently ignoring it; comments and blanks compile to nothing.
            if status == SQLITE_OK, let tail, tail.pointee != 0 {
                var extra: OpaquePointer? = nil
                sqlite3_prepare_v2(connection.handle, tail, -1, &extra, nil)
                if extra != nil {
                    sqlite3_finalize(extra)
                    return SQLITE_MISUSE
                }
            }
            return status
        }
        guard status == SQLITE_OK, let statement else {
            let error =
                status == SQLITE_MISUSE
                ? SQLiteError(code: SQLITE_MISUSE, message: "prepare takes exactly one statement")
                : status == SQLITE_OK
                    ? SQLiteError(code: SQLITE_MISUSE, message: "no statement in SQL text")
                    : SQLiteError(code: status, db: connection.handle)
            sqlite3_finalize(statement)
            throw error
        }
        self.handle = statement
        self.owner = retainingConnection ? connection : nil
        self.connection = connection
    }

    deinit { sqlite3_finalize(handle) }

    private func check(_ status: Int32) throws {
        guard status == SQLITE_OK else { throw SQLiteError(code: status, db: connection.handle) }
    }

    // MARK: Binding

    /// The number of parameters in the statement.
    public var parameterCount: Int { Int(sqlite3_bind_parameter_count(handle)) }

    /// Binds `value` to parameter `index` (1-based).
    public func bind(_ value: SQLiteValue, at index: Int) throws {
        guard index >= 1, index <= parameterCount else {
            throw SQLiteError(code: SQLITE_RANGE, message: "parameter index \(index) out of range")
        }
        let position = Int32(index)
        switch value {
        case .integer(let number):
            try check(sqlite3_bind_int64(handle, position, number))
        case .real(let number):
            try check(sqlite3_bind_double(handle, position, number))
        case .text(let text):
            var text = text
            try text.withUTF8 { bytes in
                guard let base = bytes.baseAddress else {
                    // An empty buffer may have no address, and a NULL pointer would bind NULL instead of "".
                    try check(sqlite3_bind_text(handle, position, "", 0, csqlite_transient()))
                    return
                }
                try base.withMemoryRebound(to: CChar.self, capacity: bytes.count) { characters in
                    try check(
                        sqlite3_bind_text64(
                            handle, position, characters, sqlite3_uint64(bytes.count), csqlite_transient(),
                            UInt8(SQLITE_UTF8)))
                }
            }
        case .blob(let bytes):
            if bytes.isEmpty {
                // A NULL pointer would bind NULL, not an empty blob.
                try check(sqlite3_bind_zeroblob(handle, position, 0))
            } else {
                try bytes.withUnsafeBytes { buffer in
                    try check(
                        sqlite3_bind_blob64(
                            handle, position, buffer.baseAddress, sqlite3_uint64(buffer.count), csqlite_transient()))
                }
            }
        case .null:
            try check(sqlite3_bind_null(handle, position))
        }
    }

    /// Binds `value` to the parameter named `name`, including its prefix (`:id`, `@id` or `$id`).
    public func bind(_ value: SQLiteValue, named name: String) throws {
        let index = sqlite3_bind_parameter_index(handle, name)
        guard index > 0 else { throw SQLiteError(code: SQLITE_RANGE, message: "no parameter named \(name)") }
        try bind(value, at: Int(index))
    }

    /// Binds `values` to parameters 1…n; the count must equal the statement's parameter count.
    public func bind(_ values: [SQLiteValue]) throws {
        guard values.count == parameterCount else {
            throw SQLiteError(
                code: SQLITE_RANGE, message: "statement has \(parameterCount) parameters, \(values.count) values given")
        }
        for (offset, value) in values.enumerated() { try bind(value, at: offset + 1) }
    }

    /// Binds an integer to parameter `index` (1-based).
    public func bind(_ value: Int64, at index: Int) throws { try bind(.integer(value), at: index) }
    /// Binds an integer to parameter `index` (1-based).
    public func bind(_ value: Int, at index: Int) throws { try bind(.integer(Int64(value)), at: index) }
    /// Binds a real to parameter `index` (1-based).
    public func bind(_ value: Double, at index: Int) throws { try bind(.real(value), at: index) }
    /// Binds text to parameter `index` (1-based).
    public func bind(_ value: String, at index: Int) throws { try bind(.text(value), at: index) }
    /// Binds a blob to parameter `index` (1-based).
    public func bind(_ value: [UInt8], at index: Int) throws { try bind(.blob(value), at: index) }
    /// Binds NULL to parameter `index` (1-based).
    public func bindNull(at index: Int) throws { try bind(.null, at: index) }

    /// Binds an integer to the parameter named `name` (with its prefix).
    public func bind(_ value: Int64, named name: String) throws { try bind(.integer(value), named: name) }
    /// Binds an integer to the parameter named `name` (with its prefix).
    public func bind(_ value: Int, named name: String) throws { try bind(.integer(Int64(value)), named: name) }
    /// Binds a real to the parameter named `name` (with its prefix).
    public func bind(_ value: Double, named name: String) throws { try bind(.real(value), named: name) }
    /// Binds text to the parameter named `name` (with its prefix).
    public func bind(_ value: String, named name: String) throws { try bind(.text(value), named: name) }
    /// Binds a blob to the parameter named `name` (with its prefix).
    public func bind(_ value: [UInt8], named name: String) throws { try bind(.blob(value), named: name) }
    /// Binds NULL to the parameter named `name` (with its prefix).
    public func bindNull(named name: String) throws { try bind(.null, named: name) }

    /// Sets every parameter back to NULL.
    public func clearBindings() { sqlite3_clear_bindings(handle) }

    // MARK: Stepping

    /// Advances to the next row: true if a row is available, false when the statement is done.
    public func step() throws -> Bool {
        let status = sqlite3_step(handle)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteError(code: status, db: connection.handle)
        }
    }

    /// Steps until done, ignoring any rows (for INSERT, UPDATE, DELETE).
    public func run() throws {
        while try step() {}
    }

    /// Steps through every remaining row and returns them.
    public func allRows() throws -> [SQLiteRow] {
        var rows: [SQLiteRow] = []
        let names = (0..<columnCount).map(columnName(at:))
        while try step() {
            rows.append(SQLiteRow(columnNames: names, values: (0..<names.count).map(value(at:))))
        }
        return rows
    }

    /// Rewinds the statement so it can run again; bindings are kept.
    public func reset() {
        // reset repeats the last step's error, which step already reported.
        sqlite3_reset(handle)
    }

    // MARK: Columns

    /// The number of result columns.
    public var columnCount: Int { Int(sqlite3_column_count(handle)) }

    /// The name of result column `index` (0-based).
    public func columnName(at index: Int) -> String {
        sqlite3_column_name(handle, Int32(index)).map { String(cString: $0) } ?? ""
    }

    /// True if column `index` (0-based) of the current row is NULL.
    public func isNull(at index: Int) -> Bool { sqlite3_column_type(handle, Int32(index)) == SQLITE_NULL }

    /// Column `index` (0-based) as an integer; NULL reads as 0 and text is converted as SQLite does.
    public func int64(at index: Int) -> Int64 { sqlite3_column_int64(handle, Int32(index)) }

    /// Column `index` (0-based) as `Int`; see ``int64(at:)``.
    public func int(at index: Int) -> Int { Int(int64(at: index)) }

    /// Column `index` (0-based) as a real; NULL reads as 0.
    public func double(at index: Int) -> Double { sqlite3_column_double(handle, Int32(index)) }

    /// Column `index` (0-based) as text, or nil if NULL.
    public func string(at index: Int) -> String? {
        let position = Int32(index)
        guard sqlite3_column_type(handle, position) != SQLITE_NULL else { return nil }
        // Read the pointer before the length: column_text may convert the value and change its size.
        guard let text = sqlite3_column_text(handle, position) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, position))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// Column `index` (0-based) as bytes, or nil if NULL.
    public func blob(at index: Int) -> [UInt8]? {
        let position = Int32(index)
        guard sqlite3_column_type(handle, position) != SQLITE_NULL else { return nil }
        guard let bytes = sqlite3_column_blob(handle, position) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, position))
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    /// Column `index` (0-based) as a value of its storage class.
    public func value(at index: Int) -> SQLiteValue {
        switch sqlite3_column_type(handle, Int32(index)) {
        case SQLITE_INTEGER: .integer(int64(at: index))
        case SQLITE_FLOAT: .real(double(at: index))
        case SQLITE_TEXT: .text(string(at: index) ?? "")
        case SQLITE_BLOB: .blob(blob(at: index) ?? [])
        default: .null
        }
    }
}

@available(*, unavailable, message: "SQLiteStatement is not thread-safe")
extension SQLiteStatement: Sendable {}
