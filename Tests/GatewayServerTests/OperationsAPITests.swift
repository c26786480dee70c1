import Crypto
import FoundationEssentials
import GatewayCore
import HTTP
import Networking
import Observability
import PurviewEmulator
import PurviewWorkflow
import Synchronization
import Testing

@testable import GatewayServer

/// A monotonic clock the test moves by hand.
final class ManualClock: Sendable {
    private let seconds = Mutex(0.0)
    var now: Double { seconds.withLock { $0 } }
    func advance(_ by: Double) { seconds.withLock { $0 += by } }
}

@Suite struct TokenBucketTests {
    let limit = RateLimit(perSecond: 2, burst: 4)

    @Test func aFullBucketAllowsTheBurstThenRefuses() {
        var bucket = TokenBucket(limit: limit, now: 100)
        let remaining = (0..<4).map { _ in bucket.take(now: 100) }
        #expect(remaining.allSatisfy { $0.allowed })
        #expect(remaining.map(\.remaining) == [3, 2, 1, 0])
        #expect(remaining.last?.resetSeconds == 2)
        let refused = bucket.take(now: 100)
        #expect(!refused.allowed)
        #expect(refused.remaining == 0 && refused.limit == 4)
        #expect(refused.retryAfterSeconds == 1)
    }

    @Test func tokensComeBackAtTheRateAndNeverAboveTheBurst() {
        var bucket = TokenBucket(limit: limit, now: 0)
        for _ in 0..<4 { _ = bucket.take(now: 0) }
        #expect(!bucket.take(now: 0.4).allowed)
        // 0.5 s at 2 per second is one token.
        let one = bucket.take(now: 0.5)
        #expect(one.allowed && one.remaining == 0)
        #expect(!bucket.take(now: 0.5).allowed)
        // A long pause refills to the burst, not beyond.
        let later = bucket.take(now: 1_000)
        #expect(later.allowed && later.remaining == 3 && later.resetSeconds == 1)
    }

    @Test func aSlowRateAsksForALongerRetry() {
        var bucket = TokenBucket(limit: RateLimit(perSecond: 0.1, burst: 1), now: 0)
        #expect(bucket.take(now: 0).allowed)
        let refused = bucket.take(now: 1)
        #expect(!refused.allowed && refused.retryAfterSeconds == 9)
    }

    @Test func aNewLimitKeepsWhatWasSpent() {
        var bucket = TokenBucket(limit: limit, now: 0)
        for _ in 0..<3 { _ = bucket.take(now: 0) }
        bucket.update(limit: RateLimit(perSecond: 2, burst: 10), now: 0)
        #expect(bucket.take(now: 0).remaining == 0)
        bucket.update(limit: RateLimit(perSecond: 2, burst: 1), now: 10)
        #expect(bucket.tokens == 1)
    }

    @Test func importsDrawOnABucketOfTheirOwn() {
        let clock = ManualClock()
        let limiter = ClientRateLimiter(defaultLimit: RateLimit(perSecond: 1, burst: 2), now: { clock.now })
        let client = APIClient(name: "batch", keyDigests: [], scopes: [.importsWrite])
        #expect(ClientRateLimiter.pool(forPath: "/v1/imports") == .imports)
        #expect(ClientRateLimiter.pool(forPath: "/v1/imports/abc/items") == .imports)
        #expect(ClientRateLimiter.pool(forPath: "/v1/importsx") == .requests)
        #expect(ClientRateLimiter.pool(forPath: "/v1/requests") == .requests)
        #expect(limiter.take(client, pool: .requests)?.allowed == true)
        #expect(limiter.take(client, pool: .requests)?.allowed == true)
        #expect(limiter.take(client, pool: .requests)?.allowed == false)
        #expect(limiter.take(client, pool: .imports)?.allowed == true)
        let other = APIClient(name: "other", keyDigests: [], scopes: [])
        #expect(limiter.take(other, pool: .requests)?.allowed == true)
        let unlimited = ClientRateLimiter(defaultLimit: nil)
        #expect(unlimited.take(client, pool: .requests) == nil)
        var own = client
        own.importRateLimit = RateLimit(perSecond: 1, burst: 1)
        #expect(unlimited.take(own, pool: .imports)?.limit == 1)
        #expect(unlimited.take(own, pool: .imports)?.allowed == false)
    }

