import Crypto
import Foundation
import GatewayCore
import HTTP
import Networking
import Observability
import PurviewEmulator
import PurviewWorkflow
import Synchronization
import Testing

@testable import GatewayServer

@Suite struct WebhookSignatureTests {
    static let secret = "whsec-test-secret-0123"

    @Test func signatureIsHMACSHA256OfTimestampDotBody() {
        let body = Array(#"{"id":"evt_x"}"#.utf8)
        let header = WebhookMessage.signature(body: body, secret: Self.secret, timestamp: 1_800_000_000)
        // Python: hmac.new(secret, b'1800000000.{"id":"evt_x"}', hashlib.sha256).hexdigest()
        #expect(header == "t=1800000000,v1=2e859e24bae7a90a78f04bfb5edfc8472c6c77260abdc54b303953e45b64a95e")
        let now = Date(timeIntervalSince1970: 1_800_000_030)
        #expect(WebhookMessage.verify(header: header, body: body, secret: Self.secret, now: now))
        #expect(!WebhookMessage.verify(header: header, body: body + [0x20], secret: Self.secret, now: now))
        #expect(!WebhookMessage.verify(header: header, body: body, secret: "another-secret-0123", now: now))
        #expect(!WebhookMessage.verify(header: header, body: body, secret: Self.secret, now: now + 600))
    }

    @Test func keysFileCallbacksAreCheckedAtLoad() throws {
        func load(_ callbacks: String) -> String? {
            let text =
                #"{"clients":[{"name":"bot","keySha256":"\#(String(repeating: "ab", count: 32))","scopes":[],"callbacks":\#(callbacks)}]}"#
            do {
                _ = try APIClients.parse(Array(text.utf8), source: "keys.json")
                return nil
            } catch {
                return error.description
            }
        }
        #expect(
            load(
                #"{"allowedHosts":["hooks.contoso.com"],"secret":"0123456789abcdef","defaultUrl":"https://hooks.contoso.com/x"}"#
            ) == nil)
        #expect(load(#"{"allowedHosts":["hooks.contoso.com"],"secret":"short"}"#)?.contains("secret") == true)
        #expect(load(#"{"allowedHosts":[],"secret":"0123456789abcdef"}"#)?.contains("allowedHosts") == true)
        #expect(
            load(
                #"{"allowedHosts":["hooks.contoso.com"],"secret":"0123456789abcdef","defaultUrl":"http://hooks.contoso.com/x"}"#
            )?.contains("https") == true)
        #expect(
            load(#"{"allowedHosts":["a.example"],"secret":"0123456789abcdef","defaultUrl":"https://b.example/"}"#)?
                .contains("allowedHosts") == true)
        #expect(
            load(#"{"allowedHosts":["a.example"],"secret":"0123456789abcdef","retries":3}"#)?.contains("retries")
                == true)
        let settings = CallbackSettings(allowedHosts: ["a.example"], secret: "0123456789abcdef-very-secret")
        #expect(!"\(settings)".contains("very-secret"))
    }
}

/// The API and the dispatcher in process (in-memory store, emulator in process), a real receiver on loopback.
@Suite(.serialized) struct WebhookAPITests {
    typealias Demo = EmulatorConfig.Demo
    static let portalKey = "portal-key-1"
    static let chatbotKey = "chatbot-key-1"
    static let botKey = "bot-key-1"
    static let operatorKey = "operator-key-1"
    static let secret = "whsec-portal-0123456789"

    let emulator = EmulatorService(config: .demo())
    let store = InMemoryRequestStore()
    let service: GatewayService
    let api: GatewayAPI
    let responder: Router.Responder
    let purview: EmulatorPurviewAPI

