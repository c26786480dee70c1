import FoundationEssentials
import GatewayCore
import PurviewWorkflow
import Testing

@testable import GatewayServer

/// `GET /v1/requests/{id}` answers repeated reads from rendered bytes: never stale, never to the wrong client.
@Suite(.serialized) struct RenderedResourceCacheTests {
    let harness = GatewayHarness()

    @Test func aRepeatedReadIsTheSameAnswerFromTheCache() async throws {
        let created = try await harness.send(
            .post, "/v1/requests/term-creation", body: GatewayHarness.termBody, headers: ["Prefer": "wait=0"])
        let id = try #require(created.json["id"]?.stringValue)
        let first = try await harness.send(.get, "/v1/requests/\(id)")
        #expect(harness.api.renderedResources.entry(id: id)?.version == 1)
        let second = try await harness.send(.get, "/v1/requests/\(id)")
        #expect(first.status == 200 && second.status == 200)
        #expect(second.json == first.json)
        #expect(second.headers["Cache-Control"] == "no-store")
        #expect(second.headers["Content-Type"] == "application/json")
    }

    @Test func aChangedRequestIsRenderedAgain() async throws {
        let created = try await harness.send(
            .post, "/v1/requests/term-creation", body: GatewayHarness.termBody, headers: ["Prefer": "wait=0"])
        let id = try #require(created.json["id"]?.stringValue)
        #expect(try await harness.send(.get, "/v1/requests/\(id)").json["status"] == "queued")
        // Cancelled while queued (no forwarder runs here): the store's version moves on, the cached body is old.
        let cancelled = try await harness.send(.post, "/v1/requests/\(id)/cancel", body: ["comment": "not needed"])
        #expect(cancelled.status == 200)
        let after = try await harness.send(.get, "/v1/requests/\(id)")
        #expect(after.json["status"] == "cancelled")
        #expect(after.json["links"]?["cancel"] == nil)
        #expect(harness.api.renderedResources.entry(id: id)?.version == 2)
        #expect(try await harness.send(.get, "/v1/requests/\(id)").json == after.json)
    }

    @Test func aCachedRequestStaysHiddenFromOtherClients() async throws {
        let created = try await harness.send(
            .post, "/v1/requests/term-creation", body: GatewayHarness.termBody, headers: ["Prefer": "wait=0"])
        let id = try #require(created.json["id"]?.stringValue)
        #expect(try await harness.send(.get, "/v1/requests/\(id)").status == 200)
        #expect(harness.api.renderedResources.entry(id: id) != nil)
        let other = try await harness.send(.get, "/v1/requests/\(id)", key: GatewayHarness.botKey)
        #expect(other.status == 404)
        #expect(other.json["code"] == "not_found")
        #expect(try await harness.send(.get, "/v1/requests/\(id)", key: GatewayHarness.auditorKey).status == 200)
    }

    @Test func theCacheKeepsAtMostItsCapacity() throws {
        let validated = try RequestMapper.validate(kind: .termCreation, body: GatewayHarness.termBody).get()
        let cache = RenderedResourceCache(capacity: 3)
        for index in 0..<10 {
            var request = GatewayRequest(
                id: "r\(index)", clientName: "portal", validated: validated, idempotencyKey: nil, now: Date())
            request.version = index
            cache.store([UInt8(index)], for: request, readAfter: cache.changeMark())
        }
        #expect(cache.count == 3)
        #expect(cache.entry(id: "r9")?.body == [9])
    }

