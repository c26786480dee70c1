import FoundationEssentials
import Observability
import PurviewWorkflow
import Synchronization
import Testing

@testable import GatewayCore

/// One poll round lists a workflow's tasks once, however many of its runs it refreshes.
@Suite struct PollerListingShareTests {
    let purview = FakePurview()
    let store = InMemoryRequestStore()

    @Test func aPollRoundListsEachWorkflowsTasksOnce() async throws {
        let service = GatewayService(store: store, purview: purview, logger: .disabled())
        let runIds = try await PollerTaskDiscoveryTests(purview: purview, store: store).forward(service, count: 5)
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

/// Later rounds list only tasks that are new and read the ones they know by id.
@Suite struct PollerTaskDiscoveryTests {
    var purview = FakePurview()
    var store = InMemoryRequestStore()
    let clock = TestTime()

    init() {}

    init(purview: FakePurview, store: InMemoryRequestStore) {
        self.purview = purview
        self.store = store
    }

    func service(pageSize: Int = 2, fullListingInterval: Duration = .seconds(600)) -> GatewayService {
        var poller = PollerConfiguration()
        poller.interval = .zero
        poller.jitter = 0
        poller.taskDiscovery.pageSize = pageSize
        poller.taskDiscovery.fullListingInterval = fullListingInterval
        let clock = self.clock
        return GatewayService(store: store, purview: purview, poller: poller, logger: .disabled(), now: { clock.now })
    }

    func advance(_ seconds: Double) { clock.advance(seconds) }

    /// Submits and forwards `count` term requests; returns request id → run id.
    func forward(_ service: GatewayService, count: Int, from first: Int = 0) async throws -> [String: String] {
        var ids: [String] = []
        for index in first..<(first + count) {
            let body: JSONValue = [
                "glossaryId": "20031e20-b4df-4a66-a61d-1b0716f3fa48", "name": .string("Term \(index)"),
                "definition": "d", "requestedBy": "ada@contoso.com",
            ]
            let result = try await service.submit(
                kind: .termCreation, body: body, clientName: "portal", idempotencyKey: nil, wait: .zero)
            guard case .created(let request, _) = result else {
                Issue.record("not created")
                return [:]
            }
            ids.append(request.id)
        }
        await service.forwarder.drain()
        var runs: [String: String] = [:]
        for id in ids { runs[id] = try #require(try await store.get(id: id)?.workflowRunIds.first) }
        return runs
    }

    /// Pending approvals for `runs`, the newest created `age` seconds ago by Purview's clock and each earlier one
    /// ten seconds before the next.
    func pendingApprovals(_ runs: [String: String], age: Double) {
        for runId in runs.values.sorted() {
            purview.settle(
                run: runId, status: .inProgress, approval: "Pending",
                approvers: ["approver-\(runId.prefix(4))": "Pending"])
        }
        purview.state.withLock { state in
            let indices = state.tasks.indices.filter { runs.values.contains(state.tasks[$0].workflowRunId ?? "") }
            for (position, index) in indices.enumerated() {
                let seconds = age + Double(indices.count - 1 - position) * 10
                state.tasks[index].createdTime = PurviewTimestamp(Date().addingTimeInterval(-seconds))
            }
        }
    }

    func counters() -> (pages: Int, reads: Int) { purview.state.withLock { ($0.taskListings, $0.taskReads) } }

    @Test func aLaterRoundListsOnlyNewTasksAndReadsKnownOnesById() async throws {
        let service = service()
        let old = try await forward(service, count: 9)
        pendingApprovals(old, age: 3600)
        await service.poller.pollDue()
        // The first round reads the whole list: 9 tasks in pages of 2.
        #expect(counters().pages == 5)
        for (id, runId) in old {
            let run = try #require(try await store.get(id: id)?.runs.first)
            let task = try #require(purview.state.withLock { $0.tasks.first { $0.workflowRunId == runId } })
            #expect(run.approvalTaskIds == [task.id])
            #expect(run.approvals == [.pending] && run.pendingApprovers == ["approver-\(runId.prefix(4))"])
        }

        // Three new requests; one old approval is decided meanwhile.
        let new = try await forward(service, count: 3, from: 9)
        pendingApprovals(new, age: 0)
        let (decidedId, decidedRun) = try #require(old.first)
        purview.settle(
            run: decidedRun, status: .completed, approval: "Approved",
            approvers: ["approver-\(decidedRun.prefix(4))": "Approved"])
        let before = counters()
        advance(1)
        await service.poller.pollDue()
        let after = counters()
        // Newest first, stopping at the first page that reaches back past the newest task already seen (less the
        // 2 s overlap): [new, new], [new, old], [old, old] of the 6 pages.
        #expect(after.pages - before.pages == 3)
        // Every pending task is read by id, old or new.
        #expect(after.reads - before.reads == 12)
        for (id, runId) in new {
            let run = try #require(try await store.get(id: id)?.runs.first)
            #expect(run.approvals == [.pending] && run.approvalTaskIds.count == 1)
            #expect(run.pendingApprovers == ["approver-\(runId.prefix(4))"])
        }
        let decided = try #require(try await store.get(id: decidedId))
        #expect(decided.runs.first?.approvals == [.approved] && decided.runs.first?.pendingApprovers == [])
        #expect(decided.outcome == .approved)

        // A decided approval of a finished run is neither listed for nor read again.
        let last = counters()
        advance(1)
        await service.poller.pollDue()
        #expect(counters().reads - last.reads == 11)
    }

    @Test func aTaskThatAppearsLaterInARunIsAddedAfterTheDecidedOne() async throws {
        let service = service()
        let runs = try await forward(service, count: 1)
        let (id, runId) = try #require(runs.first)
        pendingApprovals(runs, age: 60)
        await service.poller.pollDue()
        purview.settle(run: runId, status: .inProgress, approval: "Approved", approvers: ["first": "Approved"])
        // A second approval step starts in the same run.
        purview.startSecondStep(run: runId)
        advance(1)
        await service.poller.pollDue()
        let run = try #require(try await store.get(id: id)?.runs.first)
        #expect(run.approvals == [.approved, .pending])
        #expect(run.approvalTaskIds.last == "second-step" && run.approvalTaskIds.count == 2)
        #expect(run.pendingApprovers == ["second"])
    }

    @Test func openApprovalsAreListedWholeOnceTheIntervalHasPassed() async throws {
        let service = service(fullListingInterval: .seconds(60))
        let runs = try await forward(service, count: 3)
        pendingApprovals(runs, age: 3600)
        await service.poller.pollDue()
        #expect(purview.state.withLock { $0.taskQueries.last?.taskStatuses } == [])
        advance(30)
        await service.poller.pollDue()
        #expect(purview.state.withLock { $0.taskQueries.last?.taskStatuses } == [])
        let before = counters().pages
        advance(31)
        await service.poller.pollDue()
        let pages = counters().pages - before
        let queries = purview.state.withLock { Array($0.taskQueries.suffix(pages)) }
        // Every page of the pending ones, not stopping at the tasks already seen.
        #expect(queries.count == 2 && queries.allSatisfy { $0.taskStatuses == ["Pending"] })
        #expect(
            queries.allSatisfy {
                $0.orderBy == "createdTime desc" && $0.taskTypes == ["approval"] && $0.viewMode == "sent"
            })
    }
}

/// The gateway's clock, moved by hand.
final class TestTime: Sendable {
    private let current = Mutex(Date())
    var now: Date { current.withLock { $0 } }
    func advance(_ seconds: Double) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// With the run's detail, a listing is made only when some run started an action since the tasks already listed.
@Suite struct PollerListsOnlyForRecentActivityTests {
    let purview = FakePurview()
    let store = InMemoryRequestStore()

    @Test func oldRunsAreRefreshedWithoutListingAndANewStepListsAgain() async throws {
        let setup = PollerTaskDiscoveryTests(purview: purview, store: store)
        let service = setup.service()
        let runs = try await setup.forward(service, count: 4)
        setup.pendingApprovals(runs, age: 60)
        func started(_ runId: String, secondsAgo: Double, action: String) {
            purview.state.withLock { state in
                var detail = state.runs[runId]?.detail ?? WorkflowRunDetail()
                detail.actions[action] = ActionRecord(
                    startTime: PurviewTimestamp(Date().addingTimeInterval(-secondsAgo)))
                state.runs[runId]?.detail = detail
            }
        }
        for runId in runs.values { started(runId, secondsAgo: 3600, action: "Start and wait for an approval") }
        await service.poller.pollDue()
        // The first round lists everything (it knows nothing yet).
        let first = setup.counters()
        #expect(first.pages == 2)

        setup.advance(1)
        await service.poller.pollDue()
        let second = setup.counters()
        #expect(second.pages == first.pages)
        #expect(second.reads - first.reads == 4)
        for id in runs.keys { #expect(try await store.get(id: id)?.runs.first?.pendingApprovers.count == 1) }

        // One run starts a second approval step: the next round lists, newest first, until a page reaches past the
        // newest task already seen less the overlap ([new, newest old], [older, older]), and finds it.
        let (id, runId) = try #require(runs.first)
        started(runId, secondsAgo: 0, action: "Second approval")
        purview.startSecondStep(run: runId)
        setup.advance(1)
        await service.poller.pollDue()
        #expect(setup.counters().pages - second.pages == 2)
        let run = try #require(try await store.get(id: id)?.runs.first)
        #expect(run.approvalTaskIds.last == "second-step" && run.approvals == [.pending, .pending])
    }
}

/// What the discovery remembers stays bounded: past its capacity the oldest runs are forgotten, and runs whose
/// tasks were stored leave no trace.
@Suite struct TaskDiscoveryMemoryTests {
    let purview = FakePurview()

    func addTasks(_ count: Int, prefix: String) {
        purview.state.withLock { state in
            for index in 0..<count {
                state.tasks.append(
                    WorkflowTask(
                        type: .approval, id: "\(prefix)-task-\(index)", workflowRunId: "\(prefix)-run-\(index)",
                        workflowId: purview.workflowId,
                        createdTime: PurviewTimestamp(Date().addingTimeInterval(Double(index) / 1000))))
            }
        }
    }

    @Test func pastItsCapacityTheOldestRunsAreForgotten() async throws {
        var settings = TaskDiscoverySettings()
        settings.capacity = 3
        let discovery = TaskDiscovery(purview: purview, settings: settings, now: { Date() })
        addTasks(5, prefix: "a")
        try await discovery.discover(
            workflowId: purview.workflowId, lastActivity: nil, generation: discovery.nextGeneration(),
            clientRequestId: "c")
        let found = (0..<5).map { discovery.tasks(runId: "a-run-\($0)", workflowId: purview.workflowId) }
        #expect(found == [[], [], ["a-task-2"], ["a-task-3"], ["a-task-4"]])
        #expect(discovery.bookkeeping(workflowId: purview.workflowId).remembered == 3)
    }

    @Test func storedRunsLeaveNoTrace() async throws {
        let discovery = TaskDiscovery(purview: purview, settings: TaskDiscoverySettings(), now: { Date() })
        for round in 0..<4 {
            addTasks(3000, prefix: "r\(round)")
            try await discovery.discover(
                workflowId: purview.workflowId, lastActivity: nil, generation: discovery.nextGeneration(),
                clientRequestId: "c")
            for index in 0..<3000 {
                let runId = "r\(round)-run-\(index)"
                #expect(discovery.tasks(runId: runId, workflowId: purview.workflowId) == ["r\(round)-task-\(index)"])
                discovery.stored(runId: runId, workflowId: purview.workflowId, taskIds: ["r\(round)-task-\(index)"])
            }
        }
        let kept = discovery.bookkeeping(workflowId: purview.workflowId)
        #expect(kept.remembered == 0)
        #expect(kept.arrival <= 4096 + 3000)
    }
}

extension FakePurview {
    /// A second approval step (task `second-step`, approver `second`) starts in `run` now.
    func startSecondStep(run runId: String) {
        state.withLock { state in
            state.tasks.append(
                WorkflowTask(
                    type: .approval, id: "second-step", workflowRunId: runId, workflowId: workflowId,
                    createdTime: PurviewTimestamp(Date()),
                    approvalDetail: ApprovalDetail(
                        approvalType: .pendingOnAny, status: TaskStatus(rawValue: "Pending"),
                        approvers: ["second": ApproverResponse(reply: ApprovalReply(rawValue: "Pending"))])))
        }
    }
}
