import PurviewWorkflow
import Testing

@testable import PurviewEmulator

private let createWorkflow = "00000000-0000-0000-0000-0000000000c1"
private let deleteWorkflow = "00000000-0000-0000-0000-0000000000d1"

/// Three runs a day apart:
/// day 0: alice's CreateTerm (approver bob) -> later approved (Completed);
/// day 1: requestor's DeleteTerm (approver alice) -> InProgress;
/// day 2: requestor's CreateTerm (approver bob) -> canceled.
private struct Scenario {
    var engine = makeEngine()
    var runs: [String] = []
    var tasks: [String] = []

    init() throws {
        try engine.put(
            approvalWorkflow(assignedTo: [.string(People.bob)], name: "Create glossary term"), id: createWorkflow)
        try engine.put(
            approvalWorkflow(
                assignedTo: [.string(People.alice)], trigger: ["type": "when_term_deletion_is_requested"],
                name: "Delete glossary term"),
            id: deleteWorkflow)
        try add(createTermRequest(name: "first"), as: People.alice)
        engine.advance(seconds: 86_400)
        try add(
            ["operations": [["type": "DeleteTerm", "payload": ["glossaryTerm": ["name": "second"]]]]],
            as: People.requestor)
        engine.advance(seconds: 86_400)
        try add(createTermRequest(name: "third"), as: People.requestor)
        try engine.approveApprovalTask(id: tasks[0], body: nil, caller: People.bob)
        try engine.cancelWorkflowRun(id: runs[2], body: nil, caller: People.requestor)
    }

    mutating func add(_ request: JSONValue, as caller: String) throws {
        let (_, runId) = try engine.submit(request, as: caller)
        let run = try #require(runId)
        runs.append(run)
        tasks.append(try #require(engine.taskId(run: run)))
    }

    mutating func runIds(_ items: [(name: String, value: String)], as caller: String = People.admin) throws -> [String]
    {
        try engine.listWorkflowRuns(WorkflowRunListQuery(queryItems: items), caller: caller).value.compactMap {
            $0["id"]?.stringValue
        }
    }

    mutating func taskIds(_ items: [(name: String, value: String)], as caller: String) throws -> [String] {
        try engine.listWorkflowTasks(WorkflowTaskListQuery(queryItems: items), caller: caller).value.compactMap {
            $0["id"]?.stringValue
        }
    }
}

@Suite struct RunListing {
    @Test func administratorsSeeEveryRunNewestFirst() throws {
        var scenario = try Scenario()
        #expect(try scenario.runIds([]) == scenario.runs.reversed())
        #expect(try scenario.runIds([("viewMode", "admin")]) == scenario.runs.reversed())
        #expect(try scenario.runIds([("viewMode", "mine")]).isEmpty)
    }

    @Test func othersSeeTheirOwnRuns() throws {
        var scenario = try Scenario()
        #expect(try scenario.runIds([], as: People.requestor) == [scenario.runs[2], scenario.runs[1]])
        #expect(try scenario.runIds([("viewMode", "mine")], as: People.alice) == [scenario.runs[0]])
        let error = emulatorError { _ = try scenario.runIds([("viewMode", "admin")], as: People.alice) }
        #expect(error?.statusCode == 403)
        #expect(error?.target == "viewMode")
    }

    @Test func filters() throws {
        var scenario = try Scenario()
        let runs = scenario.runs
        #expect(try scenario.runIds([("runStatuses", "InProgress,Canceled")]) == [runs[2], runs[1]])
        #expect(
            try scenario.runIds([("runStatuses", "Completed"), ("runStatuses", "Cancelled")]) == [runs[2], runs[0]])
        #expect(try scenario.runIds([("workflowIds", deleteWorkflow)]) == [runs[1]])
        #expect(try scenario.runIds([("requestors", People.alice.uppercased())]) == [runs[0]])
        #expect(try scenario.runIds([("timeWindow", "1d")]) == [runs[2], runs[1]])
        #expect(try scenario.runIds([("timeWindow", "7d"), ("requestors", People.requestor)]) == [runs[2], runs[1]])
    }

