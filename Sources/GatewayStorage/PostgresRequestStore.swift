public import FoundationEssentials
public import GatewayCore
import Synchronization

/// `RequestStore` on PostgreSQL through libpq, for several gateway replicas sharing one database.
///
/// - Connections: a pool (default 8) of connections, each on its own thread, so no libpq call runs on the
///   caller's thread. Callers beyond the pool queue, up to `connectionWaitTimeout`.
/// - Statements: prepared once per connection; every value is a bound parameter, never part of the SQL text.
/// - TLS: as the URL says (`sslmode`, `sslrootcert`, ...), applied by libpq; use `sslmode=verify-full`.
/// - Durability: every method returns after its transaction committed (keep `synchronous_commit` on).
/// - Replicas: claims lease rows in one statement with `FOR UPDATE SKIP LOCKED`, so two replicas never take
///   the same request; Idempotency-Keys are unique per client in the database; updates check the version.
/// - Broken connections (server restart, failover): noticed before use and replaced. Work whose connection
///   broke under it runs again once if that is safe: reads always, writes only if nothing had been sent.
///
/// The schema mirrors the SQLite store's (same tables, versions and semantics); times are Unix milliseconds.
public final class PostgresRequestStore: RequestStore {
    /// The URL with its password masked, for messages and logs.
    public let maskedURL: String
    let pool: PostgresPool
    private let closed = Atomic<Bool>(false)

    private init(pool: PostgresPool) {
        self.pool = pool
        maskedURL = pool.settings.masked
    }

    /// Connects to the database a libpq URL names (`postgres://user:pass@host:port/db?sslmode=verify-full`) and
    /// brings its schema up to date (once, under an advisory lock, however many replicas start together).
    ///
    /// - Parameters:
    ///   - poolSize: the most connections this store opens (they open as load needs them). Across replicas,
    ///     keep `poolSize × replicas` below the server's `max_connections` minus headroom.
    ///   - connectionWaitTimeout: how long a call waits for a free connection before failing.
    /// - Throws: `StoreError` (password masked) when the URL is malformed, the server cannot be reached or
    ///   refuses the login, or the schema is newer than this build.
    public static func open(
        url: String, poolSize: Int = 8, connectionWaitTimeout: Duration = .seconds(30)
    ) async throws -> PostgresRequestStore {
        precondition(poolSize >= 1, "PostgresRequestStore.open: poolSize must be at least 1")
        let settings = try PostgresConnectionSettings(url)
        let pool = PostgresPool(settings: settings, size: poolSize, waitTimeout: connectionWaitTimeout)
        let now = RequestRow.milliseconds(Date())
        do {
            _ = try await pool.run(.ifNothingSent) { connection in
                try PostgresMigrations.apply(on: connection, now: now)
            }
        } catch let error as StoreError {
            await pool.close()
            throw error
        } catch {
            await pool.close()
            throw StoreError("could not prepare the PostgreSQL database \(settings.masked): \(error)")
        }
        return PostgresRequestStore(pool: pool)
    }

    /// Lets running and queued calls finish, then closes every connection. Later calls throw `StoreError`.
    public func close() async {
        closed.store(true, ordering: .sequentiallyConsistent)
        await pool.close()
    }

    // MARK: Insert

    public func insert(_ request: GatewayRequest, idempotencyWindow: Duration, now: Date) async throws -> InsertOutcome
    {
        let row = RequestRow(request)
        var stored = request
        stored.version = 1
        guard let key = row.idempotencyKey else {
            try await write { connection in
                try Self.beginWebhookEvents(row, on: connection)
                try connection.query(Self.insertSQL, Self.insertParameters(row))
                try Self.commitWebhookEvents(row, on: connection, stored: true)
            }
            return .inserted(stored)
        }
        let cutoff = RequestRow.milliseconds(now) - RequestRow.milliseconds(idempotencyWindow)
        // Each round either stores the request or finds the request holding the key. Another round is needed
        // only if the key vanished in between (purged, or its request was gone).
        for _ in 0..<3 {
            let inserted = try await write { connection in
                try Self.beginWebhookEvents(row, on: connection)
                let inserted =
                    try connection.query(Self.insertClaimingKeySQL, Self.insertParameters(row) + [String(cutoff)])
                    .rows.count == 1
                try Self.commitWebhookEvents(row, on: connection, stored: inserted)
                return inserted
            }
            if inserted { return .inserted(stored) }
            let holder = try await read { connection in
                try connection.query(Self.keyHolderSQL, [row.client, key]).rows.first
            }
            guard let holder else { continue }
            if let document = holder[1], let version = holder[2].flatMap({ Int($0) }) {
                return .existing(try StoredDocument(document: document, version: version).decoded())
            }
            // The key names a request that no longer exists: it no longer protects anything.
            try await write { connection in
                try connection.query(Self.deleteOrphanKeySQL, [row.client, key, holder[0]])
            }
        }
        throw StoreError("the Idempotency-Key of request \(row.id) kept changing hands; try again")
    }

