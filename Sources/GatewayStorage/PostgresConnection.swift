import CPostgres
import Glibc

/// What went wrong talking to PostgreSQL. Messages come from libpq with the password scrubbed.
struct PostgresError: Error, Sendable, CustomStringConvertible {
    enum Kind: Sendable, Equatable {
        /// No connection could be made (server down, wrong password, TLS verification failed, ...).
        case connect
        /// The connection broke. `statementSent` says whether a statement may have reached the server (then a
        /// write may or may not have happened); when false, nothing ran and the work can be retried.
        case connectionLost(statementSent: Bool)
        /// The server refused a statement; the SQLSTATE code says why (`23505` is a unique violation).
        case server(sqlState: String)
    }

    var kind: Kind
    var message: String

    var description: String { message }

    var isUniqueViolation: Bool { kind == .server(sqlState: "23505") }

    var isConnectionLost: Bool {
        if case .connectionLost = kind { return true }
        return false
    }
}

/// Rows copied out of a result, every value as text (NULL is nil), and the count of rows a command touched.
struct PostgresRows: Sendable {
    var rows: [[String?]]
    var affected: Int
}

/// One libpq connection. Not thread-safe: it lives on one pool thread and is used only there.
///
/// Statements are prepared once per connection and then executed with bound parameters (text format). Before
/// each use, `ensureUsable` notices a connection the server dropped while it sat idle (restart, failover, idle
/// timeout) and reconnects, so nothing is sent into a dead socket.
final class PostgresConnection {
    private let settings: PostgresConnectionSettings
    private var handle: OpaquePointer?
    /// Prepared statement names by SQL text, for the current session.
    private var prepared: [String: String] = [:]
    /// Set once a statement that may change data reached the server (or may have); cleared by the pool
    /// before each attempt, so it knows whether a broken connection leaves a write in doubt.
    var statementSent = false

    /// Past this many distinct statements, further ones run unprepared (listings build many variants).
    static let preparedStatementLimit = 128

    /// Connects (blocking: call it on a pool thread).
    init(settings: PostgresConnectionSettings) throws(PostgresError) {
        self.settings = settings
        try connect()
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    private func connect() throws(PostgresError) {
        if let handle { PQfinish(handle) }
        handle = nil
        prepared = [:]
        let keywords = PostgresConnectionSettings.defaults.map(\.0) + ["dbname"]
        let values = PostgresConnectionSettings.defaults.map(\.1) + [settings.connectionString]
        let connection = withCStringArray(keywords) { keywords in
            withCStringArray(values) { values in PQconnectdbParams(keywords, values, 1) }
        }
        guard let connection else { throw PostgresError(kind: .connect, message: "libpq is out of memory") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = errorMessage(of: connection)
            PQfinish(connection)
            throw PostgresError(kind: .connect, message: message)
        }
        // Notices (and the termination message a restarting server sends to idle sessions) would go to stderr.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        handle = connection
    }

    /// Reconnects if the server dropped this connection while it was idle; does nothing otherwise.
    ///
    /// Reads whatever arrived while idle without blocking: libpq's socket is non-blocking, and a server that
    /// shut down or cut the session has sent its goodbye and end of file, which marks the connection bad.
    func ensureUsable() throws(PostgresError) {
        guard let handle, PQstatus(handle) == CONNECTION_OK else { return try connect() }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        for _ in 0..<8 {
            guard poll(&descriptor, 1, 0) > 0 else { break }
            if PQconsumeInput(handle) == 0 { break }
        }
        if PQstatus(handle) != CONNECTION_OK || PQtransactionStatus(handle) != PQTRANS_IDLE { try connect() }
    }

    /// Leaves the connection idle after a job: rolls back a transaction the job left open, or drops a
    /// connection that is broken or busy (the next job reconnects).
    func settle() {
        guard let handle else { return }
        if PQstatus(handle) != CONNECTION_OK {
            disconnect()
            return
        }
        switch PQtransactionStatus(handle) {
        case PQTRANS_IDLE:
            return
        case PQTRANS_INTRANS, PQTRANS_INERROR:
            do {
                try execute(unpreparedSQL: "ROLLBACK")
            } catch {
                disconnect()
            }
        default:
            disconnect()
        }
    }

    func disconnect() {
        if let handle { PQfinish(handle) }
        handle = nil
        prepared = [:]
    }

    /// Runs `sql` (one statement, `$1`... placeholders) with `parameters` bound as text, and returns its rows.
    @discardableResult
    func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresRows {
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError(kind: .connectionLost(statementSent: false), message: "the connection is closed")
        }
        let name = try preparedName(for: sql, on: handle)
        let sent = withCStringArray(parameters) { values in
            if let name {
                PQsendQueryPrepared(handle, name, Int32(parameters.count), values, nil, nil, 0)
            } else {
                PQsendQueryParams(handle, sql, Int32(parameters.count), nil, values, nil, nil, 0)
            }
        }
        guard sent == 1 else {
            // Nothing was sent (libpq refused before writing): safe to retry on a new connection.
            throw failure(on: handle, result: nil, statementSent: false)
        }
        statementSent = true
        return try collectResults(on: handle)
    }

