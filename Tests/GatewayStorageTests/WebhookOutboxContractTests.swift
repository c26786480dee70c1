import Foundation
import GatewayCore
import GatewayStorage
import PurviewWorkflow
import Testing

/// What every store's webhook outbox must do (in memory, SQLite, PostgreSQL).
@Suite struct WebhookOutboxContractTests {
    let day = Fixtures.day
    static let url = "https://hooks.contoso.com/purview"

    func withOutbox(_ kind: StoreKind, _ body: (any RequestStore, any WebhookOutbox) async throws -> Void) async throws
    {
        try await withStore(kind) { store in
            let outbox = try #require(store as? any WebhookOutbox, "\(kind) keeps no outbox")
            try await body(store, outbox)
        }
    }

    func request(_ id: String, url: String? = WebhookOutboxContractTests.url, at offset: Int64 = 0) -> GatewayRequest {
        var request = Fixtures.request(id, createdAt: Fixtures.time(offset))
        request.callbackUrl = url
        return request
    }

    /// Applies `event` at `offset` ms and stores the result.
    func advance(_ request: GatewayRequest, _ event: RequestEvent, at offset: Int64, in store: any RequestStore)
        async throws
        -> GatewayRequest
    {
        var next = request
        try next.apply(event, now: Fixtures.time(offset), actor: "test")
        return try await store.update(next)
    }

