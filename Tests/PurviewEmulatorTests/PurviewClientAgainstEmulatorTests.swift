import Crypto
import Foundation
import Networking
import PurviewWorkflow
import Synchronization
import Testing

@testable import PurviewEmulator

/// The production Purview client (HTTP client, TLS, token cache, client-credentials fetcher, retries)
/// against the emulator over https on 127.0.0.1: every operation, paging, each retry rule, token
/// single flight and refresh, 401 handling, and certificate assertions verified by the emulator.
@Suite(.serialized) struct PurviewClientAgainstEmulatorTests {
    /// A client for `principal`, with the emulator as both Purview and the token authority.
    func makeClient(
        _ harness: EmulatorHarness, principal: TestPrincipal = TestIds.requestor, credential: ClientCredential? = nil,
        tuning: (inout PurviewClientConfiguration) -> Void = { _ in }
    ) -> (PurviewClient, TokenCache<ContinuousClock>) {
        let base = HTTPURL(harness.base)!
        let endpoint = TokenEndpoint(authorityHost: base, tenantId: TestIds.tenant, clientId: principal.clientId)
        let tokens = TokenCache(
            fetcher: ClientCredentialsFetcher(endpoint: endpoint, credential: credential ?? .secret(principal.secret ?? ""), transport: harness.client),
            clock: ContinuousClock())
        var configuration = PurviewClientConfiguration(endpoint: base)
        configuration.retryPolicy.baseDelay = .milliseconds(20)
        configuration.retryPolicy.maxDelay = .milliseconds(100)
        tuning(&configuration)
        return (PurviewClient(configuration: configuration, transport: harness.client, tokens: tokens), tokens)
    }

    func calls(_ harness: EmulatorHarness, _ route: String) -> Int {
        harness.service.statsJSON["calls"]?[route]?.intValue ?? 0
    }

    func addFault(_ harness: EmulatorHarness, _ fault: JSONValue) throws {
        harness.service.addFaults([try EmulatorFault.parse(fault, key: "test")])
    }

    @Test func everyOperationWithTheRealClient() async throws {
        try await withEmulator { harness in
            let (requestor, _) = makeClient(harness)
            let (approver, _) = makeClient(harness, principal: TestIds.approver)
            let workflowId = "5a000000-0000-4000-8000-000000000001"
            let command = try JSONValueDecoder().decode(
                WorkflowCreateOrUpdateCommand.self,
                from: harness.service.withEngine { try! $0.getWorkflow(id: TestIds.termWorkflowId, caller: TestIds.admin.objectId) })
            let created = try await requestor.createOrReplaceWorkflow(workflowId, command)
            #expect(created.value.id == workflowId && created.status == 200)
            #expect(created.serviceRequestId != nil)
            #expect(try await requestor.getWorkflow(workflowId).value.name == command.name)
            #expect(try await requestor.listWorkflows().all().contains { $0.id == workflowId })
            #expect(try await requestor.validateWorkflow(workflowId, command).value.violations.isEmpty)

            let payload = UserRequestPayload(
                operations: [UserRequestOperation(type: .createTerm, payload: ["glossaryTerm": ["name": "Churn", "anchor": ["glossaryGuid": .string(TestIds.glossaryGuid)]]])],
                comment: "via the client")
            let submitted = try await requestor.submitUserRequest(payload, options: PurviewCallOptions(clientRequestId: "client-req-1"))
            #expect(submitted.clientRequestId == "client-req-1")
            let runIds = submitted.value.allWorkflowRunIds
            #expect(runIds.count == 2)  // the configured workflow and the copy made above
            let run = try await requestor.getWorkflowRun(runIds[0]).value
            #expect(run.status == .inProgress)
            var runQuery = WorkflowRunQuery()
            runQuery.maxPageSize = 1
            let runs = try await requestor.listWorkflowRuns(runQuery).all()
            #expect(Set(runs.map(\.id)).isSuperset(of: runIds))

            var taskQuery = WorkflowTaskQuery()
            taskQuery.viewMode = "received"
            taskQuery.maxPageSize = 1
            let tasks = try await approver.listWorkflowTasks(taskQuery).all()
            #expect(tasks.count == 2)
            let first = try await approver.getWorkflowTask(tasks[0].id).value
            #expect(first.approvalDetail?.approvers.keys.contains(TestIds.approver.objectId) == true)
            _ = try await approver.approve(taskId: tasks[0].id, comment: "ok")
            _ = try await approver.reject(taskId: tasks[1].id, comment: "no")
            let decided = try await approver.getWorkflowTask(tasks[0].id).value
            #expect(decided.approvalDetail?.status == .approved)

            // A second request: reassign, then cancel its runs.
            let second = try await requestor.submitUserRequest(payload).value.allWorkflowRunIds
            let open = try await approver.listWorkflowTasks(taskQuery).all().filter { second.contains($0.workflowRunId ?? "") }
            _ = try await approver.reassign(taskId: open[0].id, ReassignCommand(reassignments: [PurviewWorkflow.Reassignment(reassignFrom: TestIds.approver.objectId, reassignTo: TestIds.admin.objectId)]))
            #expect(try await approver.getWorkflowTask(open[0].id).value.approvalDetail?.approvers.keys.contains(TestIds.admin.objectId) == true)
            for id in second { _ = try await requestor.cancelWorkflowRun(id, comment: "not needed") }
            #expect(try await requestor.getWorkflowRun(second[0]).value.status == .canceled)

            // SimpleTask status changes.
            let asset = UserRequestPayload(operations: [UserRequestOperation(type: .updateAsset, payload: ["asset": ["guid": .string(TestIds.glossaryGuid)]])])
            let assetRun = try await requestor.submitUserRequest(asset).value.allWorkflowRunIds[0]
            var simple = WorkflowTaskQuery()
            simple.taskTypes = ["simpleTask"]
            simple.viewMode = "received"
            let simpleTask = try #require(try await approver.listWorkflowTasks(simple).all().first { $0.workflowRunId == assetRun })
            _ = try await approver.changeTaskStatus(taskId: simpleTask.id, TaskUpdateCommand(newStatus: .completed, comment: "checked"))
            #expect(try await requestor.getWorkflowRun(assetRun).value.status == .completed)

            _ = try await requestor.deleteWorkflow(workflowId)
            do {
                _ = try await requestor.getWorkflow(workflowId)
                Issue.record("a deleted workflow was found")
            } catch let error as PurviewClientError {
                #expect(error.kind == .service && error.status == 404 && error.serviceRequestId != nil)
            }
        }
    }