    /// Runs SQL without parameters through the simple protocol (it may hold several statements): migrations,
    /// transaction control. Never pass values here.
    func execute(unpreparedSQL sql: String) throws(PostgresError) {
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError(kind: .connectionLost(statementSent: false), message: "the connection is closed")
        }
        guard PQsendQuery(handle, sql) == 1 else { throw failure(on: handle, result: nil, statementSent: false) }
        statementSent = true
        _ = try collectResults(on: handle)
    }

    /// Reads every result of the statement just sent; the first error wins, otherwise the last rows.
    private func collectResults(on handle: OpaquePointer) throws(PostgresError) -> PostgresRows {
        var rows = PostgresRows(rows: [], affected: 0)
        var error: PostgresError?
        // Each statement ends with a NULL result; a bound keeps a confused server from holding us forever.
        for _ in 0..<10_000 {
            guard let result = PQgetResult(handle) else { break }
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                if error == nil { rows = Self.copyRows(result) }
            default:
                if error == nil { error = failure(on: handle, result: result, statementSent: true) }
            }
        }
        if let error { throw error }
        if PQstatus(handle) != CONNECTION_OK {
            throw failure(on: handle, result: nil, statementSent: true)
        }
        return rows
    }

    private func preparedName(for sql: String, on handle: OpaquePointer) throws(PostgresError) -> String? {
        if let name = prepared[sql] { return name }
        guard prepared.count < Self.preparedStatementLimit else { return nil }
        let name = "gw\(prepared.count + 1)"
        guard let result = PQprepare(handle, name, sql, 0, nil) else {
            throw failure(on: handle, result: nil, statementSent: false)
        }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else {
            // Preparing runs nothing, so even a broken connection here leaves no write in doubt.
            throw failure(on: handle, result: result, statementSent: false)
        }
        prepared[sql] = name
        return name
    }

    private func failure(on handle: OpaquePointer, result: OpaquePointer?, statementSent: Bool) -> PostgresError {
        if PQstatus(handle) != CONNECTION_OK {
            return PostgresError(
                kind: .connectionLost(statementSent: statementSent),
                message: "the connection to PostgreSQL was lost: \(errorMessage(of: handle))")
        }
        guard let result else { return PostgresError(kind: .server(sqlState: ""), message: errorMessage(of: handle)) }
        let sqlState = PQresultErrorField(result, cpostgres_diag_sqlstate()).map { String(cString: $0) } ?? ""
        let primary = PQresultErrorField(result, cpostgres_diag_message_primary()).map { String(cString: $0) }
        let message = primary ?? PQresultErrorMessage(result).map { String(cString: $0) } ?? "unknown error"
        // 57P01..57P03: the server is shutting down or restarting; the connection goes with it.
        if sqlState.hasPrefix("57P") {
            return PostgresError(
                kind: .connectionLost(statementSent: statementSent),
                message: "the connection to PostgreSQL was lost: \(settings.scrub(message.trimmingNewlines()))")
        }
        return PostgresError(kind: .server(sqlState: sqlState), message: settings.scrub(message.trimmingNewlines()))
    }

    private func errorMessage(of handle: OpaquePointer) -> String {
        let message = PQerrorMessage(handle).map { String(cString: $0) } ?? ""
        return settings.scrub(message.trimmingNewlines())
    }

    private static func copyRows(_ result: OpaquePointer) -> PostgresRows {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<Int32(rowCount) {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<Int32(columnCount) {
                if PQgetisnull(result, row, column) == 1 {
                    values.append(nil)
                } else {
                    values.append(PQgetvalue(result, row, column).map { String(cString: $0) })
                }
            }
            rows.append(values)
        }
        let affected = PQcmdTuples(result).map { String(cString: $0) }.flatMap { Int($0) } ?? 0
        return PostgresRows(rows: rows, affected: affected)
    }
}

/// Calls `body` with a C array of C strings (NULL for nil), valid only during the call.
private func withCStringArray<Result>(
    _ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> Result
) -> Result {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } ?? nil }
    defer { for copy in copies { free(copy) } }
    let pointers = copies.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { buffer in
        guard let base = buffer.baseAddress else { fatalError("an array with a terminator is never empty") }
        return body(base)
    }
}
