public import FoundationEssentials
public import GatewayCore
import SQLite

extension SQLiteRequestStore: ImportStore {
    public func createImport(_ record: ImportRecord) async throws -> ImportCreateOutcome {
        let select = "SELECT \(ImportColumns.select) FROM imports WHERE client = ? AND idempotency_key = ?"
        let found = try await write { connection -> [String?]? in
            if let key = record.idempotencyKey,
                let existing = try connection.query(select, [.text(record.clientName), .text(key)]).first
            {
                return Self.texts(existing)
            }
            try connection.execute(
                """
                INSERT INTO imports (id, client, idempotency_key, kind, format, status, row_count, accepted_count,
                    rejected_count, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, ?, ?)
                """,
                [
                    .text(record.id), .text(record.clientName), SQLiteValue(record.idempotencyKey),
                    SQLiteValue(record.defaultKind?.rawValue), .text(record.format.rawValue),
                    .text(record.status.rawValue), .integer(RequestRow.milliseconds(record.createdAt)),
                    .integer(RequestRow.milliseconds(record.updatedAt)),
                ])
            return nil
        }
        if let found { return .existing(try ImportColumns.record(found)) }
        return .created(record)
    }

    public func storeImportRows(
        importId: String, requests: [GatewayRequest], rejections: [ImportRejection], now: Date
    ) async throws -> ImportRecord {
        // Documents are encoded here, on the caller's tasks (two halves at once), so the writer thread only runs SQL.
        let rows = await RequestRow.encodeConcurrently(requests)
        let rejected = rejections.map { (row: $0.row, errors: ImportColumns.errorsJSON($0.errors), raw: $0.raw) }
        let nowMs = RequestRow.milliseconds(now)
        let select = "SELECT \(ImportColumns.select) FROM imports WHERE id = ?"
        let stored = try await write { connection -> [String?]? in
            let insert = try connection.prepare(
                """
                INSERT OR IGNORE INTO requests (id, client, kind, status, requested_by, idempotency_key, created_at,
                    updated_at, next_attempt_at, polled_at, version, lease_owner, lease_until, doc, import_id)
                VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, NULL, 1, NULL, NULL, ?, ?)
                """)
            var accepted = 0
            for row in rows {
                insert.reset()
                try insert.bind([
                    .text(row.id), .text(row.client), .text(row.kind), .text(row.status), .text(row.requestedBy),
                    .integer(row.createdAt), .integer(row.updatedAt), SQLiteValue(row.nextAttemptAt),
                    .text(row.document),
                    .text(importId),
                ])
                try insert.run()
                accepted += connection.changes
            }
            let reject = try connection.prepare(
                "INSERT OR IGNORE INTO import_rejections (import_id, row_number, errors, raw) VALUES (?, ?, ?, ?)")
            var rejectedCount = 0
            for rejection in rejected {
                reject.reset()
                try reject.bind([.text(importId), .int(rejection.row), .text(rejection.errors), .text(rejection.raw)])
                try reject.run()
                rejectedCount += connection.changes
            }
            try connection.execute(
                """
                UPDATE imports SET row_count = row_count + ?, accepted_count = accepted_count + ?,
                    rejected_count = rejected_count + ?, updated_at = ?
                WHERE id = ?
                """,
                [.int(accepted + rejectedCount), .int(accepted), .int(rejectedCount), .integer(nowMs), .text(importId)])
            return try connection.query(select, [.text(importId)]).first.map(Self.texts)
        }
        guard let stored else { throw StoreError("no import \(importId)") }
        return try ImportColumns.record(stored)
    }

    public func setImportStatus(id: String, status: ImportStatus, now: Date) async throws {
        _ = try await write { connection in
            try connection.execute(
                "UPDATE imports SET status = ?, updated_at = ? WHERE id = ?",
                [.text(status.rawValue), .integer(RequestRow.milliseconds(now)), .text(id)])
        }
    }

    public func getImport(id: String) async throws -> ImportRecord? {
        let sql = "SELECT \(ImportColumns.select) FROM imports WHERE id = ?"
        let row = try await read { connection in try connection.query(sql, [.text(id)]).first.map(Self.texts) }
        return try row.map(ImportColumns.record)
    }

    public func findImport(clientName: String, idempotencyKey: String) async throws -> ImportRecord? {
        let sql = "SELECT \(ImportColumns.select) FROM imports WHERE client = ? AND idempotency_key = ?"
        let row = try await read { connection in
            try connection.query(sql, [.text(clientName), .text(idempotencyKey)]).first.map(Self.texts)
        }
        return try row.map(ImportColumns.record)
    }

    public func listImports(clientName: String?, limit: Int, after cursor: ImportCursor?) async throws -> [ImportRecord]
    {
        var conditions: [String] = []
        var bindings: [SQLiteValue] = []
        if let clientName {
            conditions.append("client = ?")
            bindings.append(.text(clientName))
        }
        if let cursor {
            let createdAt = RequestRow.milliseconds(cursor.createdAt)
            conditions.append("(created_at < ? OR (created_at = ? AND id < ?))")
            bindings += [.integer(createdAt), .integer(createdAt), .text(cursor.id)]
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(ImportColumns.select) FROM imports \(whereClause) ORDER BY created_at DESC, id DESC LIMIT ?"
        bindings.append(.int(limit))
        let rows = try await read { [bindings] connection in try connection.query(sql, bindings).map(Self.texts) }
        return try rows.map(ImportColumns.record)
    }

    public func importRejections(importId: String, afterRow: Int, limit: Int) async throws -> [ImportRejection] {
        try await read { connection in
            try connection.query(
                """
                SELECT row_number, errors, raw FROM import_rejections WHERE import_id = ? AND row_number > ?
                ORDER BY row_number LIMIT ?
                """, [.text(importId), .int(afterRow), .int(limit)]
            ).map { row in
                ImportColumns.rejection(row: row[0].int ?? 0, errors: row[1].string ?? "[]", raw: row[2].string ?? "")
            }
        }
    }

    public func importRequestCounts(importId: String) async throws -> [RequestStatus: Int] {
        try await read { connection in
            var counts: [RequestStatus: Int] = [:]
            for row in try connection.query(
                "SELECT status, COUNT(*) FROM requests WHERE import_id = ? GROUP BY status", [.text(importId)])
            {
                guard let status = row[0].string.flatMap(RequestStatus.init(rawValue:)) else { continue }
                counts[status] = row[1].int ?? 0
            }
            return counts
        }
    }

    public func claimImportedForwardable(now: Date, limit: Int, owner: String, lease: Duration) async throws
        -> [GatewayRequest]
    {
        try await claim(
            condition: "status = ? AND (next_attempt_at IS NULL OR next_attempt_at <= ?) AND import_id IS NOT NULL",
            bindings: [.text(RequestStatus.queued.rawValue), .integer(RequestRow.milliseconds(now))],
            order: "next_attempt_at, id", now: now, limit: limit, owner: owner, lease: lease)
    }

    /// A row's values as text (numbers in decimal), the form `ImportColumns.record` reads.
    private static func texts(_ row: SQLiteRow) -> [String?] {
        row.values.map { value in
            switch value {
            case .null: nil
            case .integer(let value): String(value)
            case .real(let value): String(value)
            case .text(let text): text
            case .blob(let bytes): String(decoding: bytes, as: UTF8.self)
            }
        }
    }
}
