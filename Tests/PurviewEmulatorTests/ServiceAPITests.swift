import Crypto
import Foundation
import HTTP
import Networking
import PurviewWorkflow
import Synchronization
import Testing

@testable import PurviewEmulator

/// Calls the API as one principal and checks the headers every answer must carry.
final class APISession: Sendable {
    let emulator: EmulatorHarness
    let token: String
    let seenRequestIds: Mutex<Set<String>>

    init(_ emulator: EmulatorHarness, token: String) {
        self.emulator = emulator
        self.token = token
        seenRequestIds = Mutex([])
    }

    func call(
        _ method: HTTPMethod, _ path: String, json: JSONValue? = nil, version: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> HTTPClientResponse {
        let clientRequestId = UUID().uuidString.lowercased()
        let response = try await emulator.send(
            method, version ? EmulatorHarness.v2023(path) : path, token: token,
            headers: ["x-ms-client-request-id": clientRequestId], json: json)
        #expect(response.headers["x-ms-client-request-id"] == clientRequestId, sourceLocation: sourceLocation)
        let requestId = try #require(response.headers["x-ms-request-id"], sourceLocation: sourceLocation)
        #expect(UUID(uuidString: requestId) != nil, sourceLocation: sourceLocation)
        #expect(
            seenRequestIds.withLock { $0.insert(requestId).inserted }, "x-ms-request-id reused",
            sourceLocation: sourceLocation)
        #expect(response.headers["x-ms-correlation-request-id"] != nil, sourceLocation: sourceLocation)
        #expect(response.headers["Server"] == "MicrosoftPurview", sourceLocation: sourceLocation)
        if !response.body.isEmpty {
            #expect(response.headers["Content-Type"] == "application/json", sourceLocation: sourceLocation)
        }
        return response
    }

    /// A JSON answer with status 200.
    func ok(
        _ method: HTTPMethod, _ path: String, json: JSONValue? = nil, version: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    )
        async throws -> JSONValue
    {
        let response = try await call(method, path, json: json, version: version, sourceLocation: sourceLocation)
        #expect(response.status.code == 200, "\(method) \(path): \(response.text)", sourceLocation: sourceLocation)
        return try response.json()
    }

