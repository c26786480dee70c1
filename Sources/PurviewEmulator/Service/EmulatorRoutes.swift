import Crypto
import FoundationEssentials
import HTTP
public import Networking
import Observability
import PurviewWorkflow

// The HTTP face of the emulator: the Workflow API under /workflow, Azure AD's discovery and token
// endpoints, and the /_emulator admin routes.

/// What an API operation answers.
enum APIOutcome: Sendable {
    case json(JSONValue)
    case page(EmulatorPage)
    /// 200 with `Content-Length: 0` and no Content-Type (commands).
    case empty
    /// 204 (DELETE).
    case noContent
}

/// One call of an API operation, as the engine sees it.
struct APICall: Sendable {
    var principal: String
    var parameters: [String: String]
    var queryItems: [(name: String, value: String)]
    var body: JSONValue?
}

/// An operation of the Workflow API: its route (relative to `/workflow`), the api-versions that have
/// it, whether it takes a body, and what it does to the engine.
struct APIOperation: Sendable {
    enum Body: Sendable { case none, optional, required }

    var method: HTTPMethod
    var pattern: String
    var versions: Set<String> = APIVersion.all
    /// `GET /workflowtasks/{id}`: Microsoft's SDK sends it without api-version.
    var versionOptional = false
    var body: Body = .none
    var perform: @Sendable (inout EmulatorEngine, APICall) throws(EmulatorError) -> APIOutcome

    var name: String { "\(method.rawValue) \(pattern)" }
}

enum APIVersion {
    static let v2022 = "2022-05-01-preview"
    static let v2023 = "2023-10-01-preview"
    static let all: Set<String> = [v2022, v2023]
}

extension APIOperation {
    /// Every operation of the seed and of the real service, both approval spellings included.
    static let all: [APIOperation] = [
        APIOperation(method: .get, pattern: "/workflows") { engine, call in
            .page(engine.listWorkflows(caller: call.principal))
        },
        APIOperation(method: .get, pattern: "/workflows/{workflowId}") { engine, call throws(EmulatorError) in
            .json(try engine.getWorkflow(id: call.parameters["workflowId"]!, caller: call.principal))
        },
        APIOperation(method: .put, pattern: "/workflows/{workflowId}", body: .required) {
            engine, call throws(EmulatorError) in
            .json(
                try engine.createOrReplaceWorkflow(
                    id: call.parameters["workflowId"]!, body: call.body!, caller: call.principal))
        },
        APIOperation(method: .delete, pattern: "/workflows/{workflowId}") { engine, call throws(EmulatorError) in
            try engine.deleteWorkflow(id: call.parameters["workflowId"]!, caller: call.principal)
            return .noContent
        },
        APIOperation(
            method: .post, pattern: "/workflows/{workflowId}/validate", versions: [APIVersion.v2023], body: .required
        ) { engine, call throws(EmulatorError) in
            .json(
                try engine.validateWorkflow(
                    id: call.parameters["workflowId"]!, body: call.body!, caller: call.principal))
        },
        APIOperation(method: .post, pattern: "/userrequests", body: .required) { engine, call throws(EmulatorError) in
            .json(try engine.submitUserRequest(body: call.body!, caller: call.principal))
        },
        APIOperation(method: .get, pattern: "/workflowruns") { engine, call throws(EmulatorError) in
            .page(
                try engine.listWorkflowRuns(WorkflowRunListQuery(queryItems: call.queryItems), caller: call.principal))
        },
        APIOperation(method: .get, pattern: "/workflowruns/{workflowRunId}") { engine, call throws(EmulatorError) in
            .json(try engine.getWorkflowRun(id: call.parameters["workflowRunId"]!, caller: call.principal))
        },
        APIOperation(method: .post, pattern: "/workflowruns/{workflowRunId}/cancel", body: .optional) {
            engine, call throws(EmulatorError) in
            try engine.cancelWorkflowRun(id: call.parameters["workflowRunId"]!, body: call.body, caller: call.principal)
            return .empty
        },
        APIOperation(method: .get, pattern: "/workflowtasks") { engine, call throws(EmulatorError) in
            .page(
                try engine.listWorkflowTasks(WorkflowTaskListQuery(queryItems: call.queryItems), caller: call.principal)
            )
        },
        APIOperation(method: .get, pattern: "/workflowtasks/{taskId}", versionOptional: true) {
            engine, call throws(EmulatorError) in
            .json(try engine.getWorkflowTask(id: call.parameters["taskId"]!, caller: call.principal))
        },
        approval(pattern: "/workflowtasks/{taskId}/approve-approval", approve: true),
        approval(pattern: "/workflowtasks/{taskId}/reject-approval", approve: false),
        approval(pattern: "/approvals/{taskId}/approve", approve: true),
        approval(pattern: "/approvals/{taskId}/reject", approve: false),
        APIOperation(method: .post, pattern: "/workflowtasks/{taskId}/reassign", body: .required) {
            engine, call throws(EmulatorError) in
            try engine.reassignWorkflowTask(id: call.parameters["taskId"]!, body: call.body, caller: call.principal)
            return .empty
        },
        APIOperation(method: .post, pattern: "/workflowtasks/{taskId}/change-task-status", body: .required) {
            engine, call throws(EmulatorError) in
            try engine.changeTaskStatus(id: call.parameters["taskId"]!, body: call.body, caller: call.principal)
            return .empty
        },
    ]