    @Test func seedApprovalPathsAndTheOlderApiVersion() async throws {
        try await withEmulator { harness in
            let (requestor, _) = makeClient(harness)
            let (approver, _) = makeClient(harness, principal: TestIds.approver) {
                $0.approvalPaths = .seed
                $0.apiVersion = "2022-05-01-preview"
            }
            let runId = try await requestor.submitUserRequest(UserRequestPayload(operations: [UserRequestOperation(type: .createTerm, payload: ["glossaryTerm": ["name": "x"]])])).value.allWorkflowRunIds[0]
            var query = WorkflowTaskQuery()
            query.viewMode = "received"
            let task = try #require(try await approver.listWorkflowTasks(query).all().first { $0.workflowRunId == runId })
            _ = try await approver.approve(taskId: task.id, comment: nil)
            #expect(calls(harness, "POST /approvals/{taskId}/approve") == 1)
            #expect(try await requestor.getWorkflowRun(runId).value.status == .completed)
        }
    }

    @Test func aThousandConcurrentCallsFetchOneToken() async throws {
        try await withEmulator { harness in
            let (client, tokens) = makeClient(harness)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<1000 {
                    group.addTask { _ = try await client.listWorkflows().all() }
                }
                try await group.waitForAll()
            }
            #expect(tokens.fetchCount == 1)
            #expect(calls(harness, "POST /token") == 1)
            #expect(calls(harness, "GET /workflows") == 1000)
        }
    }

    @Test func certificateAssertionIsVerifiedByTheEmulator() async throws {
        try await withEmulator { harness in
            let certificate = try X509Certificate(pem: TestKeys.assertion.certificatePEM)
            let key = try RSAPrivateKey(pemBytes: Array(TestKeys.assertion.privateKeyPEM.utf8))
            let (good, _) = makeClient(harness, principal: TestIds.certificateClient, credential: .certificate(certificate: certificate, key: key))
            #expect(try await good.listWorkflows().all().count >= 1)
            let strangerKey = try RSAPrivateKey(pemBytes: Array(TestKeys.stranger.privateKeyPEM.utf8))
            let (bad, _) = makeClient(harness, principal: TestIds.certificateClient, credential: .certificate(certificate: certificate, key: strangerKey))
            do {
                _ = try await bad.listWorkflows().all()
                Issue.record("an assertion signed with the wrong key was accepted")
            } catch let error as PurviewClientError {
                #expect(error.kind == .token && error.code == "invalid_client")
            }
        }
    }

    @Test func retryRulesAgainstInjectedFaults() async throws {
        try await withEmulator { harness in
            let (client, _) = makeClient(harness)
            _ = try await client.listWorkflows().all()
            // Reads retry 503s, honouring Retry-After.
            try addFault(harness, ["match": "GET /workflows", "status": 503, "retryAfter": 0, "count": 2])
            #expect(try await client.listWorkflows().all().count >= 1)
            #expect(calls(harness, "GET /workflows") == 4)
            // POST /userrequests retries a 429 (certainly not processed)...
            let payload = UserRequestPayload(operations: [UserRequestOperation(type: .createTerm, payload: ["glossaryTerm": ["name": "r"]])])
            try addFault(harness, ["match": "POST /userrequests", "status": 429, "retryAfter": 0, "count": 1])
            _ = try await client.submitUserRequest(payload)
            #expect(calls(harness, "POST /userrequests") == 2)
            // ...but never a 500: the caller gets an ambiguous error after one attempt.
            try addFault(harness, ["match": "POST /userrequests", "status": 500, "count": 1])
            do {
                _ = try await client.submitUserRequest(payload)
                Issue.record("a 500 was not reported")
            } catch let error as PurviewClientError {
                #expect(error.kind == .ambiguous && !error.certainlyNotProcessed)
            }
            #expect(calls(harness, "POST /userrequests") == 3)
            // A dropped connection is ambiguous too.
            try addFault(harness, ["match": "POST /userrequests", "drop": true, "count": 1])
            await #expect(throws: PurviewClientError.self) { try await client.submitUserRequest(payload) }
            #expect(calls(harness, "POST /userrequests") == 4)
            #expect(harness.service.statsJSON["duplicateUserRequests"] == [])
        }
    }

    @Test func unauthorizedAnswerRefreshesTheTokenAndRetriesOnce() async throws {
        try await withEmulator { harness in
            let (client, tokens) = makeClient(harness)
            _ = try await client.listWorkflows().all()
            try addFault(harness, ["match": "GET /workflows", "status": 401, "count": 1])
            #expect(try await client.listWorkflows().all().count >= 1)
            #expect(tokens.fetchCount == 2)
            try addFault(harness, ["match": "GET /workflows", "status": 401, "count": 2])
            do {
                _ = try await client.listWorkflows().all()
                Issue.record("two 401s in a row were not reported")
            } catch let error as PurviewClientError {
                #expect(error.status == 401)
            }
        }
    }

    @Test func tokenEndpointDownWhileTheOldTokenIsValid() async throws {
        // Tokens live 24 s: refreshed from 12 s on; served while valid even when refreshing fails.
        try await withEmulator(config: serviceTestConfig(tokenLifetimeSeconds: 24)) { harness in
            let clock = ManualTestClock()
            let base = HTTPURL(harness.base)!
            let tokens = TokenCache(
                fetcher: ClientCredentialsFetcher(
                    endpoint: TokenEndpoint(authorityHost: base, tenantId: TestIds.tenant, clientId: TestIds.requestor.clientId),
                    credential: .secret(TestIds.requestor.secret!), transport: harness.client),
                clock: clock)
            let client = PurviewClient(configuration: PurviewClientConfiguration(endpoint: base), transport: harness.client, tokens: tokens)
            _ = try await client.listWorkflows().all()
            try addFault(harness, ["match": "POST /token", "status": 503, "seconds": 60])
            clock.advance(by: .seconds(13))
            for _ in 0..<5 { _ = try await client.listWorkflows().all() }
            try await Task.sleep(for: .milliseconds(200))
            #expect(tokens.fetchCount >= 2)
            #expect(calls(harness, "GET /workflows") == 6)
        }
    }
}

/// A clock the test moves by hand (for the token cache).
final class ManualTestClock: Clock, @unchecked Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }
    private let current = Mutex(Instant(offset: .zero))
    var now: Instant { current.withLock { $0 } }
    var minimumResolution: Duration { .nanoseconds(1) }
    func advance(by duration: Duration) { current.withLock { $0 = $0.advanced(by: duration) } }
    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        while now < deadline { try await Task.sleep(for: .milliseconds(1)) }
    }
}
