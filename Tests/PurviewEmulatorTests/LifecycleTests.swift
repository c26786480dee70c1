import PurviewWorkflow
import Testing

@testable import PurviewEmulator

private let approval = "Start and wait for an approval"

/// Puts the approval workflow, submits a CreateTerm and returns (engine, runId, taskId).
private func startedRun(
    approvalType: String = "PendingOnAny", assignedTo: [JSONValue] = [.string(People.alice), .string(People.bob)],
    extra: JSONObject = [:]
) throws -> (EmulatorEngine, String, String) {
    var engine = makeEngine()
    try engine.put(approvalWorkflow(approvalType: approvalType, assignedTo: assignedTo, extraApprovalParameters: extra))
    let (_, runId) = try engine.submit(createTermRequest())
    let run = try #require(runId)
    let task = try #require(engine.taskId(run: run))
    return (engine, run, task)
}

private func actionStatuses(_ run: JSONValue) -> [String: String] {
    var statuses: [String: String] = [:]
    for (name, value) in run["detail"]?["actions"]?.objectValue ?? [:] { statuses[name] = value["status"]?.stringValue }
    return statuses
}

@Suite struct ApprovalLifecycle {
    @Test func approvalOnAnyRunsTheTrueBranchAndCompletes() throws {
        var (engine, runId, taskId) = try startedRun()
        var run = try engine.run(runId)
        #expect(run["status"] == "InProgress")
        #expect(actionStatuses(run) == [approval: "Running"])
        let pending = try engine.task(taskId)
        #expect(pending["approvalDetail"]?["status"] == "Pending")
        #expect(
            pending["approvalDetail"]?["approvers"]
                == [People.alice: ["reply": "Pending"], People.bob: ["reply": "Pending"]])

        engine.advance(seconds: 30)
        try engine.approveApprovalTask(id: taskId, body: ["comment": "Looks right"], caller: People.alice)