    private static func approval(pattern: String, approve: Bool) -> APIOperation {
        APIOperation(method: .post, pattern: pattern, body: .optional) { engine, call throws(EmulatorError) in
            let id = call.parameters["taskId"]!
            if approve {
                try engine.approveApprovalTask(id: id, body: call.body, caller: call.principal)
            } else {
                try engine.rejectApprovalTask(id: id, body: call.body, caller: call.principal)
            }
            return .empty
        }
    }
}

extension EmulatorService {
    /// The routing table: the API, the identity endpoints and the admin routes. `scheme` (`http` or
    /// `https`) is the listener's, used in absolute nextLinks and discovery documents.
    public func makeResponder(scheme: String) -> Router.Responder {
        let router = Router()
        for operation in APIOperation.all {
            router.add(operation.method, "/workflow" + operation.pattern) { [self] request in
                await handleAPI(operation, request, scheme: scheme)
            }
        }
        router.add(.get, "/{tenant}/v2.0/.well-known/openid-configuration") { [self] request in
            identityCall(request, operation: "GET /.well-known/openid-configuration") { tenant in
                .success(identity.openIDConfiguration(base: baseURL(of: request, scheme: scheme), tenant: tenant))
            }
        }
        router.add(.get, "/{tenant}/discovery/v2.0/keys") { [self] request in
            // Access tokens are HS256, so there are no public keys to publish.
            identityCall(request, operation: "GET /discovery/v2.0/keys") { _ in .success(["keys": []]) }
        }
        router.add(.get, "/{tenant}/discovery/instance") { [self] request in
            instanceDiscoveryCall(request, scheme: scheme)
        }
        router.add(.post, "/{tenant}/oauth2/v2.0/token") { [self] request in
            await tokenCall(request, scheme: scheme)
        }
        addAdminRoutes(router)
        addInboxRoutes(router)
        return router.freeze()
    }

    /// Renders the HTTP layer's own rejections (404, 405, 413, 431, ...) in the service's envelope.
    public static let errorRenderer: HTTPErrorRenderer = { status, message, _ in
        var response = ServerResponse(
            status: status, contentType: "application/json",
            body: envelope(code: errorCode(for: status.code), message: message).serialized())
        response.headers.set("x-ms-request-id", newRequestId())
        return response
    }

    // MARK: - API calls

    private func handleAPI(_ operation: APIOperation, _ request: ServerRequest, scheme: String) async
        -> ServerResponse
    {
        let started = ContinuousClock.now
        let headers = apiHeaders(for: request, scheme: scheme)
        var principal: String?
        var response: ServerResponse
        switch identity.authenticate(request.headers["Authorization"], now: Date()) {
        case .failure(let failure):
            response = apiError(
                status: 401, code: "Unauthorized", message: failure.message, headers: headers)
            response.headers.set("WWW-Authenticate", "Bearer error=\"invalid_token\"")
        case .success(let caller):
            principal = caller
            stats.withLock { $0.count(operation.name) }
            let fault = takeFault(method: operation.method.rawValue, template: operation.pattern, path: request.path)
            if let fault, fault.latencyMs > 0 { try? await Task.sleep(for: .milliseconds(fault.latencyMs)) }
            if let fault, !fault.processFirst, let answer = faultAnswer(fault, headers: headers) {
                response = answer
            } else {
                response = await perform(operation, request, principal: caller, headers: headers, scheme: scheme)
                if let fault, fault.processFirst, let answer = faultAnswer(fault, headers: headers) {
                    response = answer
                }
            }
        }
        logCall(operation.name, request, status: response.status.code, started: started, principal: principal)
        return response
    }

