public import FoundationEssentials
public import GatewayCore
import SQLite

/// Terminal statuses, the only ones retention deletes.
private let terminalStatuses = RequestStatus.allCases.filter(\.isTerminal).map(\.rawValue)

extension SQLiteRequestStore: RetentionStore {
    public func purgeTerminalRequests(updatedBefore cutoff: Date, limit: Int) async throws -> Int {
        let cutoffMs = RequestRow.milliseconds(cutoff)
        let statuses = terminalStatuses.map { SQLiteValue.text($0) }
        let marks = Array(repeating: "?", count: statuses.count).joined(separator: ", ")
        let purged = try await write { connection in
            let doomed = try connection.query(
                """
                SELECT id, client, idempotency_key FROM requests
                WHERE status IN (\(marks)) AND updated_at < ? ORDER BY updated_at LIMIT ?
                """, statuses + [.integer(cutoffMs), .int(limit)])
            for row in doomed {
                guard let id = row[0].string else { continue }
                if let client = row[1].string, let key = row[2].string {
                    try connection.execute(
                        "DELETE FROM idempotency_keys WHERE client = ? AND idempotency_key = ? AND request_id = ?",
                        [.text(client), .text(key), .text(id)])
                }
                // Webhook events carry the request as it was (requestedBy, comments): they go with it.
                try connection.execute(
                    "DELETE FROM webhook_attempts WHERE event_id IN (SELECT id FROM webhook_events WHERE request_id = ?)",
                    [.text(id)])
                try connection.execute("DELETE FROM webhook_events WHERE request_id = ?", [.text(id)])
                try connection.execute("DELETE FROM requests WHERE id = ?", [.text(id)])
            }
            return doomed.compactMap { $0[0].string }
        }
        changeObservers.report(purged)
        return purged.count
    }

    public func purgeIdempotencyKeys(createdBefore cutoff: Date, limit: Int) async throws -> Int {
        let cutoffMs = RequestRow.milliseconds(cutoff)
        return try await write { connection in
            try connection.execute(
                """
                DELETE FROM idempotency_keys WHERE rowid IN
                    (SELECT rowid FROM idempotency_keys WHERE created_at < ? ORDER BY created_at LIMIT ?)
                """, [.integer(cutoffMs), .int(limit)])
        }
    }

    public func purgeImports(updatedBefore cutoff: Date, limit: Int) async throws -> Int {
        let cutoffMs = RequestRow.milliseconds(cutoff)
        return try await write { connection in
            let doomed = try connection.query(
                "SELECT id FROM imports WHERE status = ? AND updated_at < ? ORDER BY updated_at LIMIT ?",
                [.text(ImportStatus.done.rawValue), .integer(cutoffMs), .int(limit)])
            for row in doomed {
                guard let id = row[0].string else { continue }
                // Rejected rows keep the raw text as received (names, emails, comments): they go first.
                try connection.execute("DELETE FROM import_rejections WHERE import_id = ?", [.text(id)])
                try connection.execute("DELETE FROM imports WHERE id = ?", [.text(id)])
            }
            return doomed.count
        }
    }
}

extension PostgresRequestStore: RetentionStore {
    public func purgeTerminalRequests(updatedBefore cutoff: Date, limit: Int) async throws -> Int {
        var sql = SQLBuilder()
        let statuses = sql.bind(textArray: terminalStatuses)
        let before = sql.bind(RequestRow.milliseconds(cutoff))
        let count = sql.bind(Int64(limit))
        // One statement: rows another replica is deleting are skipped, not waited for.
        let text = """
            WITH doomed AS (
                SELECT id, client, idempotency_key FROM requests
                WHERE status = ANY(\(statuses)) AND updated_at < \(before)
                ORDER BY updated_at LIMIT \(count) FOR UPDATE SKIP LOCKED
            ), keys AS (
                DELETE FROM idempotency_keys k USING doomed d
                WHERE k.client = d.client AND k.idempotency_key = d.idempotency_key AND k.request_id = d.id
            ), events AS (
                -- Webhook events carry the request as it was (requestedBy, comments): they go with it.
                DELETE FROM webhook_events e USING doomed d WHERE e.request_id = d.id RETURNING e.id
            ), attempts AS (
                DELETE FROM webhook_attempts a USING events e WHERE a.event_id = e.id
            )
            DELETE FROM requests r USING doomed d WHERE r.id = d.id
            """
        let parameters = sql.parameters
        return try await write { connection in try connection.query(text, parameters).affected }
    }

    public func purgeIdempotencyKeys(createdBefore cutoff: Date, limit: Int) async throws -> Int {
        var sql = SQLBuilder()
        let before = sql.bind(RequestRow.milliseconds(cutoff))
        let count = sql.bind(Int64(limit))
        let text = """
            DELETE FROM idempotency_keys WHERE (client, idempotency_key) IN (
                SELECT client, idempotency_key FROM idempotency_keys WHERE created_at < \(before)
                ORDER BY created_at LIMIT \(count) FOR UPDATE SKIP LOCKED)
            """
        let parameters = sql.parameters
        return try await write { connection in try connection.query(text, parameters).affected }
    }

    public func purgeImports(updatedBefore cutoff: Date, limit: Int) async throws -> Int {
        var sql = SQLBuilder()
        let done = sql.bind(ImportStatus.done.rawValue)
        let before = sql.bind(RequestRow.milliseconds(cutoff))
        let count = sql.bind(Int64(limit))
        // One statement: imports another replica is deleting are skipped, not waited for. Rejected rows keep
        // the raw text as received (names, emails, comments): they go with their import.
        let text = """
            WITH doomed AS (
                SELECT id FROM imports WHERE status = \(done) AND updated_at < \(before)
                ORDER BY updated_at LIMIT \(count) FOR UPDATE SKIP LOCKED
            ), rejections AS (
                DELETE FROM import_rejections r USING doomed d WHERE r.import_id = d.id
            )
            DELETE FROM imports i USING doomed d WHERE i.id = d.id
            """
        let parameters = sql.parameters
        return try await write { connection in try connection.query(text, parameters).affected }
    }
}
