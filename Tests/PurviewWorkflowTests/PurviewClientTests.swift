import Crypto
import FoundationEssentials
import HTTP
import Networking
import Synchronization
import Testing

@testable import PurviewWorkflow

/// A transport double that answers from a script and records every request it was given.
final class ScriptedTransport: HTTPClientTransport {
    typealias Reply = @Sendable (HTTPClientRequest) -> Result<HTTPClientResponse, HTTPClientError>
    private let state = Mutex<(replies: [Reply], requests: [HTTPClientRequest])>(([], []))

    init(_ replies: [Reply] = []) { state.withLock { $0.replies = replies } }

    func enqueue(_ reply: @escaping Reply) { state.withLock { $0.replies.append(reply) } }

    var requests: [HTTPClientRequest] { state.withLock { $0.requests } }

    func execute(_ request: HTTPClientRequest) async throws(HTTPClientError) -> HTTPClientResponse {
        let reply = state.withLock { state -> Reply? in
            state.requests.append(request)
            return state.replies.isEmpty ? nil : state.replies.removeFirst()
        }
        guard let reply else {
            throw HTTPClientError(code: .connectFailed, message: "script exhausted", requestMayHaveBeenProcessed: false)
        }
        return try reply(request).get()
    }

    static func json(_ status: Int, _ body: String, headers: HTTPFields = [:]) -> Reply {
        { _ in
            var fields = headers
            fields.append("Content-Type", "application/json")
            fields.append("x-ms-request-id", "svc-1")
            return .success(HTTPClientResponse(status: HTTPStatus(code: status), headers: fields, body: Array(body.utf8)))
        }
    }

    static func empty(_ status: Int = 200) -> Reply {
        { _ in .success(HTTPClientResponse(status: HTTPStatus(code: status), headers: ["Content-Length": "0"])) }
    }

    static func failure(_ code: HTTPClientError.Code, processed: Bool) -> Reply {
        { _ in .failure(HTTPClientError(code: code, message: "scripted", requestMayHaveBeenProcessed: processed)) }
    }
}

/// A real HTTP server on 127.0.0.1 answering from the same script as `ScriptedTransport` and recording
/// each request as the client sent it on the wire.
final class LoopbackScriptedServer: Sendable {
    private let server: HTTPServer
    private let state = Mutex<(replies: [ScriptedTransport.Reply], requests: [HTTPClientRequest])>(([], []))
    let url: HTTPURL

    init(_ replies: [ScriptedTransport.Reply]) throws {
        state.withLock { $0.replies = replies }
        let recorder = ServerRecorder()
        var configuration = HTTPServerConfiguration()
        configuration.loopCount = 1
        server = HTTPServer(configuration: configuration, responder: recorder.handler)
        try server.start()
        url = HTTPURL("http://127.0.0.1:\(server.port)")!
        recorder.owner.withLock { $0 = self }
    }

    var requests: [HTTPClientRequest] { state.withLock { $0.requests } }

    func stop() async { await server.shutdown(deadline: .seconds(2)) }

    fileprivate func answer(_ request: ServerRequest) async throws -> ServerResponse {
        let body = try await request.body.collect(upTo: 1 << 20)
        var url = self.url
        url.pathAndQuery = request.head.target
        let recorded = HTTPClientRequest(method: request.method, url: url, headers: request.headers, body: body.isEmpty ? nil : body)
        let reply = state.withLock { state -> ScriptedTransport.Reply? in
            state.requests.append(recorded)
            return state.replies.isEmpty ? nil : state.replies.removeFirst()
        }
        guard let reply, case .success(let response) = reply(recorded) else {
            return ServerResponse(status: .internalServerError)
        }
        var headers = response.headers
        headers.remove("Content-Length")
        return ServerResponse(status: response.status, headers: headers, body: .bytes(response.body))
    }
}

