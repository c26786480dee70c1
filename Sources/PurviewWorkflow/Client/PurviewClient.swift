import FoundationEssentials
import HTTP
public import Networking

/// Settings of a `PurviewClient`.
public struct PurviewClientConfiguration: Sendable {
    /// The account endpoint, e.g. `https://acct.purview.azure.com`; the client appends `/workflow`.
    public var endpoint: HTTPURL
    public var apiVersion: String = "2023-10-01-preview"
    public var retryPolicy = RetryPolicy()
    /// How approvals are spelled: the service's `/workflowtasks/{id}/approve-approval` or the seed's
    /// `/approvals/{id}/approve`.
    public var approvalPaths: ApprovalPaths = .service
    public var userAgent = "purview-gateway"
    /// Time allowed for one attempt.
    public var requestTimeout: Duration = .seconds(30)

    public enum ApprovalPaths: String, Sendable { case service, seed }

    public init(endpoint: HTTPURL) { self.endpoint = endpoint }
}

/// Gives out bearer tokens for Purview and drops one Purview rejected.
public protocol AccessTokenProvider: Sendable {
    func token() async throws(TokenError) -> String
    func invalidate(_ token: String)
}

extension TokenCache: AccessTokenProvider {}

/// Per-call options.
public struct PurviewCallOptions: Sendable {
    /// Sent as `x-ms-client-request-id`; a new UUID when nil.
    public var clientRequestId: String?
    /// Overrides the client's retry policy for this call.
    public var retryPolicy: RetryPolicy?

    public init(clientRequestId: String? = nil, retryPolicy: RetryPolicy? = nil) {
        self.clientRequestId = clientRequestId
        self.retryPolicy = retryPolicy
    }
}

/// Filters of `GET /workflowruns` (2023-10-01-preview names).
public struct WorkflowRunQuery: Sendable, Hashable {
    public var viewMode: String?
    public var timeWindow: String?
    /// e.g. `startTime desc`.
    public var orderBy: String?
    public var runStatuses: [String] = []
    public var workflowIds: [String] = []
    public var requestors: [String] = []
    public var maxPageSize: Int?

    public init() {}

    var queryItems: [(String, String)] {
        var items: [(String, String)] = []
        if let viewMode { items.append(("viewMode", viewMode)) }
        if let timeWindow { items.append(("timeWindow", timeWindow)) }
        if let orderBy { items.append(("orderby", orderBy)) }
        if !runStatuses.isEmpty { items.append(("runStatuses", runStatuses.joined(separator: ","))) }
        if !workflowIds.isEmpty { items.append(("workflowIds", workflowIds.joined(separator: ","))) }
        if !requestors.isEmpty { items.append(("requestors", requestors.joined(separator: ","))) }
        if let maxPageSize { items.append(("maxpagesize", String(maxPageSize))) }
        return items
    }
}

/// Filters of `GET /workflowtasks`.
public struct WorkflowTaskQuery: Sendable, Hashable {
    public var viewMode: String?
    public var workflowIds: [String] = []
    public var timeWindow: String?
    public var maxPageSize: Int?
    /// e.g. `createdTime desc`.
    public var orderBy: String?
    /// `approval` or `simpleTask` (lowercase on the wire).
    public var taskTypes: [String] = []
    public var taskStatuses: [String] = []
    public var requestors: [String] = []
    public var assignees: [String] = []
    public var workflowNameKeyword: String?

    public init() {}

    var queryItems: [(String, String)] {
        var items: [(String, String)] = []
        if let viewMode { items.append(("viewMode", viewMode)) }
        if !workflowIds.isEmpty { items.append(("workflowIds", workflowIds.joined(separator: ","))) }
        if let timeWindow { items.append(("timeWindow", timeWindow)) }
        if let maxPageSize { items.append(("maxpagesize", String(maxPageSize))) }
        if let orderBy { items.append(("orderby", orderBy)) }
        if !taskTypes.isEmpty { items.append(("taskTypes", taskTypes.joined(separator: ","))) }
        if !taskStatuses.isEmpty { items.append(("taskStatuses", taskStatuses.joined(separator: ","))) }
        if !requestors.isEmpty { items.append(("requestors", requestors.joined(separator: ","))) }
        if !assignees.isEmpty { items.append(("assignees", assignees.joined(separator: ","))) }
        if let workflowNameKeyword { items.append(("workflowNameKeyword", workflowNameKeyword)) }
        return items
    }
}

