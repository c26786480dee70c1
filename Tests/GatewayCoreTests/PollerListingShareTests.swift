import FoundationEssentials
import Observability
import PurviewWorkflow
import Testing

@testable import GatewayCore

/// One poll round lists a workflow's tasks once, however many of its runs it refreshes.
@Suite struct PollerListingShareTests {
    let purview = FakePurview()
    let store = InMemoryRequestStore()

    @Test func aPollRoundListsEachWorkflowsTasksOnce() async throws {
        let service = GatewayService(store: store, purview: purview, logger: .disabled())
        var runIds: [String: String] = [:]
        for index in 0..<5 {
            let body: JSONValue = [
                "glossaryId": "20031e20-b4df-4a66-a61d-1b0716f3fa48", "name": .string("Term \(index)"),
                "definition": "d", "requestedBy": "ada@contoso.com",
            ]
            let result = try await service.submit(
                kind: .termCreation, body: body, clientName: "portal", idempotencyKey: nil, wait: .zero)
            guard case .created(let request, _) = result else {
                Issue.record("not created")
                return
            }
            runIds[request.id] = ""
        }
        await service.forwarder.drain()
        for id in runIds.keys {
            let sent = try #require(try await store.get(id: id))
            let runId = try #require(sent.workflowRunIds.first)
            runIds[id] = runId
        }
        for (index, runId) in runIds.values.enumerated() {
            purview.settle(run: runId, status: .inProgress, approval: "Pending", approvers: ["u\(index)": "Pending"])
        }
        let listingsBefore = purview.state.withLock { $0.taskListings }
        await service.poller.pollDue()
        #expect(purview.state.withLock { $0.taskListings } - listingsBefore == 1)
        for (id, runId) in runIds {
            let request = try #require(try await store.get(id: id))
            #expect(request.polledAt != nil)
            #expect(request.runs.map(\.runId) == [runId])
            // Each run kept its own approver though the listing was shared.
            let expected = purview.state.withLock { state in
                state.tasks.first { $0.workflowRunId == runId }?.approvalDetail?.approvers.keys.sorted() ?? []
            }
            #expect(request.runs[0].pendingApprovers == expected && expected.count == 1)
            #expect(request.status == .inProgress)
        }
        // Another round lists again (fresh state), and a single refresh lists for itself.
        let anyId = try #require(runIds.keys.first)
        _ = try await service.request(id: anyId, refresh: true)
        #expect(purview.state.withLock { $0.taskListings } - listingsBefore == 2)
    }
}
