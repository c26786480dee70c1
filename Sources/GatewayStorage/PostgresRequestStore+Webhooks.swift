public import FoundationEssentials
public import GatewayCore

extension PostgresRequestStore: WebhookOutbox {
    /// Opens a transaction when the write has outbox events (else the write stays one autocommitted statement).
    static func beginWebhookEvents(_ row: RequestRow, on connection: PostgresConnection) throws {
        guard !row.webhookEvents.isEmpty else { return }
        try connection.execute(unpreparedSQL: "BEGIN")
    }

    /// Adds the events (if the request write `stored` anything) and commits. A throw leaves the transaction
    /// open, and the pool rolls it back before reusing the connection.
    static func commitWebhookEvents(_ row: RequestRow, on connection: PostgresConnection, stored: Bool) throws {
        guard !row.webhookEvents.isEmpty else { return }
        if stored {
            for event in row.webhookEvents {
                try connection.query(
                    insertEventSQL, OutboxSQL.insertParameters(event, snapshot: row.document).map(\.postgres))
            }
        }
        try connection.execute(unpreparedSQL: "COMMIT")
    }

    private static let insertEventSQL = OutboxSQL.numbered(OutboxSQL.insert)
    private static let claimSQL = OutboxSQL.numbered(
        """
        WITH picked AS MATERIALIZED (
            SELECT e.id \(OutboxSQL.due)
            FOR UPDATE SKIP LOCKED
        ), leased AS (
            UPDATE webhook_events AS w SET lease_owner = ?, lease_until = CAST(? AS BIGINT)
            FROM picked WHERE w.id = picked.id
            RETURNING w.*
        )
        SELECT \(OutboxSQL.columns) FROM leased e ORDER BY e.next_attempt_at, e.id
        """)

    public func claimWebhookEvents(now: Date, limit: Int, owner: String, lease: Duration) async throws
        -> [WebhookEvent]
    {
        guard limit > 0 else { return [] }
        let nowMs = RequestRow.milliseconds(now)
        let parameters: [String?] = [
            String(nowMs), String(nowMs), String(limit), owner, String(nowMs + RequestRow.milliseconds(lease)),
        ]
        let rows = try await write { connection in try connection.query(Self.claimSQL, parameters).rows }
        return try rows.map(OutboxSQL.event)
    }

    public func recordWebhookAttempt(
        _ attempt: WebhookAttempt?, eventId: String, decision: WebhookDeliveryDecision, owner: String
    ) async throws {
        let statements = OutboxSQL.recording(attempt, eventId: eventId, decision: decision)
            .map { (OutboxSQL.numbered($0.0), $0.1.map(\.postgres)) }
        try await write { connection in
            try connection.execute(unpreparedSQL: "BEGIN")
            for (sql, parameters) in statements { try connection.query(sql, parameters) }
            try connection.execute(unpreparedSQL: "COMMIT")
        }
    }

    public func webhookEvents(requestId: String) async throws -> [WebhookEvent] {
        let (events, attempts) = try await read { connection in
            (
                try connection.query(OutboxSQL.numbered(OutboxSQL.byRequest), [requestId]).rows,
                try connection.query(OutboxSQL.numbered(OutboxSQL.attemptsOfRequest), [requestId]).rows
            )
        }
        return OutboxSQL.attach(attempts, to: try events.map(OutboxSQL.event))
    }

    public func webhookEvent(id: String) async throws -> WebhookEvent? {
        let (events, attempts) = try await read { connection in
            (
                try connection.query(OutboxSQL.numbered(OutboxSQL.byId), [id]).rows,
                try connection.query(OutboxSQL.numbered(OutboxSQL.attemptsOfEvent), [id]).rows
            )
        }
        return OutboxSQL.attach(attempts, to: try events.map(OutboxSQL.event)).first
    }

    public func redeliverWebhookEvent(id: String, now: Date) async throws -> WebhookEvent? {
        let nowMs = RequestRow.milliseconds(now)
        let deadline = nowMs + RequestRow.milliseconds(WebhookDelivery.maximumAge)
        let changed = try await write { connection in
            try connection.execute(unpreparedSQL: "BEGIN")
            try connection.query(OutboxSQL.numbered(OutboxSQL.liftGone), [id])
            let changed = try connection.query(
                OutboxSQL.numbered(OutboxSQL.redeliver), [String(nowMs), String(deadline), id]
            ).affected
            try connection.execute(unpreparedSQL: "COMMIT")
            return changed
        }
        guard changed == 1 else { return nil }
        return try await webhookEvent(id: id)
    }
}
