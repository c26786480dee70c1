import PurviewWorkflow
import Testing

@testable import PurviewEmulator

/// The recorded approver: the only assignee of the service's example workflows.
private let recordedApprover = "eece94d9-0619-4669-bb8a-d6ecec5220bc"
private let workflowId = "4afb5752-e47f-43a1-8ba7-c696bf8d2745"

/// Sets the server-made fields of a recorded workflow to what this engine produced.
private func withServerFields(_ recorded: JSONValue, like produced: JSONValue) -> JSONValue {
    var object = recorded.objectValue!
    for key in ["id", "createdTime", "createdBy", "lastUpdateTime", "updatedBy"] { object[key] = produced[key] }
    return .object(object)
}

private func withoutRuntimeConfiguration(_ value: JSONValue) -> JSONValue {
    switch value {
    case .object(let object):
        var result = JSONObject()
        for (key, item) in object where key != "runtimeConfiguration" {
            result[key] = withoutRuntimeConfiguration(item)
        }
        return .object(result)
    case .array(let items):
        return .array(items.map(withoutRuntimeConfiguration))
    default:
        return value
    }
}

@Suite struct RecordedShapes {
    @Test func putEchoMatchesTheLiveService() throws {
        var engine = makeEngine()
        let echo = try engine.createOrReplaceWorkflow(
            id: workflowId, body: json(Fixtures.javaPutRequest), caller: People.admin)
        #expect(echo == withServerFields(json(Fixtures.javaPutResponse), like: echo))
        #expect(
            echo.objectValue?.keys == [
                "id", "type", "triggers", "createdTime", "createdBy", "lastUpdateTime", "updatedBy", "name",
                "isEnabled",
                "description", "actionDag",
            ])
    }

    @Test func getRewritesLegacyExpressionsLikeTheLiveService() throws {
        var engine = makeEngine()
        try engine.put(json(Fixtures.javaPutRequest), id: workflowId)
        let got = try engine.getWorkflow(id: workflowId, caller: People.admin)
        #expect(got == withServerFields(json(Fixtures.javaGetResponse), like: got))
    }

    @Test func specExampleWorkflowsAreAccepted() throws {
        var engine = makeEngine()
        let echo = try engine.createOrReplaceWorkflow(
            id: workflowId, body: json(Fixtures.createWorkflowCommand2023), caller: People.admin)
        // The January 2023 example predates `type` and the aggregateEmails default.
        var expected = withServerFields(json(Fixtures.createWorkflowResponse2023), like: echo).objectValue!
        expected["type"] = "UserManaged"
        #expect(withoutRuntimeConfiguration(echo) == withoutRuntimeConfiguration(.object(expected)))
        let listed = engine.listWorkflows(caller: People.admin).value
        // The recorded order (Foundation's parser used here does not keep it).
        #expect(
            listed[0].objectValue?.keys == [
                "id", "type", "triggers", "createdTime", "createdBy", "lastUpdateTime", "updatedBy", "name",
                "isEnabled",
                "description",
            ])
        let recordedItem = json(Fixtures.pythonListWorkflowsResponse2023)["value"]![0]!.objectValue!.keys
        #expect(listed[0].objectValue?.keys.sorted() == recordedItem.sorted())
    }

    @Test func liveTriggerShapesAreAccepted() throws {
        var engine = makeEngine(accountName: "test-create-account")
        let live = json(Fixtures.pythonListWorkflowsResponse2023)["value"]!.arrayValue!
        for (index, item) in live.enumerated() {
            var definition = approvalWorkflow().objectValue!
            definition["triggers"] = item["triggers"]
            try engine.put(.object(definition), id: "00000000-0000-0000-0000-00000000000\(index)")
        }
        // The data access workflow's root collection scope matches any GrantDataAccess.
        let (response, _) = try engine.submit([
            "operations": [["type": "GrantDataAccess", "payload": ["asset": ["name": "orders"]]]]
        ])
        #expect(response["workflowRunIds"]?.arrayValue?.count == 1)
    }

    @Test func submitAnswerMatchesTheLiveService() throws {
        var engine = makeEngine()
        try engine.put(json(Fixtures.javaPutRequest), id: workflowId)
        let answer = try engine.submitUserRequest(body: json(Fixtures.javaSubmitRequest), caller: People.requestor)
        let recorded = json(Fixtures.javaSubmitResponse)
        #expect(
            answer.objectValue?.keys == ["requestId", "requestor", "operations", "comment", "status", "workflowRunIds"])
        #expect(answer["operations"]?[0]?["type"] == recorded["operations"]?[0]?["type"])
        #expect(answer["operations"]?[0]?["payload"] == recorded["operations"]?[0]?["payload"])
        #expect(answer["operations"]?[0]?.objectValue?.keys == ["type", "payload", "workflowRunIds"])
        #expect(answer["comment"] == recorded["comment"])
        #expect(answer["status"] == recorded["status"])
        #expect(answer["requestor"] == .string(People.requestor))
        #expect(answer["operations"]?[0]?["workflowRunIds"] == answer["workflowRunIds"])
        #expect(answer["requestId"] != answer["workflowRunIds"]?[0])
    }

    @Test func runDetailMatchesTheLiveService() throws {
        var engine = makeEngine()
        try engine.put(json(Fixtures.javaPutRequest), id: workflowId)
        let (_, runId) = try engine.submit(json(Fixtures.javaSubmitRequest))
        let run = try #require(runId)
        let taskId = try #require(engine.taskId(run: run, action: "Startandwaitforanapproval"))
        engine.advance(seconds: 1.5)
        try engine.approveApprovalTask(id: taskId, body: nil, caller: recordedApprover)
        let got = try engine.run(run)
        let recorded = json(Fixtures.javaRunGetResponse)
        #expect(
            got.objectValue?.keys == [
                "id", "workflowId", "startTime", "requestor", "runPayload", "status", "endTime", "actionDag", "detail",
            ])
        #expect(got["status"] == "Completed")
        #expect(got["runPayload"] == recorded["runPayload"])
        #expect(got["actionDag"] == recorded["actionDag"])
        #expect(got["detail"]?.objectValue?.keys == ["trigger", "runInput", "actions"])
        #expect(got["detail"]?["trigger"] == recorded["detail"]?["trigger"])
        var runInput = recorded["detail"]!["runInput"]!.objectValue!
        runInput["requestor"] = .string(People.requestor)
        #expect(got["detail"]?["runInput"] == .object(runInput))
        let action = got["detail"]?["actions"]?["Startandwaitforanapproval"]
        #expect(action?.objectValue?.keys == ["startTime", "endTime", "status", "output", "input"])
        #expect(action?["input"] == recorded["detail"]?["actions"]?["Startandwaitforanapproval"]?["input"])
        #expect(action?["startTime"] == got["startTime"])
        #expect(action?["endTime"] == "2024-01-01T00:00:01.500000000Z")
        #expect(
            got["detail"]?["actions"]?.objectValue?.keys.sorted()
                == recorded["detail"]?["actions"]?.objectValue?.keys.sorted())
        #expect(engine.emails.first?.message == "YourrequestforGlossaryTermtermisapproved.")
    }

    @Test func runListItemMatchesTheLiveService() throws {
        var engine = makeEngine()
        try engine.put(json(Fixtures.javaPutRequest), id: workflowId)
        let (_, runId) = try engine.submit(json(Fixtures.javaSubmitRequest))
        let run = try #require(runId)
        let taskId = try #require(engine.taskId(run: run, action: "Startandwaitforanapproval"))
        try engine.rejectApprovalTask(id: taskId, body: nil, caller: recordedApprover)
        let item = try engine.listWorkflowRuns(WorkflowRunListQuery(), caller: People.requestor).value[0]
        let recorded = json(Fixtures.javaRunsListResponse)["value"]![0]!
        #expect(item.objectValue?.keys.sorted() == recorded.objectValue?.keys.sorted())
        #expect(item["runPayload"] == recorded["runPayload"])
    }

    @Test func approvalTaskMatchesTheServiceExample() throws {
        // The 2022 example run's workflow carries reminder and expiry settings and legacy expressions.
        let example = json(Fixtures.workflowRunExample2022)
        var engine = makeEngine()
        try engine.put(
            [
                "name": "Create glossary term", "description": "", "isEnabled": true,
                "triggers": [["type": "when_term_creation_is_requested"]], "actionDag": example["actionDag"]!,
            ], id: workflowId)
        let (_, runId) = try engine.submit([
            "operations": [["type": "CreateTerm", "payload": example["runPayload"]!["payload"]!]]
        ])
        let run = try #require(runId)
        let taskId = try #require(engine.taskId(run: run))
        let task = try engine.task(taskId)
        let recorded = json(Fixtures.workflowTaskExample2022)
        #expect(
            task.objectValue?.keys == [
                "type", "id", "workflowRunId", "workflowId", "requestor", "createdTime", "lastUpdateTime", "payload",
                "title", "reminderInfo", "expiryInfo", "approvalDetail",
            ])
        #expect(task["payload"] == example["runPayload"])
        #expect(task["payload"]?.objectValue?.keys.sorted() == recorded["payload"]?.objectValue?.keys.sorted())
        #expect(task["title"] == recorded["title"])
        #expect(task["reminderInfo"]?["reminderSettings"] == recorded["reminderInfo"]?["reminderSettings"])
        #expect(task["expiryInfo"]?["expirySettings"] == recorded["expiryInfo"]?["expirySettings"])
        #expect(task["expiryInfo"]?["expiryTime"] == "2024-01-31T00:00:00.000000000Z")
        #expect(task["expiryInfo"]?["nextExpiryNotificationTime"] == task["expiryInfo"]?["expiryTime"])
        #expect(
            task["approvalDetail"] == [
                "approvalType": "PendingOnAll", "status": "Pending",
                "approvers": [.init(stringLiteral: recordedApprover): ["reply": "Pending"]],
            ])
        // The run's detail shows the evaluated input, as in the example.
        let detail = try engine.run(run)["detail"]?["actions"]?["Start and wait for an approval"]
        #expect(detail?["status"] == "Running")
        #expect(detail?["input"] == example["detail"]?["actions"]?["Start and wait for an approval"]?["input"])
        #expect(detail?.objectValue?.keys == ["startTime", "status", "input"])

        try engine.approveApprovalTask(id: taskId, body: ["comment": "Thanks!"], caller: recordedApprover)
        #expect(try engine.run(run)["status"] == "Completed")
        #expect(engine.emails.first?.message == "Your request for Glossary Term term123 is approved.")
        #expect(engine.emails.first?.recipients == [People.requestor])
        #expect(engine.effects.map(\.type) == ["CreateTerm"])
    }

    @Test func specGetWorkflowExampleRunsWithItsLegacyExpressions() throws {
        var engine = makeEngine()
        let example = json(Fixtures.getWorkflowResponse2023)
        try engine.put(example, id: workflowId)
        let (_, runId) = try engine.submit(json(Fixtures.submitUserRequest2023))
        let run = try #require(runId)
        let taskId = try #require(engine.taskId(run: run))
        try engine.rejectApprovalTask(id: taskId, body: nil, caller: recordedApprover)
        #expect(try engine.run(run)["status"] == "Completed")
        #expect(engine.emails.map(\.subject) == ["Glossary Term Create - REJECTED"])
        #expect(engine.emails.first?.message == "Your request for Glossary Term term is rejected.")
    }
}