/// The operations the gateway needs from Purview: the seam where tests substitute the emulator.
public protocol PurviewWorkflowAPI: Sendable {
    func submitUserRequest(_ payload: UserRequestPayload, options: PurviewCallOptions) async throws(PurviewClientError)
        -> PurviewResponse<UserRequestResponse>
    func getWorkflowRun(_ id: String, options: PurviewCallOptions) async throws(PurviewClientError)
        -> PurviewResponse<WorkflowRun>
    func cancelWorkflowRun(_ id: String, comment: String?, options: PurviewCallOptions) async throws(PurviewClientError)
        -> PurviewResponse<Void>
    func listWorkflowRuns(_ query: WorkflowRunQuery, options: PurviewCallOptions) -> PurviewPages<WorkflowRun>
    func listWorkflowTasks(_ query: WorkflowTaskQuery, options: PurviewCallOptions) -> PurviewPages<WorkflowTask>
    func getWorkflowTask(_ id: String, options: PurviewCallOptions) async throws(PurviewClientError)
        -> PurviewResponse<WorkflowTask>
}

/// A client for every operation of the Purview Workflow API (the seed's and the real service's).
///
/// Every call sends `x-ms-client-request-id` and returns it with the service's `x-ms-request-id`;
/// retries follow `RetryPolicy` (never resending `POST /userrequests` unless it certainly was not
/// processed); a 401 drops the token and retries once.
public final class PurviewClient: PurviewWorkflowAPI {
    public let configuration: PurviewClientConfiguration
    private let transport: any HTTPClientTransport
    private let tokens: (any AccessTokenProvider)?
    private let random: @Sendable () -> Double

    public init(
        configuration: PurviewClientConfiguration, transport: any HTTPClientTransport,
        tokens: (any AccessTokenProvider)?, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.configuration = configuration
        self.transport = transport
        self.tokens = tokens
        self.random = random
    }

    // MARK: Workflows

    public func listWorkflows(options: PurviewCallOptions = PurviewCallOptions()) -> PurviewPages<WorkflowMetadata> {
        pages("/workflows", query: [], options: options)
    }

    public func getWorkflow(_ id: String, options: PurviewCallOptions = PurviewCallOptions()) async throws(PurviewClientError)
        -> PurviewResponse<Workflow>
    {
        try await call(.get, "/workflows/\(escape(id))", options: options)
    }

    public func createOrReplaceWorkflow(
        _ id: String, _ command: WorkflowCreateOrUpdateCommand, options: PurviewCallOptions = PurviewCallOptions()
    ) async throws(PurviewClientError) -> PurviewResponse<Workflow> {
        try await call(.put, "/workflows/\(escape(id))", body: command, options: options)
    }

    public func deleteWorkflow(_ id: String, options: PurviewCallOptions = PurviewCallOptions()) async throws(PurviewClientError)
        -> PurviewResponse<Void>
    {
        try await callWithoutBody(.delete, "/workflows/\(escape(id))", body: Optional<JSONValue>.none, options: options)
    }

    /// `POST /workflows/{id}/validate` (2023-10-01-preview only).
    public func validateWorkflow(
        _ id: String, _ command: WorkflowCreateOrUpdateCommand, options: PurviewCallOptions = PurviewCallOptions()
    ) async throws(PurviewClientError) -> PurviewResponse<ValidationResult> {
        try await call(.post, "/workflows/\(escape(id))/validate", body: command, options: options)
    }

    // MARK: User requests and runs

    public func submitUserRequest(_ payload: UserRequestPayload, options: PurviewCallOptions = PurviewCallOptions())
        async throws(PurviewClientError) -> PurviewResponse<UserRequestResponse>
    {
        try await call(.post, "/userrequests", body: payload, idempotent: false, options: options)
    }

    public func listWorkflowRuns(_ query: WorkflowRunQuery = WorkflowRunQuery(), options: PurviewCallOptions = PurviewCallOptions())
        -> PurviewPages<WorkflowRun>
    {
        pages("/workflowruns", query: query.queryItems, options: options)
    }

    public func getWorkflowRun(_ id: String, options: PurviewCallOptions = PurviewCallOptions()) async throws(PurviewClientError)
        -> PurviewResponse<WorkflowRun>
    {
        try await call(.get, "/workflowruns/\(escape(id))", options: options)
    }