        let decided = try engine.task(taskId)
        #expect(decided["approvalDetail"]?["status"] == "Approved")
        #expect(
            decided["approvalDetail"]?["approvers"]?[People.alice]
                == ["reply": "Approved", "comment": "Looks right", "responseTime": "2024-01-01T00:00:30.000000000Z"])
        #expect(decided["approvalDetail"]?["approvers"]?[People.bob] == ["reply": "Pending"])
        #expect(decided["lastUpdateTime"] == "2024-01-01T00:00:30.000000000Z")

        run = try engine.run(runId)
        #expect(run["status"] == "Completed")
        #expect(run["endTime"] == "2024-01-01T00:00:30.000000000Z")
        #expect(
            actionStatuses(run) == [
                approval: "Succeeded", "Condition": "Succeeded", "Send reject email notification": "Skipped",
                "Create glossary term": "Succeeded", "Send email notification": "Succeeded",
            ])
        #expect(
            run["detail"]?["actions"]?[approval]?["output"]
                == ["type": "inlined", "outputs": ["outcome": "Approved", "taskId": .string(taskId)]])

        #expect(engine.effects.count == 1)
        let effect = try #require(engine.effects.first)
        #expect(effect.type == "CreateTerm")
        #expect(effect.runId == runId)
        #expect(effect.actionName == "Create glossary term")
        #expect(effect.payload == createTermRequest()["operations"]?[0]?["payload"])
        #expect(effect.requestor == People.requestor)

        #expect(engine.emails.count == 1)
        let email = try #require(engine.emails.first)
        #expect(email.kind == .notification)
        #expect(email.recipients == [People.requestor])
        #expect(email.subject == "Glossary Term Create - APPROVED")
        #expect(email.message == "Your request for Glossary Term term is approved.")
        #expect(email.runId == runId)
    }

    @Test func rejectionRunsTheElseBranch() throws {
        var (engine, runId, taskId) = try startedRun()
        try engine.rejectApprovalTask(id: taskId, body: ["comment": "No"], caller: People.bob)
        let run = try engine.run(runId)
        #expect(run["status"] == "Completed")
        #expect(run["detail"]?["actions"]?[approval]?["output"]?["outputs"]?["outcome"] == "Rejected")
        #expect(
            actionStatuses(run) == [
                approval: "Succeeded", "Condition": "Succeeded", "Create glossary term": "Skipped",
                "Send email notification": "Skipped", "Send reject email notification": "Succeeded",
            ])
        #expect(engine.effects.isEmpty)
        #expect(engine.emails.map(\.subject) == ["Glossary Term Create - REJECTED"])
        #expect(engine.emails.first?.message == "Your request for Glossary Term term is rejected.")
        #expect(try engine.task(taskId)["approvalDetail"]?["status"] == "Rejected")
    }

    @Test func pendingOnAllWaitsForEveryApprover() throws {
        var (engine, runId, taskId) = try startedRun(approvalType: "PendingOnAll")
        try engine.approveApprovalTask(id: taskId, body: nil, caller: People.alice)
        #expect(try engine.task(taskId)["approvalDetail"]?["status"] == "Pending")
        #expect(try engine.run(runId)["status"] == "InProgress")
        try engine.approveApprovalTask(id: taskId, body: [:], caller: People.bob)
        #expect(try engine.task(taskId)["approvalDetail"]?["status"] == "Approved")
        #expect(try engine.run(runId)["status"] == "Completed")
        #expect(engine.effects.map(\.type) == ["CreateTerm"])
    }

    @Test func pendingOnAllIsRejectedByAnyRejection() throws {
        var (engine, runId, taskId) = try startedRun(approvalType: "PendingOnAll")
        try engine.approveApprovalTask(id: taskId, body: nil, caller: People.alice)
        try engine.rejectApprovalTask(id: taskId, body: nil, caller: People.bob)
        #expect(try engine.task(taskId)["approvalDetail"]?["status"] == "Rejected")
        #expect(try engine.run(runId)["detail"]?["actions"]?[approval]?["output"]?["outputs"]?["outcome"] == "Rejected")
        #expect(engine.effects.isEmpty)
    }

    @Test func onlyApproversMayReply() throws {
        var (engine, _, taskId) = try startedRun()
        for caller in [People.stranger, People.requestor, People.admin] {
            let error = emulatorError { try engine.approveApprovalTask(id: taskId, body: nil, caller: caller) }
            #expect(error?.statusCode == 403)
            #expect(error?.code == "Workflow.Forbidden")
        }
        // Object ids compare without regard to case.
        try engine.approveApprovalTask(id: taskId.uppercased(), body: nil, caller: People.alice.uppercased())
        #expect(try engine.task(taskId)["approvalDetail"]?["status"] == "Approved")
    }

    @Test func replyingTwiceOrToADecidedTaskConflicts() throws {
        var (engine, _, taskId) = try startedRun(approvalType: "PendingOnAll")
        try engine.approveApprovalTask(id: taskId, body: nil, caller: People.alice)
        let again = emulatorError { try engine.rejectApprovalTask(id: taskId, body: nil, caller: People.alice) }
        #expect(again?.statusCode == 409)
        #expect(again?.code == "Workflow.TaskAlreadyReplied")
        try engine.rejectApprovalTask(id: taskId, body: nil, caller: People.bob)
        let decided = emulatorError { try engine.approveApprovalTask(id: taskId, body: nil, caller: People.bob) }
        #expect(decided?.statusCode == 409)
        #expect(decided?.code == "Workflow.TaskAlreadyCompleted")
    }

    @Test func unknownIdsAreNotFound() {
        var engine = makeEngine()
        let missing = "99999999-9999-9999-9999-999999999999"
        let errors = [
            emulatorError { _ = try engine.getWorkflow(id: missing, caller: People.admin) },
            emulatorError { try engine.deleteWorkflow(id: missing, caller: People.admin) },
            emulatorError { _ = try engine.getWorkflowRun(id: missing, caller: People.admin) },
            emulatorError { try engine.cancelWorkflowRun(id: missing, body: nil, caller: People.admin) },
            emulatorError { _ = try engine.getWorkflowTask(id: missing, caller: People.admin) },
            emulatorError { try engine.approveApprovalTask(id: missing, body: nil, caller: People.admin) },
            emulatorError { try engine.rejectApprovalTask(id: missing, body: nil, caller: People.admin) },
            emulatorError {
                try engine.reassignWorkflowTask(
                    id: missing,
                    body: [
                        "reassignments": [["reassignFrom": .string(People.alice), "reassignTo": .string(People.bob)]]
                    ],
                    caller: People.admin)
            },
            emulatorError {
                try engine.changeTaskStatus(id: missing, body: ["newStatus": "Completed"], caller: People.admin)
            },
        ]
        #expect(errors.map { $0?.statusCode } == Array(repeating: 404, count: 9))
        #expect(
            errors.map { $0?.code } == [
                "Workflow.WorkflowNotFound", "Workflow.WorkflowNotFound", "Workflow.WorkflowRunNotFound",
                "Workflow.WorkflowRunNotFound", "Workflow.TaskNotFound", "Workflow.TaskNotFound",
                "Workflow.TaskNotFound",
                "Workflow.TaskNotFound", "Workflow.TaskNotFound",
            ])
        #expect(
            errors[0]?.envelope
                == [
                    "error": [
                        "code": "Workflow.WorkflowNotFound",
                        "message": .string("The workflow '\(missing)' was not found."),
                        "target": .string(missing),
                    ]
                ])
    }

    @Test func badBodiesAreRejected() throws {
        var (engine, _, taskId) = try startedRun()
        #expect(
            emulatorError { try engine.approveApprovalTask(id: taskId, body: ["comment": 5], caller: People.alice) }?
                .target == "comment")
        #expect(
            emulatorError { _ = try engine.submitUserRequest(body: ["operations": []], caller: People.requestor) }?
                .target == "operations")
        #expect(
            emulatorError {
                _ = try engine.submitUserRequest(
                    body: ["operations": [["type": "DSARDelete", "payload": [:]]]], caller: People.requestor)
            }?.target == "operations[0].type")
        #expect(
            emulatorError {
                _ = try engine.submitUserRequest(
                    body: ["operations": [["type": "CreateTerm"]]], caller: People.requestor)
            }?.target == "operations[0].payload")
        #expect(
            emulatorError { try engine.reassignWorkflowTask(id: taskId, body: [:], caller: People.alice) }?.statusCode
                == 400)
    }
}