/// Routes every request to the server object created after the handler (breaks the init cycle).
final class ServerRecorder: Sendable {
    let owner = Mutex<LoopbackScriptedServer?>(nil)
    var handler: HTTPHandler {
        HTTPHandler { request in
            guard let server = self.owner.withLock({ $0 }) else { return ServerResponse(status: .serviceUnavailable) }
            return try await server.answer(request)
        }
    }
}

/// Tokens without an identity provider: counts invalidations.
final class StaticTokens: AccessTokenProvider {
    let current = Mutex<(token: String, invalidated: [String])>(("tok-1", []))
    func token() async throws(TokenError) -> String { current.withLock { $0.token } }
    func invalidate(_ token: String) {
        current.withLock {
            $0.invalidated.append(token)
            $0.token = "tok-\($0.invalidated.count + 1)"
        }
    }
}

@Suite struct PurviewClientTests {
    static let endpoint = HTTPURL("https://acct.purview.azure.com")!
    let runId = "7a3a8c3a-8b8c-4f4e-9d2d-5b4f2f6c1d10"
    let taskId = "98d98e2c-5a1b-4a3e-8f4c-3a0b1c2d3e4f"

    func client(_ transport: ScriptedTransport, tokens: StaticTokens = StaticTokens(), configure: (inout PurviewClientConfiguration) -> Void = { _ in }) -> PurviewClient {
        var configuration = PurviewClientConfiguration(endpoint: Self.endpoint)
        configuration.retryPolicy.baseDelay = .milliseconds(1)
        configuration.retryPolicy.maxDelay = .milliseconds(2)
        configure(&configuration)
        return PurviewClient(configuration: configuration, transport: transport, tokens: tokens, random: { 0.5 })
    }

    func line(_ request: HTTPClientRequest) -> String { "\(request.method) \(request.url.pathAndQuery)" }