    @Test func ordering() throws {
        var scenario = try Scenario()
        let runs = scenario.runs
        #expect(try scenario.runIds([("orderby", "startTime asc")]) == runs)
        #expect(try scenario.runIds([("orderby", "startTime")]) == runs)
        #expect(try scenario.runIds([("orderby", "status asc")]) == [runs[2], runs[0], runs[1]])
        #expect(try scenario.runIds([("orderby", "status desc")]) == [runs[1], runs[0], runs[2]])
        // Same requestor: ties keep creation order (reversed when descending).
        #expect(try scenario.runIds([("orderby", "requestor asc")]) == [runs[1], runs[2], runs[0]])
        #expect(try scenario.runIds([("orderby", "requestor desc")]) == [runs[0], runs[2], runs[1]])
    }

    @Test func paging() throws {
        var scenario = try Scenario()
        let first = try scenario.engine.listWorkflowRuns(
            WorkflowRunListQuery(queryItems: [("maxpagesize", "2"), ("orderby", "startTime asc")]), caller: People.admin
        )
        #expect(first.value.compactMap { $0["id"]?.stringValue } == Array(scenario.runs[0..<2]))
        let token = try #require(first.continuationToken)
        let second = try scenario.engine.listWorkflowRuns(
            WorkflowRunListQuery(
                queryItems: [("maxpagesize", "2"), ("orderby", "startTime asc"), ("continuationToken", token)]),
            caller: People.admin)
        #expect(second.value.compactMap { $0["id"]?.stringValue } == [scenario.runs[2]])
        #expect(second.continuationToken == nil)
        let everything = try scenario.engine.listWorkflowRuns(
            WorkflowRunListQuery(queryItems: [("maxpagesize", String(Int.max))]), caller: People.admin)
        #expect(everything.value.count == 3)
        #expect(everything.continuationToken == nil)
        let bad = emulatorError {
            _ = try scenario.engine.listWorkflowRuns(
                WorkflowRunListQuery(queryItems: [("continuationToken", "x")]), caller: People.admin)
        }
        #expect(bad?.target == "continuationToken")
    }

    @Test func listFormOmitsThePayloadAndKeepsTheRequestId() throws {
        var scenario = try Scenario()
        let listed = try scenario.engine.listWorkflowRuns(
            WorkflowRunListQuery(queryItems: [("orderby", "startTime asc")]), caller: People.admin
        ).value
        let first = listed[0]
        #expect(
            first.objectValue?.keys == [
                "id", "workflowId", "startTime", "requestor", "userRequestId", "runPayload", "status", "endTime",
            ])
        #expect(first["runPayload"] == ["type": "CreateTerm", "targetValue": "first"])
        #expect(listed[2]["cancelTime"] != nil)
    }

    @Test(arguments: [
        ("viewMode", "everyone"), ("timeWindow", "2d"), ("orderby", "name asc"), ("orderby", "startTime up"),
        ("orderby", "startTime asc extra"), ("runStatuses", "Done"), ("maxpagesize", "0"), ("maxpagesize", "many"),
    ])
    func invalidParametersAreBadRequests(_ name: String, _ value: String) {
        #expect {
            _ = try WorkflowRunListQuery(queryItems: [(name, value)])
        } throws: { error in
            (error as? EmulatorError)?.statusCode == 400 && (error as? EmulatorError)?.target == name
        }
    }

    @Test func queryParsing() throws {
        let query = try WorkflowRunListQuery(queryItems: [
            ("api-version", "2023-10-01-preview"), ("ViewMode", "Mine"), ("orderby", "status DESC"),
            ("runStatuses", "inprogress, Failed"), ("workflowIds", "a,b"), ("requestors", "r"), ("maxpagesize", "1000"),
            ("timeWindow", "30d"),
        ])
        #expect(query.viewMode == .mine)
        #expect(query.orderBy == .status)
        #expect(query.descending)
        #expect(query.runStatuses == ["InProgress", "Failed"])
        #expect(query.workflowIds == ["a", "b"])
        #expect(query.requestors == ["r"])
        #expect(query.maxPageSize == 1000)
        #expect(query.timeWindow == .thirtyDays)
        let defaults = try WorkflowRunListQuery(queryItems: [])
        #expect(defaults == WorkflowRunListQuery())
        #expect(defaults.orderBy == .startTime && defaults.descending)
    }
}