@Suite struct Reassignment {
    @Test func anAssigneeHandsTheTaskOver() throws {
        var (engine, runId, taskId) = try startedRun(assignedTo: [.string(People.alice)])
        try engine.reassignWorkflowTask(
            id: taskId,
            body: ["reassignments": [["reassignFrom": .string(People.alice), "reassignTo": .string(People.carol)]]],
            caller: People.alice)
        #expect(try engine.task(taskId)["approvalDetail"]?["approvers"] == [People.carol: ["reply": "Pending"]])
        #expect(
            emulatorError { try engine.approveApprovalTask(id: taskId, body: nil, caller: People.alice) }?.statusCode
                == 403)
        try engine.approveApprovalTask(id: taskId, body: nil, caller: People.carol)
        #expect(try engine.run(runId)["status"] == "Completed")
    }

    @Test func reassignToAnEmailResolvesThroughTheDirectory() throws {
        var (engine, _, taskId) = try startedRun()
        try engine.reassignWorkflowTask(
            id: taskId,
            body: ["reassignments": [["reassignFrom": .string(People.bob), "reassignTo": "carol@contoso.com"]]],
            caller: People.alice)
        #expect(
            try engine.task(taskId)["approvalDetail"]?["approvers"]
                == [People.alice: ["reply": "Pending"], People.carol: ["reply": "Pending"]])
    }

    @Test func reassignmentRules() throws {
        var (engine, _, taskId) = try startedRun(approvalType: "PendingOnAll")
        let fromStranger: JSONValue = [
            "reassignments": [["reassignFrom": .string(People.stranger), "reassignTo": .string(People.carol)]]
        ]
        #expect(
            emulatorError { try engine.reassignWorkflowTask(id: taskId, body: fromStranger, caller: People.alice) }?
                .statusCode == 400)
        let fromAlice: JSONValue = [
            "reassignments": [["reassignFrom": .string(People.alice), "reassignTo": .string(People.carol)]]
        ]
        #expect(
            emulatorError { try engine.reassignWorkflowTask(id: taskId, body: fromAlice, caller: People.stranger) }?
                .statusCode == 403)
        let unknownTarget: JSONValue = [
            "reassignments": [["reassignFrom": .string(People.alice), "reassignTo": "nobody@contoso.com"]]
        ]
        #expect(
            emulatorError { try engine.reassignWorkflowTask(id: taskId, body: unknownTarget, caller: People.alice) }?
                .statusCode == 400)
        try engine.approveApprovalTask(id: taskId, body: nil, caller: People.alice)
        #expect(
            emulatorError { try engine.reassignWorkflowTask(id: taskId, body: fromAlice, caller: People.bob) }?.code
                == "Workflow.TaskAlreadyReplied")
        try engine.rejectApprovalTask(id: taskId, body: nil, caller: People.bob)
        let fromBob: JSONValue = [
            "reassignments": [["reassignFrom": .string(People.bob), "reassignTo": .string(People.carol)]]
        ]
        #expect(
            emulatorError { try engine.reassignWorkflowTask(id: taskId, body: fromBob, caller: People.bob) }?.statusCode
                == 409)
    }

    @Test func mergingTheLastPendingApproverIntoOneWhoApprovedDecides() throws {
        var (engine, runId, taskId) = try startedRun(approvalType: "PendingOnAll")
        try engine.approveApprovalTask(id: taskId, body: nil, caller: People.alice)
        try engine.reassignWorkflowTask(
            id: taskId,
            body: ["reassignments": [["reassignFrom": .string(People.bob), "reassignTo": .string(People.alice)]]],
            caller: People.bob)
        #expect(try engine.task(taskId)["approvalDetail"]?["status"] == "Approved")
        #expect(try engine.run(runId)["status"] == "Completed")
    }
}