    init() {
        purview = EmulatorPurviewAPI(service: emulator, clientId: Demo.gatewayClientId)!
        var forwarder = ForwarderConfiguration()
        forwarder.idlePollInterval = .milliseconds(20)
        var poller = PollerConfiguration()
        poller.interval = .milliseconds(100)
        poller.tick = .milliseconds(50)
        poller.jitter = 0
        service = GatewayService(
            store: store, purview: purview, forwarder: forwarder, poller: poller, logger: .disabled())
        let digest = { (key: String) in SHA256.hash(Array(key.utf8)) }
        api = GatewayAPI(
            service: service,
            clients: APIClients(clients: [
                APIClient(
                    name: "portal", keyDigests: [digest(Self.portalKey)], scopes: [.requestsWrite, .requestsRead],
                    callbacks: CallbackSettings(allowedHosts: ["127.0.0.1"], secret: Self.secret, allowHttp: true)),
                APIClient(
                    name: "chatbot", keyDigests: [digest(Self.chatbotKey)], scopes: [.requestsWrite, .requestsRead],
                    callbacks: CallbackSettings(allowedHosts: ["hooks.contoso.com"], secret: Self.secret)),
                APIClient(name: "bot", keyDigests: [digest(Self.botKey)], scopes: [.requestsWrite, .requestsRead]),
                APIClient(
                    name: "operator", keyDigests: [digest(Self.operatorKey)],
                    scopes: [.requestsReadAll, .requestsAdmin]),
            ]), logger: .disabled(), defaultWait: .seconds(10))
        responder = api.makeRouter().freeze()
    }

    func send(_ method: HTTPMethod, _ target: String, key: String = Self.portalKey, body: JSONValue? = nil) async throws
        -> (status: Int, headers: HTTPFields, json: JSONValue)
    {
        var fields: HTTPFields = ["Host": "gateway.test", "X-API-Key": key]
        if body != nil { fields.append("Content-Type", "application/json") }
        let head = HTTPRequestHead(method: method, target: target, fields: fields)
        let route = responder.route(head)
        let request = ServerRequest(
            head: head, pathParameters: route.pathParameters, remoteAddress: SocketAddress(host: "127.0.0.1", port: 1)!,
            body: RequestBody(bytes: body?.serialized() ?? []), requestID: "test")
        let response = try await route.handler(request)
        let data = response.body.bytes ?? []
        return (response.status.code, response.headers, data.isEmpty ? .null : try JSONValue(parsing: data))
    }

    static func term(_ name: String, callbackUrl: String?) -> JSONValue {
        var body: JSONObject = [
            "glossaryId": "20031e20-b4df-4a66-a61d-1b0716f3fa48", "name": .string(name),
            "definition": "Money received.",
            "requestedBy": "ada@contoso.com",
        ]
        body["callbackUrl"] = callbackUrl.map(JSONValue.string)
        return .object(body)
    }

    /// Runs the forwarder, poller and a dispatcher (fast retries) around `body`.
    func running<T: Sendable>(_ body: (WebhookDispatcher) async throws -> T) async throws -> T {
        let http = try HTTPClient(configuration: HTTPClientConfiguration(requestTimeout: .seconds(5)))
        var configuration = WebhookDispatcherConfiguration()
        configuration.pollInterval = .milliseconds(20)
        configuration.schedule = [.milliseconds(200)]
        let dispatcher = WebhookDispatcher(
            outbox: store, transport: http, callbacks: { [api] in api.callbackSettings(for: $0) },
            configuration: configuration, logger: .disabled())
        let loops = Task {
            await withDiscardingTaskGroup { group in
                group.addTask { await service.run() }
                group.addTask { await dispatcher.run() }
            }
        }
        defer { loops.cancel() }
        let result = try await body(dispatcher)
        loops.cancel()
        await loops.value
        await http.shutdown()
        return result
    }

