import FoundationEssentials
import GatewayCore
import PurviewWorkflow

/// The webhook outbox's tables and statements, shared by the SQLite and PostgreSQL stores.
///
/// Statements use `?` placeholders (SQLite's); PostgreSQL gets them numbered (`$1`...) by `numbered`.
/// Parameters whose type the SQL does not imply are cast (`CAST(? AS BIGINT)`), which both databases read.
enum WebhookOutboxSchema {
    /// Migration script 2 (`collate` is PostgreSQL's `COLLATE "C"` for ids, empty for SQLite).
    static func script(collate: String) -> String {
        """
        CREATE TABLE webhook_events (
            id TEXT\(collate) PRIMARY KEY,
            request_id TEXT\(collate) NOT NULL,
            seq BIGINT NOT NULL,
            client TEXT\(collate) NOT NULL,
            type TEXT NOT NULL,
            url TEXT\(collate) NOT NULL,
            created_at BIGINT NOT NULL,
            snapshot TEXT NOT NULL,
            state TEXT\(collate) NOT NULL,
            attempts BIGINT NOT NULL,
            next_attempt_at BIGINT,
            deadline_at BIGINT NOT NULL,
            last_error TEXT,
            delivered_at BIGINT,
            lease_owner TEXT,
            lease_until BIGINT
        );
        CREATE INDEX webhook_events_request ON webhook_events (request_id, seq);
        CREATE INDEX webhook_events_due ON webhook_events (state, next_attempt_at);
        CREATE TABLE webhook_attempts (
            event_id TEXT\(collate) NOT NULL,
            attempt BIGINT NOT NULL,
            at BIGINT NOT NULL,
            status_code BIGINT,
            error TEXT,
            duration_ms BIGINT NOT NULL,
            PRIMARY KEY (event_id, attempt)
        );
        CREATE TABLE webhook_gone_urls (
            url TEXT\(collate) PRIMARY KEY,
            at BIGINT NOT NULL
        );
        """
    }
}

/// A bound value that both databases take.
enum OutboxValue: Sendable {
    case text(String?)
    case integer(Int64?)

    var postgres: String? {
        switch self {
        case .text(let value): value
        case .integer(let value): value.map { String($0) }
        }
    }
}

/// The outbox's SQL, independent of the database.
enum OutboxSQL {
    static let columns = """
        e.id, e.request_id, e.seq, e.client, e.type, e.url, e.created_at, e.snapshot, e.state, e.attempts,
        e.next_attempt_at, e.deadline_at, e.last_error, e.delivered_at,
        CASE WHEN EXISTS (SELECT 1 FROM webhook_gone_urls g WHERE g.url = e.url) THEN 1 ELSE 0 END
        """

    static let insert = """
        INSERT INTO webhook_events (id, request_id, seq, client, type, url, created_at, snapshot, state, attempts,
            next_attempt_at, deadline_at, last_error, delivered_at, lease_owner, lease_until)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, NULL, NULL, NULL, NULL)
        ON CONFLICT (id) DO NOTHING
        """

    static func insertParameters(_ event: OutboxEvent, snapshot: String) -> [OutboxValue] {
        let created = RequestRow.milliseconds(event.createdAt)
        return [
            .text(event.id), .text(event.requestId), .integer(Int64(event.sequence)), .text(event.clientName),
            .text(event.type), .text(event.url), .integer(created), .text(snapshot), .integer(created),
            .integer(RequestRow.milliseconds(event.deadline)),
        ]
    }

    /// The due head of each request's pending events (`now`, `now`, `limit`).
    static let due = """
        FROM webhook_events e
        WHERE e.state = 'pending' AND e.next_attempt_at <= CAST(? AS BIGINT)
            AND (e.lease_until IS NULL OR e.lease_until <= CAST(? AS BIGINT))
            AND NOT EXISTS (
                SELECT 1 FROM webhook_events p WHERE p.request_id = e.request_id AND p.state = 'pending' AND p.seq < e.seq)
        ORDER BY e.next_attempt_at, e.id
        LIMIT CAST(? AS BIGINT)
        """

    static let lease = "UPDATE webhook_events SET lease_owner = ?, lease_until = CAST(? AS BIGINT) WHERE id = ?"

    static let byId = "SELECT \(columns) FROM webhook_events e WHERE e.id = ?"
    static let byRequest = "SELECT \(columns) FROM webhook_events e WHERE e.request_id = ? ORDER BY e.seq"
    static let attemptsOfEvent = """
        SELECT a.event_id, a.attempt, a.at, a.status_code, a.error, a.duration_ms FROM webhook_attempts a
        WHERE a.event_id = ? ORDER BY a.attempt
        """
    static let attemptsOfRequest = """
        SELECT a.event_id, a.attempt, a.at, a.status_code, a.error, a.duration_ms FROM webhook_attempts a
        JOIN webhook_events e ON e.id = a.event_id WHERE e.request_id = ? ORDER BY a.event_id, a.attempt
        """

    /// Records an attempt as the event's next one.
    static let insertAttempt = """
        INSERT INTO webhook_attempts (event_id, attempt, at, status_code, error, duration_ms)
        SELECT id, attempts + 1, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT)
        FROM webhook_events WHERE id = ?
        """
    static let countAttempt = "UPDATE webhook_events SET attempts = attempts + 1 WHERE id = ?"