@Suite struct Cancellation {
    @Test func cancellingARunCancelsItsOpenTasks() throws {
        var (engine, runId, taskId) = try startedRun()
        engine.advance(seconds: 60)
        try engine.cancelWorkflowRun(id: runId, body: ["comment": "Changed my mind"], caller: People.requestor)
        let run = try engine.run(runId)
        #expect(run["status"] == "Canceled")
        #expect(run["cancelTime"] == "2024-01-01T00:01:00.000000000Z")
        #expect(run["endTime"] == "2024-01-01T00:01:00.000000000Z")
        #expect(run["cancelComment"] == "Changed my mind")
        #expect(actionStatuses(run) == [approval: "Canceled"])
        #expect(try engine.task(taskId)["approvalDetail"]?["status"] == "Canceled")
        #expect(
            emulatorError { try engine.approveApprovalTask(id: taskId, body: nil, caller: People.alice) }?.statusCode
                == 409)
        let again = emulatorError { try engine.cancelWorkflowRun(id: runId, body: nil, caller: People.requestor) }
        #expect(again?.statusCode == 409)
        #expect(again?.code == "Workflow.WorkflowRunAlreadyCompleted")
        #expect(engine.effects.isEmpty)
    }

    @Test func onlyTheRequestorOrAnAdministratorMayCancel() throws {
        var (engine, runId, _) = try startedRun()
        #expect(
            emulatorError { try engine.cancelWorkflowRun(id: runId, body: nil, caller: People.alice) }?.statusCode
                == 403)
        try engine.cancelWorkflowRun(id: runId, body: nil, caller: People.admin)
        #expect(try engine.run(runId)["status"] == "Canceled")
        #expect(try engine.run(runId)["cancelComment"] == nil)
    }

    @Test func cancellingAFinishedRunConflicts() throws {
        var (engine, runId, taskId) = try startedRun()
        try engine.approveApprovalTask(id: taskId, body: nil, caller: People.alice)
        #expect(
            emulatorError { try engine.cancelWorkflowRun(id: runId, body: nil, caller: People.requestor) }?.statusCode
                == 409)
    }
}

@Suite struct Timers {
    @Test func expiryCancelsTheTaskAndFailsTheRun() throws {
        var (engine, runId, taskId) = try startedRun(
            extra: ["expirySettings": ["expireAfter": "1 day", "notifyOnExpiration": ["admin@contoso.com"]]])
        let fresh = try engine.task(taskId)
        #expect(
            fresh["expiryInfo"]
                == [
                    "nextExpiryNotificationTime": "2024-01-02T00:00:00.000000000Z",
                    "expiryTime": "2024-01-02T00:00:00.000000000Z",
                    "expirySettings": [
                        "expireAfter": ["Day": ["number": 1]], "notifyOnExpiration": ["admin@contoso.com"],
                    ],
                ])
        engine.advance(seconds: 86_399)
        #expect(try engine.task(taskId)["approvalDetail"]?["status"] == "Pending")
        engine.advance(seconds: 3600)