    @Test func keysFileRateLimitsParseAndBadOnesAreRefused() throws {
        let digest = String(repeating: "ab", count: 32)
        let good = """
            {"clients":[{"name":"portal","keySha256":"\(digest)","scopes":["requests:read"],
            "rateLimit":{"perSecond":50,"burst":100},"importRateLimit":{"perSecond":0.5,"burst":2}},
            {"name":"bot","keySha256":"\(digest)"}]}
            """
        let clients = try APIClients.parse(Array(good.utf8), source: "keys.json")
        #expect(clients.clients[0].rateLimit == RateLimit(perSecond: 50, burst: 100))
        #expect(clients.clients[0].importRateLimit == RateLimit(perSecond: 0.5, burst: 2))
        #expect(clients.clients[1].rateLimit == nil)
        for bad in [
            #"{"perSecond":0,"burst":1}"#, #"{"perSecond":5,"burst":0.5}"#, #"{"perSecond":5}"#,
            #"{"perSecond":5,"burst":5,"x":1}"#, "7",
        ] {
            let text = #"{"clients":[{"name":"p","keySha256":"\#(digest)","rateLimit":\#(bad)}]}"#
            #expect(throws: APIClients.LoadError.self) { try APIClients.parse(Array(text.utf8), source: "keys.json") }
        }
    }

    @Test func settingsReadTheOperationsVariables() throws {
        let defaults = try GatewaySettings.load(environment: [:])
        #expect(defaults.retentionDays == 90 && defaults.defaultRateLimit == .standard)
        #expect(defaults.apiKeysPollInterval == .seconds(5))
        let set = try GatewaySettings.load(environment: [
            "GATEWAY_RETENTION_DAYS": "30", "GATEWAY_RATE_LIMIT_PER_SECOND": "5", "GATEWAY_RATE_LIMIT_BURST": "7",
            "GATEWAY_API_KEYS_POLL_SECONDS": "0.5",
        ])
        #expect(set.retentionDays == 30 && set.defaultRateLimit == RateLimit(perSecond: 5, burst: 7))
        #expect(set.apiKeysPollInterval == .milliseconds(500))
        #expect(try GatewaySettings.load(environment: ["GATEWAY_RATE_LIMIT_PER_SECOND": "0"]).defaultRateLimit == nil)
        for (name, value) in [
            ("GATEWAY_RETENTION_DAYS", "0"), ("GATEWAY_RATE_LIMIT_BURST", "x"), ("GATEWAY_API_KEYS_POLL_SECONDS", "0"),
        ] {
            #expect(throws: SettingsError.self) { try GatewaySettings.load(environment: [name: value]) }
        }
    }
}

/// The API with an operator client, a quota-limited client, captured logs and the emulator in process.
struct OperationsHarness {
    typealias Demo = EmulatorConfig.Demo
    let emulator = EmulatorService(config: .demo())
    let store = InMemoryRequestStore()
    let logs = InMemoryLogSink()
    let clock = ManualClock()
    let service: GatewayService
    let api: GatewayAPI
    let responder: Router.Responder
    static let portalKey = "ops-portal-key"
    static let operatorKey = "ops-operator-key"
    static let limitedKey = "ops-limited-key"