    /// Scripted answers for `runEveryOperation`, in call order.
    func everyOperationReplies() -> [ScriptedTransport.Reply] {
        let workflow = #"{"id":"4afb5752-e47f-43a1-8ba7-c696bf8d2745","name":"w","description":"","isEnabled":true,"triggers":[{"type":"when_term_creation_is_requested"}],"actionDag":{"actions":{}}}"#
        let run = #"{"id":"\#(runId)","workflowId":"4afb5752-e47f-43a1-8ba7-c696bf8d2745","status":"InProgress"}"#
        let task = #"{"id":"\#(taskId)","type":"Approval","workflowRunId":"\#(runId)","workflowId":"4afb5752-e47f-43a1-8ba7-c696bf8d2745","requestor":"r","title":"t"}"#
        return [
            ScriptedTransport.json(200, #"{"value":[]}"#),
            ScriptedTransport.json(200, workflow),
            ScriptedTransport.json(200, workflow),
            ScriptedTransport.empty(204),
            ScriptedTransport.json(200, #"{"value":[]}"#),
            ScriptedTransport.json(200, #"{"requestId":"q","requestor":"r","operations":[{"type":"CreateTerm","payload":{},"workflowRunIds":["\#(runId)"]}],"status":"InProgress"}"#),
            ScriptedTransport.json(200, #"{"value":[\#(run)]}"#),
            ScriptedTransport.json(200, run),
            ScriptedTransport.empty(),
            ScriptedTransport.json(200, #"{"value":[\#(task)]}"#),
            ScriptedTransport.json(200, task),
            ScriptedTransport.empty(), ScriptedTransport.empty(), ScriptedTransport.empty(), ScriptedTransport.empty(),
        ]
    }

    /// Calls every operation once and checks each request line, query, headers and body.
    func runEveryOperation(_ purview: PurviewClient, recorded: () -> [HTTPClientRequest]) async throws {
        let id = "4afb5752-e47f-43a1-8ba7-c696bf8d2745"
        let command = WorkflowCreateOrUpdateCommand(name: "w", description: "", triggers: [WorkflowTrigger(type: .whenTermCreationIsRequested)], isEnabled: true, actionDag: ["actions": [:]])
        _ = try await purview.listWorkflows().all()
        _ = try await purview.getWorkflow(id)
        _ = try await purview.createOrReplaceWorkflow(id, command)
        _ = try await purview.deleteWorkflow(id)
        _ = try await purview.validateWorkflow(id, command)
        let submitted = try await purview.submitUserRequest(UserRequestPayload(operations: [UserRequestOperation(type: .createTerm, payload: ["glossaryTerm": ["name": "x"]])], comment: "c"))
        #expect(submitted.value.allWorkflowRunIds == [runId])
        #expect(submitted.serviceRequestId == "svc-1")
        var query = WorkflowRunQuery()
        query.runStatuses = ["InProgress", "Failed"]
        query.orderBy = "startTime desc"
        query.timeWindow = "30d"
        query.maxPageSize = 50
        let runs = try await purview.listWorkflowRuns(query).all()
        #expect(runs.first?.status == .inProgress)
        _ = try await purview.getWorkflowRun(runId)
        _ = try await purview.cancelWorkflowRun(runId, comment: "stop")
        var taskQuery = WorkflowTaskQuery()
        taskQuery.taskTypes = ["approval"]
        taskQuery.assignees = ["a1", "a2"]
        _ = try await purview.listWorkflowTasks(taskQuery).all()
        _ = try await purview.getWorkflowTask(taskId)
        _ = try await purview.approve(taskId: taskId, comment: "ok")
        _ = try await purview.reject(taskId: taskId, comment: "no")
        _ = try await purview.reassign(taskId: taskId, ReassignCommand(reassignments: [Reassignment(reassignFrom: "a", reassignTo: "b")]))
        _ = try await purview.changeTaskStatus(taskId: taskId, TaskUpdateCommand(newStatus: .completed, comment: nil))

        let version = "api-version=2023-10-01-preview"
        let lines = recorded().map(line)
        #expect(lines == [
            "GET /workflow/workflows?\(version)",
            "GET /workflow/workflows/\(id)?\(version)",
            "PUT /workflow/workflows/\(id)?\(version)",
            "DELETE /workflow/workflows/\(id)?\(version)",
            "POST /workflow/workflows/\(id)/validate?\(version)",
            "POST /workflow/userrequests?\(version)",
            "GET /workflow/workflowruns?\(version)&timeWindow=30d&orderby=startTime%20desc&runStatuses=InProgress%2CFailed&maxpagesize=50",
            "GET /workflow/workflowruns/\(runId)?\(version)",
            "POST /workflow/workflowruns/\(runId)/cancel?\(version)",
            "GET /workflow/workflowtasks?\(version)&taskTypes=approval&assignees=a1%2Ca2",
            "GET /workflow/workflowtasks/\(taskId)?\(version)",
            "POST /workflow/workflowtasks/\(taskId)/approve-approval?\(version)",
            "POST /workflow/workflowtasks/\(taskId)/reject-approval?\(version)",
            "POST /workflow/workflowtasks/\(taskId)/reassign?\(version)",
            "POST /workflow/workflowtasks/\(taskId)/change-task-status?\(version)",
        ])
        for request in recorded() {
            #expect(request.headers["Authorization"] == "Bearer tok-1")
            #expect(request.headers["x-ms-client-request-id"].map { $0.count == 36 } == true)
            #expect(request.url.host == purview.configuration.endpoint.host)
            #expect((request.body != nil) == (request.headers["Content-Type"] == "application/json"))
        }
        let body = try JSONValue(parsing: recorded()[5].body!)
        #expect(body == ["operations": [["type": "CreateTerm", "payload": ["glossaryTerm": ["name": "x"]]]], "comment": "c"])
        #expect(try JSONValue(parsing: recorded()[8].body!) == ["comment": "stop"])
        #expect(try JSONValue(parsing: recorded()[13].body!) == ["reassignments": [["reassignFrom": "a", "reassignTo": "b"]]])
        #expect(try JSONValue(parsing: recorded()[14].body!) == ["newStatus": "Completed"])
    }


    @Test func everyOperationsRequestLineAndBody() async throws {
        let transport = ScriptedTransport(everyOperationReplies())
        try await runEveryOperation(client(transport)) { transport.requests }
    }

    @Test func everyOperationOverLoopbackSockets() async throws {
        let server = try LoopbackScriptedServer(everyOperationReplies())
        let http = try HTTPClient()
        var configuration = PurviewClientConfiguration(endpoint: server.url)
        configuration.retryPolicy = .none
        let purview = PurviewClient(configuration: configuration, transport: http, tokens: StaticTokens())
        do {
            try await runEveryOperation(purview) { server.requests }
        } catch {
            await http.shutdown()
            await server.stop()
            throw error
        }
        await http.shutdown()
        await server.stop()
    }

    @Test func seedApprovalPathsAndApiVersionAreOptions() async throws {
        let transport = ScriptedTransport([ScriptedTransport.empty(), ScriptedTransport.empty()])
        let purview = client(transport) {
            $0.approvalPaths = .seed
            $0.apiVersion = "2022-05-01-preview"
        }
        _ = try await purview.approve(taskId: taskId, comment: nil)
        _ = try await purview.reject(taskId: taskId, comment: nil)
        #expect(transport.requests.map(line) == [
            "POST /workflow/approvals/\(taskId)/approve?api-version=2022-05-01-preview",
            "POST /workflow/approvals/\(taskId)/reject?api-version=2022-05-01-preview",
        ])
    }

    @Test func clientRequestIdIsSentAndReturned() async throws {
        let transport = ScriptedTransport([ScriptedTransport.empty()])
        let response = try await client(transport).cancelWorkflowRun(runId, comment: nil, options: PurviewCallOptions(clientRequestId: "req-42"))
        #expect(transport.requests[0].headers["x-ms-client-request-id"] == "req-42")
        #expect(response.clientRequestId == "req-42")
    }

    @Test func pagingFollowsAbsoluteNextLinks() async throws {
        let page = { (ids: [String], next: String?) -> ScriptedTransport.Reply in
            let runs = ids.map { #"{"id":"\#($0)","workflowId":"w","status":"Completed"}"# }.joined(separator: ",")
            let link = next.map { #","nextLink":"\#($0)""# } ?? ""
            return ScriptedTransport.json(200, #"{"value":[\#(runs)]\#(link)}"#)
        }
        let transport = ScriptedTransport([
            page(["a", "b"], "https://acct.purview.azure.com/workflow/workflowruns?api-version=2023-10-01-preview&$skipToken=2"),
            page(["c"], "https://acct.purview.azure.com/workflow/workflowruns?$skipToken=3"),
            page([], ""),
        ])
        let runs = try await client(transport).listWorkflowRuns().all()
        #expect(runs.map(\.id) == ["a", "b", "c"])
        #expect(transport.requests.map(\.url.pathAndQuery) == [
            "/workflow/workflowruns?api-version=2023-10-01-preview",
            "/workflow/workflowruns?api-version=2023-10-01-preview&$skipToken=2",
            "/workflow/workflowruns?$skipToken=3&api-version=2023-10-01-preview",
        ])
    }

    @Test func idempotentCallsRetryTransientFailuresHonouringRetryAfter() async throws {
        let transport = ScriptedTransport([
            ScriptedTransport.failure(.connectFailed, processed: false),
            ScriptedTransport.json(503, #"{"error":{"code":"Busy","message":"later"}}"#, headers: ["retry-after-ms": "5"]),
            ScriptedTransport.failure(.requestTimeout, processed: true),
            ScriptedTransport.json(200, #"{"id":"\#(runId)","workflowId":"w","status":"Completed"}"#),
        ])
        let run = try await client(transport).getWorkflowRun(runId)
        #expect(run.value.status == .completed)
        #expect(transport.requests.count == 4)
        let ids = Set(transport.requests.compactMap { $0.headers["x-ms-client-request-id"] })
        #expect(ids.count == 1)
    }

    @Test func userRequestRetriesOnlyWhenCertainlyNotProcessed() async throws {
        let payload = UserRequestPayload(operations: [UserRequestOperation(type: .createTerm, payload: [:])])
        let ok = ScriptedTransport.json(200, #"{"requestId":"q","operations":[],"status":"Completed"}"#)
        let retried = ScriptedTransport([
            ScriptedTransport.failure(.connectFailed, processed: false),
            ScriptedTransport.json(429, #"{"error":{"code":"TooManyRequests","message":"slow"}}"#, headers: ["Retry-After": "0"]),
            ScriptedTransport.json(503, "", headers: [:]), ok,
        ])
        _ = try await client(retried).submitUserRequest(payload)
        #expect(retried.requests.count == 4)

        for reply in [
            ScriptedTransport.failure(.requestTimeout, processed: true), ScriptedTransport.failure(.connectionClosed, processed: true),
            ScriptedTransport.json(500, #"{"error":{"code":"Internal","message":"boom"}}"#),
            ScriptedTransport.json(502, ""), ScriptedTransport.json(504, ""),
        ] {
            let transport = ScriptedTransport([reply, ok])
            await #expect(throws: PurviewClientError.self) { try await client(transport).submitUserRequest(payload) }
            do {
                _ = try await client(ScriptedTransport([reply, ok])).submitUserRequest(payload)
            } catch {
                #expect(error.kind == .ambiguous)
                #expect(!error.certainlyNotProcessed)
            }
            #expect(transport.requests.count == 1)
        }
    }

    @Test func refusalCarriesTheServiceErrorAndIds() async throws {
        let transport = ScriptedTransport([
            ScriptedTransport.json(400, #"{"error":{"code":"Workflow.UserDataClient.CanNotFindEmailForUsers","message":"no email","target":"approvers"}}"#)
        ])
        do {
            _ = try await client(transport).submitUserRequest(UserRequestPayload(operations: []), options: PurviewCallOptions(clientRequestId: "cid"))
            Issue.record("expected a refusal")
        } catch {
            #expect(error.kind == .service)
            #expect(error.status == 400)
            #expect(error.code == "Workflow.UserDataClient.CanNotFindEmailForUsers")
            #expect(error.serviceError?.target == "approvers")
            #expect(error.clientRequestId == "cid")
            #expect(error.serviceRequestId == "svc-1")
            #expect(transport.requests.count == 1)
        }
    }

    @Test func unauthorizedRefreshesTheTokenAndRetriesOnce() async throws {
        let tokens = StaticTokens()
        let transport = ScriptedTransport([
            ScriptedTransport.json(401, #"{"error":{"code":"Unauthorized","message":"expired"}}"#),
            ScriptedTransport.json(200, #"{"id":"\#(runId)","workflowId":"w","status":"InProgress"}"#),
        ])
        _ = try await client(transport, tokens: tokens).getWorkflowRun(runId)
        #expect(transport.requests.map { $0.headers["Authorization"] } == ["Bearer tok-1", "Bearer tok-2"])
        #expect(tokens.current.withLock { $0.invalidated } == ["tok-1"])

        let twice = ScriptedTransport([ScriptedTransport.json(401, "{}"), ScriptedTransport.json(401, "{}"), ScriptedTransport.json(200, "{}")])
        await #expect(throws: PurviewClientError.self) { try await client(twice).getWorkflowRun(runId) }
        #expect(twice.requests.count == 2)
    }
}

@Suite struct CredentialTests {
    let endpoint = TokenEndpoint(authorityHost: HTTPURL("https://login.example.test")!, tenantId: "tenant-1", clientId: "client-1")
    let ok = ScriptedTransport.json(200, #"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"refresh_in":1800,"access_token":"eyJ.abc.def"}"#)

    func form(_ request: HTTPClientRequest) -> [String: String] {
        Dictionary(FormEncoding.decode(String(decoding: request.body ?? [], as: UTF8.self)), uniquingKeysWith: { a, _ in a })
    }

    @Test func clientSecretGrant() async throws {
        let transport = ScriptedTransport([ok])
        let token = try await ClientCredentialsFetcher(endpoint: endpoint, credential: .secret("s3cr&t"), transport: transport).fetchToken()
        #expect(token.value == "eyJ.abc.def" && token.lifetime == .seconds(3599) && token.refreshIn == .seconds(1800))
        let request = transport.requests[0]
        #expect("\(request.method) \(request.url)" == "POST https://login.example.test/tenant-1/oauth2/v2.0/token")
        #expect(form(request) == ["client_id": "client-1", "grant_type": "client_credentials", "scope": "https://purview.azure.net/.default", "client_secret": "s3cr&t"])
    }

    @Test func tokenErrorsCarryTheAADCodeButNeverTheSecret() async throws {
        let transport = ScriptedTransport([
            ScriptedTransport.json(401, #"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#)
        ])
        do {
            _ = try await ClientCredentialsFetcher(endpoint: endpoint, credential: .secret("hunter2-secret"), transport: transport).fetchToken()
            Issue.record("expected an error")
        } catch {
            #expect(error.code == "invalid_client" && error.status == 401)
            #expect(error.message.hasPrefix("AADSTS7000215"))
            #expect(!String(describing: error).contains("hunter2-secret"))
        }
        let unreachable = ScriptedTransport([ScriptedTransport.failure(.connectFailed, processed: false)])
        await #expect(throws: TokenError.self) {
            try await ClientCredentialsFetcher(endpoint: endpoint, credential: .secret("x"), transport: unreachable).fetchToken()
        }
    }

    @Test func certificateAssertionVerifiesWithTheCertificate() async throws {
        let generated = try SelfSignedCertificate.generate(commonName: "gateway", subjectAltNames: ["DNS:localhost"], days: 1)
        let certificate = try X509Certificate(pem: generated.certificatePEM)
        let key = try RSAPrivateKey(pemBytes: Array(generated.privateKeyPEM.utf8))
        let transport = ScriptedTransport([ok])
        let fixedNow = Date(timeIntervalSince1970: 1_800_000_000)
        _ = try await ClientCredentialsFetcher(endpoint: endpoint, credential: .certificate(certificate: certificate, key: key), transport: transport, now: { fixedNow }).fetchToken()
        let fields = form(transport.requests[0])
        #expect(fields["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        #expect(fields["client_secret"] == nil)
        let jwt = try CompactJWT(parsing: fields["client_assertion"] ?? "")
        #expect(jwt.verifySignature(using: try .rs256(certificate: certificate)))
        let header = try JSONValue(parsing: jwt.headerJSON)
        #expect(header["alg"] == "RS256" && header["x5t"] == .string(certificate.x5t))
        let claims = try JSONValue(parsing: jwt.payloadJSON)
        #expect(claims["aud"] == "https://login.example.test/tenant-1/oauth2/v2.0/token")
        #expect(claims["iss"] == "client-1" && claims["sub"] == "client-1")
        #expect(claims["exp"]?.intValue == 1_800_000_600 && claims["nbf"]?.intValue == 1_800_000_000)
        // A different key's certificate must not verify it.
        let other = try SelfSignedCertificate.generate(commonName: "other", subjectAltNames: [], days: 1)
        #expect(!jwt.verifySignature(using: try .rs256(certificate: X509Certificate(pem: other.certificatePEM))))
    }

    @Test func federatedTokenFileIsReadAtEveryFetch() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("federated-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("first-token\n".utf8).write(to: URL(fileURLWithPath: path))
        let transport = ScriptedTransport([ok, ok])
        let fetcher = ClientCredentialsFetcher(endpoint: endpoint, credential: .federatedTokenFile(path), transport: transport)
        _ = try await fetcher.fetchToken()
        try Data("second-token".utf8).write(to: URL(fileURLWithPath: path))
        _ = try await fetcher.fetchToken()
        #expect(transport.requests.map { form($0)["client_assertion"] } == ["first-token", "second-token"])
    }
}