    private func perform(
        _ operation: APIOperation, _ request: ServerRequest, principal: String, headers: HTTPFields, scheme: String
    ) async -> ServerResponse {
        let queryItems = FormEncoding.decode(request.query ?? "").map { (name: $0.0, value: $0.1) }
        let versions = queryItems.filter { $0.name == "api-version" }.map(\.value)
        if let version = versions.last {
            guard APIVersion.all.contains(version) else {
                return apiError(
                    status: 400, code: "InvalidApiVersion",
                    message: "The api-version '\(version)' is not supported; supported versions are "
                        + "\(APIVersion.v2022) and \(APIVersion.v2023).", target: "api-version", headers: headers)
            }
            guard operation.versions.contains(version) else {
                return apiError(
                    status: 404, code: "NotFound",
                    message: "No operation \(operation.name) exists in api-version \(version).", headers: headers)
            }
        } else if !operation.versionOptional {
            return apiError(
                status: 400, code: "MissingApiVersionParameter",
                message: "The api-version query parameter (?api-version=) is required for all requests.",
                target: "api-version", headers: headers)
        }
        for (name, value) in request.pathParameters where !isUUID(value) {
            return apiError(
                status: 400, code: "Workflow.InvalidParameter", message: "The \(name) '\(value)' is not a valid UUID.",
                target: name, headers: headers)
        }
        var body: JSONValue?
        if operation.body != .none {
            let bytes: [UInt8]
            do {
                bytes = try await request.body.collect(upTo: config.maxRequestBodyBytes)
            } catch let error as HTTPError {
                return apiError(
                    status: error.status.code, code: Self.errorCode(for: error.status.code), message: error.message,
                    headers: headers)
            } catch {
                return apiError(
                    status: 400, code: "BadRequest", message: "The request body could not be read.", headers: headers)
            }
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
                guard operation.body == .optional else {
                    return apiError(
                        status: 400, code: "Workflow.InvalidRequest", message: "The request body is required.",
                        target: "body", headers: headers)
                }
            } else {
                do {
                    body = try JSONValue(parsing: bytes)
                } catch {
                    return apiError(
                        status: 400, code: "Workflow.InvalidRequest",
                        message: "The request body is not valid JSON: \(error).", target: "body", headers: headers)
                }
                if body?.objectValue == nil {
                    return apiError(
                        status: 400, code: "Workflow.InvalidRequest",
                        message: "The request body must be a JSON object.",
                        target: "body", headers: headers)
                }
            }
        }
        let call = APICall(
            principal: principal, parameters: request.pathParameters, queryItems: queryItems, body: body)
        let outcome: APIOutcome
        do throws(EmulatorError) {
            outcome = try engineCall { engine throws(EmulatorError) in try operation.perform(&engine, call) }
        } catch {
            var response = ServerResponse(
                status: HTTPStatus(code: error.statusCode), contentType: "application/json",
                body: error.envelope.serialized())
            for field in headers { response.headers.set(field.name, field.value) }
            return response
        }
        if operation.pattern == "/userrequests", case .json(let answer) = outcome, let body {
            recordSubmission(
                answer, body: body, principal: principal, clientRequestId: request.headers["x-ms-client-request-id"])
        }
        return render(outcome, request: request, queryItems: queryItems, headers: headers, scheme: scheme)
    }

    func recordSubmission(_ answer: JSONValue, body: JSONValue, principal: String, clientRequestId: String?) {
        guard let requestId = answer["requestId"]?.stringValue else { return }
        let now = ContinuousClock.now
        let bodyKey = CallStats.bodyKey(principal: principal, body: body)
        stats.withLock {
            $0.recordSubmission(clientRequestId: clientRequestId, bodyKey: bodyKey, requestId: requestId, now: now)
        }
    }

    private func render(
        _ outcome: APIOutcome, request: ServerRequest, queryItems: [(name: String, value: String)],
        headers: HTTPFields, scheme: String
    ) -> ServerResponse {
        switch outcome {
        case .json(let value):
            return ServerResponse(
                status: .ok, contentType: "application/json", body: value.serialized(), headers: headers)
        case .page(let page):
            var object: JSONObject = ["value": .array(page.value)]
            if let token = page.continuationToken {
                var query = queryItems.filter { $0.name != "continuationToken" }.map { ($0.name, $0.value) }
                query.append(("continuationToken", token))
                let link =
                    baseURL(of: request, scheme: scheme) + request.path + "?"
                    + String(decoding: FormEncoding.encode(query), as: UTF8.self)
                object["nextLink"] = .string(link)
            }
            return ServerResponse(
                status: .ok, contentType: "application/json", body: JSONValue.object(object).serialized(),
                headers: headers)
        case .empty:
            return ServerResponse(status: .ok, headers: headers, body: .empty)
        case .noContent:
            return ServerResponse(status: .noContent, headers: headers, body: .empty)
        }
    }

    /// `x-ms-request-id` (new per response), the client's request and correlation ids echoed (a new
    /// correlation id when it sent none), and HSTS over https.
    private func apiHeaders(for request: ServerRequest, scheme: String) -> HTTPFields {
        var headers = HTTPFields()
        headers.append("x-ms-request-id", Self.newRequestId())
        if let clientRequestId = request.headers["x-ms-client-request-id"] {
            headers.append("x-ms-client-request-id", clientRequestId)
        }
        headers.append(
            "x-ms-correlation-request-id", request.headers["x-ms-correlation-request-id"] ?? Self.newRequestId())
        if scheme == "https" { headers.append("Strict-Transport-Security", "max-age=31536000; includeSubDomains") }
        return headers
    }

    func apiError(status: Int, code: String, message: String, target: String? = nil, headers: HTTPFields)
        -> ServerResponse
    {
        var response = ServerResponse(
            status: HTTPStatus(code: status), contentType: "application/json",
            body: Self.envelope(code: code, message: message, target: target).serialized())
        for field in headers { response.headers.set(field.name, field.value) }
        return response
    }

    static func envelope(code: String, message: String, target: String? = nil) -> JSONValue {
        var error: JSONObject = ["code": .string(code), "message": .string(message)]
        if let target { error["target"] = .string(target) }
        return ["error": .object(error)]
    }

    static func errorCode(for status: Int) -> String {
        switch status {
        case 400: "BadRequest"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 405: "MethodNotAllowed"
        case 408: "RequestTimeout"
        case 409: "Conflict"
        case 411: "LengthRequired"
        case 413: "PayloadTooLarge"
        case 414: "UriTooLong"
        case 415: "UnsupportedMediaType"
        case 429: "TooManyRequests"
        case 431: "RequestHeaderFieldsTooLarge"
        case 500: "InternalServerError"
        case 501: "NotImplemented"
        case 502: "BadGateway"
        case 503: "ServiceUnavailable"
        case 504: "GatewayTimeout"
        default: "HttpStatus\(status)"
        }
    }

    static func newRequestId() -> String { UUIDText.random() }

    /// `scheme://host[:port]` as the client addressed us (its Host header), else the listener's address.
    func baseURL(of request: ServerRequest, scheme: String) -> String {
        if let host = request.headers["Host"], !host.isEmpty,
            host.utf8.allSatisfy({ byte in
                (byte >= 0x30 && byte <= 0x3A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "[")
                    || byte == UInt8(ascii: "]")
            })
        {
            return scheme + "://" + host
        }
        return baseURL.map { $0.origin } ?? scheme + "://127.0.0.1"
    }

    // MARK: - Faults

    /// The fault for a call, if one is in force. `path` is the request's, with or without `/workflow`.
    func takeFault(method: String, template: String, path: String) -> EmulatorFault? {
        var relative = path
        if relative.hasPrefix("/workflow/") { relative = String(relative.dropFirst("/workflow".count)) }
        let now = ContinuousClock.now
        return faults.withLock { $0.take(method: method, template: template, path: relative, now: now) }
    }

    /// What a fault answers instead of the call: a dropped connection, or its status in the envelope
    /// (with `Retry-After`). Nil for a latency-only fault.
    private func faultAnswer(_ fault: EmulatorFault, headers: HTTPFields) -> ServerResponse? {
        if fault.drop { return Self.droppedConnection() }
        guard let status = fault.status else { return nil }
        var response = apiError(
            status: status, code: Self.errorCode(for: status), message: "Injected fault for \(fault.match).",
            headers: headers)
        if let retryAfter = fault.retryAfter { response.headers.set("Retry-After", String(retryAfter)) }
        return response
    }

    /// The server cannot yet close a connection without answering, so this starts a streamed answer and
    /// fails it at once: the connection closes with no complete response (the client sees the
    /// connection end mid-response, as when a proxy or the service dies).
    static func droppedConnection() -> ServerResponse {
        ServerResponse(
            status: .ok, headers: ["Content-Type": "application/json"], body: .stream { _ in throw DroppedConnection() }
        )
    }

    private struct DroppedConnection: Error {}

    // MARK: - Identity

    private func identityCall(
        _ request: ServerRequest, operation: String, _ answer: (String) -> Result<JSONValue, IdentityFailure>
    ) -> ServerResponse {
        let started = ContinuousClock.now
        let tenant = request.pathParameters["tenant"] ?? ""
        let result = identity.knowsTenant(tenant) ? answer(tenant) : .failure(.unknownTenant(tenant))
        let response = identityResponse(result, request: request)
        logCall(operation, request, status: response.status.code, started: started, principal: nil)
        return response
    }

    /// `GET /common/discovery/instance?authorization_endpoint=...`: any tenant segment, as Azure AD.
    private func instanceDiscoveryCall(_ request: ServerRequest, scheme: String) -> ServerResponse {
        let started = ContinuousClock.now
        let query = FormEncoding.decode(request.query ?? "")
        let endpoint = query.last { $0.0 == "authorization_endpoint" }?.1
        let result = identity.instanceDiscovery(
            base: baseURL(of: request, scheme: scheme), authorizationEndpoint: endpoint)
        let response = identityResponse(result, request: request)
        logCall("GET /discovery/instance", request, status: response.status.code, started: started, principal: nil)
        return response
    }

    private func tokenCall(_ request: ServerRequest, scheme: String) async -> ServerResponse {
        let started = ContinuousClock.now
        let operation = "POST /token"
        stats.withLock { $0.count(operation) }
        let fault = takeFault(method: "POST", template: "/token", path: "/token")
        if let fault, fault.latencyMs > 0 { try? await Task.sleep(for: .milliseconds(fault.latencyMs)) }
        var response: ServerResponse
        if let fault, !fault.processFirst, let answer = tokenFaultAnswer(fault, request: request) {
            response = answer
        } else {
            let tenant = request.pathParameters["tenant"] ?? ""
            let result: Result<JSONValue, IdentityFailure>
            if !identity.knowsTenant(tenant) {
                result = .failure(.unknownTenant(tenant))
            } else if let bytes = try? await request.body.collect(upTo: 64 * 1024) {
                let form = FormEncoding.decode(String(decoding: bytes, as: UTF8.self))
                let endpoint = baseURL(of: request, scheme: scheme) + "/" + tenant + "/oauth2/v2.0/token"
                result = identity.issueToken(form: form, tokenEndpointURL: endpoint, now: Date())
            } else {
                result = .failure(
                    IdentityFailure(
                        status: 400, error: "invalid_request", code: 90_014,
                        description: "The request body is too large."))
            }
            response = identityResponse(result, request: request)
            if let fault, fault.processFirst, let answer = tokenFaultAnswer(fault, request: request) {
                response = answer
            }
        }
        logCall(operation, request, status: response.status.code, started: started, principal: nil)
        return response
    }

    private func tokenFaultAnswer(_ fault: EmulatorFault, request: ServerRequest) -> ServerResponse? {
        if fault.drop { return Self.droppedConnection() }
        guard let status = fault.status else { return nil }
        let failure = IdentityFailure(
            status: status, error: status == 429 ? "too_many_requests" : "temporarily_unavailable", code: 90_033,
            description: "Injected fault for \(fault.match).")
        var response = identityResponse(.failure(failure), request: request)
        if let retryAfter = fault.retryAfter { response.headers.set("Retry-After", String(retryAfter)) }
        return response
    }

    private func identityResponse(_ result: Result<JSONValue, IdentityFailure>, request: ServerRequest)
        -> ServerResponse
    {
        let traceId = Self.newRequestId()
        var headers: HTTPFields = [
            "Cache-Control": "no-store, no-cache", "Pragma": "no-cache", "x-ms-request-id": traceId,
        ]
        if let clientRequestId = request.headers["client-request-id"] {
            headers.append("client-request-id", clientRequestId)
        }
        let status: Int
        let body: JSONValue
        switch result {
        case .success(let value):
            status = 200
            body = value
        case .failure(let failure):
            status = failure.status
            body = failure.json(traceId: traceId, now: Date())
        }
        return ServerResponse(
            status: HTTPStatus(code: status), contentType: "application/json; charset=utf-8", body: body.serialized(),
            headers: headers)
    }

    // MARK: - Logging

    func logCall(
        _ operation: String, _ request: ServerRequest, status: Int, started: ContinuousClock.Instant, principal: String?
    ) {
        guard logger.isEnabled(.info) else { return }
        let elapsed = started.duration(to: .now)
        var metadata: [String: LogValue] = [:]
        metadata["http.method"] = .string(request.method.rawValue)
        metadata["http.route"] = .string(operation)
        metadata["http.status"] = .int(status)
        metadata["duration_ms"] = .double(
            Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
        if let principal { metadata["principal"] = .string(principal) }
        if let clientRequestId = request.headers["x-ms-client-request-id"] ?? request.headers["client-request-id"] {
            metadata["client_request_id"] = .string(clientRequestId)
        }
        logger.info("request", metadata: metadata)
    }
}