    @Test func disallowedCallbacksAreRefusedAtSubmissionWithAProblem() async throws {
        let cases: [(key: String, url: String, says: [String])] = [
            (Self.portalKey, "http://10.0.0.5/hooks", ["10.0.0.5", "allowedHosts"]),
            (Self.portalKey, "http://user:secret@127.0.0.1/hooks", ["user information"]),
            (Self.chatbotKey, "http://hooks.contoso.com/purview", ["https", "allowHttp"]),
            (Self.chatbotKey, "https://evil.example/x", ["evil.example", "allowedHosts"]),
            (Self.botKey, "https://hooks.contoso.com/purview", ["no callbacks configured"]),
        ]
        for (key, url, says) in cases {
            let reply = try await send(
                .post, "/v1/requests/term-creation", key: key, body: Self.term("Revenue", callbackUrl: url))
            #expect(reply.status == 422, "\(url)")
            #expect(reply.headers["Content-Type"] == "application/problem+json")
            #expect(reply.json["errors"]?[0]?["pointer"] == "/callbackUrl")
            let detail = reply.json["detail"]?.stringValue ?? ""
            #expect(detail.hasPrefix("callbackUrl "), "\(detail)")
            for phrase in says { #expect(detail.contains(phrase), "\(url): \(detail)") }
        }
        #expect(try await store.list(RequestFilter(), limit: 10, after: nil).isEmpty)
    }

    @Test func approvedRequestIsDeliveredInOrderAndGoneStopsTheURL() async throws {
        let receiver = try WebhookReceiver()
        defer { Task { await receiver.stop() } }
        try await running { _ in
            let created = try await send(
                .post, "/v1/requests/term-creation", body: Self.term("Revenue", callbackUrl: receiver.url))
            #expect(created.status == 201)
            let id = try #require(created.json["id"]?.stringValue)
            #expect(created.json["callbackUrl"]?.stringValue == receiver.url)
            let runId = try #require(created.json["workflowRunIds"]?[0]?.stringValue)
            try await decide(runId, approve: true)
            let all = try await receiver.waitFor { $0.contains { $0.type == "request.completed" } }
            var seen: Set<String> = []
            let received = all.filter { seen.insert($0.eventId ?? "").inserted }  // de-duplicated, as receivers do
            #expect(
                received.map(\.type) == [
                    "request.queued", "request.submitted", "request.in_progress", "request.completed",
                ]
                    || received.map(\.type) == ["request.queued", "request.submitted", "request.completed"])
            for delivery in received {
                let signature = try #require(delivery.signature)
                #expect(WebhookMessage.verify(header: signature, body: delivery.body, secret: Self.secret, now: Date()))
                #expect(delivery.eventId == delivery.json["id"]?.stringValue)
                #expect(delivery.requestId == id)
            }
            let last = try #require(received.last)
            #expect(last.json["request"]?["outcome"] == "approved")
            // `request` is the resource as GET renders it (now, after the last transition).
            let current = try await send(.get, "/v1/requests/\(id)")
            #expect(last.json["request"] == current.json)

            // The events API lists each event with its attempts (recorded just after the receiver answered).
            let items = try await waitForEvents(of: id) { items in
                items.count == received.count && items.allSatisfy { $0["state"] == "delivered" }
            }
            #expect(items.map { $0["type"]?.stringValue } == received.map(\.type))
            #expect(items.allSatisfy { $0["attempts"]?.arrayValue?.last?["statusCode"]?.intValue == 200 })
            #expect(try await send(.get, "/v1/requests/\(id)/events", key: Self.botKey).status == 404)

            // 410 stops the URL: a redelivered event meets it, later events are not sent.
            receiver.answer(410)
            let before = receiver.deliveries.count
            let firstEvent = try #require(items.first?["id"]?.stringValue)
            #expect(try await send(.post, "/v1/events/\(firstEvent)/redeliver").status == 403)
            let redelivery = try await send(.post, "/v1/events/\(firstEvent)/redeliver", key: Self.operatorKey)
            #expect(redelivery.status == 202 && redelivery.json["state"] == "pending")
            _ = try await receiver.waitFor { $0.count == before + 1 }
            let gone = try await waitForEvent(firstEvent) { $0["state"] == "gone" }
            #expect(gone["attempts"]?.arrayValue?.last?["statusCode"]?.intValue == 410)
            let second = try await send(
                .post, "/v1/requests/term-creation", body: Self.term("Cost", callbackUrl: receiver.url))
            let secondId = try #require(second.json["id"]?.stringValue)
            let stopped = try await waitForEvents(of: secondId) { items in
                !items.isEmpty && items.allSatisfy { $0["state"] == "gone" }
            }
            #expect(stopped.allSatisfy { $0["attempts"]?.arrayValue?.isEmpty == true })
            #expect(receiver.deliveries.count == before + 1)
            #expect(try await send(.post, "/v1/events/evt_missing_0/redeliver", key: Self.operatorKey).status == 404)
        }
    }