    /// Only a pending event is settled: a late result (a lease that ran out while its holder was still sending)
    /// never turns back an event another replica settled since.
    static let settle = """
        UPDATE webhook_events SET state = ?, next_attempt_at = CAST(? AS BIGINT), last_error = CAST(? AS TEXT),
            delivered_at = COALESCE(CAST(? AS BIGINT), delivered_at), lease_owner = NULL, lease_until = NULL
        WHERE id = ? AND state = 'pending'
        """

    static let markURLGone = """
        INSERT INTO webhook_gone_urls (url, at) SELECT url, CAST(? AS BIGINT) FROM webhook_events WHERE id = ?
        ON CONFLICT (url) DO NOTHING
        """
    static let stopPendingToURL = """
        UPDATE webhook_events SET state = 'gone', next_attempt_at = NULL, last_error = ?, lease_owner = NULL,
            lease_until = NULL
        WHERE state = 'pending' AND url = (SELECT url FROM webhook_events WHERE id = ?)
        """

    static let liftGone = "DELETE FROM webhook_gone_urls WHERE url = (SELECT url FROM webhook_events WHERE id = ?)"
    static let redeliver = """
        UPDATE webhook_events SET state = 'pending', next_attempt_at = CAST(? AS BIGINT),
            deadline_at = CAST(? AS BIGINT), last_error = NULL, lease_owner = NULL, lease_until = NULL
        WHERE id = ?
        """

    /// The statements (with parameters) that record an attempt and its decision, in order, in one transaction.
    static func recording(_ attempt: WebhookAttempt?, eventId: String, decision: WebhookDeliveryDecision)
        -> [(String, [OutboxValue])]
    {
        var statements: [(String, [OutboxValue])] = []
        if let attempt {
            statements.append(
                (
                    insertAttempt,
                    [
                        .integer(RequestRow.milliseconds(attempt.at)), .integer(attempt.statusCode.map { Int64($0) }),
                        .text(attempt.error), .integer(Int64(attempt.durationMilliseconds)), .text(eventId),
                    ]
                ))
            statements.append((countAttempt, [.text(eventId)]))
        }
        let goneNote = "the receiver answered 410 Gone: deliveries to this URL stopped"
        switch decision {
        case .delivered(let at):
            statements.append(
                (
                    settle,
                    [
                        .text("delivered"), .integer(nil), .text(nil), .integer(RequestRow.milliseconds(at)),
                        .text(eventId),
                    ]
                ))
        case .retry(let at, let reason):
            statements.append(
                (
                    settle,
                    [
                        .text("pending"), .integer(RequestRow.milliseconds(at)), .text(reason), .integer(nil),
                        .text(eventId),
                    ]
                ))
        case .failed(let reason):
            statements.append((settle, [.text("failed"), .integer(nil), .text(reason), .integer(nil), .text(eventId)]))
        case .gone:
            let at = RequestRow.milliseconds(attempt?.at ?? Date())
            statements.append((markURLGone, [.integer(at), .text(eventId)]))
            statements.append((stopPendingToURL, [.text(goneNote), .text(eventId)]))
            statements.append((settle, [.text("gone"), .integer(nil), .text(goneNote), .integer(nil), .text(eventId)]))
        }
        return statements
    }

    /// `?` → `$1`, `$2`, ... (the statements here have no `?` inside literals).
    static func numbered(_ sql: String) -> String {
        var result = ""
        var count = 0
        for character in sql {
            if character == "?" {
                count += 1
                result += "$\(count)"
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// Decodes a row of `columns` (as text, the way PostgreSQL returns it).
    static func event(_ row: [String?]) throws -> WebhookEvent {
        guard row.count >= 15, let id = row[0], let requestId = row[1], let sequence = row[2].flatMap({ Int($0) }),
            let client = row[3], let type = row[4], let url = row[5], let created = row[6].flatMap({ Int64($0) }),
            let snapshot = row[7], let state = row[8].flatMap(WebhookEventState.init(rawValue:)),
            let deadline = row[11].flatMap({ Int64($0) })
        else { throw StoreError("a stored webhook event is incomplete") }
        let request = try StoredDocument(document: snapshot, version: 0).decoded()
        var event = WebhookEvent(
            id: id, requestId: requestId, sequence: sequence, clientName: client, type: type, url: url,
            createdAt: date(created), request: request, state: state, attempts: row[9].flatMap { Int($0) } ?? 0,
            nextAttemptAt: row[10].flatMap { Int64($0) }.map(date), deadline: date(deadline), lastError: row[12],
            deliveredAt: row[13].flatMap { Int64($0) }.map(date))
        event.urlGone = row[14] == "1"
        return event
    }

    /// Decodes a row of the attempt queries: (event id, attempt).
    static func attempt(_ row: [String?]) -> (String, WebhookAttempt)? {
        guard row.count >= 6, let eventId = row[0], let number = row[1].flatMap({ Int($0) }),
            let at = row[2].flatMap({ Int64($0) })
        else { return nil }
        return (
            eventId,
            WebhookAttempt(
                number: number, at: date(at), statusCode: row[3].flatMap { Int($0) }, error: row[4],
                durationMilliseconds: row[5].flatMap { Int($0) } ?? 0)
        )
    }

    /// Attaches attempts to their events.
    static func attach(_ attempts: [[String?]], to events: [WebhookEvent]) -> [WebhookEvent] {
        var byEvent: [String: [WebhookAttempt]] = [:]
        for row in attempts {
            if let (eventId, attempt) = attempt(row) { byEvent[eventId, default: []].append(attempt) }
        }
        return events.map { event in
            var event = event
            event.attemptLog = byEvent[event.id] ?? []
            return event
        }
    }

    static func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }
}