@Suite struct TaskListing {
    @Test func viewModes() throws {
        var scenario = try Scenario()
        let tasks = scenario.tasks
        // Bob approves tasks 0 and 2; Alice approves task 1 and requested task 0.
        #expect(try scenario.taskIds([], as: People.bob) == [tasks[2], tasks[0]])
        #expect(try scenario.taskIds([("viewMode", "mine")], as: People.alice) == [tasks[1], tasks[0]])
        #expect(try scenario.taskIds([("viewMode", "sent")], as: People.alice) == [tasks[0]])
        #expect(try scenario.taskIds([("viewMode", "received")], as: People.alice) == [tasks[1]])
        #expect(try scenario.taskIds([("viewMode", "history")], as: People.alice) == [tasks[0]])
        #expect(try scenario.taskIds([("viewMode", "sent")], as: People.requestor) == [tasks[2], tasks[1]])
        #expect(try scenario.taskIds([("viewMode", "history")], as: People.bob) == [tasks[2], tasks[0]])
        #expect(try scenario.taskIds([], as: People.stranger).isEmpty)
    }

    @Test func filters() throws {
        var scenario = try Scenario()
        let tasks = scenario.tasks
        let me = People.requestor
        #expect(try scenario.taskIds([("taskStatuses", "Pending")], as: me) == [tasks[1]])
        #expect(try scenario.taskIds([("taskStatuses", "Cancelled,Approved")], as: People.bob) == [tasks[2], tasks[0]])
        #expect(try scenario.taskIds([("taskTypes", "approval")], as: me) == [tasks[2], tasks[1]])
        #expect(try scenario.taskIds([("taskTypes", "simpleTask")], as: me).isEmpty)
        #expect(try scenario.taskIds([("assignees", People.alice)], as: me) == [tasks[1]])
        #expect(try scenario.taskIds([("requestors", People.alice)], as: People.bob) == [tasks[0]])
        #expect(try scenario.taskIds([("workflowIds", createWorkflow)], as: me) == [tasks[2]])
        #expect(try scenario.taskIds([("workflowNameKeyword", "DELETE")], as: me) == [tasks[1]])
        #expect(try scenario.taskIds([("timeWindow", "1d")], as: People.bob) == [tasks[2]])
    }

    @Test func orderingAndPaging() throws {
        var scenario = try Scenario()
        let tasks = scenario.tasks
        #expect(try scenario.taskIds([("orderby", "createdTime asc")], as: People.bob) == [tasks[0], tasks[2]])
        #expect(try scenario.taskIds([("orderby", "requestor asc")], as: People.bob) == [tasks[2], tasks[0]])
        #expect(try scenario.taskIds([("orderby", "requestor desc")], as: People.bob) == [tasks[0], tasks[2]])
        let page = try scenario.engine.listWorkflowTasks(
            WorkflowTaskListQuery(queryItems: [("maxpagesize", "1")]), caller: People.bob)
        #expect(page.value.count == 1)
        #expect(page.continuationToken == "1")
    }

    @Test func listFormOmitsTheInnerPayload() throws {
        var scenario = try Scenario()
        let listed = try scenario.engine.listWorkflowTasks(WorkflowTaskListQuery(), caller: People.alice).value
        #expect(listed[0]["payload"] == ["type": "DeleteTerm", "targetValue": "second"])
        let full = try scenario.engine.getWorkflowTask(id: scenario.tasks[1], caller: People.alice)
        #expect(full["payload"]?["payload"] == ["glossaryTerm": ["name": "second"]])
    }