    @Test func defaultUrlAppliesAndARejectionIsNotified() async throws {
        let receiver = try WebhookReceiver()
        defer { Task { await receiver.stop() } }
        var clients = APIClients(clients: [])
        clients = try APIClients.parse(
            Array(
                #"{"clients":[{"name":"portal","keySha256":"\#(Hex.encode(SHA256.hash(Array(Self.portalKey.utf8))))","scopes":["requests:write","requests:read"],"callbacks":{"allowedHosts":["127.0.0.1"],"secret":"\#(Self.secret)","allowHttp":true,"defaultUrl":"\#(receiver.url)"}}]}"#
                    .utf8), source: "test")
        api.replaceClients(clients)
        try await running { _ in
            let created = try await send(
                .post, "/v1/requests/term-creation", body: Self.term("Revenue", callbackUrl: nil))
            let id = try #require(created.json["id"]?.stringValue)
            try await decide(try #require(created.json["workflowRunIds"]?[0]?.stringValue), approve: false)
            let received = try await receiver.waitFor { $0.contains { $0.type == "request.completed" } }
            #expect(received.first?.type == "request.queued")
            #expect(received.allSatisfy { $0.requestId == id })
            #expect(received.last?.json["request"]?["outcome"] == "rejected")
        }
    }

    func decide(_ runId: String, approve: Bool) async throws {
        let ada = purview.acting(as: Demo.approverObjectId)
        var query = WorkflowTaskQuery()
        query.viewMode = "received"
        let tasks = try await ada.listWorkflowTasks(query, options: PurviewCallOptions()).all().filter {
            $0.workflowRunId == runId
        }
        #expect(!tasks.isEmpty)
        for task in tasks {
            if approve {
                _ = try await ada.approve(taskId: task.id, comment: "ok")
            } else {
                _ = try await ada.reject(taskId: task.id, comment: "no")
            }
        }
    }

    func waitForEvents(of id: String, _ done: ([JSONValue]) -> Bool) async throws -> [JSONValue] {
        let deadline = ContinuousClock.now + .seconds(20)
        var items: [JSONValue] = []
        while ContinuousClock.now < deadline {
            items = try await send(.get, "/v1/requests/\(id)/events").json["items"]?.arrayValue ?? []
            if done(items) { return items }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the events of \(id) never got there: \(items)")
        return items
    }

    func waitForEvent(_ eventId: String, _ done: (JSONValue) -> Bool) async throws -> JSONValue {
        let requestId = String(eventId.dropFirst(4).prefix { $0 != "_" })
        let items = try await waitForEvents(of: requestId) { items in
            items.contains { $0["id"]?.stringValue == eventId && done($0) }
        }
        return items.first { $0["id"]?.stringValue == eventId } ?? .null
    }
}

@Suite struct WebhookOpenAPITests {
    @Test func theDocumentDescribesWebhooksAndEveryReferenceResolves() throws {
        let document = try JSONValue(parsing: GatewayOpenAPI.document)
        #expect(document["paths"]?["/v1/requests/{id}/events"]?["get"] != nil)
        #expect(document["paths"]?["/v1/events/{id}/redeliver"]?["post"] != nil)
        #expect(document["webhooks"]?["requestEvent"]?["post"] != nil)
        #expect(
            document["paths"]?["/v1/requests/data-access"]?["post"]?["requestBody"]?["content"]?["application/json"]?[
                "schema"]?["properties"]?["callbackUrl"] != nil)
        var references: [String] = []
        func collect(_ value: JSONValue) {
            switch value {
            case .object(let object):
                for (key, member) in object {
                    if key == "$ref", let text = member.stringValue { references.append(text) } else { collect(member) }
                }
            case .array(let items): items.forEach(collect)
            default: break
            }
        }
        collect(document)
        #expect(references.contains("#/components/schemas/WebhookEvent"))
        for reference in references {
            let name = String(reference.dropFirst("#/components/schemas/".count))
            #expect(document["components"]?["schemas"]?[name] != nil, "\(reference) does not resolve")
        }
    }
}

/// The dispatcher with a scripted transport and an injected clock: no sockets.
@Suite struct WebhookDispatcherTests {
    final class ScriptedTransport: HTTPClientTransport {
        let state = Mutex<(statuses: [Int], requests: [HTTPClientRequest])>(([], []))
        init(_ statuses: [Int]) { state.withLock { $0.statuses = statuses } }
        var requests: [HTTPClientRequest] { state.withLock { $0.requests } }

        func execute(_ request: HTTPClientRequest) async throws(HTTPClientError) -> HTTPClientResponse {
            let status = state.withLock { state -> Int? in
                state.requests.append(request)
                return state.statuses.isEmpty ? nil : state.statuses.removeFirst()
            }
            guard let status else {
                throw HTTPClientError(code: .connectFailed, message: "refused", requestMayHaveBeenProcessed: false)
            }
            return HTTPClientResponse(status: HTTPStatus(code: status))
        }
    }

    final class Clock: Sendable {
        let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        func advance(_ seconds: Double) { now.withLock { $0 = $0.addingTimeInterval(seconds) } }
        var date: Date { now.withLock { $0 } }
    }

    static let secret = "whsec-dispatcher-0123"
    static let url = "https://hooks.contoso.com/purview"

