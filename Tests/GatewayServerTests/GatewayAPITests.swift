import Crypto
import FoundationEssentials
import GatewayCore
import HTTP
import Networking
import Observability
import PurviewEmulator
import PurviewWorkflow
import Testing

@testable import GatewayServer

/// The gateway's routes called directly (no sockets), with an in-memory store and the emulator in process.
struct GatewayHarness {
    typealias Demo = EmulatorConfig.Demo
    let emulator: EmulatorService
    let purview: EmulatorPurviewAPI
    let store = InMemoryRequestStore()
    let service: GatewayService
    let api: GatewayAPI
    let responder: Router.Responder
    static let portalKey = "portal-key-1"
    static let botKey = "bot-key-1"
    static let auditorKey = "auditor-key-1"
    static let readerKey = "reader-key-1"

    init() {
        emulator = EmulatorService(config: .demo())
        purview = EmulatorPurviewAPI(service: emulator, clientId: Demo.gatewayClientId)!
        var forwarder = ForwarderConfiguration()
        forwarder.idlePollInterval = .milliseconds(20)
        forwarder.initialBackoff = .milliseconds(10)
        service = GatewayService(store: store, purview: purview, forwarder: forwarder, logger: .disabled())
        let digest = { (key: String) in SHA256.hash(Array(key.utf8)) }
        let clients = APIClients(clients: [
            APIClient(name: "portal", keyDigests: [digest(Self.portalKey), digest("portal-key-2")], scopes: [.requestsWrite, .requestsRead, .requestsCancel]),
            APIClient(name: "bot", keyDigests: [digest(Self.botKey)], scopes: [.requestsWrite, .requestsRead]),
            APIClient(name: "auditor", keyDigests: [digest(Self.auditorKey)], scopes: [.requestsReadAll]),
            APIClient(name: "reader", keyDigests: [digest(Self.readerKey)], scopes: [.requestsRead]),
        ])
        api = GatewayAPI(service: service, clients: clients, logger: .disabled(), defaultWait: .seconds(30))
        responder = api.makeRouter().freeze()
    }

    struct Reply {
        var status: Int
        var headers: HTTPFields
        var json: JSONValue
    }

    func send(
        _ method: HTTPMethod, _ target: String, key: String? = GatewayHarness.portalKey, body: JSONValue? = nil,
        rawBody: [UInt8]? = nil, headers extra: HTTPFields = [:], requestID: String = "test-request-id"
    ) async throws -> Reply {
        var fields: HTTPFields = ["Host": "gateway.test"]
        if let key { fields.append("X-API-Key", key) }
        let bytes = rawBody ?? body?.serialized() ?? []
        if body != nil { fields.append("Content-Type", "application/json") }
        for field in extra { fields.append(field.name, field.value) }
        let head = HTTPRequestHead(method: method, target: target, fields: fields)
        let route = responder.route(head)
        let request = ServerRequest(
            head: head, pathParameters: route.pathParameters, remoteAddress: SocketAddress(host: "127.0.0.1", port: 1)!,
            body: RequestBody(bytes: bytes), requestID: requestID)
        let response = try await route.handler(request)
        let data = response.body.bytes ?? []
        let json = data.isEmpty ? JSONValue.null : ((try? JSONValue(parsing: data)) ?? .string(String(decoding: data, as: UTF8.self)))
        return Reply(status: response.status.code, headers: response.headers, json: json)
    }

    func runLoops<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        let loops = Task { await service.run() }
        defer { loops.cancel() }
        return try await body()
    }

    /// Approves (or rejects) every pending task of `runId` as Ada.
    func decide(run runId: String, approve: Bool) async throws {
        let ada = purview.acting(as: Demo.approverObjectId)
        var query = WorkflowTaskQuery()
        query.viewMode = "received"
        let tasks = try await ada.listWorkflowTasks(query, options: PurviewCallOptions()).all().filter { $0.workflowRunId == runId }
        #expect(!tasks.isEmpty)
        for task in tasks {
            if approve {
                _ = try await ada.approve(taskId: task.id, comment: "ok")
            } else {
                _ = try await ada.reject(taskId: task.id, comment: "no")
            }
        }
    }

    static let termBody: JSONValue = [
        "glossaryId": "20031e20-b4df-4a66-a61d-1b0716f3fa48", "name": "Revenue", "definition": "Money received.",
        "requestedBy": "ada@contoso.com", "comment": "for the Q3 report",
    ]
}