    /// A command's 200: no body, `Content-Length: 0`, no Content-Type.
    func command(_ path: String, json: JSONValue? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws
    {
        let response = try await call(.post, path, json: json, sourceLocation: sourceLocation)
        #expect(response.status.code == 200, "POST \(path): \(response.text)", sourceLocation: sourceLocation)
        #expect(response.headers["Content-Length"] == "0", sourceLocation: sourceLocation)
        #expect(response.headers["Content-Type"] == nil, sourceLocation: sourceLocation)
        #expect(response.body.isEmpty, sourceLocation: sourceLocation)
    }

    /// Submits a user request; returns its single run id.
    func submit(_ request: JSONValue) async throws -> String {
        let answer = try await ok(.post, "/workflow/userrequests", json: request)
        #expect(answer["status"] == "InProgress")
        return try #require(answer["operations"]?[0]?["workflowRunIds"]?[0]?.stringValue)
    }

    /// The open task of `runId` this session's principal can see.
    func task(of runId: String) async throws -> String {
        let list = try await ok(.get, "/workflow/workflowtasks")
        let task = list["value"]?.arrayValue?.first { $0["workflowRunId"]?.stringValue == runId }
        return try #require(task?["id"]?.stringValue, "no task for run \(runId) in \(list)")
    }

    func runStatus(_ runId: String) async throws -> String? {
        try await ok(.get, "/workflow/workflowruns/\(runId)")["status"]?.stringValue
    }
}

@Suite(.serialized)
struct ServiceAPITests {
    @Test func everyRouteOnceWithItsStatusAndHeaders() async throws {
        try await withEmulator { emulator in
            let rita = APISession(emulator, token: try await emulator.token(TestIds.requestor))
            let ada = APISession(emulator, token: try await emulator.token(TestIds.approver))

            // Workflows: PUT answers 200 even for a new id; DELETE 204 without a body.
            let newId = "f3000000-0000-4000-8000-000000000003"
            var workflow = serviceTestConfig().workflows[0].objectValue!
            workflow["isEnabled"] = false
            workflow["name"] = "Disabled copy"
            workflow.removeValue(forKey: "id")
            let put = try await rita.ok(.put, "/workflow/workflows/\(newId)", json: .object(workflow))
            #expect(put["id"]?.stringValue == newId)
            #expect(put["createdBy"]?.stringValue == TestIds.requestor.objectId)
            #expect(try await rita.ok(.get, "/workflow/workflows/\(newId)")["name"] == "Disabled copy")
            #expect(try await rita.ok(.get, "/workflow/workflows")["value"]?.arrayValue?.count == 3)
            let validation = try await rita.ok(.post, "/workflow/workflows/\(newId)/validate", json: .object(workflow))
            #expect(validation["value"] == [])

            // A request, its run and its task; the approver approves (service spelling).
            let runA = try await rita.submit(createTermRequest("Alpha"))
            let runs = try await rita.ok(.get, "/workflow/workflowruns")
            #expect(runs["value"]?.arrayValue?.map { $0["id"]?.stringValue } == [runA])
            #expect(try await rita.runStatus(runA) == "InProgress")
            let taskA = try await ada.task(of: runA)
            let task = try await ada.ok(.get, "/workflow/workflowtasks/\(taskA)", version: false)
            #expect(task["type"] == "Approval")
            #expect(task["requestor"]?.stringValue == TestIds.requestor.objectId)
            try await ada.command("/workflow/workflowtasks/\(taskA)/approve-approval", json: ["comment": "fine"])
            #expect(try await rita.runStatus(runA) == "Completed")

            // The other approval spellings and the remaining commands.
            let runB = try await rita.submit(createTermRequest("Beta"))
            try await ada.command("/workflow/workflowtasks/\(try await ada.task(of: runB))/reject-approval")
            let runC = try await rita.submit(createTermRequest("Gamma"))
            try await ada.command(
                "/workflow/approvals/\(try await ada.task(of: runC))/approve", json: ["comment": "seed"])
            let runD = try await rita.submit(createTermRequest("Delta"))
            try await ada.command("/workflow/approvals/\(try await ada.task(of: runD))/reject")
            for run in [runB, runC, runD] { #expect(try await rita.runStatus(run) == "Completed") }
            let approvedTasks = try await ada.ok(.get, "/workflow/workflowtasks?taskStatuses=Approved")
            #expect(approvedTasks["value"]?.arrayValue?.count == 2)

            let runE = try await rita.submit(createTermRequest("Epsilon"))
            let taskE = try await ada.task(of: runE)
            try await ada.command(
                "/workflow/workflowtasks/\(taskE)/reassign",
                json: [
                    "reassignments": [
                        [
                            "reassignFrom": .string(TestIds.approver.objectId),
                            "reassignTo": .string(TestIds.admin.objectId),
                        ]
                    ]
                ])
            try await rita.command("/workflow/workflowruns/\(runE)/cancel", json: ["comment": "not needed"])
            #expect(try await rita.runStatus(runE) == "Canceled")

            let runF = try await rita.submit([
                "operations": [["type": "UpdateAsset", "payload": ["asset": ["name": "orders"]]]]
            ])
            let taskF = try await ada.task(of: runF)
            try await ada.command(
                "/workflow/workflowtasks/\(taskF)/change-task-status", json: ["newStatus": "Completed"])
            #expect(try await rita.runStatus(runF) == "Completed")

            let deleted = try await rita.call(.delete, "/workflow/workflows/\(newId)")
            #expect(deleted.status.code == 204)
            #expect(deleted.body.isEmpty)
            #expect(deleted.headers["Content-Type"] == nil)
            #expect(deleted.headers["Content-Length"] == nil)
            let gone = try await rita.call(.get, "/workflow/workflows/\(newId)")
            #expect(gone.status.code == 404)
            #expect(gone.errorCode == "Workflow.WorkflowNotFound")
        }
    }

    @Test func tokensAreCheckedBeforeTheApiVersion() async throws {
        try await withEmulator { emulator in
            let now = Date().timeIntervalSince1970
            func token(
                expiresIn seconds: Double, key: String = TestIds.signingKey,
                audience: String = "https://purview.azure.net"
            )
                throws -> String
            {
                try signedJWT(
                    [
                        "aud": .string(audience), "tid": .string(TestIds.tenant),
                        "oid": .string(TestIds.requestor.objectId),
                        "iat": .number(now - 7200), "nbf": .number(now - 7200), "exp": .number(now + seconds),
                    ], algorithm: "HS256", signer: .hs256(key: Array(key.utf8)))
            }
            let valid = try token(expiresIn: 600)
            let refused: [(String?, String)] = [
                (nil, "missing"), ("garbage", "malformed"), (try token(expiresIn: -1), "expired"),
                (try token(expiresIn: 600, key: "another-key"), "wrong key"),
                (try token(expiresIn: 600, audience: "https://graph.microsoft.com"), "wrong audience"),
            ]
            for (bad, label) in refused {
                // No api-version: the 401 still comes first.
                let response = try await emulator.send(.get, "/workflow/workflowruns", token: bad)
                #expect(response.status.code == 401, "\(label)")
                #expect(response.errorCode == "Unauthorized", "\(label)")
                #expect(response.headers["WWW-Authenticate"]?.hasPrefix("Bearer") == true)
                #expect(response.headers["x-ms-request-id"] != nil)
            }
            let accepted = try await emulator.send(.get, EmulatorHarness.v2023("/workflow/workflowruns"), token: valid)
            #expect(accepted.status.code == 200)
        }
    }

    @Test func apiVersionIsRequiredAndChecked() async throws {
        try await withEmulator { emulator in
            let token = try await emulator.token()
            let missing = try await emulator.send(.get, "/workflow/workflows", token: token)
            #expect(missing.status.code == 400)
            #expect(missing.errorCode == "MissingApiVersionParameter")
            let unknown = try await emulator.send(.get, "/workflow/workflows?api-version=2021-01-01", token: token)
            #expect(unknown.status.code == 400)
            #expect(unknown.errorCode == "InvalidApiVersion")
            for version in ["2022-05-01-preview", "2023-10-01-preview"] {
                let listed = try await emulator.send(.get, "/workflow/workflows?api-version=\(version)", token: token)
                #expect(listed.status.code == 200)
            }
            // validate is not part of 2022-05-01-preview.
            let body = serviceTestConfig().workflows[0]
            let validate2022 = try await emulator.send(
                .post, "/workflow/workflows/\(TestIds.termWorkflowId)/validate?api-version=2022-05-01-preview",
                token: token, json: body)
            #expect(validate2022.status.code == 404)
            #expect(validate2022.errorCode == "NotFound")
            let validate2023 = try await emulator.send(
                .post, EmulatorHarness.v2023("/workflow/workflows/\(TestIds.termWorkflowId)/validate"), token: token,
                json: body)
            #expect(validate2023.status.code == 200)
            // GET /workflowtasks/{id} without api-version reaches the operation (404: no such task).
            let task = try await emulator.send(
                .get, "/workflow/workflowtasks/\(UUID().uuidString.lowercased())", token: token)
            #expect(task.status.code == 404)
            #expect(task.errorCode == "Workflow.TaskNotFound")
        }
    }

    @Test func pagesCarryAbsoluteNextLinksThatWork() async throws {
        try await withEmulator { emulator in
            let rita = APISession(emulator, token: try await emulator.token())
            var submitted: Set<String> = []
            for index in 0..<5 { submitted.insert(try await rita.submit(createTermRequest("Term \(index)"))) }
            var seen: [String] = []
            var path: String? = EmulatorHarness.v2023("/workflow/workflowruns?maxpagesize=2&orderby=startTime%20asc")
            var pages = 0
            while let next = path, pages < 10 {
                pages += 1
                let response = try await emulator.send(.get, next, token: rita.token)
                #expect(response.status.code == 200)
                let page = try response.json()
                seen += page["value"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
                if let link = page["nextLink"]?.stringValue {
                    #expect(link.hasPrefix(emulator.base + "/workflow/workflowruns?"))
                    #expect(link.contains("api-version=2023-10-01-preview"))
                    #expect(link.contains("maxpagesize=2"))
                    #expect(link.contains("continuationToken="))
                    path = String(link.dropFirst(emulator.base.count))
                } else {
                    path = nil
                }
            }
            #expect(pages == 3)
            #expect(seen.count == 5)
            #expect(Set(seen) == submitted)

            // The gateway's own client follows them too.
            let tokens = TokenCache(
                fetcher: ClientCredentialsFetcher(
                    endpoint: TokenEndpoint(
                        authorityHost: try #require(HTTPURL(emulator.base)), tenantId: TestIds.tenant,
                        clientId: TestIds.requestor.clientId),
                    credential: .secret(TestIds.requestor.secret!), transport: emulator.client),
                clock: ContinuousClock())
            let client = PurviewClient(
                configuration: PurviewClientConfiguration(endpoint: try #require(HTTPURL(emulator.base))),
                transport: emulator.client, tokens: tokens)
            var query = WorkflowRunQuery()
            query.maxPageSize = 2
            let runs = try await client.listWorkflowRuns(query, options: PurviewCallOptions()).all()
            #expect(Set(runs.map(\.id)) == submitted)
        }
    }

    struct BadInput: Sendable, CustomTestStringConvertible {
        var name: String
        var method: HTTPMethod
        var path: String
        var body: [UInt8]?
        var code: String
        var target: String?
        var testDescription: String { name }
    }

    static let run = "0e000000-0000-4000-8000-000000000001"

    static let badInputs: [BadInput] = [
        BadInput(
            name: "malformed JSON", method: .post, path: "/workflow/userrequests",
            body: Array(#"{"operations":["#.utf8),
            code: "Workflow.InvalidRequest", target: "body"),
        BadInput(
            name: "body not an object", method: .post, path: "/workflow/userrequests", body: Array("[1,2]".utf8),
            code: "Workflow.InvalidRequest", target: "body"),
        BadInput(
            name: "missing body", method: .post, path: "/workflow/userrequests", body: nil,
            code: "Workflow.InvalidRequest",
            target: "body"),
        BadInput(
            name: "payload of the wrong type", method: .post, path: "/workflow/userrequests",
            body: Array(#"{"operations":[{"type":"CreateTerm","payload":"x"}]}"#.utf8), code: "Workflow.InvalidRequest",
            target: "operations[0].payload"),
        BadInput(
            name: "unknown operation type", method: .post, path: "/workflow/userrequests",
            body: Array(#"{"operations":[{"type":"BrewCoffee","payload":{}}]}"#.utf8), code: "Workflow.InvalidRequest",
            target: "operations[0].type"),
        BadInput(
            name: "comment of the wrong type", method: .post, path: "/workflow/workflowruns/\(run)/cancel",
            body: Array(#"{"comment":5}"#.utf8), code: "Workflow.InvalidRequest", target: "comment"),
        BadInput(
            name: "run id not a UUID", method: .get, path: "/workflow/workflowruns/not-a-uuid", body: nil,
            code: "Workflow.InvalidParameter", target: "workflowRunId"),
        BadInput(
            name: "task id not a UUID", method: .post, path: "/workflow/workflowtasks/42/approve-approval", body: nil,
            code: "Workflow.InvalidParameter", target: "taskId"),
        BadInput(
            name: "workflow id not a UUID", method: .delete, path: "/workflow/workflows/abc", body: nil,
            code: "Workflow.InvalidParameter", target: "workflowId"),
        BadInput(
            name: "unknown task status", method: .post, path: "/workflow/workflowtasks/\(run)/change-task-status",
            body: Array(#"{"newStatus":"Sleeping"}"#.utf8), code: "Workflow.InvalidRequest", target: "newStatus"),
        BadInput(
            name: "unknown run status filter", method: .get, path: "/workflow/workflowruns?runStatuses=Dreaming",
            body: nil,
            code: "Workflow.InvalidParameter", target: "runStatuses"),
        BadInput(
            name: "page size not a number", method: .get, path: "/workflow/workflowtasks?maxpagesize=many", body: nil,
            code: "Workflow.InvalidParameter", target: "maxpagesize"),
    ]

    @Test(arguments: badInputs) func badInputIsA400NamingTheField(_ input: BadInput) async throws {
        try await withEmulator(tls: false) { emulator in
            let token = try await emulator.token()
            let headers: HTTPFields = input.body == nil ? [:] : ["Content-Type": "application/json"]
            let response = try await emulator.send(
                input.method, EmulatorHarness.v2023(input.path), token: token, headers: headers, body: input.body)
            #expect(response.status.code == 400, "\(response.text)")
            #expect(response.headers["Content-Type"] == "application/json")
            let error = try response.json()["error"]
            #expect(error?["code"]?.stringValue == input.code, "\(response.text)")
            #expect(error?["target"]?.stringValue == input.target, "\(response.text)")
            #expect(error?["message"]?.stringValue?.isEmpty == false)
        }
    }

    @Test func httpLayerRejectionsUseTheEnvelope() async throws {
        try await withEmulator(config: serviceTestConfig(maxRequestBodyBytes: 2048)) { emulator in
            let token = try await emulator.token()
            let big = Array(repeating: UInt8(ascii: " "), count: 4096)
            let tooLarge = try await emulator.send(
                .post, EmulatorHarness.v2023("/workflow/userrequests"), token: token,
                headers: ["Content-Type": "application/json"],
                body: big)
            #expect(tooLarge.status.code == 413)
            #expect(tooLarge.headers["Content-Type"] == "application/json")
            #expect(tooLarge.errorCode == "PayloadTooLarge")
            #expect(tooLarge.headers["x-ms-request-id"] != nil)

            let unknown = try await emulator.send(.get, "/workflow/nothing-here", token: token)
            #expect(unknown.status.code == 404)
            #expect(unknown.errorCode == "NotFound")
            let wrongMethod = try await emulator.send(
                .patch, EmulatorHarness.v2023("/workflow/userrequests"), token: token)
            #expect(wrongMethod.status.code == 405)
            #expect(wrongMethod.errorCode == "MethodNotAllowed")
            #expect(wrongMethod.headers["Allow"] == "POST")
        }
    }
}