    init() {
        let purview = EmulatorPurviewAPI(service: emulator, clientId: Demo.gatewayClientId)!
        var forwarder = ForwarderConfiguration()
        forwarder.idlePollInterval = .milliseconds(20)
        forwarder.initialBackoff = .milliseconds(10)
        let logger = Logger(label: "test", level: .info, sink: logs)
        service = GatewayService(store: store, purview: purview, forwarder: forwarder, logger: logger)
        let digest = { (key: String) in SHA256.hash(Array(key.utf8)) }
        let clients = APIClients(clients: [
            APIClient(
                name: "portal", keyDigests: [digest(Self.portalKey)],
                scopes: [.requestsWrite, .requestsRead, .requestsCancel]),
            APIClient(
                name: "operator", keyDigests: [digest(Self.operatorKey)], scopes: [.requestsAdmin, .requestsReadAll]),
            APIClient(
                name: "limited", keyDigests: [digest(Self.limitedKey)], scopes: [.requestsRead],
                rateLimit: RateLimit(perSecond: 1, burst: 3)),
        ])
        let clock = self.clock
        api = GatewayAPI(
            service: service, clients: clients, logger: logger, defaultWait: .seconds(10),
            rateLimiter: ClientRateLimiter(defaultLimit: RateLimit(perSecond: 1000, burst: 1000), now: { clock.now }))
        responder = api.makeRouter().freeze()
    }

    struct Reply {
        var status: Int
        var headers: HTTPFields
        var json: JSONValue
    }

    func send(_ method: HTTPMethod, _ target: String, key: String?, body: JSONValue? = nil) async throws -> Reply {
        var fields: HTTPFields = ["Host": "gateway.test"]
        if let key { fields.append("X-API-Key", key) }
        if body != nil { fields.append("Content-Type", "application/json") }
        let head = HTTPRequestHead(method: method, target: target, fields: fields)
        let route = responder.route(head)
        let request = ServerRequest(
            head: head, pathParameters: route.pathParameters, remoteAddress: SocketAddress(host: "127.0.0.1", port: 1)!,
            body: RequestBody(bytes: body?.serialized() ?? []), requestID: "ops-test")
        let response = try await route.handler(request)
        let data = response.body.bytes ?? []
        let json =
            data.isEmpty
            ? JSONValue.null : ((try? JSONValue(parsing: data)) ?? .string(String(decoding: data, as: UTF8.self)))
        return Reply(status: response.status.code, headers: response.headers, json: json)
    }

    func auditLines() -> [[String: LogValue]] {
        logs.records.filter { $0.metadata["kind"] == "audit" }.map(\.metadata)
    }
}

@Suite(.serialized) struct OperationsAPITests {
    let harness = OperationsHarness()

    @Test func aClientOverItsQuotaGets429WithTheRateLimitHeaders() async throws {
        for expected in ["2", "1", "0"] {
            let reply = try await harness.send(.get, "/v1/requests", key: OperationsHarness.limitedKey)
            #expect(reply.status == 200)
            #expect(reply.headers["RateLimit-Limit"] == "3")
            #expect(reply.headers["RateLimit-Remaining"] == expected)
        }
        let refused = try await harness.send(.get, "/v1/requests", key: OperationsHarness.limitedKey)
        #expect(refused.status == 429)
        #expect(refused.headers["Content-Type"] == "application/problem+json")
        #expect(refused.headers["Retry-After"] == "1")
        #expect(refused.headers["RateLimit-Limit"] == "3")
        #expect(refused.headers["RateLimit-Remaining"] == "0")
        #expect(refused.headers["RateLimit-Reset"] == "3")
        #expect(refused.json["code"] == "rate_limited")
        // Other clients draw on their own buckets (here the default).
        let other = try await harness.send(.get, "/v1/requests", key: OperationsHarness.portalKey)
        #expect(other.status == 200 && other.headers["RateLimit-Limit"] == "1000")
        // A second later one token is back.
        harness.clock.advance(1)
        #expect(try await harness.send(.get, "/v1/requests", key: OperationsHarness.limitedKey).status == 200)
        #expect(try await harness.send(.get, "/v1/requests", key: OperationsHarness.limitedKey).status == 429)
        // Unauthenticated calls are not counted against anyone, and carry no quota headers.
        let anonymous = try await harness.send(.get, "/v1/requests", key: nil)
        #expect(anonymous.status == 401 && anonymous.headers["RateLimit-Limit"] == nil)
    }