@Suite(.serialized) struct GatewayAPITests {
    let harness = GatewayHarness()

    @Test func termCreationApprovedEndToEnd() async throws {
        let created = try await harness.runLoops {
            try await harness.send(.post, "/v1/requests/term-creation", body: GatewayHarness.termBody)
        }
        #expect(created.status == 201)
        let id = try #require(created.json["id"]?.stringValue)
        #expect(created.headers["Location"] == "/v1/requests/\(id)")
        // Sent within the wait; the poller may already have seen the run start (a loaded machine).
        #expect(["submitted", "in_progress"].contains(created.json["status"]?.stringValue ?? ""))
        #expect(created.json["kind"] == "term-creation")
        #expect(created.json["requestedBy"] == "ada@contoso.com")
        let runId = try #require(created.json["workflowRunIds"]?[0]?.stringValue)

        let pending = try await harness.send(.get, "/v1/requests/\(id)?refresh=true")
        #expect(pending.json["status"] == "in_progress")
        #expect(pending.json["runs"]?[0]?["pendingApprovers"] == [.string(EmulatorConfig.Demo.approverObjectId)])
        #expect(pending.json["outcome"] == .null)

        try await harness.decide(run: runId, approve: true)
        let done = try await harness.send(.get, "/v1/requests/\(id)?refresh=true")
        #expect(done.json["status"] == "completed")
        #expect(done.json["outcome"] == "approved")
        #expect(done.json["runs"]?[0]?["status"] == "Completed")
        let statuses = done.json["timeline"]?.arrayValue?.compactMap { $0["status"]?.stringValue }
        #expect(statuses == ["queued", "submitting", "submitted", "in_progress", "completed"])
        // The emulator applied the term, and the comment carried the person.
        let effects = harness.emulator.effectsJSON["value"]?.arrayValue ?? []
        #expect(effects.contains { $0["type"] == "CreateTerm" })
        let requests = harness.emulator.withEngine { _ in harness.emulator.statsJSON }
        #expect(requests["calls"]?["POST /userrequests"]?.intValue == 1)
    }