        let task = try engine.task(taskId)
        #expect(task["approvalDetail"]?["status"] == "Canceled")
        #expect(task["lastUpdateTime"] == "2024-01-02T00:00:00.000000000Z")
        #expect(task["expiryInfo"]?["lastExpiryNotificationTime"] == "2024-01-02T00:00:00.000000000Z")
        let run = try engine.run(runId)
        #expect(run["status"] == "Failed")
        #expect(run["endTime"] == "2024-01-02T00:00:00.000000000Z")
        let failed = run["detail"]?["actions"]?[approval]
        #expect(failed?["status"] == "Failed")
        #expect(failed?["output"]?["error"]?["code"] == "Workflow.TaskExpired")
        let message = failed?["output"]?["error"]?["message"]?.stringValue ?? ""
        #expect(message.contains("expired at 2024-01-02T00:00:00.000000000Z after 1 day (expirySettings.expireAfter)"))
        #expect(actionStatuses(run)["Condition"] == "Skipped")
        #expect(actionStatuses(run)["Create glossary term"] == "Skipped")
        #expect(engine.emails.map(\.kind) == [.expiry])
        #expect(engine.emails.first?.recipients == ["admin@contoso.com"])
        #expect(
            emulatorError { try engine.approveApprovalTask(id: taskId, body: nil, caller: People.alice) }?.statusCode
                == 409)
    }

    @Test func remindersAreEmailedToPendingApproversUntilExpiry() throws {
        var (engine, _, taskId) = try startedRun(
            approvalType: "PendingOnAll",
            extra: ["reminderSettings": ["interval": "1 day"], "expirySettings": ["expireAfter": "3 days"]])
        #expect(
            try engine.task(taskId)["reminderInfo"]
                == [
                    "nextRemindTime": "2024-01-02T00:00:00.000000000Z",
                    "reminderSettings": ["reminderFrequency": ["Day": ["number": 1]]],
                ])
        engine.advance(seconds: 86_400)
        #expect(engine.emails.count == 1)
        #expect(engine.emails.first?.kind == .reminder)
        #expect(engine.emails.first?.recipients == [People.alice, People.bob])
        #expect(engine.emails.first?.taskId == taskId)
        #expect(
            try engine.task(taskId)["reminderInfo"]
                == [
                    "lastRemindTime": "2024-01-02T00:00:00.000000000Z",
                    "nextRemindTime": "2024-01-03T00:00:00.000000000Z",
                    "reminderSettings": ["reminderFrequency": ["Day": ["number": 1]]],
                ])
        try engine.approveApprovalTask(id: taskId, body: nil, caller: People.alice)
        // Two days at once: the day-2 reminder goes to Bob only; at day 3 the task expires instead.
        engine.advance(seconds: 2 * 86_400)
        #expect(engine.emails.map(\.kind) == [.reminder, .reminder])
        #expect(engine.emails.last?.recipients == [People.bob])
        #expect(engine.emails.last?.time.description == "2024-01-03T00:00:00.000000000Z")
        #expect(try engine.task(taskId)["approvalDetail"]?["status"] == "Canceled")
    }

    @Test func decidedTasksStopReminding() throws {
        var (engine, _, taskId) = try startedRun(extra: ["reminderSettings": ["interval": "1 hour"]])
        engine.advance(seconds: 3600 * 2)
        #expect(engine.emails.count == 2)
        try engine.approveApprovalTask(id: taskId, body: nil, caller: People.alice)
        let afterDecision = engine.emails.count
        engine.advance(seconds: 3600 * 5)
        #expect(engine.emails.count == afterDecision)
    }
}

@Suite struct RunnerBehaviour {
    @Test func anOperationNoWorkflowMatchesIsAppliedDirectly() throws {
        var engine = makeEngine()
        try engine.put(approvalWorkflow(trigger: ["type": "when_term_deletion_is_requested"]))
        let (response, runId) = try engine.submit(createTermRequest())
        #expect(runId == nil)
        #expect(response["status"] == "Completed")
        #expect(response["workflowRunIds"] == [])
        #expect(response["operations"]?[0]?["workflowRunIds"] == [])
        #expect(engine.effects.count == 1)
        #expect(engine.effects.first?.type == "CreateTerm")
        #expect(engine.effects.first?.runId == nil)
        #expect(engine.effects.first?.requestId == response["requestId"]?.stringValue)
        #expect(engine.state.runs.isEmpty)
    }

