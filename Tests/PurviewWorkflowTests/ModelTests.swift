import Foundation
import PurviewWorkflow
import Testing

@Suite struct ModelTests {
    let decoder = JSONValueDecoder()

    func encodedString(_ value: some Encodable) throws -> String {
        String(decoding: try JSONValueEncoder().encode(value), as: UTF8.self)
    }

    // MARK: string enumerations

    @Test func wireEnumsNormaliseKnownSpellings() throws {
        #expect(RunStatus(rawValue: "Cancelled") == .canceled)
        #expect(RunStatus(rawValue: "In Progress") == .inProgress)
        #expect(RunStatus(rawValue: "inprogress").rawValue == "InProgress")
        #expect(TaskStatus(rawValue: "Not Started") == .notStarted)
        #expect(TaskStatus(rawValue: "Cancelled") == .canceled)
        #expect(TaskType(rawValue: "simpleTask") == .simpleTask)
        #expect(ApprovalReply(rawValue: "approved") == .approved)
        #expect(ValidationSeverity(rawValue: "Error") == .error)
        #expect(TriggerType(rawValue: "WHEN_TERM_CREATION_IS_REQUESTED") == .whenTermCreationIsRequested)
        #expect(try decoder.decode(RunStatus.self, from: #""Cancelled""#) == .canceled)
        #expect(try encodedString(RunStatus(rawValue: "Cancelled")) == #""Canceled""#)
    }

    @Test func wireEnumsKeepUnknownValues() throws {
        let status = try decoder.decode(RunStatus.self, from: #""Paused""#)
        #expect(status.rawValue == "Paused")
        #expect(!status.isKnown)
        #expect(RunStatus.inProgress.isKnown)
        #expect(try encodedString(status) == #""Paused""#)
        let operation: OperationType = "DSARExport"
        #expect(operation.triggerType == nil)
        #expect(operation.description == "DSARExport")
    }

    @Test func wireEnumsListTheirKnownValues() {
        #expect(
            RunStatus.knownValues.map(\.rawValue) == [
                "NotStarted", "InProgress", "Failed", "Completed", "Canceling", "CancellationFailed", "Canceled",
            ])
        #expect(TriggerType.knownValues.count == 6)
        #expect(OperationType.knownValues.count == 6)
        #expect(TaskStatus.knownValues.count == 7)
        #expect(TaskType.knownValues == [.approval, .simpleTask])
        #expect(ApprovalType.knownValues == [.pendingOnAny, .pendingOnAll])
    }

    @Test func operationsMapToTheirTriggers() {
        for operation in OperationType.knownValues {
            let trigger = operation.triggerType
            #expect(trigger != nil, "\(operation)")
            #expect(trigger?.operationType == operation)
        }
        #expect(OperationType.grantDataAccess.triggerType == .whenDataAccessGrantIsRequested)
        #expect(OperationType.importTerms.triggerType == .whenTermsImportIsRequested)
    }

    @Test func runStatusKnowsWhichStatesAreTerminal() {
        #expect(RunStatus.knownValues.filter(\.isTerminal) == [.failed, .completed, .canceled])
    }

    // MARK: seed versus service shapes

