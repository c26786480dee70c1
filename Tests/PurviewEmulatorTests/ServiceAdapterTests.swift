import Foundation
import PurviewWorkflow
import Testing

@testable import PurviewEmulator

/// `EmulatorPurviewAPI`: the emulator in process, as the gateway's router-level tests use it.
struct ServiceAdapterTests {
    typealias Demo = EmulatorConfig.Demo

    static func termRequest(_ name: String) -> UserRequestPayload {
        UserRequestPayload(operations: [
            UserRequestOperation(
                type: .createTerm,
                payload: [
                    "glossaryTerm": ["name": .string(name), "anchor": ["glossaryGuid": .string(TestIds.glossaryGuid)]]
                ])
        ])
    }

    @Test func aFullApprovalLifecycleOnTheDemoConfig() async throws {
        let service = EmulatorService(config: .demo())
        let gateway = try #require(EmulatorPurviewAPI(service: service, clientId: Demo.gatewayClientId))
        let ada = gateway.acting(as: Demo.approverObjectId)

        let submitted = try await gateway.submitUserRequest(
            Self.termRequest("Revenue"), options: PurviewCallOptions(clientRequestId: "gw-1"))
        #expect(submitted.status == 200)
        #expect(submitted.clientRequestId == "gw-1")
        #expect(submitted.serviceRequestId != nil)
        #expect(submitted.value.status == .inProgress)
        #expect(submitted.value.requestor == Demo.gatewayObjectId)
        let runId = try #require(submitted.value.allWorkflowRunIds.first)
        #expect(submitted.value.allWorkflowRunIds.count == 1)

        let run = try await gateway.getWorkflowRun(runId, options: PurviewCallOptions()).value
        #expect(run.status == .inProgress)
        #expect(run.workflowId == Demo.termCreationWorkflowId)

        var received = WorkflowTaskQuery()
        received.viewMode = "received"
        let tasks = try await ada.listWorkflowTasks(received, options: PurviewCallOptions()).all()
        let task = try #require(tasks.first)
        #expect(tasks.count == 1)
        #expect(task.workflowRunId == runId)
        #expect(try await gateway.listWorkflowTasks(received, options: PurviewCallOptions()).all().isEmpty)

        // Only an approver may decide.
        await #expect(throws: PurviewClientError.self) {
            _ = try await gateway.approve(taskId: task.id, comment: nil)
        }
        let approved = try await ada.approve(taskId: task.id, comment: "looks right")
        #expect(approved.status == 200)
        let finished = try await gateway.getWorkflowRun(runId, options: PurviewCallOptions()).value
        #expect(finished.status == .completed)
        let fetched = try await ada.getWorkflowTask(task.id).value
        #expect(fetched.approvalDetail?.status == TaskStatus(rawValue: "Approved"))
        let effects = service.effectsJSON["value"]?.arrayValue ?? []
        #expect(effects.map { $0["type"] } == ["CreateTerm"])

        // A rejected data access request: nothing granted, the requestor is told.
        let access = try await gateway.submitUserRequest(
            UserRequestPayload(operations: [
                UserRequestOperation(type: .grantDataAccess, payload: ["asset": ["name": "orders"]])
            ]), options: PurviewCallOptions())
        let accessRun = try #require(access.value.allWorkflowRunIds.first)
        let accessTask = try #require(
            try await ada.listWorkflowTasks(received, options: PurviewCallOptions()).all().first)
        _ = try await ada.reject(taskId: accessTask.id, comment: "no")
        #expect(try await gateway.getWorkflowRun(accessRun, options: PurviewCallOptions()).value.status == .completed)
        #expect(service.effectsJSON["value"]?.arrayValue?.count == 1)
        #expect(service.emailsJSON["value"]?.arrayValue?.first?["recipients"] == [.string(Demo.gatewayObjectId)])

        // Lists page through the adapter's own nextLinks.
        var query = WorkflowRunQuery()
        query.maxPageSize = 1
        var pages = 0
        var ids: [String] = []
        for try await page in gateway.listWorkflowRuns(query, options: PurviewCallOptions()) {
            pages += 1
            ids += page.value.map(\.id)
        }
        #expect(pages == 2)
        #expect(Set(ids) == [runId, accessRun])
        #expect(service.statsJSON["calls"]?["POST /userrequests"] == 2)
    }

    @Test func faultsAndErrorsReachTheAdapter() async throws {
        let service = EmulatorService(config: .demo())
        let gateway = EmulatorPurviewAPI(service: service, objectId: Demo.gatewayObjectId)
        service.addFaults([EmulatorFault(match: "POST /userrequests", status: 503, retryAfter: 2, count: 1)])
        let refused = try #require(
            await #expect(throws: PurviewClientError.self) {
                _ = try await gateway.submitUserRequest(Self.termRequest("A"), options: PurviewCallOptions())
            })
        #expect(refused.kind == .service)
        #expect(refused.status == 503)
        #expect(refused.retryAfter == .seconds(2))
        #expect(refused.certainlyNotProcessed)

        service.addFaults([EmulatorFault(match: "POST /userrequests", count: 1, drop: true, processFirst: true)])
        let lost = try #require(
            await #expect(throws: PurviewClientError.self) {
                _ = try await gateway.submitUserRequest(
                    Self.termRequest("A"), options: PurviewCallOptions(clientRequestId: "gw-lost"))
            })
        #expect(lost.kind == .ambiguous)
        #expect(!lost.certainlyNotProcessed)
        // It was carried out: the run is there, and a resend shows as a duplicate.
        #expect(try await gateway.listWorkflowRuns(WorkflowRunQuery(), options: PurviewCallOptions()).all().count == 1)
        _ = try await gateway.submitUserRequest(
            Self.termRequest("A"), options: PurviewCallOptions(clientRequestId: "gw-lost"))
        #expect(service.statsJSON["duplicateUserRequests"]?[0]?["clientRequestId"] == "gw-lost")

        let missing = try #require(
            await #expect(throws: PurviewClientError.self) {
                _ = try await gateway.getWorkflowRun(
                    "0e000000-0000-4000-8000-000000000001", options: PurviewCallOptions())
            })
        #expect(missing.status == 404)
        #expect(missing.code == "Workflow.WorkflowRunNotFound")
        #expect(missing.serviceError?.code == "Workflow.WorkflowRunNotFound")
        let malformed = try #require(
            await #expect(throws: PurviewClientError.self) {
                _ = try await gateway.cancelWorkflowRun("run-1", comment: nil, options: PurviewCallOptions())
            })
        #expect(malformed.status == 400)
        #expect(malformed.serviceError?.target == "workflowRunId")
    }
}
