import Foundation
import GatewayCore
import GatewayStorage
import PurviewWorkflow
import Synchronization
import Testing

/// What every `RequestStore` must do, run against each store (the in-memory reference, SQLite, PostgreSQL).
@Suite struct RequestStoreContractTests {
    let t0 = Fixtures.t0
    let day = Fixtures.day

    // MARK: Insert and get

    @Test(arguments: StoreKind.allCases)
    func fullyPopulatedRequestRoundTrips(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let request = Fixtures.fullyPopulated("r1")
            let outcome = try await store.insert(request, idempotencyWindow: day, now: t0)
            var expected = request
            expected.version = 1
            #expect(outcome == .inserted(expected))
            let stored = try #require(try await store.get(id: "r1"))
            #expect(stored == expected)
            #expect(stored.runs.count == 2 && stored.timeline.count == 3 && stored.error != nil)
            #expect(try await store.get(id: "missing") == nil)
        }
    }

    // MARK: Idempotency

    @Test(arguments: StoreKind.allCases)
    func sameClientAndKeyReturnTheStoredRequest(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let first = try await store.insert(Fixtures.request("r1", key: "k"), idempotencyWindow: day, now: t0)
            #expect(first.wasInserted)
            let later = Fixtures.time(5_000)
            var retry = Fixtures.request("r2", key: "k", createdAt: later)
            retry.comment = "a different body"
            let second = try await store.insert(retry, idempotencyWindow: day, now: later)
            #expect(second == .existing(first.request))
            #expect(try await store.get(id: "r2") == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anotherClientsKeyIsIndependent(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.insert(
                Fixtures.request("r1", client: "portal", key: "k"), idempotencyWindow: day, now: t0)
            let other = try await store.insert(
                Fixtures.request("r2", client: "chatbot", key: "k"), idempotencyWindow: day, now: t0)
            #expect(other.wasInserted && other.request.id == "r2")
            let noKey = try await store.insert(Fixtures.request("r3"), idempotencyWindow: day, now: t0)
            #expect(noKey.wasInserted)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aKeyExpiresAfterTheWindow(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let window = Duration.seconds(3600)
            _ = try await store.insert(Fixtures.request("r1", key: "k"), idempotencyWindow: window, now: t0)
            // One millisecond before the window ends the key still holds.
            let justInside = Fixtures.time(3_600_000 - 1)
            let inside = try await store.insert(
                Fixtures.request("r2", key: "k", createdAt: justInside), idempotencyWindow: window, now: justInside)
            #expect(inside == .existing(try #require(try await store.get(id: "r1"))))
            // From the end of the window on, the key is free again and names the new request.
            let expired = Fixtures.time(3_600_000)
            let fresh = try await store.insert(
                Fixtures.request("r3", key: "k", createdAt: expired), idempotencyWindow: window, now: expired)
            #expect(fresh.wasInserted && fresh.request.id == "r3")
            let again = Fixtures.time(3_600_500)
            let retry = try await store.insert(
                Fixtures.request("r4", key: "k", createdAt: again), idempotencyWindow: window, now: again)
            #expect(!retry.wasInserted && retry.request.id == "r3")
            #expect(try await store.get(id: "r1") != nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentInsertsWithOneKeyStoreOneRequest(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let outcomes = try await withThrowingTaskGroup(of: InsertOutcome.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        try await store.insert(
                            Fixtures.request("r\(index)", key: "same"), idempotencyWindow: day, now: t0)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let inserted = outcomes.filter(\.wasInserted).map(\.request.id)
            #expect(inserted.count == 1)
            let winner = try #require(inserted.first)
            #expect(outcomes.allSatisfy { $0.request.id == winner })
            #expect(try await store.countByStatus() == [.queued: 1])
        }
    }

    // MARK: Update

    @Test(arguments: StoreKind.allCases)
    func updateWithTheCurrentVersionIncrementsIt(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var request = try await store.insert(Fixtures.request("r1"), idempotencyWindow: day, now: t0).request
            #expect(request.version == 1)
            try request.apply(.sendStarted, now: Fixtures.time(1_000), actor: "forwarder")
            let updated = try await store.update(request)
            #expect(updated.version == 2 && updated.status == .submitting)
            #expect(try await store.get(id: "r1") == updated)
            var next = updated
            try next.apply(.accepted(purviewRequestId: "p1", runIds: ["run-1"]), now: Fixtures.time(2_000), actor: "f")
            #expect(try await store.update(next).version == 3)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func updateFromAStaleCopyConflicts(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let original = try await store.insert(Fixtures.request("r1"), idempotencyWindow: day, now: t0).request
            var first = original
            first.attempts = 1
            let winner = try await store.update(first)
            var stale = original
            stale.attempts = 7
            await #expect(throws: StoreConflict(id: "r1")) { try await store.update(stale) }
            #expect(try await store.get(id: "r1") == winner)
            await #expect(throws: StoreConflict(id: "nope")) { try await store.update(Fixtures.request("nope")) }
        }
    }

    // MARK: List

    /// Six requests over two clients, three statuses, two kinds and two people; createdAt ascending by number,
    /// except r5 and r6 share a time (the id breaks the tie).
    private func insertListingFixtures(into store: any RequestStore) async throws {
        let fixtures = [
            Fixtures.request(
                "r1", client: "portal", kind: .termCreation, requestedBy: "ada@x.com", createdAt: Fixtures.time(1_000)),
            Fixtures.request(
                "r2", client: "chatbot", kind: .dataAccess, requestedBy: "bob@x.com", status: .completed,
                createdAt: Fixtures.time(2_000)),
            Fixtures.request(
                "r3", client: "portal", kind: .dataAccess, requestedBy: "bob@x.com", status: .failed,
                createdAt: Fixtures.time(3_000)),
            Fixtures.request(
                "r4", client: "chatbot", kind: .termCreation, requestedBy: "ada@x.com", createdAt: Fixtures.time(4_000)),
            Fixtures.request(
                "r5", client: "portal", kind: .termCreation, requestedBy: "ada@x.com", status: .completed,
                createdAt: Fixtures.time(5_000)),
            Fixtures.request(
                "r6", client: "portal", kind: .dataAccess, requestedBy: "ada@x.com", createdAt: Fixtures.time(5_000)),
        ]
        for request in fixtures { _ = try await store.insert(request, idempotencyWindow: day, now: request.createdAt) }
    }

    @Test(arguments: StoreKind.allCases)
    func listFiltersNewestFirst(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await insertListingFixtures(into: store)
            func ids(_ filter: RequestFilter, limit: Int = 100) async throws -> [String] {
                try await store.list(filter, limit: limit, after: nil).map(\.id)
            }
            #expect(try await ids(RequestFilter()) == ["r6", "r5", "r4", "r3", "r2", "r1"])
            #expect(try await ids(RequestFilter(), limit: 2) == ["r6", "r5"])
            #expect(try await ids(RequestFilter(clientName: "chatbot")) == ["r4", "r2"])
            var byStatus = RequestFilter()
            byStatus.statuses = [.completed, .failed]
            #expect(try await ids(byStatus) == ["r5", "r3", "r2"])
            var byKind = RequestFilter(clientName: "portal")
            byKind.kinds = [.dataAccess]
            #expect(try await ids(byKind) == ["r6", "r3"])
            var byPerson = RequestFilter()
            byPerson.requestedBy = "bob@x.com"
            #expect(try await ids(byPerson) == ["r3", "r2"])
            var byTime = RequestFilter()
            byTime.createdAfter = Fixtures.time(2_000)
            byTime.createdBefore = Fixtures.time(5_000)
            #expect(try await ids(byTime) == ["r4", "r3"])
            var nothing = RequestFilter(clientName: "nobody")
            nothing.statuses = [.queued]
            #expect(try await ids(nothing).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func cursorPagingSeesEveryRequestOnce(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let count = 250
            for index in 0..<count {
                // Three requests per millisecond, so pages split ties and the id must break them.
                let created = Fixtures.time(Int64(index / 3))
                let request = Fixtures.request(String(format: "req-%03d", (index * 7919) % count), createdAt: created)
                _ = try await store.insert(request, idempotencyWindow: day, now: created)
            }
            var seen: [GatewayRequest] = []
            var cursor: RequestCursor?
            var pages = 0
            while pages < 20 {
                let page = try await store.list(RequestFilter(), limit: 40, after: cursor)
                if page.isEmpty { break }
                pages += 1
                #expect(page.count <= 40)
                seen += page
                cursor = page.last.map { RequestCursor(createdAt: $0.createdAt, id: $0.id) }
            }
            #expect(pages == 7)
            #expect(seen.count == count)
            #expect(Set(seen.map(\.id)).count == count)
            let orderedNewestFirst = zip(seen, seen.dropFirst()).allSatisfy { newer, older in
                (newer.createdAt, newer.id) > (older.createdAt, older.id)
            }
            #expect(orderedNewestFirst)
        }
    }

    // MARK: Claims and leases

    @Test(arguments: StoreKind.allCases)
    func claimForwardableHonoursNextAttemptAndLeases(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var later = Fixtures.request("later")
            later.nextAttemptAt = Fixtures.time(60_000)
            var due = Fixtures.request("due")
            due.nextAttemptAt = Fixtures.time(0)
            for request in [later, due, Fixtures.request("sent", status: .submitted)] {
                _ = try await store.insert(request, idempotencyWindow: day, now: t0)
            }
            let lease = Duration.seconds(30)
            let first = try await store.claimForwardable(now: Fixtures.time(1_000), limit: 10, owner: "a", lease: lease)
            #expect(first.map(\.id) == ["due"])
            #expect(first.first == (try await store.get(id: "due")))
            // Leased to "a" until 31 s: nobody else gets it meanwhile.
            #expect(
                try await store.claimForwardable(now: Fixtures.time(2_000), limit: 10, owner: "b", lease: lease).isEmpty
            )
            #expect(
                try await store.claimForwardable(now: Fixtures.time(30_999), limit: 10, owner: "b", lease: lease)
                    .isEmpty)
            // At 61 s the lease is over and "later" is due: both go to "b", earliest due first.
            let second = try await store.claimForwardable(
                now: Fixtures.time(61_000), limit: 10, owner: "b", lease: lease)
            #expect(second.map(\.id) == ["due", "later"])
            let limited = try await store.claimForwardable(
                now: Fixtures.time(200_000), limit: 1, owner: "c", lease: lease)
            #expect(limited.map(\.id) == ["due"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentClaimersNeverShareARequest(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let count = 100
            for index in 0..<count {
                _ = try await store.insert(Fixtures.request("r\(index)"), idempotencyWindow: day, now: t0)
            }
            let now = Fixtures.time(1_000)
            let claims = try await withThrowingTaskGroup(of: [String].self) { group in
                for owner in ["a", "b", "c"] {
                    group.addTask {
                        var mine: [String] = []
                        for _ in 0..<(count + 1) {
                            let batch = try await store.claimForwardable(
                                now: now, limit: 7, owner: owner, lease: .seconds(60))
                            if batch.isEmpty { break }
                            mine += batch.map(\.id)
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let all = claims.flatMap { $0 }
            #expect(all.count == count)
            #expect(Set(all).count == count)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func claimStaleSubmittingWaitsForTheLeaseToLapse(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            for request in [
                Fixtures.request("r1"), Fixtures.request("queued"), Fixtures.request("sent", status: .submitted),
            ] {
                _ = try await store.insert(request, idempotencyWindow: day, now: t0)
            }
            let claimed = try await store.claimForwardable(now: t0, limit: 1, owner: "forwarder", lease: .seconds(30))
            var sending = try #require(claimed.first)
            #expect(sending.id == "queued" || sending.id == "r1")
            try sending.apply(.sendStarted, now: Fixtures.time(10), actor: "forwarder")
            _ = try await store.update(sending)
            let stillHeld = try await store.claimStaleSubmitting(
                now: Fixtures.time(29_999), limit: 10, owner: "reconciler", lease: .seconds(30))
            #expect(stillHeld.isEmpty)
            let stale = try await store.claimStaleSubmitting(
                now: Fixtures.time(30_000), limit: 10, owner: "reconciler", lease: .seconds(30))
            #expect(stale.map(\.id) == [sending.id])
            #expect(stale.first?.status == .submitting && stale.first?.version == 2)
            let again = try await store.claimStaleSubmitting(
                now: Fixtures.time(31_000), limit: 10, owner: "other", lease: .seconds(30))
            #expect(again.isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func claimPollableTakesRunsNotPolledRecently(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var fresh = Fixtures.request("fresh", status: .inProgress)
            fresh.polledAt = Fixtures.time(100_000)
            var old = Fixtures.request("old", status: .inProgress)
            old.polledAt = Fixtures.time(10_000)
            var done = Fixtures.request("done", status: .completed)
            done.polledAt = nil
            let requests = [
                Fixtures.request("never", status: .submitted), fresh, old, done, Fixtures.request("queued"),
            ]
            for request in requests { _ = try await store.insert(request, idempotencyWindow: day, now: t0) }
            let polledBefore = Fixtures.time(50_000)
            let now = Fixtures.time(200_000)
            let due = try await store.claimPollable(
                now: now, polledBefore: polledBefore, limit: 10, owner: "p1", lease: .seconds(10))
            #expect(Set(due.map(\.id)) == ["never", "old"])
            #expect(
                try await store.claimPollable(
                    now: now, polledBefore: polledBefore, limit: 10, owner: "p2", lease: .seconds(10)
                ).isEmpty)
            // Once polled (and the lease released), a request is not due until it ages again.
            var polled = try #require(due.first { $0.id == "old" })
            polled.polledAt = now
            _ = try await store.update(polled)
            try await store.release(id: "old", owner: "p1")
            try await store.release(id: "never", owner: "p1")
            let next = try await store.claimPollable(
                now: now, polledBefore: polledBefore, limit: 10, owner: "p2", lease: .seconds(10))
            #expect(next.map(\.id) == ["never"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func releaseByTheOwnerFreesTheRequest(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.insert(Fixtures.request("r1"), idempotencyWindow: day, now: t0)
            let lease = Duration.seconds(60)
            #expect(try await store.claimForwardable(now: t0, limit: 5, owner: "a", lease: lease).map(\.id) == ["r1"])
            try await store.release(id: "r1", owner: "b")
            #expect(try await store.claimForwardable(now: t0, limit: 5, owner: "b", lease: lease).isEmpty)
            try await store.release(id: "r1", owner: "a")
            #expect(try await store.claimForwardable(now: t0, limit: 5, owner: "b", lease: lease).map(\.id) == ["r1"])
            try await store.release(id: "missing", owner: "a")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anUpdateCanReleaseItsOwnersLeaseInTheSameCommit(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.insert(Fixtures.request("r1"), idempotencyWindow: day, now: t0)
            let lease = Duration.seconds(60)
            var claimed = try #require(try await store.claimForwardable(now: t0, limit: 5, owner: "a", lease: lease).first)
            claimed.comment = "first"
            // Another owner's name releases nothing; a conflicting update releases nothing either.
            claimed = try await store.update(claimed, releasingLeaseOf: "b")
            #expect(try await store.claimForwardable(now: t0, limit: 5, owner: "b", lease: lease).isEmpty)
            var stale = claimed
            stale.version -= 1
            await #expect(throws: StoreConflict.self) { try await store.update(stale, releasingLeaseOf: "a") }
            #expect(try await store.claimForwardable(now: t0, limit: 5, owner: "b", lease: lease).isEmpty)
            claimed.comment = "second"
            let stored = try await store.update(claimed, releasingLeaseOf: "a")
            #expect(stored.version == 3)
            #expect(try await store.get(id: "r1")?.comment == "second")
            #expect(try await store.claimForwardable(now: t0, limit: 5, owner: "b", lease: lease).map(\.id) == ["r1"])
        }
    }

    /// Stores only one process writes report each change (the API's GET cache trusts them); PostgreSQL cannot.
    @Test(arguments: StoreKind.allCases)
    func changesAreReportedByStoresThatSeeThemAll(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let reported = Mutex<[String]>([])
            let reports = store.observeChanges { id in reported.withLock { $0.append(id) } }
            #expect(reports == (kind != .postgres))
            _ = try await store.insert(Fixtures.request("r1", status: .completed), idempotencyWindow: day, now: t0)
            _ = try await store.insert(Fixtures.request("r2"), idempotencyWindow: day, now: t0)
            var request = try #require(try await store.get(id: "r2"))
            request.comment = "changed"
            _ = try await store.update(request)
            var stale = request
            stale.comment = "lost"
            _ = try? await store.update(stale)
            _ = try await store.claimForwardable(now: t0, limit: 5, owner: "a", lease: .seconds(60))
            let retention = try #require(store as? any RetentionStore)
            #expect(try await retention.purgeTerminalRequests(updatedBefore: Fixtures.time(3_600_000_000), limit: 10) == 1)
            #expect(reported.withLock { $0 } == (reports ? ["r2", "r1"] : []))
        }
    }

    // MARK: Counting and liveness

    @Test(arguments: StoreKind.allCases)
    func countByStatusCountsEachStatus(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            #expect(try await store.countByStatus().isEmpty)
            let statuses: [RequestStatus] = [.queued, .queued, .queued, .unknown, .completed, .completed, .noWorkflow]
            for (index, status) in statuses.enumerated() {
                _ = try await store.insert(
                    Fixtures.request("r\(index)", status: status), idempotencyWindow: day, now: t0)
            }
            #expect(try await store.countByStatus() == [.queued: 3, .unknown: 1, .completed: 2, .noWorkflow: 1])
            try await store.ping()
        }
    }
}
