public import FoundationEssentials
public import GatewayCore
import SQLite

extension OutboxValue {
    var sqlite: SQLiteValue {
        switch self {
        case .text(let value): SQLiteValue(value)
        case .integer(let value): SQLiteValue(value)
        }
    }
}

extension SQLiteRequestStore: WebhookOutbox {
    /// Adds the events of a request write to the outbox; called inside that write's savepoint.
    static func writeWebhookEvents(_ row: RequestRow, on connection: SQLiteConnection) throws {
        for event in row.webhookEvents {
            try connection.execute(
                OutboxSQL.insert, OutboxSQL.insertParameters(event, snapshot: row.document).map(\.sqlite))
        }
    }

    public func claimWebhookEvents(now: Date, limit: Int, owner: String, lease: Duration) async throws
        -> [WebhookEvent]
    {
        guard limit > 0 else { return [] }
        let nowMs = RequestRow.milliseconds(now)
        let until = nowMs + RequestRow.milliseconds(lease)
        let rows = try await write { connection in
            let found = try connection.query(
                "SELECT \(OutboxSQL.columns) \(OutboxSQL.due)", [.integer(nowMs), .integer(nowMs), .int(limit)]
            ).map(Self.texts)
            for row in found {
                _ = try connection.execute(OutboxSQL.lease, [.text(owner), .integer(until), SQLiteValue(row[0])])
            }
            return found
        }
        return try rows.map(OutboxSQL.event)
    }

    public func recordWebhookAttempt(
        _ attempt: WebhookAttempt?, eventId: String, decision: WebhookDeliveryDecision, owner: String
    ) async throws {
        let statements = OutboxSQL.recording(attempt, eventId: eventId, decision: decision)
            .map { ($0.0, $0.1.map(\.sqlite)) }
        try await write { connection in
            for (sql, parameters) in statements { _ = try connection.execute(sql, parameters) }
        }
    }

    public func webhookEvents(requestId: String) async throws -> [WebhookEvent] {
        let (events, attempts) = try await write { connection in
            (
                try connection.query(OutboxSQL.byRequest, [.text(requestId)]).map(Self.texts),
                try connection.query(OutboxSQL.attemptsOfRequest, [.text(requestId)]).map(Self.texts)
            )
        }
        return OutboxSQL.attach(attempts, to: try events.map(OutboxSQL.event))
    }

    public func webhookEvent(id: String) async throws -> WebhookEvent? {
        let (events, attempts) = try await write { connection in
            (
                try connection.query(OutboxSQL.byId, [.text(id)]).map(Self.texts),
                try connection.query(OutboxSQL.attemptsOfEvent, [.text(id)]).map(Self.texts)
            )
        }
        return OutboxSQL.attach(attempts, to: try events.map(OutboxSQL.event)).first
    }

    public func redeliverWebhookEvent(id: String, now: Date) async throws -> WebhookEvent? {
        let nowMs = RequestRow.milliseconds(now)
        let deadline = nowMs + RequestRow.milliseconds(WebhookDelivery.maximumAge)
        let changed = try await write { connection in
            _ = try connection.execute(OutboxSQL.liftGone, [.text(id)])
            return try connection.execute(OutboxSQL.redeliver, [.integer(nowMs), .integer(deadline), .text(id)])
        }
        guard changed == 1 else { return nil }
        return try await webhookEvent(id: id)
    }

    private static func texts(_ row: SQLiteRow) -> [String?] {
        row.values.map { value in
            switch value {
            case .text(let text): text
            case .integer(let number): String(number)
            case .real(let number): String(number)
            case .null, .blob: nil
            }
        }
    }
}