    public func cancelWorkflowRun(_ id: String, comment: String?, options: PurviewCallOptions = PurviewCallOptions())
        async throws(PurviewClientError) -> PurviewResponse<Void>
    {
        try await callWithoutBody(.post, "/workflowruns/\(escape(id))/cancel", body: CancelRunCommand(comment: comment), options: options)
    }

    // MARK: Tasks

    public func listWorkflowTasks(_ query: WorkflowTaskQuery = WorkflowTaskQuery(), options: PurviewCallOptions = PurviewCallOptions())
        -> PurviewPages<WorkflowTask>
    {
        pages("/workflowtasks", query: query.queryItems, options: options)
    }

    public func getWorkflowTask(_ id: String, options: PurviewCallOptions = PurviewCallOptions()) async throws(PurviewClientError)
        -> PurviewResponse<WorkflowTask>
    {
        try await call(.get, "/workflowtasks/\(escape(id))", options: options)
    }

    public func approve(taskId: String, comment: String?, options: PurviewCallOptions = PurviewCallOptions())
        async throws(PurviewClientError) -> PurviewResponse<Void>
    {
        let path = configuration.approvalPaths == .service
            ? "/workflowtasks/\(escape(taskId))/approve-approval" : "/approvals/\(escape(taskId))/approve"
        return try await callWithoutBody(.post, path, body: ApprovalResponseCommand(comment: comment), options: options)
    }

    public func reject(taskId: String, comment: String?, options: PurviewCallOptions = PurviewCallOptions())
        async throws(PurviewClientError) -> PurviewResponse<Void>
    {
        let path = configuration.approvalPaths == .service
            ? "/workflowtasks/\(escape(taskId))/reject-approval" : "/approvals/\(escape(taskId))/reject"
        return try await callWithoutBody(.post, path, body: ApprovalResponseCommand(comment: comment), options: options)
    }

    public func reassign(taskId: String, _ command: ReassignCommand, options: PurviewCallOptions = PurviewCallOptions())
        async throws(PurviewClientError) -> PurviewResponse<Void>
    {
        try await callWithoutBody(.post, "/workflowtasks/\(escape(taskId))/reassign", body: command, options: options)
    }

    public func changeTaskStatus(taskId: String, _ command: TaskUpdateCommand, options: PurviewCallOptions = PurviewCallOptions())
        async throws(PurviewClientError) -> PurviewResponse<Void>
    {
        try await callWithoutBody(.post, "/workflowtasks/\(escape(taskId))/change-task-status", body: command, options: options)
    }

    // MARK: - Plumbing

    func url(_ path: String, query: [(String, String)]) -> HTTPURL {
        var url = configuration.endpoint
        var base = url.pathAndQuery
        if let question = base.firstIndex(of: "?") { base = String(base[..<question]) }
        while base.hasSuffix("/") { base.removeLast() }
        var target = base + "/workflow" + path + "?api-version=" + FormEncoding.escape(configuration.apiVersion)
        for (name, value) in query { target += "&" + FormEncoding.escape(name) + "=" + FormEncoding.escape(value) }
        url.pathAndQuery = target
        return url
    }

    private func escape(_ segment: String) -> String { FormEncoding.escape(segment) }

    private func call<Response: Decodable & Sendable>(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: (some Encodable & Sendable)? = Optional<JSONValue>.none,
        idempotent: Bool = true, options: PurviewCallOptions
    ) async throws(PurviewClientError) -> PurviewResponse<Response> {
        let target = url(path, query: query)
        return try await execute(method, target, body: body, idempotent: idempotent, options: options)
    }

    private func callWithoutBody(
        _ method: HTTPMethod, _ path: String, body: (some Encodable & Sendable)?, options: PurviewCallOptions
    ) async throws(PurviewClientError) -> PurviewResponse<Void> {
        // Approve, reject, reassign, cancel and status changes are safe to repeat: a second identical
        // command meets an already-decided task (409) rather than acting twice.
        let response: PurviewResponse<Ignored> = try await call(method, path, body: body, idempotent: true, options: options)
        return PurviewResponse(value: (), status: response.status, clientRequestId: response.clientRequestId, serviceRequestId: response.serviceRequestId)
    }