    private static let insertSQL = """
        INSERT INTO requests (id, client, kind, status, requested_by, idempotency_key, created_at, updated_at,
            next_attempt_at, polled_at, version, lease_owner, lease_until, doc)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, NULL, NULL, $11)
        """

    /// Takes the Idempotency-Key (new, or replacing an expired one: its `created_at <= $12`) and stores the
    /// request, in one statement; no row comes back when a live key is held by another request. The unique key
    /// makes concurrent inserts across replicas wait for each other, and exactly one wins.
    private static let insertClaimingKeySQL = """
        WITH claimed_key AS (
            INSERT INTO idempotency_keys AS k (client, idempotency_key, request_id, created_at)
            VALUES ($2, $6, $1, $7)
            ON CONFLICT (client, idempotency_key) DO UPDATE
                SET request_id = EXCLUDED.request_id, created_at = EXCLUDED.created_at
                WHERE k.created_at <= $12::bigint
            RETURNING 1
        )
        INSERT INTO requests (id, client, kind, status, requested_by, idempotency_key, created_at, updated_at,
            next_attempt_at, polled_at, version, lease_owner, lease_until, doc)
        SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::bigint, $8::bigint, $9::bigint,
            $10::bigint, 1, NULL, NULL, $11::text
        WHERE EXISTS (SELECT 1 FROM claimed_key)
        RETURNING id
        """

    private static let keyHolderSQL = """
        SELECT k.request_id, r.doc, r.version FROM idempotency_keys k
        LEFT JOIN requests r ON r.id = k.request_id
        WHERE k.client = $1 AND k.idempotency_key = $2
        """

    private static let deleteOrphanKeySQL = """
        DELETE FROM idempotency_keys k WHERE k.client = $1 AND k.idempotency_key = $2 AND k.request_id = $3
            AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.id = k.request_id)
        """

    private static func insertParameters(_ row: RequestRow) -> [String?] {
        [
            row.id, row.client, row.kind, row.status, row.requestedBy, row.idempotencyKey, String(row.createdAt),
            String(row.updatedAt), row.nextAttemptAt.map { String($0) }, row.polledAt.map { String($0) },
            row.document,
        ]
    }

    // MARK: Read and update

    public func get(id: String) async throws -> GatewayRequest? {
        let found = try await read { connection in
            try connection.query("SELECT doc, version FROM requests WHERE id = $1", [id]).rows.first
        }
        return try found.map(Self.storedDocument)?.decoded()
    }

    public func storedVersion(id: String) async throws -> Int? {
        let found = try await read { connection in
            try connection.query("SELECT version FROM requests WHERE id = $1", [id]).rows.first
        }
        guard let found else { return nil }
        guard let text = found.first ?? nil, let version = Int(text) else {
            throw StoreError("a stored request has no version")
        }
        return version
    }

    public func update(_ request: GatewayRequest, releasingLeaseOf owner: String?) async throws -> GatewayRequest {
        let row = RequestRow(request)
        // Identity columns (client, kind, requested_by, idempotency_key, created_at) are fixed at insert.
        let parameters: [String?] = [
            row.status, String(row.updatedAt), row.nextAttemptAt.map { String($0) }, row.polledAt.map { String($0) },
            row.document, row.id, String(request.version),
        ]
        let changed = try await write { connection in
            try Self.beginWebhookEvents(row, on: connection)
            let changed = try connection.query(
                """
                UPDATE requests SET status = $1, updated_at = $2, next_attempt_at = $3, polled_at = $4, doc = $5,
                    version = version + 1
                WHERE id = $6 AND version = $7
                """, parameters
            ).affected
            if changed == 1, let owner { try Self.release(id: row.id, owner: owner, on: connection) }
            try Self.commitWebhookEvents(row, on: connection, stored: changed == 1)
            return changed
        }
        guard changed == 1 else { throw StoreConflict(id: request.id) }
        var stored = request
        stored.version += 1
        return stored
    }