    @Test func anUnknownRequestIsRedrivenByAnOperatorAndAudited() async throws {
        let loops = Task { await harness.service.run() }
        defer { loops.cancel() }
        let created = try await harness.send(
            .post, "/v1/requests/term-creation", key: OperationsHarness.portalKey, body: GatewayHarness.termBody)
        #expect(created.status == 201)
        let id = try #require(created.json["id"]?.stringValue)
        let firstRun = try #require(created.json["workflowRunIds"]?[0]?.stringValue)

        // A sent request cannot be re-driven; the portal lacks the scope anyway.
        let notYet = try await harness.send(.post, "/v1/requests/\(id)/redrive", key: OperationsHarness.operatorKey)
        #expect(notYet.status == 409 && notYet.json["code"] == "not_redrivable")
        #expect(
            try await harness.send(.post, "/v1/requests/\(id)/redrive", key: OperationsHarness.portalKey).status == 403)
        #expect(
            try await harness.send(.post, "/v1/requests/missing/redrive", key: OperationsHarness.operatorKey).status
                == 404)

        // Make it `unknown`, as an interrupted send that reconciliation could not settle leaves it.
        var stored = try #require(try await harness.store.get(id: id))
        stored.status = .unknown
        stored.runs = []
        stored.error = RequestError(code: "outcome_unknown", message: "no matching run found")
        _ = try await harness.store.update(stored)
        let listed = try await harness.send(.get, "/v1/requests?status=unknown", key: OperationsHarness.operatorKey)
        #expect(listed.json["items"]?.arrayValue?.map { $0["id"] } == [.string(id)])

        let redriven = try await harness.send(
            .post, "/v1/requests/\(id)/redrive", key: OperationsHarness.operatorKey,
            body: ["comment": "checked Purview: no run"])
        #expect(redriven.status == 202)
        #expect(redriven.headers["Location"] == "/v1/requests/\(id)")
        let entry = try #require(redriven.json["timeline"]?.arrayValue?.last)
        #expect(entry["actor"] == "operator")
        #expect(entry["note"] == "re-driven: checked Purview: no run")

        // The forwarder sends it again.
        var again = JSONValue.null
        for _ in 0..<200 {
            again = try await harness.send(.get, "/v1/requests/\(id)", key: OperationsHarness.portalKey).json
            if again["status"] == "submitted" || again["status"] == "in_progress" { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let newRun = try #require(again["workflowRunIds"]?[0]?.stringValue)
        #expect(newRun != firstRun)

        let audit = harness.auditLines()
        #expect(audit.map { $0["event"] } == ["accepted", "sent", "redriven", "sent"])
        let redrive = try #require(audit.first { $0["event"] == "redriven" })
        #expect(redrive["actor"] == "operator" && redrive["client"] == "portal")
        #expect(redrive["requestedBy"] == "ada@contoso.com" && redrive["request.kind"] == "term-creation")
        #expect(redrive["request.id"] == .string(id))
        let lastSent = try #require(audit.last)
        #expect(lastSent["workflowRunIds"] == .array([.string(newRun)]))
        #expect(lastSent["purviewRequestId"] != nil && lastSent["purviewRequestId"] != .null)
        // Access lines stay apart.
        #expect(harness.logs.records.contains { $0.metadata["kind"] == "access" && $0.metadata["route"] == "redrive" })
    }

    @Test func refusedAndCancelledRequestsAreAuditedAndARefusalCanBeRedriven() async throws {
        let loops = Task { await harness.service.run() }
        defer { loops.cancel() }
        harness.emulator.addFaults([EmulatorFault(match: "POST /userrequests", status: 400, count: 1)])
        let refused = try await harness.send(
            .post, "/v1/requests/term-creation", key: OperationsHarness.portalKey, body: GatewayHarness.termBody)
        #expect(refused.json["status"] == "refused")
        let id = try #require(refused.json["id"]?.stringValue)
        #expect(
            try await harness.send(.post, "/v1/requests/\(id)/redrive", key: OperationsHarness.operatorKey).status
                == 202)
        var state = JSONValue.null
        for _ in 0..<200 {
            state = try await harness.send(.get, "/v1/requests/\(id)", key: OperationsHarness.portalKey).json
            if state["status"] == "submitted" || state["status"] == "in_progress" { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(state["status"] == "submitted" || state["status"] == "in_progress")
        let cancelled = try await harness.send(.post, "/v1/requests/\(id)/cancel", key: OperationsHarness.portalKey)
        #expect(cancelled.status == 200)
        let events = harness.auditLines().map { $0["event"] }
        #expect(events == ["accepted", "refused", "redriven", "sent", "cancelled"])
        let refusal = try #require(harness.auditLines().first { $0["event"] == "refused" })
        #expect(refusal["error.code"] != nil && refusal["status"] == "refused")
    }

    @Test func retentionSweepLeavesLiveRequestsAlone() async throws {
        let store = InMemoryRequestStore()
        let old = Date(timeIntervalSince1970: 1_000)
        guard case .success(let validated) = RequestMapper.validate(kind: .termCreation, body: GatewayHarness.termBody)
        else {
            Issue.record("the fixture no longer validates")
            return
        }
        for (index, status) in RequestStatus.allCases.enumerated() {
            var request = GatewayRequest(
                id: "old-\(index)", clientName: "portal", validated: validated, idempotencyKey: "k\(index)", now: old)
            request.status = status
            _ = try await store.insert(request, idempotencyWindow: .seconds(86_400), now: old)
        }
        var policy = RetentionPolicy()
        policy.batchSize = 2
        policy.pauseBetweenBatches = .zero
        let sweeper = RetentionSweeper(
            store: store, policy: policy, logger: .disabled(), now: { Date(timeIntervalSince1970: 1_000 + 91 * 86_400) }
        )
        let swept = await sweeper.sweep()
        #expect(swept.requests == RequestStatus.allCases.filter(\.isTerminal).count)
        #expect(swept.idempotencyKeys == RequestStatus.allCases.filter { !$0.isTerminal }.count)
        let left = try await store.list(RequestFilter(), limit: 100, after: nil)
        #expect(Set(left.map(\.status)) == Set(RequestStatus.allCases.filter { !$0.isTerminal }))
        let again = await sweeper.sweep()
        #expect(again.requests == 0 && again.idempotencyKeys == 0)
    }

    @Test func retentionSweepPurgesFinishedImportsAndCountsThem() async throws {
        let store = InMemoryRequestStore()
        let old = Date(timeIntervalSince1970: 1_000)
        for (id, status) in [("finished", ImportStatus.done), ("going", .processing)] {
            let record = ImportRecord(
                id: id, clientName: "batch", defaultKind: nil, format: .csv, idempotencyKey: nil, now: old)
            _ = try await store.createImport(record)
            let rejection = ImportRejection(
                row: 1, errors: [ImportRowError(field: "", code: "malformed", message: "bad row")],
                raw: "ada@contoso.com")
            _ = try await store.storeImportRows(importId: id, requests: [], rejections: [rejection], now: old)
            try await store.setImportStatus(id: id, status: status, now: old)
        }
        var policy = RetentionPolicy()
        policy.pauseBetweenBatches = .zero
        let metrics = MetricsRegistry()
        let sweeper = RetentionSweeper(
            store: store, policy: policy, logger: .disabled(), metrics: metrics,
            now: { Date(timeIntervalSince1970: 1_000 + 91 * 86_400) })
        #expect(await sweeper.sweep().imports == 1)
        #expect(try await store.getImport(id: "finished") == nil)
        #expect(try await store.importRejections(importId: "finished", afterRow: 0, limit: 10).isEmpty)
        #expect(try await store.getImport(id: "going") != nil)
        let purged = metrics.counter(
            "gateway_retention_purged_total", help: "Rows deleted by retention", labels: ["what": "imports"])
        #expect(purged.value == 1)
    }
}
