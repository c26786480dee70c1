public import FoundationEssentials
public import GatewayCore

extension PostgresRequestStore: ImportStore {
    public func createImport(_ record: ImportRecord) async throws -> ImportCreateOutcome {
        let insert = """
            INSERT INTO imports (id, client, idempotency_key, kind, format, status, row_count, accepted_count,
                rejected_count, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, 0, 0, 0, $7::bigint, $8::bigint)
            ON CONFLICT (client, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING id
            """
        let parameters: [String?] = [
            record.id, record.clientName, record.idempotencyKey, record.defaultKind?.rawValue, record.format.rawValue,
            record.status.rawValue, String(RequestRow.milliseconds(record.createdAt)),
            String(RequestRow.milliseconds(record.updatedAt)),
        ]
        let inserted = try await write { connection in try connection.query(insert, parameters).rows.count == 1 }
        if inserted { return .created(record) }
        guard let key = record.idempotencyKey,
            let existing = try await findImport(clientName: record.clientName, idempotencyKey: key)
        else { throw StoreError("the import's Idempotency-Key is held, but its import is gone") }
        return .existing(existing)
    }

    /// One statement, so one transaction: the new requests, the new rejections, and the counts they add.
    public func storeImportRows(
        importId: String, requests: [GatewayRequest], rejections: [ImportRejection], now: Date
    ) async throws -> ImportRecord {
        let rows = await RequestRow.encodeConcurrently(requests)
        var query = SQLBuilder()
        let sql = """
            WITH added AS (
                INSERT INTO requests (id, client, kind, status, requested_by, idempotency_key, created_at, updated_at,
                    next_attempt_at, polled_at, version, lease_owner, lease_until, doc, import_id)
                SELECT u.id, \(query.bind(rows.first?.client ?? "")), u.kind, u.status, u.requested_by, NULL,
                    u.created_at::bigint, u.updated_at::bigint, u.next_attempt_at::bigint, NULL, 1, NULL, NULL, u.doc,
                    \(query.bind(importId))
                FROM unnest(\(query.bind(textArray: rows.map(\.id))), \(query.bind(textArray: rows.map(\.kind))),
                    \(query.bind(textArray: rows.map(\.status))), \(query.bind(textArray: rows.map(\.requestedBy))),
                    \(query.bind(textArray: rows.map { String($0.createdAt) })),
                    \(query.bind(textArray: rows.map { String($0.updatedAt) })),
                    \(query.bind(textArray: rows.map { String($0.nextAttemptAt ?? $0.createdAt) })),
                    \(query.bind(textArray: rows.map(\.document))))
                    AS u(id, kind, status, requested_by, created_at, updated_at, next_attempt_at, doc)
                ON CONFLICT (id) DO NOTHING
                RETURNING 1
            ), refused AS (
                INSERT INTO import_rejections (import_id, row_number, errors, raw)
                SELECT \(query.bind(importId)), r.row_number::bigint, r.errors, r.raw
                FROM unnest(\(query.bind(textArray: rejections.map { String($0.row) })),
                    \(query.bind(textArray: rejections.map { ImportColumns.errorsJSON($0.errors) })),
                    \(query.bind(textArray: rejections.map(\.raw)))) AS r(row_number, errors, raw)
                ON CONFLICT (import_id, row_number) DO NOTHING
                RETURNING 1
            )
            UPDATE imports SET
                row_count = row_count + (SELECT COUNT(*) FROM added) + (SELECT COUNT(*) FROM refused),
                accepted_count = accepted_count + (SELECT COUNT(*) FROM added),
                rejected_count = rejected_count + (SELECT COUNT(*) FROM refused),
                updated_at = \(query.bind(RequestRow.milliseconds(now)))
            WHERE id = \(query.bind(importId))
            RETURNING \(ImportColumns.select)
            """
        let parameters = query.parameters
        let stored = try await write { connection in try connection.query(sql, parameters).rows.first }
        guard let stored else { throw StoreError("no import \(importId)") }
        return try ImportColumns.record(stored)
    }

    public func setImportStatus(id: String, status: ImportStatus, now: Date) async throws {
        try await write { connection in
            try connection.query(
                "UPDATE imports SET status = $1, updated_at = $2::bigint WHERE id = $3",
                [status.rawValue, String(RequestRow.milliseconds(now)), id])
        }
    }

    public func getImport(id: String) async throws -> ImportRecord? {
        let sql = "SELECT \(ImportColumns.select) FROM imports WHERE id = $1"
        let row = try await read { connection in try connection.query(sql, [id]).rows.first }
        return try row.map(ImportColumns.record)
    }

    public func findImport(clientName: String, idempotencyKey: String) async throws -> ImportRecord? {
        let sql = "SELECT \(ImportColumns.select) FROM imports WHERE client = $1 AND idempotency_key = $2"
        let row = try await read { connection in try connection.query(sql, [clientName, idempotencyKey]).rows.first }
        return try row.map(ImportColumns.record)
    }

    public func listImports(clientName: String?, limit: Int, after cursor: ImportCursor?) async throws -> [ImportRecord]
    {
        var query = SQLBuilder()
        var conditions: [String] = []
        if let clientName { conditions.append("client = \(query.bind(clientName))") }
        if let cursor {
            let createdAt = RequestRow.milliseconds(cursor.createdAt)
            conditions.append(
                "(created_at < \(query.bind(createdAt)) OR (created_at = \(query.bind(createdAt)) AND id < \(query.bind(cursor.id))))"
            )
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql =
            "SELECT \(ImportColumns.select) FROM imports \(whereClause) ORDER BY created_at DESC, id DESC LIMIT \(query.bind(Int64(limit)))"
        let parameters = query.parameters
        let rows = try await read { connection in try connection.query(sql, parameters).rows }
        return try rows.map(ImportColumns.record)
    }

    public func importRejections(importId: String, afterRow: Int, limit: Int) async throws -> [ImportRejection] {
        let rows = try await read { connection in
            try connection.query(
                """
                SELECT row_number, errors, raw FROM import_rejections WHERE import_id = $1 AND row_number > $2::bigint
                ORDER BY row_number LIMIT $3::bigint
                """, [importId, String(afterRow), String(limit)]
            ).rows
        }
        return rows.map { row in
            ImportColumns.rejection(row: row[0].flatMap { Int($0) } ?? 0, errors: row[1] ?? "[]", raw: row[2] ?? "")
        }
    }

    public func importRequestCounts(importId: String) async throws -> [RequestStatus: Int] {
        let rows = try await read { connection in
            try connection.query(
                "SELECT status, COUNT(*) FROM requests WHERE import_id = $1 GROUP BY status", [importId]
            ).rows
        }
        var counts: [RequestStatus: Int] = [:]
        for row in rows {
            guard let status = row[0].flatMap(RequestStatus.init(rawValue:)) else { continue }
            counts[status] = row[1].flatMap { Int($0) } ?? 0
        }
        return counts
    }

    public func claimImportedForwardable(now: Date, limit: Int, owner: String, lease: Duration) async throws
        -> [GatewayRequest]
    {
        var query = SQLBuilder()
        let condition =
            "status = \(query.bind(RequestStatus.queued.rawValue)) "
            + "AND (next_attempt_at IS NULL OR next_attempt_at <= \(query.bind(RequestRow.milliseconds(now)))) "
            + "AND import_id IS NOT NULL"
        return try await claim(
            query, condition: condition, order: "next_attempt_at NULLS FIRST, id", now: now, limit: limit, owner: owner,
            lease: lease)
    }
}