    public func list(_ filter: RequestFilter, limit: Int, after cursor: RequestCursor?) async throws -> [GatewayRequest]
    {
        guard limit > 0 else { return [] }
        var query = SQLBuilder()
        var conditions: [String] = []
        if let client = filter.clientName { conditions.append("client = \(query.bind(client))") }
        if !filter.statuses.isEmpty {
            conditions.append("status = ANY(\(query.bind(textArray: filter.statuses.map(\.rawValue))))")
        }
        if !filter.kinds.isEmpty {
            conditions.append("kind = ANY(\(query.bind(textArray: filter.kinds.map(\.rawValue))))")
        }
        if let person = filter.requestedBy { conditions.append("requested_by = \(query.bind(person))") }
        if let after = filter.createdAfter {
            conditions.append("created_at > \(query.bind(RequestRow.milliseconds(after)))")
        }
        if let before = filter.createdBefore {
            conditions.append("created_at < \(query.bind(RequestRow.milliseconds(before)))")
        }
        if let cursor {
            let createdAt = query.bind(RequestRow.milliseconds(cursor.createdAt))
            conditions.append("(created_at, id) < (\(createdAt), \(query.bind(cursor.id)))")
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = """
            SELECT doc, version FROM requests \(whereClause)
            ORDER BY created_at DESC, id DESC LIMIT \(query.bind(Int64(limit)))
            """
        let parameters = query.parameters
        let rows = try await read { connection in try connection.query(sql, parameters).rows }
        return try rows.map { try Self.storedDocument($0).decoded() }
    }

    // MARK: Claims and leases

    public func claimForwardable(now: Date, limit: Int, owner: String, lease: Duration) async throws -> [GatewayRequest]
    {
        var query = SQLBuilder()
        let condition =
            "status = \(query.bind(RequestStatus.queued.rawValue)) "
            + "AND (next_attempt_at IS NULL OR next_attempt_at <= \(query.bind(RequestRow.milliseconds(now)))) "
            + "AND import_id IS NULL"
        return try await claim(
            query, condition: condition, order: "next_attempt_at NULLS FIRST, id", now: now, limit: limit,
            owner: owner, lease: lease)
    }

    public func claimStaleSubmitting(now: Date, limit: Int, owner: String, lease: Duration) async throws
        -> [GatewayRequest]
    {
        var query = SQLBuilder()
        let condition = "status = \(query.bind(RequestStatus.submitting.rawValue))"
        return try await claim(
            query, condition: condition, order: "created_at, id", now: now, limit: limit, owner: owner, lease: lease)
    }

    public func claimPollable(now: Date, polledBefore: Date, limit: Int, owner: String, lease: Duration) async throws
        -> [GatewayRequest]
    {
        var query = SQLBuilder()
        let polled = RequestStatus.allCases.filter(\.isPolled).map(\.rawValue)
        let condition =
            "status = ANY(\(query.bind(textArray: polled))) "
            + "AND (polled_at IS NULL OR polled_at < \(query.bind(RequestRow.milliseconds(polledBefore))))"
        return try await claim(
            query, condition: condition, order: "polled_at NULLS FIRST, id", now: now, limit: limit, owner: owner,
            lease: lease)
    }

    /// Leases up to `limit` unleased rows matching `condition` to `owner`, in `order`, in one statement.
    ///
    /// `FOR UPDATE SKIP LOCKED` makes concurrent claimers (other replicas) pass over rows another claim is
    /// taking right now instead of waiting for it or taking them too; the lease then keeps them away until it
    /// ends. A row whose lease ran out may be claimed again (its owner is presumed dead).
    func claim(
        _ query: SQLBuilder, condition: String, order: String, now: Date, limit: Int, owner: String,
        lease: Duration
    ) async throws -> [GatewayRequest] {
        guard limit > 0 else { return [] }
        var query = query
        let nowMs = RequestRow.milliseconds(now)
        let sql = """
            WITH picked AS MATERIALIZED (
                SELECT id FROM requests
                WHERE \(condition) AND (lease_until IS NULL OR lease_until <= \(query.bind(nowMs)))
                ORDER BY \(order)
                LIMIT \(query.bind(Int64(limit)))
                FOR UPDATE SKIP LOCKED
            ), leased AS (
                UPDATE requests AS r SET lease_owner = \(query.bind(owner)),
                    lease_until = \(query.bind(nowMs + RequestRow.milliseconds(lease)))
                FROM picked WHERE r.id = picked.id
                RETURNING r.id, r.doc, r.version, r.created_at, r.next_attempt_at, r.polled_at
            )
            SELECT doc, version FROM leased ORDER BY \(order)
            """
        let parameters = query.parameters
        let rows = try await write { connection in try connection.query(sql, parameters).rows }
        return try rows.map { try Self.storedDocument($0).decoded() }
    }

    public func release(id: String, owner: String) async throws {
        try await write { connection in try Self.release(id: id, owner: owner, on: connection) }
    }

    private static func release(id: String, owner: String, on connection: PostgresConnection) throws {
        _ = try connection.query(
            "UPDATE requests SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2", [id, owner])
    }

    // MARK: Counts and housekeeping

    public func countByStatus() async throws -> [RequestStatus: Int] {
        let rows = try await read { connection in
            try connection.query("SELECT status, COUNT(*) FROM requests GROUP BY status").rows
        }
        var counts: [RequestStatus: Int] = [:]
        for row in rows {
            // A status this build does not know (written by a newer one) is not counted.
            guard let status = (row[0]).flatMap(RequestStatus.init(rawValue:)) else { continue }
            counts[status] = row[1].flatMap { Int($0) } ?? 0
        }
        return counts
    }

    public func ping() async throws {
        try await read { connection in try connection.query("SELECT 1") }
    }

    /// Deletes Idempotency-Keys created before `cutoff` (they no longer match anything); returns how many.
    @discardableResult
    public func purgeExpiredIdempotencyKeys(before cutoff: Date) async throws -> Int {
        let cutoffMs = String(RequestRow.milliseconds(cutoff))
        return try await write { connection in
            try connection.query("DELETE FROM idempotency_keys WHERE created_at < $1", [cutoffMs]).affected
        }
    }

    // MARK: Plumbing

    /// Runs a write on a pooled connection: retried after a broken connection only if nothing was sent.
    @discardableResult
    func write<Value: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> Value) async throws
        -> Value
    {
        try await run(.ifNothingSent, body)
    }