    @Test func approversMayBeEmailsOrExpressions() throws {
        var (engine, _, taskId) = try startedRun(assignedTo: ["Alice@Contoso.com", "@{runInput()['requestor']}"])
        #expect(
            try engine.task(taskId)["approvalDetail"]?["approvers"]
                == [People.alice: ["reply": "Pending"], People.requestor: ["reply": "Pending"]])
        try engine.approveApprovalTask(id: taskId, body: nil, caller: People.requestor)
    }

    @Test func unknownApproverEmailsFailTheRunLikeTheService() throws {
        var engine = makeEngine()
        try engine.put(approvalWorkflow(assignedTo: ["ghost@contoso.com"]))
        let (_, runId) = try engine.submit(createTermRequest())
        let run = try engine.run(try #require(runId))
        #expect(run["status"] == "Failed")
        let failed = run["detail"]?["actions"]?[approval]
        #expect(failed?["output"]?["error"]?["code"] == "Workflow.UserDataClient.CanNotFindEmailForUsers")
        #expect(failed?["output"]?["error"]?["message"] == "Users not found: [ghost@contoso.com]")
        #expect(failed?["input"]?["parameters"]?["assignedTo"] == ["ghost@contoso.com"])
        #expect(
            actionStatuses(run) == [
                approval: "Failed", "Condition": "Skipped", "Create glossary term": "Skipped",
                "Send email notification": "Skipped", "Send reject email notification": "Skipped",
            ])
        #expect(engine.state.tasks.isEmpty)
    }

    @Test func aFailureHandledByRunAfterDoesNotFailTheRun() throws {
        var engine = makeEngine()
        try engine.put([
            "name": "wf", "description": "", "isEnabled": true,
            "triggers": [["type": "when_term_creation_is_requested"]],
            "actionDag": [
                "actions": [
                    "Approve": [
                        "type": "Approval",
                        "inputs": [
                            "parameters": ["approvalType": "PendingOnAny", "title": "t", "assignedTo": ["ghost@x.com"]]
                        ],
                        "runAfter": [:],
                    ],
                    "Tell": [
                        "type": "EmailNotification",
                        "inputs": [
                            "parameters": [
                                "emailSubject": "failed",
                                "emailMessage": "approval failed for @{runInput()['term']['name']}",
                                "emailRecipients": ["@runInput()['requestor']"],
                            ]
                        ],
                        "runAfter": ["Approve": ["Failed", "Skipped"]],
                    ],
                ]
            ],
        ])
        let (_, runId) = try engine.submit(createTermRequest())
        let run = try engine.run(try #require(runId))
        #expect(run["status"] == "Completed")
        #expect(actionStatuses(run) == ["Approve": "Failed", "Tell": "Succeeded"])
        #expect(engine.emails.first?.message == "approval failed for term")
        #expect(engine.emails.first?.recipients == [People.requestor])
    }

    @Test func simpleTasksWaitForCompletion() throws {
        var engine = makeEngine()
        try engine.put([
            "name": "wf", "description": "", "isEnabled": true,
            "triggers": [["type": "when_asset_update_is_requested"]],
            "actionDag": [
                "actions": [
                    "Do it": [
                        "type": "Task",
                        "inputs": [
                            "parameters": [
                                "title": "Update @{runInput()['asset']['name']}", "taskBody": "Please check",
                                "assignedTo": ["carol@contoso.com"],
                            ]
                        ],
                        "runAfter": [:],
                    ],
                    "Update": ["type": "UpdateAsset", "runAfter": ["Do it": ["Succeeded"]]],
                ]
            ],
        ])
        let (_, runId) = try engine.submit([
            "operations": [["type": "UpdateAsset", "payload": ["asset": ["name": "orders"]]]]
        ])
        let run = try #require(runId)
        let taskId = try #require(engine.taskId(run: run, action: "Do it"))
        let task = try engine.task(taskId)
        #expect(task["type"] == "SimpleTask")
        #expect(task["title"] == "Update orders")
        #expect(
            task["payload"] == [
                "type": "UpdateAsset", "targetValue": "orders", "payload": ["asset": ["name": "orders"]],
            ])
        #expect(
            task["taskDetail"]
                == [
                    "taskBody": "Please check", "assignedTo": [.string(People.carol)], "status": "NotStarted",
                    "changeHistory": [],
                ])
        #expect(task["approvalDetail"] == nil)

        #expect(
            emulatorError { try engine.approveApprovalTask(id: taskId, body: nil, caller: People.carol) }?.code
                == "Workflow.InvalidTaskType")
        #expect(
            emulatorError {
                try engine.changeTaskStatus(id: taskId, body: ["newStatus": "Completed"], caller: People.alice)
            }?.statusCode == 403)
        #expect(
            emulatorError {
                try engine.changeTaskStatus(id: taskId, body: ["newStatus": "Done"], caller: People.carol)
            }?.statusCode == 400)

        try engine.changeTaskStatus(
            id: taskId, body: ["newStatus": "InProgress", "comment": "on it"], caller: People.carol)
        #expect(try engine.run(run)["status"] == "InProgress")
        try engine.changeTaskStatus(id: taskId, body: ["newStatus": "Completed"], caller: People.carol)
        #expect(try engine.run(run)["status"] == "Completed")
        #expect(engine.effects.map(\.type) == ["UpdateAsset"])
        let history = try engine.task(taskId)["taskDetail"]?["changeHistory"]?.arrayValue
        #expect(history?.count == 2)
        #expect(
            history?[0] == [
                "previousStatus": "NotStarted", "newStatus": "InProgress", "changedBy": .string(People.carol),
                "changedTime": "2024-01-01T00:00:00.000000000Z", "comment": "on it",
            ])
        #expect(
            emulatorError {
                try engine.changeTaskStatus(id: taskId, body: ["newStatus": "InProgress"], caller: People.carol)
            }?.statusCode == 409)
    }

    @Test func aCanceledSimpleTaskFailsItsAction() throws {
        var engine = makeEngine()
        try engine.put([
            "name": "wf", "description": "", "isEnabled": true,
            "triggers": [["type": "when_term_deletion_is_requested"]],
            "actionDag": [
                "actions": [
                    "Check": [
                        "type": "Task",
                        "inputs": ["parameters": ["taskBody": "b", "assignedTo": [.string(People.carol)]]],
                        "runAfter": [:],
                    ]
                ]
            ],
        ])
        let (_, runId) = try engine.submit([
            "operations": [["type": "DeleteTerm", "payload": ["glossaryTerm": ["name": "old"]]]]
        ])
        let run = try #require(runId)
        let taskId = try #require(engine.taskId(run: run, action: "Check"))
        #expect(try engine.task(taskId)["title"] == "Check")
        try engine.changeTaskStatus(id: taskId, body: ["newStatus": "Cancelled"], caller: People.carol)
        let detail = try engine.run(run)
        #expect(detail["status"] == "Failed")
        #expect(detail["detail"]?["actions"]?["Check"]?["output"]?["error"]?["code"] == "Workflow.TaskCanceled")
    }

    @Test func scopesAndNestedConditionsRun() throws {
        var engine = makeEngine()
        try engine.put([
            "name": "wf", "description": "", "isEnabled": true,
            "triggers": [["type": "when_term_creation_is_requested"]],
            "actionDag": [
                "actions": [
                    "Group": [
                        "type": "Scope",
                        "actions": [
                            "Is finance": [
                                "type": "If", "expression": ["startsWith": ["@runInput()['term']['name']", "fin"]],
                                "actions": ["Create": ["type": "CreateTerm", "runAfter": [:]]],
                                "else": ["actions": [:]], "runAfter": [:],
                            ]
                        ],
                        "runAfter": [:],
                    ],
                    "After": [
                        "type": "EmailNotification",
                        "inputs": [
                            "parameters": ["emailSubject": "done", "emailMessage": "m", "emailRecipients": ["x@y.z"]]
                        ],
                        "runAfter": ["Group": ["Succeeded"]],
                    ],
                ]
            ],
        ])
        let (_, first) = try engine.submit(createTermRequest(name: "Finance KPI"))
        #expect(
            actionStatuses(try engine.run(try #require(first))) == [
                "Group": "Succeeded", "Is finance": "Succeeded", "Create": "Succeeded", "After": "Succeeded",
            ])
        let (_, second) = try engine.submit(createTermRequest(name: "Sales"))
        let run = try engine.run(try #require(second))
        #expect(run["status"] == "Completed")
        #expect(
            actionStatuses(run) == [
                "Group": "Succeeded", "Is finance": "Succeeded", "Create": "Skipped", "After": "Succeeded",
            ])
        #expect(engine.effects.count == 1)
    }

    @Test func expressionFailuresFailTheAction() throws {
        var engine = makeEngine()
        try engine.put([
            "name": "wf", "description": "", "isEnabled": true,
            "triggers": [["type": "when_term_creation_is_requested"]],
            "actionDag": [
                "actions": [
                    "Mail": [
                        "type": "EmailNotification",
                        "inputs": [
                            "parameters": [
                                "emailSubject": "@{runInput()['nothing']}", "emailMessage": "m",
                                "emailRecipients": ["x"],
                            ]
                        ],
                        "runAfter": [:],
                    ]
                ]
            ],
        ])
        let (_, runId) = try engine.submit(createTermRequest())
        let run = try engine.run(try #require(runId))
        #expect(run["status"] == "Failed")
        #expect(
            run["detail"]?["actions"]?["Mail"]?["output"]?["error"]?["code"] == "Workflow.ExpressionEvaluationFailed")
        #expect(engine.emails.isEmpty)
    }
}