    @Test(arguments: StoreKind.allCases)
    func eventsAreWrittenWithTheTransitionsTheyDescribe(_ kind: StoreKind) async throws {
        try await withOutbox(kind) { store, outbox in
            var stored = try await store.insert(request("r1"), idempotencyWindow: day, now: Fixtures.t0).request
            #expect(try await outbox.webhookEvents(requestId: "r1").map(\.type) == ["request.queued"])
            stored = try await advance(stored, .sendStarted, at: 1_000, in: store)
            let stale = stored
            stored = try await advance(
                stored, .accepted(purviewRequestId: "p1", runIds: ["run-a"]), at: 2_000, in: store)
            // An update that loses the race stores nothing, so it adds no event either.
            var losing = stale
            try losing.apply(.refused(RequestError(code: "x", message: "y")), now: Fixtures.time(2_500), actor: "test")
            await #expect(throws: StoreConflict.self) { try await store.update(losing) }
            // Storing the same state again (a poll that changed nothing) adds nothing.
            var polled = stored
            polled.polledAt = Fixtures.time(3_000)
            stored = try await store.update(polled)

            let events = try await outbox.webhookEvents(requestId: "r1")
            #expect(events.map(\.type) == ["request.queued", "request.submitted"])
            #expect(events.map(\.sequence) == [0, 2])
            #expect(events.map(\.id) == ["evt_r1_0", "evt_r1_2"])
            #expect(events.allSatisfy { $0.state == .pending && $0.url == Self.url && $0.clientName == "portal" })
            #expect(events[1].createdAt == Fixtures.time(2_000))
            #expect(events[1].deadline == Fixtures.time(2_000 + 24 * 3600 * 1000))
            // Each carries the request as it was then.
            #expect(events[0].request.status == .queued && events[1].request.status == .submitted)
            #expect(events[1].request.workflowRunIds == ["run-a"])
            #expect(try await outbox.webhookEvent(id: "evt_r1_2")?.type == "request.submitted")

            _ = try await store.insert(request("r2", url: nil), idempotencyWindow: day, now: Fixtures.t0)
            #expect(try await outbox.webhookEvents(requestId: "r2").isEmpty)
            #expect(try await outbox.webhookEvent(id: "missing") == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func claimsTakeOneEventPerRequestInOrderUnderALease(_ kind: StoreKind) async throws {
        try await withOutbox(kind) { store, outbox in
            var first = try await store.insert(request("r1"), idempotencyWindow: day, now: Fixtures.t0).request
            first = try await advance(first, .sendStarted, at: 100, in: store)
            first = try await advance(first, .accepted(purviewRequestId: nil, runIds: ["a"]), at: 200, in: store)
            first = try await advance(first, .cancelRequested(comment: nil), at: 300, in: store)
            _ = try await store.insert(request("r2", at: 50), idempotencyWindow: day, now: Fixtures.time(50))
            let now = Fixtures.time(1_000)
            let lease = Duration.seconds(60)

            let claimed = try await outbox.claimWebhookEvents(now: now, limit: 10, owner: "a", lease: lease)
            #expect(claimed.map(\.id) == ["evt_r1_0", "evt_r2_0"])
            #expect(claimed.allSatisfy { !$0.urlGone })
            #expect(try await outbox.claimWebhookEvents(now: now, limit: 10, owner: "b", lease: lease).isEmpty)

            let attempt = WebhookAttempt(at: now, statusCode: 200, error: nil, durationMilliseconds: 12)
            try await outbox.recordWebhookAttempt(
                attempt, eventId: "evt_r1_0", decision: .delivered(at: now), owner: "a")
            // r1's next event is its head now; r2's is still leased.
            let next = try await outbox.claimWebhookEvents(now: now, limit: 10, owner: "b", lease: lease)
            #expect(next.map(\.id) == ["evt_r1_2"])
            let failure = WebhookAttempt(at: now, statusCode: nil, error: "connect_failed", durationMilliseconds: 3)
            try await outbox.recordWebhookAttempt(
                failure, eventId: "evt_r1_2", decision: .retry(at: Fixtures.time(6_000), reason: "connect_failed"),
                owner: "b")
            // Not due yet, and the event after it waits behind it.
            #expect(
                try await outbox.claimWebhookEvents(now: Fixtures.time(5_999), limit: 10, owner: "b", lease: lease)
                    .isEmpty)
            let retried = try await outbox.claimWebhookEvents(
                now: Fixtures.time(6_000), limit: 10, owner: "b", lease: lease)
            #expect(retried.map(\.id) == ["evt_r1_2"])
            #expect(retried.first?.attempts == 1 && retried.first?.lastError == "connect_failed")
            try await outbox.recordWebhookAttempt(
                WebhookAttempt(at: Fixtures.time(6_000), statusCode: 204, error: nil, durationMilliseconds: 5),
                eventId: "evt_r1_2", decision: .delivered(at: Fixtures.time(6_001)), owner: "b")

            // A lease that ran out is taken by another owner (the first one is presumed dead): at least once.
            let afterLease = Fixtures.time(1_000 + 61_000)
            let taken = try await outbox.claimWebhookEvents(now: afterLease, limit: 10, owner: "c", lease: lease)
            #expect(taken.map(\.id) == ["evt_r2_0", "evt_r1_3"])

            let events = try await outbox.webhookEvents(requestId: "r1")
            #expect(events.map(\.state) == [.delivered, .delivered, .pending])
            #expect(events[0].attemptLog.map(\.statusCode) == [200] && events[0].deliveredAt == now)
            #expect(events[1].attemptLog.map(\.number) == [1, 2])
            #expect(events[1].attemptLog.map(\.error) == ["connect_failed", nil])
            #expect(events[1].attempts == 2 && events[1].lastError == nil && events[1].nextAttemptAt == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func goneStopsTheURLUntilAnEventIsRedelivered(_ kind: StoreKind) async throws {
        try await withOutbox(kind) { store, outbox in
            _ = try await store.insert(request("r1"), idempotencyWindow: day, now: Fixtures.t0)
            _ = try await store.insert(request("r2"), idempotencyWindow: day, now: Fixtures.t0)
            _ = try await store.insert(
                request("other", url: "https://hooks.contoso.com/elsewhere", at: 500), idempotencyWindow: day,
                now: Fixtures.time(500))
            let now = Fixtures.time(1_000)
            let claimed = try await outbox.claimWebhookEvents(now: now, limit: 1, owner: "a", lease: .seconds(60))
            let first = try #require(claimed.first)
            #expect(first.id == "evt_r1_0")
            try await outbox.recordWebhookAttempt(
                WebhookAttempt(at: now, statusCode: 410, error: nil, durationMilliseconds: 1), eventId: first.id,
                decision: .gone, owner: "a")
            for id in ["r1", "r2"] {
                #expect(try await outbox.webhookEvents(requestId: id).map(\.state) == [.gone])
            }
            #expect(try await outbox.webhookEvents(requestId: "other").map(\.state) == [.pending])
            // Events written later to that URL come out marked, so the dispatcher stops them unsent.
            _ = try await store.insert(request("r3", at: 2_000), idempotencyWindow: day, now: Fixtures.time(2_000))
            let later = try await outbox.claimWebhookEvents(
                now: Fixtures.time(3_000), limit: 10, owner: "a", lease: .seconds(60))
            #expect(Set(later.map(\.id)) == ["evt_r3_0", "evt_other_0"])
            #expect(later.first { $0.id == "evt_r3_0" }?.urlGone == true)
            #expect(later.first { $0.id == "evt_other_0" }?.urlGone == false)

            let redelivered = try #require(
                try await outbox.redeliverWebhookEvent(id: "evt_r1_0", now: Fixtures.time(4_000)))
            #expect(redelivered.state == .pending && redelivered.nextAttemptAt == Fixtures.time(4_000))
            #expect(redelivered.deadline == Fixtures.time(4_000 + 24 * 3600 * 1000))
            #expect(redelivered.attemptLog.map(\.statusCode) == [410])
            let again = try await outbox.claimWebhookEvents(
                now: Fixtures.time(4_000), limit: 10, owner: "b", lease: .seconds(60))
            #expect(again.first { $0.id == "evt_r1_0" }?.urlGone == false)
            #expect(try await outbox.redeliverWebhookEvent(id: "missing", now: Fixtures.time(4_000)) == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aLateResultNeverTurnsBackAnEventSettledSince(_ kind: StoreKind) async throws {
        try await withOutbox(kind) { store, outbox in
            _ = try await store.insert(request("r1"), idempotencyWindow: day, now: Fixtures.t0)
            let first = try await outbox.claimWebhookEvents(
                now: Fixtures.time(1_000), limit: 1, owner: "slow", lease: .seconds(1))
            #expect(first.map(\.id) == ["evt_r1_0"])
            // The slow holder's lease runs out; another replica sends and records a delivery.
            let second = try await outbox.claimWebhookEvents(
                now: Fixtures.time(3_000), limit: 1, owner: "fast", lease: .seconds(60))
            #expect(second.map(\.id) == ["evt_r1_0"])
            try await outbox.recordWebhookAttempt(
                WebhookAttempt(at: Fixtures.time(3_000), statusCode: 200, error: nil, durationMilliseconds: 1),
                eventId: "evt_r1_0", decision: .delivered(at: Fixtures.time(3_001)), owner: "fast")
            try await outbox.recordWebhookAttempt(
                WebhookAttempt(
                    at: Fixtures.time(1_000), statusCode: nil, error: "timeout", durationMilliseconds: 10_000),
                eventId: "evt_r1_0", decision: .retry(at: Fixtures.time(20_000), reason: "timeout"), owner: "slow")
            let event = try #require(try await outbox.webhookEvent(id: "evt_r1_0"))
            #expect(event.state == .delivered && event.deliveredAt == Fixtures.time(3_001))
            #expect(event.attemptLog.map(\.statusCode) == [200, nil])
            #expect(
                try await outbox.claimWebhookEvents(
                    now: Fixtures.time(30_000), limit: 1, owner: "x", lease: .seconds(1)
                ).isEmpty)
        }
    }

    @Test func concurrentPostgresClaimersNeverShareAnEvent() async throws {
        try await withOutbox(.postgres) { store, outbox in
            for index in 0..<40 {
                _ = try await store.insert(request("r\(index)"), idempotencyWindow: day, now: Fixtures.t0)
            }
            let taken = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var mine: [String] = []
                        for _ in 0..<20 {
                            let batch = try await outbox.claimWebhookEvents(
                                now: Fixtures.time(1_000), limit: 3, owner: "w\(worker)", lease: .seconds(60))
                            if batch.isEmpty { break }
                            mine += batch.map(\.id)
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(taken.count == 40)
            #expect(Set(taken).count == 40)
        }
    }
}