    /// A reader that loaded a request before it changed must not cache its (now old) rendering.
    @Test func aBodyReadBeforeAChangeIsNotCached() throws {
        let validated = try RequestMapper.validate(kind: .termCreation, body: GatewayHarness.termBody).get()
        let cache = RenderedResourceCache(capacity: 10, changeWindow: 2)
        func request(_ id: String) -> GatewayRequest {
            GatewayRequest(id: id, clientName: "portal", validated: validated, idempotencyKey: nil, now: Date())
        }
        var mark = cache.changeMark()
        cache.changed("a")
        cache.store([1], for: request("a"), readAfter: mark)
        #expect(cache.entry(id: "a") == nil)
        // Another request's change does not matter.
        cache.store([2], for: request("b"), readAfter: mark)
        #expect(cache.entry(id: "b")?.body == [2])
        // More changes than the window remembers: whether one was this request's is unknown, so no caching.
        mark = cache.changeMark()
        for other in ["x", "y", "z"] { cache.changed(other) }
        cache.store([3], for: request("c"), readAfter: mark)
        #expect(cache.entry(id: "c") == nil)
        // A change drops the entry.
        cache.changed("b")
        #expect(cache.entry(id: "b") == nil)
    }

    @Test func entriesAreServedWithoutTheStoreOnlyWhenItReportsEveryChange() async throws {
        // The harness's in-memory store reports changes; a store that cannot gets the version-checked path.
        #expect(harness.api.renderedResources.currentEntry(id: "none") == nil)
        let created = try await harness.send(
            .post, "/v1/requests/term-creation", body: GatewayHarness.termBody, headers: ["Prefer": "wait=0"])
        let id = try #require(created.json["id"]?.stringValue)
        _ = try await harness.send(.get, "/v1/requests/\(id)")
        #expect(harness.api.renderedResources.currentEntry(id: id)?.version == 1)
        _ = try await harness.send(.post, "/v1/requests/\(id)/cancel", body: ["comment": "not needed"])
        #expect(harness.api.renderedResources.currentEntry(id: id) == nil)

        let unreported = RenderedResourceCache()
        unreported.follow(VersionOnlyStore())
        unreported.store([1], for: try #require(try await harness.store.get(id: id)), readAfter: 0)
        #expect(unreported.currentEntry(id: id) == nil)
        #expect(unreported.entry(id: id) != nil)
    }

    @Test func aPurgedRequestIsGoneFromTheCacheToo() async throws {
        let created = try await harness.send(
            .post, "/v1/requests/term-creation", body: GatewayHarness.termBody, headers: ["Prefer": "wait=0"])
        let id = try #require(created.json["id"]?.stringValue)
        #expect(try await harness.send(.post, "/v1/requests/\(id)/cancel", body: ["comment": "not needed"]).status == 200)
        #expect(try await harness.send(.get, "/v1/requests/\(id)").status == 200)
        #expect(harness.api.renderedResources.currentEntry(id: id) != nil)
        #expect(try await harness.store.purgeTerminalRequests(updatedBefore: Date().addingTimeInterval(60), limit: 10) >= 1)
        #expect(try await harness.send(.get, "/v1/requests/\(id)").status == 404)
    }
}

/// A store shared with other processes: it cannot report every change (the protocol's default).
private final class VersionOnlyStore: RequestStore {
    let base = InMemoryRequestStore()
    func insert(_ request: GatewayRequest, idempotencyWindow: Duration, now: Date) async throws -> InsertOutcome {
        try await base.insert(request, idempotencyWindow: idempotencyWindow, now: now)
    }
    func get(id: String) async throws -> GatewayRequest? { try await base.get(id: id) }
    func update(_ request: GatewayRequest, releasingLeaseOf owner: String?) async throws -> GatewayRequest {
        try await base.update(request, releasingLeaseOf: owner)
    }
    func list(_ filter: RequestFilter, limit: Int, after cursor: RequestCursor?) async throws -> [GatewayRequest] {
        try await base.list(filter, limit: limit, after: cursor)
    }
    func claimForwardable(now: Date, limit: Int, owner: String, lease: Duration) async throws -> [GatewayRequest] { [] }
    func claimStaleSubmitting(now: Date, limit: Int, owner: String, lease: Duration) async throws -> [GatewayRequest] { [] }
    func claimPollable(now: Date, polledBefore: Date, limit: Int, owner: String, lease: Duration) async throws -> [GatewayRequest] { [] }
    func release(id: String, owner: String) async throws {}
    func countByStatus() async throws -> [RequestStatus: Int] { [:] }
    func ping() async throws {}
}