    func execute<Response: Decodable & Sendable>(
        _ method: HTTPMethod, _ target: HTTPURL, body: (some Encodable & Sendable)?, idempotent: Bool,
        options: PurviewCallOptions
    ) async throws(PurviewClientError) -> PurviewResponse<Response> {
        let clientRequestId = options.clientRequestId ?? UUIDText.random()
        let policy = options.retryPolicy ?? configuration.retryPolicy
        var bodyBytes: [UInt8]?
        if let body {
            do {
                bodyBytes = try JSONValueEncoder().encode(body)
            } catch {
                throw PurviewClientError(kind: .decoding, status: nil, code: "encoding_failed", message: "could not encode the request body: \(error)", clientRequestId: clientRequestId)
            }
        }
        let started = ContinuousClock.now
        var attempt = 0
        var retriedUnauthorized = false
        while true {
            attempt += 1
            var headers: HTTPFields = [
                "Accept": "application/json", "User-Agent": configuration.userAgent,
                "x-ms-client-request-id": clientRequestId,
            ]
            var token: String?
            if let tokens {
                do throws(TokenError) {
                    token = try await tokens.token()
                } catch {
                    throw PurviewClientError(kind: .token, status: error.status, code: error.code, message: error.message, clientRequestId: clientRequestId)
                }
                headers.append("Authorization", "Bearer " + token!)
            }
            if bodyBytes != nil { headers.append("Content-Type", "application/json") }
            let request = HTTPClientRequest(method: method, url: target, headers: headers, body: bodyBytes, timeout: configuration.requestTimeout)
            let outcome: RetryPolicy.Outcome
            let failure: PurviewClientError
            let result: Result<HTTPClientResponse, HTTPClientError>
            do throws(HTTPClientError) {
                result = .success(try await transport.execute(request))
            } catch {
                result = .failure(error)
            }
            switch result {
            case .success(let response):
                let serviceRequestId = response.headers["x-ms-request-id"]
                if (200..<300).contains(response.status.code) {
                    return try decode(response, clientRequestId: clientRequestId, serviceRequestId: serviceRequestId)
                }
                if response.status.code == 401, let token, !retriedUnauthorized {
                    // The token may have been revoked or rotated: fetch a new one and try once more.
                    retriedUnauthorized = true
                    tokens?.invalidate(token)
                    attempt -= 1
                    continue
                }
                failure = serviceFailure(response, clientRequestId: clientRequestId, serviceRequestId: serviceRequestId)
                outcome = .status(response.status.code, retryAfter: failure.retryAfter)
            case .failure(let error):
                if error.requestMayHaveBeenProcessed {
                    outcome = .transportFailedAfterSending
                    failure = PurviewClientError(kind: .ambiguous, status: nil, code: error.shortDescription, message: error.message, clientRequestId: clientRequestId)
                } else {
                    outcome = .connectFailed
                    failure = PurviewClientError(kind: .unreachable, status: nil, code: error.shortDescription, message: error.message, clientRequestId: clientRequestId)
                }
            }
            let elapsed = started.duration(to: .now)
            switch policy.decide(attempt: attempt, outcome: outcome, idempotent: idempotent, elapsed: elapsed, random: random) {
            case .retry(let delay):
                try? await Task.sleep(for: delay)
                if Task.isCancelled { throw failure }
            case .giveUp:
                throw failure
            case .ambiguous:
                // A timeout after sending, or a 5xx to a non-idempotent call: Purview may have acted on it.
                var ambiguous = failure
                ambiguous.kind = .ambiguous
                throw ambiguous
            }
        }
    }

    private func decode<Response: Decodable & Sendable>(
        _ response: HTTPClientResponse, clientRequestId: String, serviceRequestId: String?
    ) throws(PurviewClientError) -> PurviewResponse<Response> {
        if Response.self == Ignored.self {
            return PurviewResponse(value: Ignored() as! Response, status: response.status.code, clientRequestId: clientRequestId, serviceRequestId: serviceRequestId)
        }
        do {
            let value = try JSONValueDecoder().decode(Response.self, from: response.body)
            return PurviewResponse(value: value, status: response.status.code, clientRequestId: clientRequestId, serviceRequestId: serviceRequestId)
        } catch {
            throw PurviewClientError(
                kind: .decoding, status: response.status.code, code: "invalid_response",
                message: "could not read the \(Response.self) Purview returned: \(error)", clientRequestId: clientRequestId,
                serviceRequestId: serviceRequestId)
        }
    }

