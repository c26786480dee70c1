import FoundationEssentials
public import GatewayCore
import HTTP
public import Networking
public import Observability
public import PurviewWorkflow
import Synchronization

/// What `/healthz` reports beside the store: token and Purview reachability, from the wiring.
public struct HealthDetails: Sendable {
    public var checks: @Sendable () async -> JSONObject
    public init(checks: @escaping @Sendable () async -> JSONObject) { self.checks = checks }
}

/// The gateway's HTTP surface: routes, authentication and scopes, problem details, health, metrics.
public final class GatewayAPI: Sendable {
    let service: GatewayService
    let clients: Mutex<APIClients>
    let logger: Logger
    let metrics: MetricsRegistry
    let health: HealthDetails
    let defaultWait: Duration
    let shuttingDown = Atomic<Bool>(false)
    /// Per-client intake quotas.
    let rateLimiter: ClientRateLimiter
    let renderedResources = RenderedResourceCache()
    /// Longest `Prefer: wait=N`.
    static let maximumWait: Duration = .seconds(30)
    /// JSON bodies of single requests; imports raise their own limit.
    static let bodyLimit = 1 << 20

    public init(
        service: GatewayService, clients: APIClients, logger: Logger, metrics: MetricsRegistry = MetricsRegistry(),
        health: HealthDetails = HealthDetails { [:] }, defaultWait: Duration = .seconds(5),
        rateLimiter: ClientRateLimiter = ClientRateLimiter(defaultLimit: nil)
    ) {
        self.rateLimiter = rateLimiter
        self.service = service
        self.clients = Mutex(clients)
        self.logger = logger
        self.metrics = metrics
        self.health = health
        self.defaultWait = min(defaultWait, Self.maximumWait)
        renderedResources.follow(service.store)
    }

    /// Replaces the API clients (keys file reload); requests in flight keep the client they had.
    public func replaceClients(_ clients: APIClients) { self.clients.withLock { $0 = clients } }

    /// Readiness turns false from the moment shutdown begins.
    public func beginShutdown() { shuttingDown.store(true, ordering: .relaxed) }

    /// The server's renderer for errors the HTTP layer answers itself (413, 431, ...): problem+json.
    public static let errorRenderer: HTTPErrorRenderer = { status, message, requestID in
        let code: String
        switch status.code {
        case 400: code = "bad_request"
        case 404: code = "not_found"
        case 405: code = "method_not_allowed"
        case 408: code = "request_timeout"
        case 413: code = "body_too_large"
        case 414: code = "uri_too_long"
        case 431: code = "headers_too_large"
        case 501: code = "not_implemented"
        case 505: code = "http_version_not_supported"
        default: code = status.code >= 500 ? "internal_error" : "http_\(status.code)"
        }
        let problem = Problem(status, code: code, title: status.reasonPhrase, detail: message)
        return problemResponse(problem, requestID: requestID, instance: nil)
    }

    static func problemResponse(_ problem: Problem, requestID: String?, instance: String?) -> ServerResponse {
        var response = ServerResponse(
            status: problem.status, contentType: "application/problem+json",
            body: problem.document(requestId: requestID, instance: instance).serialized(), headers: problem.headers)
        response.headers.set("Cache-Control", "no-store")
        return response
    }

    public func makeRouter() -> Router {
        let router = Router()
        for kind in RequestKind.allCases {
            router.add(.post, "/v1/requests/\(kind.rawValue)", bodyLimit: Self.bodyLimit, handler("submit", scope: .requestsWrite) { request, client in
                try await self.submit(kind: kind, request: request, client: client)
            })
        }
        router.add(.get, "/v1/requests", handler("list", scope: .requestsRead) { request, client in
            try await self.list(request: request, client: client)
        })
        router.add(.get, "/v1/requests/{id}", handler("get", scope: .requestsRead, inline: { request, client in
            try self.cachedGet(request: request, client: client)
        }) { request, client in
            try await self.get(request: request, client: client)
        })
        router.add(.post, "/v1/requests/{id}/cancel", bodyLimit: 64 * 1024, handler("cancel", scope: .requestsCancel) { request, client in
            try await self.cancel(request: request, client: client)
        })
        addWebhookRoutes(to: router)
        addOperationsRoutes(to: router)
        addImportRoutes(to: router)
        router.add(.get, "/healthz") { _ in await self.healthz() }
        router.add(.get, "/readyz") { _ in await self.readyz() }
        router.add(.get, "/metrics") { _ in
            ServerResponse(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: Array(self.metrics.render().utf8))
        }
        router.add(.get, "/openapi.json", .immediate { _ in
            ServerResponse(status: .ok, contentType: "application/json", body: GatewayOpenAPI.document)
        })
        addConsoleRoutes(to: router)
        return router
    }

