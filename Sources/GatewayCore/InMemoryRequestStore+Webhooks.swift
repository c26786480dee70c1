public import FoundationEssentials

/// The in-memory store's outbox: kept under the store's lock, so an event appears with its transition.
struct InMemoryOutbox {
    struct Lease {
        var owner: String
        var until: Date
    }

    var events: [String: WebhookEvent] = [:]
    var leases: [String: Lease] = [:]
    var goneURLs: Set<String> = []

    mutating func add(_ new: [OutboxEvent], snapshot: GatewayRequest) {
        for event in new where events[event.id] == nil {
            events[event.id] = WebhookEvent(
                id: event.id, requestId: event.requestId, sequence: event.sequence, clientName: event.clientName,
                type: event.type, url: event.url, createdAt: event.createdAt, request: snapshot,
                nextAttemptAt: event.createdAt, deadline: event.deadline)
        }
    }

    mutating func claim(now: Date, limit: Int, owner: String, lease: Duration) -> [WebhookEvent] {
        let pending = events.values.filter { $0.state == .pending }
        var heads: [String: WebhookEvent] = [:]
        for event in pending where heads[event.requestId].map({ event.sequence < $0.sequence }) ?? true {
            heads[event.requestId] = event
        }
        let due = heads.values.filter { event in
            guard (event.nextAttemptAt ?? .distantPast) <= now else { return false }
            if let held = leases[event.id], held.until > now { return false }
            return true
        }.sorted { ($0.nextAttemptAt ?? .distantPast, $0.id) < ($1.nextAttemptAt ?? .distantPast, $1.id) }
        var taken = Array(due.prefix(max(limit, 0)))
        for index in taken.indices {
            leases[taken[index].id] = Lease(owner: owner, until: now.addingTimeInterval(lease.seconds))
            taken[index].urlGone = goneURLs.contains(taken[index].url)
        }
        return taken
    }

    mutating func record(_ attempt: WebhookAttempt?, eventId: String, decision: WebhookDeliveryDecision) {
        guard var event = events[eventId] else { return }
        leases[eventId] = nil
        if var attempt {
            event.attempts += 1
            attempt.number = event.attempts
            event.attemptLog.append(attempt)
        }
        guard event.state == .pending else {
            events[eventId] = event  // a late result never turns back an event settled since
            return
        }
        switch decision {
        case .delivered(let at):
            event.state = .delivered
            event.deliveredAt = at
            event.nextAttemptAt = nil
            event.lastError = nil
        case .retry(let at, let reason):
            event.nextAttemptAt = at
            event.lastError = reason
        case .failed(let reason):
            event.state = .failed
            event.nextAttemptAt = nil
            event.lastError = reason
        case .gone:
            goneURLs.insert(event.url)
            for (id, other) in events where other.url == event.url && other.state == .pending && id != eventId {
                events[id]?.state = .gone
                events[id]?.nextAttemptAt = nil
                events[id]?.lastError = Self.goneNote
            }
            event.state = .gone
            event.nextAttemptAt = nil
            event.lastError = Self.goneNote
        }
        events[eventId] = event
    }

    mutating func redeliver(id: String, now: Date) -> WebhookEvent? {
        guard var event = events[id] else { return nil }
        goneURLs.remove(event.url)
        leases[id] = nil
        event.state = .pending
        event.nextAttemptAt = now
        event.deadline = now.addingTimeInterval(WebhookDelivery.maximumAge.seconds)
        event.lastError = nil
        events[id] = event
        return event
    }

    static let goneNote = "the receiver answered 410 Gone: deliveries to this URL stopped"
}

extension InMemoryRequestStore: WebhookOutbox {
    public func claimWebhookEvents(now: Date, limit: Int, owner: String, lease: Duration) async throws
        -> [WebhookEvent]
    {
        state.withLock { $0.outbox.claim(now: now, limit: limit, owner: owner, lease: lease) }
    }

    public func recordWebhookAttempt(
        _ attempt: WebhookAttempt?, eventId: String, decision: WebhookDeliveryDecision, owner: String
    ) async throws {
        state.withLock { $0.outbox.record(attempt, eventId: eventId, decision: decision) }
    }

    public func webhookEvents(requestId: String) async throws -> [WebhookEvent] {
        state.withLock { state in
            state.outbox.events.values.filter { $0.requestId == requestId }.sorted { $0.sequence < $1.sequence }
        }
    }

    public func webhookEvent(id: String) async throws -> WebhookEvent? {
        state.withLock { $0.outbox.events[id] }
    }

    public func redeliverWebhookEvent(id: String, now: Date) async throws -> WebhookEvent? {
        state.withLock { $0.outbox.redeliver(id: id, now: now) }
    }
}