    @Test func userRequestResponseCombinesBothRunIdShapes() throws {
        let seed = try decoder.decode(UserRequestResponse.self, from: #"{"requestId":"r","workflowRunIds":["a","b"]}"#)
        #expect(seed.allWorkflowRunIds == ["a", "b"])
        #expect(seed.operations.isEmpty)
        let both = try decoder.decode(
            UserRequestResponse.self,
            from: #"""
                {"requestId":"r","operations":[{"type":"CreateTerm","payload":{},"workflowRunIds":["x","a"]},
                {"type":"DeleteTerm","workflowRunIds":[]}],"workflowRunIds":["a","b"],"status":"InProgress"}
                """#)
        #expect(both.allWorkflowRunIds == ["x", "a", "b"])
        #expect(both.status == .inProgress)
        #expect(both.operations[1].payload == nil)
    }

    @Test func validationResultReadsValueOrErrorsAndWritesValue() throws {
        let seed = try decoder.decode(ValidationResult.self, from: #"{"errors":[{"severity":"error","message":"m"}]}"#)
        #expect(seed.violations == [WorkflowValidationViolation(severity: .error, message: "m")])
        #expect(seed.hasErrors)
        #expect(try encodedString(seed) == #"{"value":[{"severity":"error","message":"m"}]}"#)
        let service = try decoder.decode(
            ValidationResult.self,
            from: #"{"value":[{"severity":"warning","location":{"type":"action","actionName":"A"},"message":"w"}]}"#)
        #expect(service.violations.first?.location?.type == .action)
        #expect(!service.hasErrors)
        #expect(try decoder.decode(ValidationResult.self, from: "{}").violations.isEmpty)
    }

    @Test func taskStatusIsFoundWhereverItIs() throws {
        let seed = try decoder.decode(WorkflowTask.self, from: #"{"type":"Approval","id":"t","status":"Cancelled"}"#)
        #expect(seed.effectiveStatus == .canceled)
        let simple = try decoder.decode(
            WorkflowTask.self,
            from:
                #"{"type":"SimpleTask","id":"t","#
                + #""taskDetail":{"taskBody":"b","assignedTo":["u"],"status":"InProgress"}}"#
        )
        #expect(simple.effectiveStatus == .inProgress)
        #expect(simple.taskDetail?.changeHistory == [])
        #expect(
            try encodedString(simple)
                == #"{"type":"SimpleTask","id":"t","taskDetail":{"taskBody":"b","assignedTo":["u"],"#
                + #""status":"InProgress","changeHistory":[]}}"#
        )
    }

    @Test func pagesTreatEmptyNextLinksAsTheEnd() throws {
        for body in [#"{"value":[]}"#, #"{"value":[],"nextLink":null}"#, #"{"value":[],"nextLink":""}"#] {
            let page = try decoder.decode(Page<WorkflowRun>.self, from: body)
            #expect(page.nextLink == nil)
            #expect(!page.hasNextPage)
        }
        let more = try decoder.decode(
            Page<Workflow>.self, from: #"{"value":[],"nextLink":"https://h/workflow/workflows?x=1"}"#)
        #expect(more.nextLink == "https://h/workflow/workflows?x=1")
        #expect(throws: DecodingError.self) { try decoder.decode(Page<Workflow>.self, from: #"{"nextLink":"x"}"#) }
        #expect(try encodedString(Page<String>(value: ["a"])) == #"{"value":["a"]}"#)
    }

    @Test func errorEnvelopeIsRecursive() throws {
        let body = #"""
            {"error":{"code":"Workflow.Invalid","message":"bad","target":"actionDag",
             "details":[{"code":"Inner","message":"deeper","details":[{"code":"Leaf","message":"x"}]}],
             "innererror":{"trace":"t"}}}
            """#
        let response = try decoder.decode(PurviewErrorResponse.self, from: body)
        #expect(response.error.code == "Workflow.Invalid")
        #expect(response.error.target == "actionDag")
        #expect(response.error.details?.first?.details?.first?.code == "Leaf")
        #expect(response.error.innerError?["trace"] == "t")
        #expect(try JSONValue(parsing: JSONValueEncoder().encode(response)) == JSONValue(parsing: body))
        let sparse = try decoder.decode(PurviewErrorResponse.self, from: #"{"error":{}}"#)
        #expect(sparse.error.code.isEmpty && sparse.error.message.isEmpty)
    }

    // MARK: tolerance and strictness

    @Test func unknownFieldsAreIgnored() throws {
        let run = try decoder.decode(
            WorkflowRun.self,
            from:
                #"{"id":"r","workflowId":"w","status":"Completed","future":{"x":[1]},"#
                + #""runPayload":{"type":"CreateTerm","extra":1}}"#
        )
        #expect(run.status == .completed)
        #expect(run.runPayload?.type == .createTerm)
        #expect(
            try encodedString(run)
                == #"{"id":"r","workflowId":"w","runPayload":{"type":"CreateTerm"},"status":"Completed"}"#)
    }

    @Test func createCommandRequiresWhatTheServiceRequires() throws {
        let full =
            #"{"name":"n","description":"","triggers":[{"type":"when_term_creation_is_requested"}],"isEnabled":true}"#
        let command = try decoder.decode(WorkflowCreateOrUpdateCommand.self, from: full)
        #expect(command.actionDag == nil)
        for missing in ["name", "description", "triggers", "isEnabled"] {
            var object = try JSONValue(parsing: full).objectValue!
            object[missing] = nil
            do {
                _ = try decoder.decode(WorkflowCreateOrUpdateCommand.self, from: .object(object))
                Issue.record("decoded without \(missing)")
            } catch DecodingError.keyNotFound(let key, _) {
                #expect(key.stringValue == missing)
            }
        }
        do {
            _ = try decoder.decode(
                WorkflowCreateOrUpdateCommand.self,
                from: #"{"name":"n","description":"","triggers":[{"underCollection":"c"}],"isEnabled":true}"#)
            Issue.record("decoded a trigger without a type")
        } catch DecodingError.keyNotFound(let key, let context) {
            #expect(JSONPointer(codingPath: context.codingPath + [key]).description == "/triggers/0/type")
        }
    }

    @Test func workflowEncodesInTheServiceOrderAndConvertsToACommand() throws {
        let created = try #require(PurviewTimestamp("2023-07-20T16:52:33.939358553Z"))
        let command = WorkflowCreateOrUpdateCommand(
            name: "n", triggers: [WorkflowTrigger(type: .whenTermCreationIsRequested, underCollection: "c")],
            isEnabled: true, actionDag: ["actions": [:]])
        let workflow = Workflow(id: "w", command: command, createdTime: created, createdBy: "u")
        #expect(
            try encodedString(workflow)
                == #"{"id":"w","type":"UserManaged","#
                + #""triggers":[{"type":"when_term_creation_is_requested","underCollection":"c"}],"#
                + #""createdTime":"2023-07-20T16:52:33.939358553Z","createdBy":"u","name":"n","isEnabled":true,"#
                + #""description":"","actionDag":{"actions":{}}}"#
        )
        #expect(workflow.command == command)
        let listItem = try decoder.decode(Workflow.self, from: #"{"id":"w","name":"n","isEnabled":false}"#)
        #expect(listItem.triggers.isEmpty && listItem.description.isEmpty && listItem.actionDag == nil)
    }

    @Test func dictionariesEncodeWithSortedKeys() throws {
        let detail = ApprovalDetail(
            approvalType: .pendingOnAny, status: .pending,
            approvers: ["b": ApproverResponse(reply: .pending), "a": ApproverResponse(reply: .approved, comment: "ok")])
        #expect(
            try encodedString(detail)
                == #"{"approvalType":"PendingOnAny","status":"Pending","#
                + #""approvers":{"a":{"reply":"Approved","comment":"ok"},"b":{"reply":"Pending"}}}"#
        )
        let runDetail = WorkflowRunDetail(actions: [
            "z": ActionRecord(status: .running), "m": ActionRecord(status: .skipped),
        ])
        #expect(try encodedString(runDetail) == #"{"actions":{"m":{"status":"Skipped"},"z":{"status":"Running"}}}"#)
    }

    @Test func commandsEncodeTheirWireShape() throws {
        #expect(try encodedString(ApprovalResponseCommand(comment: "ok")) == #"{"comment":"ok"}"#)
        #expect(try encodedString(CancelRunCommand()) == "{}")
        #expect(
            try encodedString(TaskUpdateCommand(newStatus: .completed, comment: "c"))
                == #"{"newStatus":"Completed","comment":"c"}"#)
        #expect(
            try encodedString(ReassignCommand(reassignments: [Reassignment(reassignFrom: "a", reassignTo: "b")]))
                == #"{"reassignments":[{"reassignFrom":"a","reassignTo":"b"}]}"#)
        let payload = UserRequestPayload(
            operations: [UserRequestOperation(type: .createTerm, payload: ["glossaryTerm": ["name": "t"]])],
            comment: "c")
        #expect(
            try encodedString(payload)
                == #"{"operations":[{"type":"CreateTerm","payload":{"glossaryTerm":{"name":"t"}}}],"comment":"c"}"#)
    }

    @Test func modelsAlsoWorkWithFoundationCoders() throws {
        let run = WorkflowRun(
            id: "r", workflowId: "w", startTime: PurviewTimestamp("2023-07-20T19:15:50.104809019Z"),
            status: .inProgress,
            actionDag: ["actions": ["A": ["type": "Approval"]]],
            detail: WorkflowRunDetail(actions: ["A": ActionRecord(status: .running, input: ["type": "inlined"])]))
        let data = try JSONEncoder().encode(run)
        #expect(try JSONDecoder().decode(WorkflowRun.self, from: data) == run)
        #expect(try JSONValueDecoder().decode(WorkflowRun.self, from: data) == run)
    }
}