    // MARK: - Authentication and instrumentation

    typealias Handler = @Sendable (ServerRequest, APIClient) async throws -> ServerResponse
    /// A route's answer from memory, given on the event loop without waiting; nil when it needs `Handler`.
    typealias InlineAnswer = @Sendable (ServerRequest, APIClient) throws -> ServerResponse?

    /// Wraps a handler: the API key is checked, then the scope, then the handler runs; problems render
    /// as problem+json; each call is counted and timed per route.
    ///
    /// The checks run inline on the event loop (they only read memory), and so does `inline` when given:
    /// a call it answers, like a refused key, never leaves the loop's thread.
    func handler(_ route: String, scope: Scope, inline: InlineAnswer? = nil, _ body: @escaping Handler) -> HTTPHandler {
        let requests = metrics.counter("gateway_http_requests_total", help: "API requests by route", labels: ["route": route])
        let latency = metrics.histogram("gateway_http_request_duration_seconds", help: "API request latency by route", labels: ["route": route])
        return .inlineFirst { original in
            var call = APICall(route: route, request: original, requests: requests, latency: latency)
            do {
                guard let client = self.authenticate(call.request) else { throw Problem.unauthorized }
                call.clientName = client.name
                call.quota = try self.drawQuota(client, path: call.request.path)
                guard client.allows(scope) else { throw Problem.forbidden(scope.rawValue) }
                if let inline, let response = try inline(call.request, client) { return .respond(self.finish(call, response)) }
                return .continueAsync { [call] in
                    do {
                        return self.finish(call, try await body(call.request, client))
                    } catch {
                        return self.finish(call, self.problemResponse(for: error, call.request))
                    }
                }
            } catch {
                return .respond(self.finish(call, self.problemResponse(for: error, call.request)))
            }
        }
    }

    /// One API call on its way through `handler`: what its answer is finished with.
    struct APICall: Sendable {
        let route: String
        var request: ServerRequest
        let traceId: String?
        let started = ContinuousClock.now
        let requests: Counter
        let latency: Histogram
        var clientName = "-"
        var quota: TokenBucket.Decision?

        init(route: String, request original: ServerRequest, requests: Counter, latency: Histogram) {
            self.route = route
            request = original
            traceId = GatewayAPI.callerCorrelationId(original)
            if let traceId { request.requestID = traceId }
            self.requests = requests
            self.latency = latency
        }
    }

    private func problemResponse(for error: any Error, _ request: ServerRequest) -> ServerResponse {
        switch error {
        case let problem as Problem:
            return Self.problemResponse(problem, requestID: request.requestID, instance: request.path)
        case let error as HTTPError:
            var problem = Problem(error.status, code: error.status.code == 413 ? "body_too_large" : "http_\(error.status.code)", title: error.status.reasonPhrase, detail: error.message)
            problem.headers = error.headers
            return Self.problemResponse(problem, requestID: request.requestID, instance: request.path)
        default:
            logger.error("request failed", metadata: ["request.id": .string(request.requestID ?? ""), "error": .string("\(error)")])
            let problem = Problem(.internalServerError, code: "internal_error", title: "Internal Server Error", detail: "an internal error occurred; quote the request id when reporting it")
            return Self.problemResponse(problem, requestID: request.requestID, instance: request.path)
        }
    }

    /// Adds the correlation and quota headers, counts and times the call, writes its access log line.
    private func finish(_ call: APICall, _ answer: ServerResponse) -> ServerResponse {
        var response = answer
        if let traceId = call.traceId { response.headers.set("X-Request-Id", traceId) }
        if let quota = call.quota { Self.addQuotaHeaders(quota, to: &response) }
        let elapsed = call.started.duration(to: .now)
        call.requests.increment()
        call.latency.observe(elapsed)
        let request = call.request
        logger.info("request", metadata: [
            "kind": "access", "request.id": .string(request.requestID ?? ""), "route": .string(call.route),
            "method": .string(request.method.rawValue), "path": .string(request.path), "status": .int(response.status.code),
            "duration_ms": .double((elapsed.seconds * 1000 * 1000).rounded() / 1000), "client": .string(call.clientName),
        ])
        return response
    }