    func storedRequest(in store: InMemoryRequestStore, at now: Date) async throws {
        let body: JSONValue = [
            "glossaryId": "20031e20-b4df-4a66-a61d-1b0716f3fa48", "name": "Revenue", "definition": "d",
            "requestedBy": "ada@contoso.com", "callbackUrl": .string(Self.url),
        ]
        let validated = try RequestMapper.validate(kind: .termCreation, body: body).get()
        let request = GatewayRequest(
            id: "r1", clientName: "portal", validated: validated, idempotencyKey: nil, now: now)
        _ = try await store.insert(request, idempotencyWindow: .seconds(60), now: now)
    }

    func dispatcher(
        _ store: InMemoryRequestStore, _ transport: ScriptedTransport, _ clock: Clock,
        settings: CallbackSettings? = CallbackSettings(allowedHosts: ["hooks.contoso.com"], secret: secret)
    ) -> WebhookDispatcher {
        WebhookDispatcher(
            outbox: store, transport: transport, callbacks: { _ in settings }, logger: .disabled(),
            now: { clock.date }, random: { 0 })
    }

    @Test func theDispatcherSpreadsRetriesWithItsRandomSource() async throws {
        let store = InMemoryRequestStore()
        let clock = Clock()
        try await storedRequest(in: store, at: clock.date)
        let dispatcher = WebhookDispatcher(
            outbox: store, transport: ScriptedTransport([503]),
            callbacks: { _ in CallbackSettings(allowedHosts: ["hooks.contoso.com"], secret: Self.secret) },
            logger: .disabled(), now: { clock.date }, random: { 0.5 })
        #expect(await dispatcher.deliverDueEvents() == 1)
        // 5 s scheduled, shortened by half the jitter window (a fifth): 4.5 s.
        #expect(try await store.webhookEvent(id: "evt_r1_0")?.nextAttemptAt == clock.date + 4.5)
    }

    @Test func aFailureIsRetriedOnScheduleAndTheSignatureUsesTheClock() async throws {
        let store = InMemoryRequestStore()
        let clock = Clock()
        try await storedRequest(in: store, at: clock.date)
        let transport = ScriptedTransport([503, 200])
        let dispatcher = dispatcher(store, transport, clock)
        #expect(await dispatcher.deliverDueEvents() == 1)
        let pending = try #require(try await store.webhookEvent(id: "evt_r1_0"))
        #expect(pending.state == .pending && pending.nextAttemptAt == clock.date + 5)
        #expect(pending.lastError == "the receiver answered 503")
        clock.advance(4.9)
        #expect(await dispatcher.deliverDueEvents() == 0)
        clock.advance(0.1)
        #expect(await dispatcher.deliverDueEvents() == 1)
        let delivered = try #require(try await store.webhookEvent(id: "evt_r1_0"))
        #expect(delivered.state == .delivered && delivered.attemptLog.map(\.statusCode) == [503, 200])

        let sent = transport.requests
        #expect(sent.count == 2 && sent.allSatisfy { $0.method == .post && $0.url.description == Self.url })
        #expect(sent[0].body == sent[1].body, "every attempt sends the same body")
        for request in sent {
            #expect(request.headers["X-Gateway-Event-Id"] == "evt_r1_0")
            let signature = try #require(request.headers["X-Gateway-Signature"])
            #expect(
                WebhookMessage.verify(header: signature, body: request.body ?? [], secret: Self.secret, now: clock.date)
            )
        }
        #expect(
            sent[1].headers["X-Gateway-Signature"]?.hasPrefix("t=\(Int(clock.date.timeIntervalSince1970)),") == true)
    }

    @Test func eventsTheSettingsNoLongerAllowFailWithoutBeingSent() async throws {
        let clock = Clock()
        for (settings, reason) in [
            (nil, "no callbacks configured"),
            (CallbackSettings(allowedHosts: ["other.contoso.com"], secret: Self.secret), "allowedHosts"),
        ] as [(CallbackSettings?, String)] {
            let store = InMemoryRequestStore()
            try await storedRequest(in: store, at: clock.date)
            let transport = ScriptedTransport([200])
            #expect(await dispatcher(store, transport, clock, settings: settings).deliverDueEvents() == 1)
            let event = try #require(try await store.webhookEvent(id: "evt_r1_0"))
            #expect(event.state == .failed && event.lastError?.contains(reason) == true, "\(event.lastError ?? "")")
            #expect(event.attemptLog.isEmpty && transport.requests.isEmpty)
        }
    }
}