    @Test(arguments: [
        ("viewMode", "admin"), ("taskTypes", "Survey"), ("taskStatuses", "Done"), ("orderby", "status asc"),
        ("timeWindow", "1w"),
    ])
    func invalidParametersAreBadRequests(_ name: String, _ value: String) {
        #expect {
            _ = try WorkflowTaskListQuery(queryItems: [(name, value)])
        } throws: { error in
            (error as? EmulatorError)?.statusCode == 400 && (error as? EmulatorError)?.target == name
        }
    }
}

/// Listing by creation time walks the task order and stops after the page; these pin it to what sorting every task
/// gives, including after the clock stepped back (when the walk no longer applies).
@Suite struct TaskListingByCreationTime {
    /// Every page of `items` (with `maxpagesize`), followed by its tokens.
    static func pages(_ engine: inout EmulatorEngine, _ items: [(name: String, value: String)], size: Int) throws
        -> [String]
    {
        var ids: [String] = []
        var token: String?
        var pages = 0
        repeat {
            var query = items + [("maxpagesize", String(size))]
            if let token { query.append(("continuationToken", token)) }
            let page = try engine.listWorkflowTasks(WorkflowTaskListQuery(queryItems: query), caller: People.requestor)
            #expect(page.value.count <= size)
            ids += page.value.compactMap { $0["id"]?.stringValue }
            token = page.continuationToken
            pages += 1
        } while token != nil && pages < 100
        return ids
    }

    static func engineWithTasks(clock: ManualClock, count: Int) throws -> (EmulatorEngine, [String]) {
        var engine = EmulatorEngine(
            configuration: makeEngine().configuration, clock: clock, ids: SequentialIDGenerator(startingAt: 5000))
        try engine.put(approvalWorkflow(assignedTo: [.string(People.bob)]), id: createWorkflow)
        var created: [String] = []
        for index in 0..<count {
            let (_, runId) = try engine.submit(createTermRequest(name: "term \(index)"))
            let run = try #require(runId)
            created.append(try #require(engine.taskId(run: run)))
            // Pairs share a creation time: ties fall back to creation order, as the sort's do.
            if index % 2 == 1 { clock.advance(seconds: 1) }
        }
        return (engine, created)
    }

    @Test func pagesMatchTheWholeListInBothDirections() throws {
        var (engine, created) = try Self.engineWithTasks(clock: ManualClock(), count: 7)
        #expect(engine.state.taskOrderIsChronological)
        for size in [1, 2, 3, 7, 50] {
            #expect(try Self.pages(&engine, [], size: size) == created.reversed())
            #expect(try Self.pages(&engine, [("orderby", "createdTime asc")], size: size) == created)
        }
        // Filters apply before the page is cut.
        try engine.approveApprovalTask(id: created[3], body: nil, caller: People.bob)
        let pending = created.enumerated().filter { $0.offset != 3 }.map(\.element)
        #expect(try Self.pages(&engine, [("taskStatuses", "Pending")], size: 2) == pending.reversed())
        // The last page's offset gives an empty page; past it is refused.
        let end = try engine.listWorkflowTasks(
            WorkflowTaskListQuery(queryItems: [("continuationToken", "7")]), caller: People.requestor)
        #expect(end.value.isEmpty && end.continuationToken == nil)
        let error = emulatorError {
            _ = try engine.listWorkflowTasks(
                WorkflowTaskListQuery(queryItems: [("continuationToken", "8")]), caller: People.requestor)
        }
        #expect(error?.target == "continuationToken")
    }

    @Test func aClockThatSteppedBackStillListsByCreationTime() throws {
        let clock = ManualClock()
        var (engine, created) = try Self.engineWithTasks(clock: clock, count: 4)
        clock.advance(seconds: -60)
        let (_, runId) = try engine.submit(createTermRequest(name: "from the past"))
        let run = try #require(runId)
        let early = try #require(engine.taskId(run: run))
        #expect(!engine.state.taskOrderIsChronological)
        #expect(try Self.pages(&engine, [("orderby", "createdTime asc")], size: 2) == [early] + created)
        #expect(try Self.pages(&engine, [], size: 3) == created.reversed() + [early])
    }
}