    /// The caller's own correlation id: its `X-Request-Id`, else the trace id of a W3C `traceparent`
    /// (`00-<32 hex>-<16 hex>-<2 hex>`); nil when it sent neither (the server then made one).
    static func callerCorrelationId(_ request: ServerRequest) -> String? {
        if request.headers["X-Request-Id"] != nil { return request.requestID }
        guard let traceparent = request.headers["traceparent"]?.trimmingWhitespace() else { return nil }
        let parts = traceparent.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, parts[1].count == 32, parts[2].count == 16,
            parts[1].allSatisfy(\.isHexDigit), parts[1] != String(repeating: "0", count: 32), parts[0] != "ff"
        else { return nil }
        return parts[1].lowercased()
    }

    func authenticate(_ request: ServerRequest) -> APIClient? {
        var key = request.headers["X-API-Key"]
        if key == nil, let authorization = request.headers["Authorization"] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { key = String(parts[1]).trimmingWhitespace() }
        }
        guard let key else { return nil }
        return clients.withLock { $0 }.authenticate(key: key)
    }

    // MARK: - Handlers

    func submit(kind: RequestKind, request: ServerRequest, client: APIClient) async throws -> ServerResponse {
        let body = try await readJSON(request)
        let idempotencyKey = request.headers["Idempotency-Key"]?.trimmingWhitespace()
        if let idempotencyKey, idempotencyKey.isEmpty || idempotencyKey.utf8.count > 255 {
            throw Problem(.badRequest, code: "invalid_idempotency_key", title: "Invalid Idempotency-Key", detail: "the Idempotency-Key must be 1 to 255 characters")
        }
        let wait = try preferredWait(request)
        let defaultCallbackUrl = try checkCallback(body, client: client)
        let result: GatewayService.SubmitResult
        do {
            result = try await service.submit(
                kind: kind, body: body, clientName: client.name, idempotencyKey: idempotencyKey, wait: wait,
                traceId: Self.callerCorrelationId(request), defaultCallbackUrl: defaultCallbackUrl)
        } catch {
            switch error {
            case .invalid(let failure): throw Problem.validation(failure)
            case .idempotencyKeyReused(let existing):
                var problem = Problem(.conflict, code: "idempotency_key_reused", title: "Idempotency-Key already used with a different body",
                    detail: "the key was used within the last 24 hours for request \(existing) with a different body")
                problem.extra["existingRequestId"] = .string(existing)
                throw problem
            case .store(let message):
                logger.error("cannot store a request", metadata: ["error": .string(message)])
                throw Problem(.serviceUnavailable, code: "store_unavailable", title: "The request could not be stored", detail: "try again shortly")
            }
        }
        switch result {
        case .replayed(let original):
            return json(.ok, RequestResource.render(original), location: original.id)
        case .created(let stored, let settled):
            var response = json(settled ? .created : .accepted, RequestResource.render(stored), location: stored.id)
            if !settled { response.headers.append("Retry-After", "2") }
            if wait > .zero { response.headers.append("Preference-Applied", "wait=\(Int(wait.seconds))") }
            return response
        }
    }

    /// A GET answered from the rendered cache without asking the store, when the store reports every change.
    func cachedGet(request: ServerRequest, client: APIClient) throws -> ServerResponse? {
        guard request.query == nil || !Self.wantsRefresh(request) else { return nil }
        let id = request.pathParameters["id"] ?? ""
        guard let cached = renderedResources.currentEntry(id: id) else { return nil }
        return try cachedResponse(cached, id: id, client: client)
    }

    private func cachedResponse(_ cached: RenderedResourceCache.Entry, id: String, client: APIClient) throws -> ServerResponse {
        guard client.allows(.requestsReadAll) || cached.clientName == client.name else { throw Problem.notFound("no request \(id)") }
        return ServerResponse(status: .ok, contentType: "application/json", body: cached.body, headers: ["Cache-Control": "no-store"])
    }

    private static func wantsRefresh(_ request: ServerRequest) -> Bool {
        queryItems(request.query)["refresh"].map { $0 == "true" || $0 == "1" } ?? false
    }

    func get(request: ServerRequest, client: APIClient) async throws -> ServerResponse {
        let id = request.pathParameters["id"] ?? ""
        let refresh = Self.wantsRefresh(request)
        if !refresh, let cached = renderedResources.entry(id: id) {
            let version: Int?
            do {
                version = try await service.store.storedVersion(id: id)
            } catch {
                throw Problem(.serviceUnavailable, code: "store_unavailable", title: "The store is unavailable", detail: "\(error)")
            }
            if version == cached.version { return try cachedResponse(cached, id: id, client: client) }
        }
        let changeMark = renderedResources.changeMark()
        let stored: GatewayRequest?
        do {
            stored = try await service.request(id: id, refresh: false)
        } catch {
            throw Problem(.serviceUnavailable, code: "store_unavailable", title: "The store is unavailable", detail: "\(error)")
        }
        guard var found = stored, visible(found, to: client) else { throw Problem.notFound("no request \(id)") }
        if refresh && !found.runs.isEmpty {
            do {
                if let fresh = try await service.request(id: id, refresh: true) { found = fresh }
            } catch let error as PurviewClientError {
                throw Problem(.badGateway, code: "purview_unavailable", title: "Purview could not be asked", detail: error.description)
            }
        }
        let response = json(.ok, RequestResource.render(found))
        // A refreshed request may hold runs newer than its stored version: only stored versions are cached.
        if !refresh, let body = response.body.bytes { renderedResources.store(body, for: found, readAfter: changeMark) }
        return response
    }

    func list(request: ServerRequest, client: APIClient) async throws -> ServerResponse {
        let query = Self.queryItems(request.query)
        var filter = RequestFilter(clientName: client.allows(.requestsReadAll) ? nil : client.name)
        var violations: [FieldViolation] = []
        if let text = query["status"] {
            for part in text.split(separator: ",") {
                if let status = RequestStatus(rawValue: String(part)) { filter.statuses.append(status) } else {
                    violations.append(FieldViolation(pointer: "status", code: "invalid_value", message: "unknown status '\(part)'; one of \(RequestStatus.allCases.map(\.rawValue).joined(separator: ", "))"))
                }
            }
        }
        if let text = query["kind"] {
            for part in text.split(separator: ",") {
                if let kind = RequestKind(rawValue: String(part)) { filter.kinds.append(kind) } else {
                    violations.append(FieldViolation(pointer: "kind", code: "invalid_value", message: "unknown kind '\(part)'"))
                }
            }
        }
        if let person = query["requestedBy"] {
            if let normalised = Identifiers.person(person) { filter.requestedBy = normalised } else {
                violations.append(FieldViolation(pointer: "requestedBy", code: "invalid_format", message: "must be an email address or an Entra object id"))
            }
        }
        for (key, assign) in [("createdAfter", { (date: Date) in filter.createdAfter = date }), ("createdBefore", { filter.createdBefore = $0 })] as [(String, (Date) -> Void)] {
            guard let text = query[key] else { continue }
            if let timestamp = PurviewTimestamp(text) { assign(timestamp.date) } else {
                violations.append(FieldViolation(pointer: key, code: "invalid_format", message: "must be an RFC 3339 time such as 2026-01-31T12:00:00Z"))
            }
        }
        var limit = 50
        if let text = query["limit"] {
            if let value = Int(text), (1...500).contains(value) { limit = value } else {
                violations.append(FieldViolation(pointer: "limit", code: "invalid_value", message: "must be a number from 1 to 500"))
            }
        }
        var cursor: RequestCursor?
        if let text = query["cursor"] {
            cursor = CursorCoding.decode(text)
            if cursor == nil { violations.append(FieldViolation(pointer: "cursor", code: "invalid_format", message: "is not a cursor this API returned")) }
        }
        if !violations.isEmpty {
            var problem = Problem(.badRequest, code: "invalid_query", title: "Invalid query parameters", detail: violations.map { "\($0.pointer) \($0.message)" }.joined(separator: "; "))
            problem.violations = violations
            throw problem
        }
        let items = try await service.list(filter, limit: limit + 1, after: cursor)
        let page = Array(items.prefix(limit))
        var document: JSONObject = ["items": .array(page.map { RequestResource.render($0) })]
        if items.count > limit, let last = page.last {
            document["nextCursor"] = .string(CursorCoding.encode(RequestCursor(createdAt: last.createdAt, id: last.id)))
        } else {
            document["nextCursor"] = .null
        }
        return json(.ok, .object(document))
    }

    func cancel(request: ServerRequest, client: APIClient) async throws -> ServerResponse {
        let id = request.pathParameters["id"] ?? ""
        let bytes = try await request.body.collect(upTo: 64 * 1024)
        var comment: String?
        if !bytes.isEmpty {
            let body = try parseJSON(bytes, contentType: request.headers["Content-Type"])
            var violations: [FieldViolation] = []
            guard case .object(let object) = body else { throw Problem.validation(ValidationFailure([FieldViolation(pointer: "", code: "invalid_type", message: "must be a JSON object")])) }
            for key in object.keys where key != "comment" {
                violations.append(FieldViolation(pointer: "/" + JSONPointer.escape(key), code: "unknown_field", message: "is not a field of a cancellation"))
            }
            switch object["comment"] {
            case nil, .null?: break
            case .string(let text)?:
                if text.unicodeScalars.count > RequestLimits.commentLength {
                    violations.append(FieldViolation(pointer: "/comment", code: "too_long", message: "must be at most \(RequestLimits.commentLength) characters"))
                }
                comment = text
            default: violations.append(FieldViolation(pointer: "/comment", code: "invalid_type", message: "must be a string"))
            }
            if !violations.isEmpty { throw Problem.validation(ValidationFailure(violations)) }
        }
        guard let found = try await service.request(id: id, refresh: false), visible(found, to: client) else {
            throw Problem.notFound("no request \(id)")
        }
        do {
            let cancelled = try await service.cancel(found, comment: comment, actor: client.name)
            return json(.ok, RequestResource.render(cancelled))
        } catch {
            switch error {
            case .conflict(let conflict):
                throw Problem(.conflict, code: conflict.status == .submitting ? "request_submitting" : "not_cancellable", title: "The request cannot be cancelled now", detail: conflict.message)
            case .purview(let failure):
                throw Problem(.badGateway, code: "purview_cancel_failed", title: "Purview did not cancel the runs", detail: failure.description)
            case .store(let message):
                throw Problem(.serviceUnavailable, code: "store_unavailable", title: "The store is unavailable", detail: message)
            }
        }
    }

    func visible(_ request: GatewayRequest, to client: APIClient) -> Bool {
        client.allows(.requestsReadAll) || request.clientName == client.name
    }

    func healthz() async -> ServerResponse {
        var checks = await health.checks()
        var healthy = true
        do {
            try await service.store.ping()
            checks["store"] = ["status": "ok"]
        } catch {
            healthy = false
            checks["store"] = ["status": "failing", "error": .string("\(error)")]
        }
        let document: JSONValue = ["status": .string(healthy ? "ok" : "degraded"), "checks": .object(checks)]
        return json(healthy ? .ok : .serviceUnavailable, document)
    }

    func readyz() async -> ServerResponse {
        if shuttingDown.load(ordering: .relaxed) {
            return json(.serviceUnavailable, ["status": "shutting_down"])
        }
        do {
            try await service.store.ping()
            return json(.ok, ["status": "ready"])
        } catch {
            return json(.serviceUnavailable, ["status": "store_unavailable", "error": .string("\(error)")])
        }
    }

    // MARK: - Helpers

    func json(_ status: HTTPStatus, _ value: JSONValue, location id: String? = nil) -> ServerResponse {
        var headers: HTTPFields = ["Cache-Control": "no-store"]
        if let id { headers.append("Location", "/v1/requests/\(id)") }
        return ServerResponse(status: status, contentType: "application/json", body: value.serialized(), headers: headers)
    }

    func readJSON(_ request: ServerRequest) async throws -> JSONValue {
        let bytes = try await request.body.collect(upTo: Self.bodyLimit)
        return try parseJSON(bytes, contentType: request.headers["Content-Type"])
    }

    func parseJSON(_ bytes: [UInt8], contentType: String?) throws -> JSONValue {
        let mediaType = contentType?.split(separator: ";").first.map { String($0).trimmingWhitespace().lowercased() }
        guard let mediaType, mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json")) else {
            throw Problem(.badRequest, code: "unsupported_content_type", title: "The body must be JSON",
                detail: "send 'Content-Type: application/json'\(contentType.map { ", not '\($0)'" } ?? "")")
        }
        guard !bytes.isEmpty else {
            throw Problem(.badRequest, code: "malformed_json", title: "The request body is not valid JSON", detail: "the body is empty")
        }
        do {
            return try JSONValue(parsing: bytes)
        } catch {
            throw Problem.malformedJSON(error)
        }
    }

    /// `Prefer: wait=N` (RFC 7240), capped at 30 s; the configured budget otherwise.
    func preferredWait(_ request: ServerRequest) throws -> Duration {
        for preference in request.headers.listValues("Prefer") {
            let parts = preference.split(separator: "=", maxSplits: 1).map { String($0).trimmingWhitespace() }
            guard parts.count == 2, parts[0].lowercased() == "wait" else { continue }
            guard let seconds = Double(parts[1]), seconds >= 0, seconds.isFinite else {
                throw Problem(.badRequest, code: "invalid_prefer", title: "Invalid Prefer header", detail: "wait must be a number of seconds")
            }
            return min(.milliseconds(Int64(seconds * 1000)), Self.maximumWait)
        }
        return defaultWait
    }

    static func queryItems(_ query: String?) -> [String: String] {
        guard let query else { return [:] }
        var items: [String: String] = [:]
        for (name, value) in FormEncoding.decode(query) where items[name] == nil { items[name] = value }
        return items
    }
}
