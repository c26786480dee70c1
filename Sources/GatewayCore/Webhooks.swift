public import FoundationEssentials

/// A notification about one transition of a request, as the outbox keeps it (docs/WEBHOOKS.md).
///
/// Events are written by the stores in the same transaction as the change they describe, so a committed
/// transition always has its event and a rolled-back one never does.
public struct WebhookEvent: Sendable, Hashable {
    /// Stable across retries and redeliveries (`X-Gateway-Event-Id`): receivers de-duplicate by it.
    public var id: String
    public var requestId: String
    /// The timeline index of the transition: events of one request are delivered in this order.
    public var sequence: Int
    public var clientName: String
    /// `request.<status>` when the status changed, else `request.<outcome>` (see `WebhookEventType`).
    public var type: String
    public var url: String
    public var createdAt: Date
    /// The request as it was when the transition was stored (rendered as `GET /v1/requests/{id}` renders it).
    public var request: GatewayRequest
    public var state: WebhookEventState
    /// Attempts made so far.
    public var attempts: Int
    /// When the next attempt is due (pending events only).
    public var nextAttemptAt: Date?
    /// Retries stop after this time (24 h after the event, or after a redelivery was asked for).
    public var deadline: Date
    public var lastError: String?
    public var deliveredAt: Date?
    /// The receiver answered 410 for this URL earlier: deliveries to it have stopped (claims only).
    public var urlGone: Bool = false
    /// Every attempt, oldest first (filled by `webhookEvents(requestId:)` and `webhookEvent(id:)`).
    public var attemptLog: [WebhookAttempt] = []

    public init(
        id: String, requestId: String, sequence: Int, clientName: String, type: String, url: String,
        createdAt: Date, request: GatewayRequest, state: WebhookEventState = .pending, attempts: Int = 0,
        nextAttemptAt: Date?, deadline: Date, lastError: String? = nil, deliveredAt: Date? = nil
    ) {
        self.id = id
        self.requestId = requestId
        self.sequence = sequence
        self.clientName = clientName
        self.type = type
        self.url = url
        self.createdAt = createdAt
        self.request = request
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.deadline = deadline
        self.lastError = lastError
        self.deliveredAt = deliveredAt
    }
}

public enum WebhookEventState: String, Sendable, Hashable, CaseIterable {
    /// Waiting for its first or next attempt.
    case pending
    /// A receiver answered 2xx.
    case delivered
    /// Retries ran out (24 h) or the client's callback settings no longer allow it.
    case failed
    /// The receiver answered 410: nothing more is sent to that URL.
    case gone
}

/// One POST of an event to its receiver.
public struct WebhookAttempt: Sendable, Hashable {
    /// 1 for the first attempt (assigned by the store).
    public var number: Int
    public var at: Date
    /// The receiver's HTTP status, nil when no response came.
    public var statusCode: Int?
    public var error: String?
    public var durationMilliseconds: Int

    public init(number: Int = 0, at: Date, statusCode: Int?, error: String?, durationMilliseconds: Int) {
        self.number = number
        self.at = at
        self.statusCode = statusCode
        self.error = error
        self.durationMilliseconds = durationMilliseconds
    }
}

/// The event types (`type` of an event).
public enum WebhookEventType {
    /// `request.<status>` (e.g. `request.completed`) when the status changed; when only the outcome changed,
    /// `request.approved` / `request.rejected` (or `request.outcome_cleared`).
    public static func of(status: RequestStatus, outcome: RequestOutcome?, statusChanged: Bool) -> String {
        if statusChanged { return "request." + status.rawValue }
        return "request." + (outcome?.rawValue ?? "outcome_cleared")
    }

    /// Every type an event can have, for the documentation and the OpenAPI document.
    public static var all: [String] {
        RequestStatus.allCases.filter { $0 != .submitting }.map { "request." + $0.rawValue }
            + ["request.approved", "request.rejected", "request.outcome_cleared"]
    }
}

/// An event the stores write in the transaction that stores a request (the outbox row, before any delivery).
public struct OutboxEvent: Sendable, Hashable {
    public var id: String
    public var requestId: String
    public var sequence: Int
    public var clientName: String
    public var type: String
    public var url: String
    public var createdAt: Date
    public var deadline: Date

    /// The events a write of `request` must add to the outbox: one per transition recorded by this write.
    ///
    /// A transition is a timeline entry whose status or outcome differs from the entry before it (the first
    /// entry always is one); entering `submitting` is not notified. Only entries made at `updatedAt` are
    /// considered (what the write being stored added; `apply` stamps both with the same time); event ids are
    /// derived from the request id and the timeline index, so writing one twice is a no-op for the stores.
    /// Requests without a `callbackUrl` have no events.
    public static func new(for request: GatewayRequest) -> [OutboxEvent] {
        guard let url = request.callbackUrl, !request.timeline.isEmpty else { return [] }
        var events: [OutboxEvent] = []
        var index = request.timeline.count - 1
        while index >= 0 && request.timeline[index].at == request.updatedAt {
            let entry = request.timeline[index]
            let previous = index > 0 ? request.timeline[index - 1] : nil
            let statusChanged = previous == nil || previous?.status != entry.status
            let outcomeChanged = previous != nil && previous?.outcome != entry.outcome
            if (statusChanged || outcomeChanged) && entry.status != .submitting {
                events.append(
                    OutboxEvent(
                        id: eventId(requestId: request.id, sequence: index), requestId: request.id, sequence: index,
                        clientName: request.clientName,
                        type: WebhookEventType.of(
                            status: entry.status, outcome: entry.outcome, statusChanged: statusChanged),
                        url: url, createdAt: entry.at,
                        deadline: entry.at.addingTimeInterval(WebhookDelivery.maximumAge.seconds)))
            }
            index -= 1
        }
        return events.reversed()
    }

    /// `evt_<request id>_<timeline index>`.
    public static func eventId(requestId: String, sequence: Int) -> String { "evt_\(requestId)_\(sequence)" }
}

/// The stores' side of webhooks: the outbox the request writes fill, claimed and updated by the dispatcher.
///
/// Every store (in memory, SQLite, PostgreSQL) implements it; claims lease events like request claims do, so
/// several replicas never deliver the same event at once (at least once, not exactly once, if one dies).
public protocol WebhookOutbox: Sendable {
    /// Leases up to `limit` pending events that are due, at most one per request and only the earliest pending
    /// event of its request (delivery in order per request), to `owner` until `now + lease`.
    func claimWebhookEvents(now: Date, limit: Int, owner: String, lease: Duration) async throws -> [WebhookEvent]

    /// Records an attempt (if one was made) and the decision taken after it, releasing the lease. `.gone` also
    /// stops every pending event to the same URL, now and later, until a redelivery to it is asked for.
    func recordWebhookAttempt(
        _ attempt: WebhookAttempt?, eventId: String, decision: WebhookDeliveryDecision, owner: String
    ) async throws

    /// A request's events, oldest first, with their attempts.
    func webhookEvents(requestId: String) async throws -> [WebhookEvent]

    func webhookEvent(id: String) async throws -> WebhookEvent?

    /// Makes an event pending again, due now, with a new 24 h window, and lifts a 410 stop on its URL.
    /// Returns nil when there is no such event.
    func redeliverWebhookEvent(id: String, now: Date) async throws -> WebhookEvent?
}