    @Test func rejectionCompletesWithOutcomeRejected() async throws {
        let created = try await harness.runLoops {
            try await harness.send(.post, "/v1/requests/data-access", body: ["qualifiedName": "mssql://db/sales", "purpose": "reporting", "requestedBy": "bob@contoso.com"])
        }
        #expect(created.status == 201)
        let id = try #require(created.json["id"]?.stringValue)
        try await harness.decide(run: try #require(created.json["workflowRunIds"]?[0]?.stringValue), approve: false)
        let done = try await harness.send(.get, "/v1/requests/\(id)?refresh=true")
        #expect(done.json["status"] == "completed")
        #expect(done.json["outcome"] == "rejected")
    }

    @Test func noWorkflowAndCancellation() async throws {
        let direct = try await harness.runLoops {
            try await harness.send(.post, "/v1/requests/asset-update", body: ["assetId": "0f8b3b7e-2a51-4c1d-9f0e-1b2c3d4e5f61", "changes": ["description": "new"], "requestedBy": "bob@contoso.com"])
        }
        #expect(direct.status == 201)
        #expect(direct.json["status"] == "no_workflow")
        #expect(direct.json["workflowRunIds"] == [])

        let created = try await harness.runLoops {
            try await harness.send(.post, "/v1/requests/term-creation", body: GatewayHarness.termBody)
        }
        let id = try #require(created.json["id"]?.stringValue)
        let cancelled = try await harness.send(.post, "/v1/requests/\(id)/cancel", body: ["comment": "not needed"])
        #expect(cancelled.status == 200)
        #expect(cancelled.json["status"] == "cancelled")
        let run = try await harness.purview.getWorkflowRun(try #require(created.json["workflowRunIds"]?[0]?.stringValue), options: PurviewCallOptions())
        #expect(run.value.status == .canceled)
        let again = try await harness.send(.post, "/v1/requests/\(id)/cancel", body: [:])
        #expect(again.status == 409)
        #expect(again.json["code"] == "not_cancellable")
    }

    @Test func queuedRequestIsCancelledWithoutPurview() async throws {
        let queued = try await harness.send(.post, "/v1/requests/term-creation", body: GatewayHarness.termBody, headers: ["Prefer": "wait=0"])
        #expect(queued.status == 202)
        #expect(queued.json["status"] == "queued")
        #expect(queued.headers["Location"] != nil)
        let id = try #require(queued.json["id"]?.stringValue)
        let cancelled = try await harness.send(.post, "/v1/requests/\(id)/cancel")
        #expect(cancelled.json["status"] == "cancelled")
        #expect(harness.emulator.statsJSON["calls"]?["POST /userrequests"] == nil)
    }

    @Test func authenticationAndScopes() async throws {
        let missing = try await harness.send(.get, "/v1/requests", key: nil)
        #expect(missing.status == 401)
        #expect(missing.headers["Content-Type"] == "application/problem+json")
        #expect(missing.headers["WWW-Authenticate"] == "Bearer")
        #expect(missing.json["code"] == "unauthorized")
        #expect(missing.json["requestId"] == "test-request-id")
        #expect(try await harness.send(.get, "/v1/requests", key: "wrong").status == 401)
        #expect(try await harness.send(.get, "/v1/requests", key: nil, headers: ["Authorization": "Bearer \(GatewayHarness.portalKey)"]).status == 200)
        // A rotated key works alongside the first.
        #expect(try await harness.send(.get, "/v1/requests", key: "portal-key-2").status == 200)
        let forbidden = try await harness.send(.post, "/v1/requests/term-creation", key: GatewayHarness.readerKey, body: GatewayHarness.termBody)
        #expect(forbidden.status == 403)
        #expect(forbidden.json["code"] == "forbidden")
        let noCancel = try await harness.send(.post, "/v1/requests/x/cancel", key: GatewayHarness.botKey)
        #expect(noCancel.status == 403)
    }

    @Test func clientsSeeOnlyTheirOwnRequestsUnlessReadAll() async throws {
        let mine = try await harness.send(.post, "/v1/requests/term-creation", body: GatewayHarness.termBody, headers: ["Prefer": "wait=0"])
        let id = try #require(mine.json["id"]?.stringValue)
        #expect(try await harness.send(.get, "/v1/requests/\(id)", key: GatewayHarness.botKey).status == 404)
        #expect(try await harness.send(.get, "/v1/requests/\(id)", key: GatewayHarness.auditorKey).status == 200)
        #expect(try await harness.send(.get, "/v1/requests", key: GatewayHarness.botKey).json["items"] == [])
        #expect(try await harness.send(.get, "/v1/requests", key: GatewayHarness.auditorKey).json["items"]?.arrayValue?.count == 1)
    }

    @Test func badInputIsAProblemNamingTheField() async throws {
        let malformed = try await harness.send(.post, "/v1/requests/term-creation", rawBody: Array(#"{"name": "x",}"#.utf8), headers: ["Content-Type": "application/json"])
        #expect(malformed.status == 400)
        #expect(malformed.json["code"] == "malformed_json")
        #expect(malformed.json["detail"]?.stringValue?.contains("line 1") == true)
        let wrongType = try await harness.send(.post, "/v1/requests/term-creation", rawBody: Array("name=x".utf8), headers: ["Content-Type": "application/x-www-form-urlencoded"])
        #expect(wrongType.status == 400)
        #expect(wrongType.json["code"] == "unsupported_content_type")
        let invalid = try await harness.send(.post, "/v1/requests/term-creation", body: ["glossaryId": "nope", "name": "x", "definition": "d", "requestedBy": "x@y.co", "extra": 1])
        #expect(invalid.status == 422)
        #expect(invalid.json["code"] == "validation_failed")
        let pointers = Set(invalid.json["errors"]?.arrayValue?.compactMap { $0["pointer"]?.stringValue } ?? [])
        #expect(pointers == ["/glossaryId", "/extra"])
        #expect(try await harness.send(.get, "/v1/requests?status=bogus").status == 400)
        #expect(try await harness.send(.get, "/v1/requests?cursor=!!").status == 400)
        #expect(try await harness.send(.get, "/v1/requests/unknown-id").status == 404)
    }

    @Test func idempotencyKeyReplaysAndConflicts() async throws {
        let first = try await harness.send(.post, "/v1/requests/term-creation", body: GatewayHarness.termBody, headers: ["Idempotency-Key": "k-1", "Prefer": "wait=0"])
        #expect(first.status == 202)
        let replay = try await harness.send(.post, "/v1/requests/term-creation", body: GatewayHarness.termBody, headers: ["Idempotency-Key": "k-1", "Prefer": "wait=0"])
        #expect(replay.status == 200)
        #expect(replay.json["id"] == first.json["id"])
        var changed = GatewayHarness.termBody
        if case .object(var object) = changed { object["name"] = "Other"; changed = .object(object) }
        let conflict = try await harness.send(.post, "/v1/requests/term-creation", body: changed, headers: ["Idempotency-Key": "k-1"])
        #expect(conflict.status == 409)
        #expect(conflict.json["existingRequestId"] == first.json["id"])
    }

    @Test func listingFiltersAndPages() async throws {
        for index in 0..<7 {
            let body: JSONValue = ["qualifiedName": .string("db/table\(index)"), "purpose": "p", "requestedBy": index % 2 == 0 ? "ada@contoso.com" : "bob@contoso.com"]
            #expect(try await harness.send(.post, "/v1/requests/data-access", body: body, headers: ["Prefer": "wait=0"]).status == 202)
        }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try await harness.send(.get, "/v1/requests?limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""))
            seen += page.json["items"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            cursor = page.json["nextCursor"]?.stringValue
        } while cursor != nil
        #expect(seen.count == 7 && Set(seen).count == 7)
        let ada = try await harness.send(.get, "/v1/requests?requestedBy=ada@contoso.com&kind=data-access&status=queued,submitted")
        #expect(ada.json["items"]?.arrayValue?.count == 4)
        #expect(try await harness.send(.get, "/v1/requests?kind=term-creation").json["items"] == [])
    }

    @Test func callerCorrelationIdsFollowTheRequest() async throws {
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        let traced = try await harness.send(.get, "/v1/requests", key: nil, headers: ["traceparent": "00-\(trace)-00f067aa0ba902b7-01"], requestID: "server-made")
        #expect(traced.headers["X-Request-Id"] == trace)
        #expect(traced.json["requestId"] == .string(trace))
        let invalid = try await harness.send(.get, "/v1/requests", key: nil, headers: ["traceparent": "00-xyz-00f067aa0ba902b7-01"], requestID: "server-made")
        #expect(invalid.json["requestId"] == "server-made")
        let given = try await harness.send(.get, "/v1/requests", key: nil, headers: ["X-Request-Id": "abc-123", "traceparent": "00-\(trace)-00f067aa0ba902b7-01"], requestID: "abc-123")
        #expect(given.json["requestId"] == "abc-123")
        // The caller's id is what Purview sees as x-ms-client-request-id.
        let created = try await harness.runLoops {
            try await harness.send(.post, "/v1/requests/term-creation", body: GatewayHarness.termBody, headers: ["X-Request-Id": "portal-77"], requestID: "portal-77")
        }
        let id = try #require(created.json["id"]?.stringValue)
        #expect(try await harness.store.get(id: id)?.purviewClientRequestId == "portal-77")
    }

    @Test func operationalEndpoints() async throws {
        let health = try await harness.send(.get, "/healthz", key: nil)
        #expect(health.status == 200 && health.json["checks"]?["store"]?["status"] == "ok")
        #expect(try await harness.send(.get, "/readyz", key: nil).status == 200)
        harness.api.beginShutdown()
        #expect(try await harness.send(.get, "/readyz", key: nil).status == 503)
        _ = try await harness.send(.get, "/v1/requests")
        let metrics = try await harness.send(.get, "/metrics", key: nil)
        #expect(metrics.json.stringValue?.contains("gateway_http_requests_total{route=\"list\"} 1") == true)
        let openapi = try await harness.send(.get, "/openapi.json", key: nil)
        #expect(openapi.json["openapi"] == "3.1.0")
        #expect(openapi.json["paths"]?["/v1/requests/term-creation"]?["post"] != nil)
    }
}
