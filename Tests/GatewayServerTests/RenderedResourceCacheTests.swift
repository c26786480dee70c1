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
            cache.store([UInt8(index)], for: request)
        }
        #expect(cache.count == 3)
        #expect(cache.entry(id: "r9")?.body == [9])
    }
}