@Suite struct WorkflowStore {
    @Test func createReplaceGetListDelete() throws {
        var engine = makeEngine()
        let id = "4afb5752-e47f-43a1-8ba7-c696bf8d2745"
        let created = try engine.createOrReplaceWorkflow(
            id: id.uppercased(), body: approvalWorkflow(), caller: People.admin)
        #expect(created["id"] == .string(id))
        #expect(created["type"] == "UserManaged")
        #expect(created["createdTime"] == "2024-01-01T00:00:00.000000000Z")
        #expect(created["createdBy"] == .string(People.admin))
        #expect(
            created["actionDag"]?["actions"]?[approval]?["runtimeConfiguration"] == ["aggregateEmails": false])
        #expect(
            created["actionDag"]?["actions"]?["Condition"]?["actions"]?["Send email notification"]?[
                "runtimeConfiguration"]
                == ["secureInput": false, "secureOutput": false, "aggregateEmails": false])
        #expect(created["actionDag"]?["actions"]?["Condition"]?["runtimeConfiguration"] == nil)

        engine.advance(seconds: 10)
        let replaced = try engine.createOrReplaceWorkflow(
            id: id, body: approvalWorkflow(isEnabled: false, name: "Renamed"), caller: People.alice)
        #expect(replaced["createdTime"] == "2024-01-01T00:00:00.000000000Z")
        #expect(replaced["createdBy"] == .string(People.admin))
        #expect(replaced["lastUpdateTime"] == "2024-01-01T00:00:10.000000000Z")
        #expect(replaced["updatedBy"] == .string(People.alice))
        #expect(replaced["name"] == "Renamed")
        #expect(try engine.getWorkflow(id: id, caller: People.alice) == replaced)

        let listed = engine.listWorkflows(caller: People.alice)
        #expect(listed.value.count == 1)
        #expect(listed.value[0]["actionDag"] == nil)
        #expect(listed.value[0]["isEnabled"] == false)
        #expect(listed.json["value"]?.arrayValue?.count == 1)

        try engine.deleteWorkflow(id: id, caller: People.admin)
        #expect(emulatorError { _ = try engine.getWorkflow(id: id, caller: People.admin) }?.statusCode == 404)
        #expect(engine.listWorkflows(caller: People.alice).value.isEmpty)
        #expect(
            emulatorError {
                _ = try engine.createOrReplaceWorkflow(id: "x", body: approvalWorkflow(), caller: People.admin)
            }?.statusCode == 400)
    }

    @Test func runsOutliveTheirWorkflow() throws {
        var (engine, runId, taskId) = try startedRun()
        try engine.deleteWorkflow(id: "4afb5752-e47f-43a1-8ba7-c696bf8d2745", caller: People.admin)
        try engine.approveApprovalTask(id: taskId, body: nil, caller: People.alice)
        #expect(try engine.run(runId)["status"] == "Completed")
    }
}