    /// Runs a read on a pooled connection: retried once after a broken connection.
    @discardableResult
    func read<Value: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> Value) async throws
        -> Value
    {
        try await run(.always, body)
    }

    private func run<Value: Sendable>(
        _ retry: PostgresPool.Retry, _ body: @escaping @Sendable (PostgresConnection) throws -> Value
    ) async throws -> Value {
        guard !closed.load(ordering: .sequentiallyConsistent) else { throw StoreError("the store is closed") }
        do {
            return try await pool.run(retry, body)
        } catch let error as PostgresError {
            throw Self.storeError(error)
        }
    }

    private static func storeError(_ error: PostgresError) -> StoreError {
        switch error.kind {
        case .connectionLost(statementSent: true):
            StoreError("\(error.message); the change may or may not have been applied")
        case .connectionLost(statementSent: false), .connect:
            StoreError(error.message)
        case .server(let sqlState) where error.isUniqueViolation:
            StoreError("PostgreSQL refused a duplicate (\(sqlState)): \(error.message)")
        case .server(let sqlState):
            StoreError("PostgreSQL error \(sqlState): \(error.message)")
        }
    }

    static func storedDocument(_ row: [String?]) throws -> StoredDocument {
        guard row.count >= 2, let document = row[0], let version = row[1].flatMap({ Int($0) }) else {
            throw StoreError("a stored request has no document or version")
        }
        return StoredDocument(document: document, version: version)
    }
}

/// Collects bound parameters while SQL text is assembled: `bind` returns the placeholder (`$n`), so values
/// never enter the SQL text.
struct SQLBuilder {
    private(set) var parameters: [String?] = []

    mutating func bind(_ value: String?) -> String {
        parameters.append(value)
        return "$\(parameters.count)"
    }

    mutating func bind(_ value: Int64) -> String { bind(String(value)) + "::bigint" }

    /// A `text[]` parameter, in PostgreSQL's array literal syntax with every element quoted.
    mutating func bind(textArray values: [String]) -> String {
        let elements = values.map { value -> String in
            var quoted = "\""
            for character in value {
                if character == "\"" || character == "\\" { quoted.append("\\") }
                quoted.append(character)
            }
            return quoted + "\""
        }
        return bind("{" + elements.joined(separator: ",") + "}") + "::text[]"
    }
}