    private func serviceFailure(_ response: HTTPClientResponse, clientRequestId: String, serviceRequestId: String?) -> PurviewClientError {
        let envelope = try? JSONValueDecoder().decode(PurviewErrorResponse.self, from: response.body)
        let retryAfter = RetryAfter.delay(
            retryAfter: response.headers["Retry-After"], retryAfterMilliseconds: response.headers["retry-after-ms"],
            msRetryAfterMilliseconds: response.headers["x-ms-retry-after-ms"],
            nowUnixSeconds: Date().timeIntervalSince1970)
        let fallbackMessage = String(decoding: response.body.prefix(512), as: UTF8.self)
        return PurviewClientError(
            kind: .service, status: response.status.code, code: envelope?.error.code ?? "HTTP\(response.status.code)",
            message: envelope?.error.message ?? (fallbackMessage.isEmpty ? response.status.reasonPhrase : fallbackMessage),
            serviceError: envelope?.error, clientRequestId: clientRequestId, serviceRequestId: serviceRequestId,
            retryAfter: retryAfter)
    }

    private func pages<Element: Decodable & Sendable>(
        _ path: String, query: [(String, String)], options: PurviewCallOptions
    ) -> PurviewPages<Element> {
        PurviewPages(first: url(path, query: query)) { [self] target async throws(PurviewClientError) -> Page<Element> in
            let response: PurviewResponse<Page<Element>> = try await execute(.get, target, body: Optional<JSONValue>.none, idempotent: true, options: options)
            return response.value
        } resolve: { [self] link in
            resolveNextLink(link)
        }
    }

    /// nextLinks are absolute (relative ones are resolved against the endpoint); api-version is kept or added.
    func resolveNextLink(_ link: String) -> HTTPURL? {
        var resolved: HTTPURL?
        if let absolute = HTTPURL(link) {
            resolved = absolute
        } else if link.hasPrefix("/") {
            var url = configuration.endpoint
            url.pathAndQuery = link
            resolved = url
        }
        guard var url = resolved else { return nil }
        if !url.pathAndQuery.contains("api-version=") {
            url.pathAndQuery += (url.pathAndQuery.contains("?") ? "&" : "?") + "api-version=" + configuration.apiVersion
        }
        return url
    }
}

/// A body we do not read (empty-body 200s).
struct Ignored: Decodable, Sendable {
    init() {}
    init(from decoder: any Decoder) throws {}
}

/// The pages of a list, following absolute nextLinks: iterate pages, or `items()` one element at a time.
public struct PurviewPages<Element: Sendable>: AsyncSequence, Sendable {
    public typealias Fetch = @Sendable (HTTPURL) async throws(PurviewClientError) -> Page<Element>
    let first: HTTPURL
    let fetch: Fetch
    let resolve: @Sendable (String) -> HTTPURL?

    public init(first: HTTPURL, fetch: @escaping Fetch, resolve: @escaping @Sendable (String) -> HTTPURL?) {
        self.first = first
        self.fetch = fetch
        self.resolve = resolve
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var next: HTTPURL?
        let fetch: Fetch
        let resolve: @Sendable (String) -> HTTPURL?
        var pagesFetched = 0

        public mutating func next() async throws(PurviewClientError) -> Page<Element>? {
            guard let target = next else { return nil }
            let page = try await fetch(target)
            pagesFetched += 1
            // A nextLink pointing at itself would loop forever; 10,000 pages is far past any real list.
            if let link = page.nextLink, let following = resolve(link), following != target, pagesFetched < 10_000 {
                next = following
            } else {
                next = nil
            }
            return page
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(next: first, fetch: fetch, resolve: resolve) }

    /// Every element of every page.
    public func all() async throws(PurviewClientError) -> [Element] {
        var iterator = makeAsyncIterator()
        var items: [Element] = []
        while let page = try await iterator.next() { items += page.value }
        return items
    }
}

/// `application/x-www-form-urlencoded` and query-component escaping (RFC 3986 unreserved kept).
public enum FormEncoding {
    public static func escape(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                result += "%"
                result.unicodeScalars.append(hex[Int(byte >> 4)])
                result.unicodeScalars.append(hex[Int(byte & 0xF)])
            }
        }
        return result
    }

    public static func encode(_ pairs: [(String, String)]) -> [UInt8] {
        Array(pairs.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&").utf8)
    }

    /// Decodes a form body or query string into ordered pairs (`+` is a space).
    public static func decode(_ text: String) -> [(String, String)] {
        text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = unescape(String(parts[0]))
            let value = parts.count > 1 ? unescape(String(parts[1])) : ""
            return (name, value)
        }
    }

    public static func unescape(_ text: String) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "+") {
                bytes.append(0x20)
            } else if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
