import Foundation
import PurviewWorkflow
import Testing

/// Decodes every spec example and every real recording in `shared/purview` with the model its operation
/// returns, checks that the key fields survived, and that decode → encode reproduces the document (up to key
/// order and timestamp formatting). The drafts folder holds operations that never shipped and is not walked.
@Suite struct PurviewDataTests {
    static let expectedExampleFiles = ["2022-05-01-preview": 7, "2023-10-01-preview": 7]
    static let expectedRecordingFiles = 17
    static let expectedRecordingEntries = 24
    static let expectedIdentityEntries = 7

    let root: URL

    init() throws {
        root = try #require(purviewDataDirectory(), "shared/purview not found beside the package")
    }

    // MARK: spec examples

    /// What each example file's operation sends and returns. Parameters that are objects are request bodies.
    static let exampleOperations: [String: (requestParameter: String?, response: BodyCheck?)] = [
        "CancelWorkflowRun": ("runCancelReply", nil),
        "GetWorkflowRun": (nil, BodyCheck(WorkflowRun.self)),
        "GetWorkflowTask": (nil, BodyCheck(WorkflowTask.self)),
        "ListWorkflowRuns": (nil, BodyCheck(Page<WorkflowRun>.self)),
        "ListWorkflowTasks": (nil, BodyCheck(Page<WorkflowTask>.self)),
        "ReassignWorkflowTask": ("reassignCommand", nil),
        "UpdateTaskRequest": ("taskUpdateCommand", nil),
        "CreateOrReplaceWorkflow": ("workflowCreateOrUpdateCommand", BodyCheck(Workflow.self)),
        "DeleteWorkflow": (nil, nil),
        "GetWorkflow": (nil, BodyCheck(Workflow.self)),
        "ListWorkflows": (nil, BodyCheck(Page<Workflow>.self)),
        "SubmitUserRequests": ("userRequestsPayload", BodyCheck(UserRequestResponse.self)),
        "ValidateWorkflow": ("workflowValidateQuery", BodyCheck(ValidationResult.self)),
    ]

    static let requestParameters: [String: BodyCheck] = [
        "runCancelReply": BodyCheck(CancelRunCommand.self),
        "reassignCommand": BodyCheck(ReassignCommand.self),
        "taskUpdateCommand": BodyCheck(TaskUpdateCommand.self),
        "workflowCreateOrUpdateCommand": BodyCheck(WorkflowCreateOrUpdateCommand.self),
        "workflowValidateQuery": BodyCheck(WorkflowCreateOrUpdateCommand.self),
        "userRequestsPayload": BodyCheck(UserRequestPayload.self),
    ]

    @Test(arguments: ["2022-05-01-preview", "2023-10-01-preview"])
    func specExamplesDecode(_ version: String) throws {
        let files = try jsonFiles(in: root.appendingPathComponent(version))
        #expect(
            files.count == PurviewDataTests.expectedExampleFiles[version],
            "files in \(version): \(files.map(\.lastPathComponent))")
        var requestBodies = 0
        var responseBodies = 0
        for file in files {
            let name = file.deletingPathExtension().lastPathComponent
            let context = "\(version)/\(file.lastPathComponent)"
            guard let operation = PurviewDataTests.exampleOperations[name] else {
                Issue.record("no operation known for \(context)")
                continue
            }
            let example = try load(file)
            #expect(example["parameters"]?["api-version"] == .string(version), "\(context)")
            for (parameter, value) in try #require(example["parameters"]?.objectValue, "\(context)") {
                guard case .object = value else { continue }
                #expect(parameter == operation.requestParameter, "\(context): unexpected body \(parameter)")
                let check = try #require(PurviewDataTests.requestParameters[parameter], "\(context): \(parameter)")
                try check.run(value, "\(context) \(parameter)")
                requestBodies += 1
            }
            let responses = try #require(example["responses"]?.objectValue, "\(context)")
            #expect(responses.count == 1, "\(context)")
            for (status, response) in responses {
                if let body = response["body"] {
                    let check = try #require(operation.response, "\(context): unexpected body for \(status)")
                    #expect(status == "200", "\(context)")
                    try check.run(body, "\(context) \(status)")
                    responseBodies += 1
                } else {
                    #expect(operation.response == nil, "\(context): \(status) has no body")
                    #expect(status == (name == "DeleteWorkflow" ? "204" : "200"), "\(context)")
                }
            }
        }
        #expect(requestBodies == (version == "2022-05-01-preview" ? 3 : 3))
        #expect(responseBodies == (version == "2022-05-01-preview" ? 4 : 6))
    }

    // MARK: recordings

    /// One Workflow API operation as recorded: which models its request and response bodies are.
    struct Route {
        let name: String
        let request: BodyCheck?
        let response: BodyCheck?
        let status: Int
        /// The path segment that must equal the response body's `id`.
        let pathId: String?
    }

    static func route(method: String, segments: [String]) -> Route? {
        switch (method, segments.count, segments.first) {
        case ("GET", 1, "workflows"):
            return Route(
                name: "list workflows", request: nil, response: BodyCheck(Page<Workflow>.self), status: 200, pathId: nil
            )
        case ("GET", 2, "workflows"):
            return Route(
                name: "get workflow", request: nil, response: BodyCheck(Workflow.self), status: 200, pathId: segments[1]
            )
        case ("PUT", 2, "workflows"):
            return Route(
                name: "create or replace workflow", request: BodyCheck(WorkflowCreateOrUpdateCommand.self),
                response: BodyCheck(Workflow.self), status: 200, pathId: segments[1])
        case ("DELETE", 2, "workflows"):
            return Route(name: "delete workflow", request: nil, response: nil, status: 204, pathId: nil)
        case ("POST", 3, "workflows") where segments[2] == "validate":
            return Route(
                name: "validate workflow", request: BodyCheck(WorkflowCreateOrUpdateCommand.self),
                response: BodyCheck(ValidationResult.self), status: 200, pathId: nil)
        case ("POST", 1, "userrequests"):
            return Route(
                name: "submit user request", request: BodyCheck(UserRequestPayload.self),
                response: BodyCheck(UserRequestResponse.self), status: 200, pathId: nil)
        case ("GET", 1, "workflowruns"):
            return Route(
                name: "list runs", request: nil, response: BodyCheck(Page<WorkflowRun>.self), status: 200, pathId: nil)
        case ("GET", 2, "workflowruns"):
            return Route(
                name: "get run", request: nil, response: BodyCheck(WorkflowRun.self), status: 200, pathId: segments[1])
        case ("POST", 3, "workflowruns") where segments[2] == "cancel":
            return Route(
                name: "cancel run", request: BodyCheck(CancelRunCommand.self), response: nil, status: 200, pathId: nil)
        case ("GET", 1, "workflowtasks"):
            return Route(
                name: "list tasks", request: nil, response: BodyCheck(Page<WorkflowTask>.self), status: 200, pathId: nil
            )
        case ("GET", 2, "workflowtasks"):
            return Route(
                name: "get task", request: nil, response: BodyCheck(WorkflowTask.self), status: 200, pathId: segments[1]
            )
        case ("POST", 3, "workflowtasks"):
            let command: BodyCheck
            switch segments[2] {
            case "approve-approval", "reject-approval": command = BodyCheck(ApprovalResponseCommand.self)
            case "reassign": command = BodyCheck(ReassignCommand.self)
            case "change-task-status": command = BodyCheck(TaskUpdateCommand.self)
            default: return nil
            }
            return Route(name: segments[2], request: command, response: nil, status: 200, pathId: nil)
        default:
            return nil
        }
    }

    @Test func recordingsDecode() throws {
        let recordings = root.appendingPathComponent("recordings")
        let files = try jsonFiles(in: recordings) + jsonFiles(in: recordings.appendingPathComponent("java"))
        #expect(files.count == PurviewDataTests.expectedRecordingFiles, "\(files.map(\.lastPathComponent))")
        var entries = 0
        var identityEntries = 0
        var routesSeen: [String: Int] = [:]
        for file in files {
            let recording = try load(file)
            for (position, entry) in try #require(recording["Entries"]?.arrayValue, "\(file.lastPathComponent)")
                .enumerated()
            {
                entries += 1
                let context = "\(file.lastPathComponent)#\(position)"
                let uri = try #require(
                    entry["RequestUri"]?.stringValue.flatMap(URLComponents.init(string:)), "\(context)")
                let method = try #require(entry["RequestMethod"]?.stringValue, "\(context)")
                let status = try #require(entry["StatusCode"]?.intValue, "\(context)")
                if uri.host == "login.microsoftonline.com" {
                    // The identity provider's answers: OpenID configuration, instance discovery, tokens.
                    identityEntries += 1
                    #expect(status == 200)
                    let body = try #require(entry["ResponseBody"]?.objectValue, "\(context)")
                    #expect(
                        body["access_token"] != nil || body["token_endpoint"] != nil
                            || body["tenant_discovery_endpoint"] != nil, "\(context)")
                    continue
                }
                let pathParts = uri.path.split(separator: "/").map(String.init)
                #expect(pathParts.first == "workflow", "\(context)")
                let route = try #require(
                    PurviewDataTests.route(method: method, segments: Array(pathParts.dropFirst())),
                    "\(context): \(method) \(uri.path)")
                routesSeen[route.name, default: 0] += 1
                #expect(status == route.status, "\(context)")
                let apiVersion = uri.queryItems?.first { $0.name == "api-version" }?.value
                #expect(apiVersion == "2022-05-01-preview" || apiVersion == "2023-10-01-preview", "\(context)")

                let requestBody = entry["RequestBody"] ?? .null
                if let request = route.request {
                    try request.run(requestBody, "\(context) request")
                } else {
                    #expect(requestBody.isNull, "\(context): unexpected request body")
                }
                let responseBody = entry["ResponseBody"] ?? .null
                if let response = route.response {
                    try response.run(responseBody, "\(context) response")
                    if let pathId = route.pathId {
                        #expect(responseBody["id"]?.stringValue == pathId, "\(context)")
                    }
                } else {
                    #expect(responseBody.isNull, "\(context): unexpected response body")
                    let headers = entry["ResponseHeaders"]?.objectValue
                    #expect(headers?["Content-Type"] == nil, "\(context): empty answers carry no Content-Type")
                }
            }
        }
        #expect(entries == PurviewDataTests.expectedRecordingEntries)
        #expect(identityEntries == PurviewDataTests.expectedIdentityEntries)
        #expect(
            routesSeen == [
                "list workflows": 5, "get workflow": 1, "create or replace workflow": 1, "delete workflow": 1,
                "submit user request": 1, "list runs": 1, "get run": 1, "cancel run": 1, "list tasks": 1,
                "approve-approval": 1, "reject-approval": 1, "reassign": 1, "change-task-status": 1,
            ])
    }

    /// The YAML recording is not a copy of the JSON one from the same test (its third workflow differs), so
    /// its workflow list is decoded too.
    @Test func yamlRecordingDecodes() throws {
        let yamlFile = root.appendingPathComponent("recordings/sdkpy_2022-05-01-preview_test_smoke.test_smoke.yaml")
        let lines = try String(contentsOf: yamlFile, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        let yamlFiles = try FileManager.default.contentsOfDirectory(
            atPath: root.appendingPathComponent("recordings").path
        )
        .filter { $0.hasSuffix(".yaml") }
        #expect(yamlFiles.count == 1)

        let uriLine = try #require(
            lines.firstIndex {
                $0.contains("uri: https://localhost:5001/workflow/workflows?api-version=2022-05-01-preview")
            })
        #expect(lines[uriLine - 1].contains("method: GET"))
        let bodyLine = try #require(lines[uriLine...].first { $0.contains("string: '{") })
        // A YAML single-quoted scalar: the text between the outer quotes, with '' standing for '.
        let openingQuote = try #require(bodyLine.firstIndex(of: "'"))
        #expect(bodyLine.last == "'")
        let body = String(bodyLine[bodyLine.index(after: openingQuote)...].dropLast())
            .replacingOccurrences(of: "''", with: "'")
        let raw = try JSONValue(parsing: body)
        let page = try #require(try BodyCheck(Page<Workflow>.self).decode(raw, "yaml workflows") as? Page<Workflow>)
        #expect(page.value.count == 3)
        #expect(
            page.value.map(\.name) == [
                "CreateTerm16424820221130", "CreateTerm10382820221205", "CreateTerm10415520221205",
            ])
        #expect(page.value[2].isEnabled)
        #expect(
            page.value[2].triggers.first?.underGlossaryHierarchy == "/glossaries/5dae5e5b-5aa6-48f1-9e46-26fe7328de71")

        let jsonRecording = try load(
            root.appendingPathComponent(
                "recordings/sdkpy_2022-05-01-preview_test_smoke.pyTestWorkflowSmoketest_smoke.json"))
        let jsonPage = try #require(jsonRecording["Entries"]?.arrayValue?.last?["ResponseBody"])
        #expect(jsonPage != raw, "the YAML recording duplicates the JSON one; it could be dropped")
    }

    /// Facts picked out of specific files, written out by hand, so that a model and its check cannot both be
    /// wrong the same way.
    @Test func spotChecks() throws {
        let decoder = JSONValueDecoder()
        func responseBody(_ path: String, entry: Int = 0) throws -> JSONValue {
            try #require(load(root.appendingPathComponent(path))["Entries"]?[entry]?["ResponseBody"])
        }

        let run = try decoder.decode(
            WorkflowRun.self, from: responseBody("recordings/java/WorkflowRunGetTests.testWorkflowRunGetTests.json"))
        #expect(run.status == .failed)
        #expect(run.userRequestId == nil)
        #expect(run.endTime?.formatted() == "2023-07-20T19:15:51.543077914Z")
        #expect(
            run.runPayload?.payload?["glossaryTerm"]?["anchor"]?["glossaryGuid"]
                == "20031e20-b4df-4a66-a61d-1b0716f3fa48")
        let actions = try #require(run.detail?.actions)
        #expect(actions.count == 5)
        #expect(actions.values.filter { $0.status == .skipped }.count == 4)
        let approval = try #require(actions["Startandwaitforanapproval"])
        #expect(approval.status == .failed)
        #expect(approval.output?["error"]?["code"] == "Workflow.UserDataClient.CanNotFindEmailForUsers")
        #expect(approval.input?["parameters"]?["approvalType"] == "PendingOnAll")
        #expect(actions["Condition"]?.startTime?.formatted() == "2023-07-20T19:15:51.405451000Z")
        #expect(run.detail?.trigger?.type == .whenTermCreationIsRequested)
        #expect(run.detail?.runInput?["term"]?["definition"] == .null)

        let submitted = try decoder.decode(
            UserRequestResponse.self,
            from: responseBody("recordings/java/UserRequestsSubmitTests.testUserRequestsSubmitTests.json"))
        #expect(submitted.allWorkflowRunIds == ["dc66f68a-aab6-4677-951c-425607756cf1"])
        #expect(submitted.status == .inProgress)

        let workflows = try decoder.decode(
            Page<Workflow>.self,
            from: responseBody(
                "recordings/assets_2023-10-01-preview_test_smoke.pyTestWorkflowSmoketest_smoke.json", entry: 2))
        #expect(workflows.value.map(\.isEnabled) == [false, true, true])
        #expect(workflows.value.allSatisfy { $0.type == .userManaged })
        let dataAccess = try #require(workflows.value.last?.triggers.first)
        #expect(dataAccess.type == .whenDataAccessGrantIsRequested)
        #expect(
            dataAccess.eligibleAssetFilter == EligibleAssetFilter(type: "underCollection", value: "test-create-account")
        )
        #expect(workflows.nextLink == nil)

        let tasks = try decoder.decode(
            Page<WorkflowTask>.self,
            from: responseBody("recordings/java/WorkflowTasksListTests.testWorkflowTasksListTests.json"))
        #expect(
            tasks.value.map(\.id) == ["693f62ad-79f5-4364-822a-d85d7238e47e", "993a553c-09e7-4f10-9732-ca9b714defc4"])
        #expect(tasks.value.allSatisfy { $0.effectiveStatus == .pending && $0.requestor == "REDACTED" })

        let example = try load(root.appendingPathComponent("2022-05-01-preview/GetWorkflowTask.json"))
        let task = try decoder.decode(WorkflowTask.self, from: try #require(example["responses"]?["200"]?["body"]))
        let approver = try #require(task.approvalDetail?.approvers["eece94d9-0619-4669-bb8a-d6ecec5220bc"])
        #expect(
            approver
                == ApproverResponse(
                    reply: .approved, comment: "Thanks!",
                    responseTime: PurviewTimestamp("2023-02-06T09:57:46.056708512Z")))
        #expect(task.approvalDetail?.approvalType == .pendingOnAll)
        #expect(task.reminderInfo?.reminderSettings?["reminderFrequency"]?["Day"]?["number"] == 1)
        #expect(task.expiryInfo?.expiryTime?.formatted() == "2023-02-12T09:57:59.878107314Z")

        let validation = try load(root.appendingPathComponent("2023-10-01-preview/ValidateWorkflow.json"))
        let result = try decoder.decode(
            ValidationResult.self, from: try #require(validation["responses"]?["200"]?["body"]))
        #expect(
            result.violations.first?.location
                == ValidationLocation(
                    type: .actionParameter, actionName: "Email notification action", parameterKey: "emailMessage"))
        #expect(result.hasErrors)
    }

    // MARK: helpers

    func jsonFiles(in directory: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    func load(_ file: URL) throws -> JSONValue {
        let bytes = try Data(contentsOf: file)
        let parsed = try JSONValue(parsing: bytes)
        // Foundation must read the same document (via JSONValue's generic Decodable path).
        #expect(try JSONDecoder().decode(JSONValue.self, from: bytes) == parsed, "\(file.lastPathComponent)")
        return parsed
    }
}

/// Decodes a body with a model and checks it: key fields against the raw JSON, decode → encode reproducing
/// the document, and Foundation's JSONDecoder agreeing with ours.
struct BodyCheck: Sendable {
    let decode: @Sendable (JSONValue, String) throws -> Any

    init<Model: Codable & Equatable & Sendable & KeyFieldChecked>(_ type: Model.Type) {
        decode = { raw, context in
            let model = try JSONValueDecoder().decode(Model.self, from: raw)
            model.checkKeyFields(against: raw, context)
            let reencoded = try JSONValueEncoder().encodeToJSONValue(model)
            #expect(
                normalizingTimestamps(reencoded) == normalizingTimestamps(raw),
                "\(context): round trip lost or changed data")
            let viaFoundation = try JSONDecoder().decode(Model.self, from: Data(raw.serialized()))
            #expect(viaFoundation == model, "\(context): Foundation's decoder disagrees")
            return model
        }
    }

    func run(_ raw: JSONValue, _ context: String) throws { _ = try decode(raw, context) }
}

/// Compares a decoded model's identifying fields with the raw document it came from.
protocol KeyFieldChecked {
    func checkKeyFields(against raw: JSONValue, _ context: String)
}

private func timestamp(_ raw: JSONValue?) -> PurviewTimestamp? { raw?.stringValue.flatMap(PurviewTimestamp.init) }

extension Page: KeyFieldChecked where Element: KeyFieldChecked {
    func checkKeyFields(against raw: JSONValue, _ context: String) {
        let elements = raw["value"]?.arrayValue ?? []
        #expect(value.count == elements.count, "\(context)")
        #expect(nextLink == raw["nextLink"]?.stringValue, "\(context)")
        for (item, rawItem) in zip(value, elements) { item.checkKeyFields(against: rawItem, context) }
    }
}

extension Workflow: KeyFieldChecked {
    func checkKeyFields(against raw: JSONValue, _ context: String) {
        #expect(id == raw["id"]?.stringValue, "\(context)")
        #expect(name == raw["name"]?.stringValue, "\(context)")
        #expect(isEnabled == raw["isEnabled"]?.boolValue, "\(context)")
        #expect(description == raw["description"]?.stringValue, "\(context)")
        #expect(type?.rawValue == raw["type"]?.stringValue, "\(context)")
        #expect(
            triggers.map(\.type.rawValue) == raw["triggers"]?.arrayValue?.compactMap { $0["type"]?.stringValue },
            "\(context)")
        #expect(createdTime == timestamp(raw["createdTime"]), "\(context)")
        #expect(lastUpdateTime == timestamp(raw["lastUpdateTime"]), "\(context)")
        #expect(createdBy == raw["createdBy"]?.stringValue && updatedBy == raw["updatedBy"]?.stringValue, "\(context)")
        #expect(actionDag == raw["actionDag"], "\(context)")
    }
}

extension WorkflowCreateOrUpdateCommand: KeyFieldChecked {
    func checkKeyFields(against raw: JSONValue, _ context: String) {
        #expect(name == raw["name"]?.stringValue && isEnabled == raw["isEnabled"]?.boolValue, "\(context)")
        #expect(triggers.count == raw["triggers"]?.arrayValue?.count, "\(context)")
        #expect(actionDag == raw["actionDag"] && actionDag?["actions"]?.objectValue?.isEmpty == false, "\(context)")
    }
}

extension WorkflowRun: KeyFieldChecked {
    func checkKeyFields(against raw: JSONValue, _ context: String) {
        #expect(id == raw["id"]?.stringValue && workflowId == raw["workflowId"]?.stringValue, "\(context)")
        #expect(status.rawValue == raw["status"]?.stringValue && status.isKnown, "\(context)")
        #expect(
            userRequestId == raw["userRequestId"]?.stringValue && requestor == raw["requestor"]?.stringValue,
            "\(context)")
        #expect(
            startTime != nil && startTime == timestamp(raw["startTime"]) && endTime == timestamp(raw["endTime"]),
            "\(context)")
        #expect(
            runPayload?.type.rawValue == raw["runPayload"]?["type"]?.stringValue && runPayload?.type.isKnown == true,
            "\(context)")
        #expect(runPayload?.targetValue == raw["runPayload"]?["targetValue"]?.stringValue, "\(context)")
        #expect(runPayload?.payload == raw["runPayload"]?["payload"], "\(context)")
        #expect(actionDag == raw["actionDag"], "\(context)")
        let rawActions = raw["detail"]?["actions"]?.objectValue
        #expect(detail?.actions.count == rawActions?.count, "\(context)")
        for (name, record) in detail?.actions ?? [:] {
            #expect(
                record.status?.rawValue == rawActions?[name]?["status"]?.stringValue && record.status?.isKnown == true,
                "\(context) \(name)")
            #expect(record.startTime == timestamp(rawActions?[name]?["startTime"]), "\(context) \(name)")
        }
    }
}

extension WorkflowTask: KeyFieldChecked {
    func checkKeyFields(against raw: JSONValue, _ context: String) {
        #expect(id == raw["id"]?.stringValue && type.rawValue == raw["type"]?.stringValue && type.isKnown, "\(context)")
        #expect(
            workflowRunId == raw["workflowRunId"]?.stringValue && workflowId == raw["workflowId"]?.stringValue,
            "\(context)")
        #expect(title == raw["title"]?.stringValue, "\(context)")
        #expect(createdTime == timestamp(raw["createdTime"]) && createdTime != nil, "\(context)")
        #expect(payload?.type.rawValue == raw["payload"]?["type"]?.stringValue, "\(context)")
        #expect(payload?.targetValue == raw["payload"]?["targetValue"]?.stringValue, "\(context)")
        #expect(approvalDetail?.status.rawValue == raw["approvalDetail"]?["status"]?.stringValue, "\(context)")
        #expect(
            approvalDetail?.approvalType.rawValue == raw["approvalDetail"]?["approvalType"]?.stringValue, "\(context)")
        let rawApprovers = raw["approvalDetail"]?["approvers"]?.objectValue
        #expect(approvalDetail?.approvers.count == rawApprovers?.count, "\(context)")
        for (approver, response) in approvalDetail?.approvers ?? [:] {
            #expect(
                response.reply.rawValue == rawApprovers?[approver]?["reply"]?.stringValue && response.reply.isKnown,
                "\(context)")
        }
        #expect(reminderInfo?.nextRemindTime == timestamp(raw["reminderInfo"]?["nextRemindTime"]), "\(context)")
        #expect(expiryInfo?.expiryTime == timestamp(raw["expiryInfo"]?["expiryTime"]), "\(context)")
    }
}

extension UserRequestPayload: KeyFieldChecked {
    func checkKeyFields(against raw: JSONValue, _ context: String) {
        let rawOperations = raw["operations"]?.arrayValue ?? []
        #expect(operations.map(\.type.rawValue) == rawOperations.compactMap { $0["type"]?.stringValue }, "\(context)")
        #expect(operations.map(\.payload) == rawOperations.map { $0["payload"] }, "\(context)")
        #expect(comment == raw["comment"]?.stringValue, "\(context)")
    }
}

extension UserRequestResponse: KeyFieldChecked {
    func checkKeyFields(against raw: JSONValue, _ context: String) {
        #expect(requestId == raw["requestId"]?.stringValue && requestor == raw["requestor"]?.stringValue, "\(context)")
        #expect(status?.rawValue == raw["status"]?.stringValue && status?.isKnown == true, "\(context)")
        let rawOperations = raw["operations"]?.arrayValue ?? []
        #expect(operations.map(\.type.rawValue) == rawOperations.compactMap { $0["type"]?.stringValue }, "\(context)")
        let rawRunIds = rawOperations.flatMap { $0["workflowRunIds"]?.arrayValue ?? [] }.compactMap(\.stringValue)
        #expect(!rawRunIds.isEmpty && allWorkflowRunIds == rawRunIds, "\(context)")
    }
}

extension ValidationResult: KeyFieldChecked {
    func checkKeyFields(against raw: JSONValue, _ context: String) {
        let rawViolations = raw["value"]?.arrayValue ?? []
        #expect(violations.count == rawViolations.count, "\(context)")
        #expect(violations.map(\.message) == rawViolations.compactMap { $0["message"]?.stringValue }, "\(context)")
        #expect(
            violations.map(\.severity.rawValue) == rawViolations.compactMap { $0["severity"]?.stringValue },
            "\(context)")
    }
}

extension CancelRunCommand: KeyFieldChecked {
    func checkKeyFields(against raw: JSONValue, _ context: String) {
        #expect(comment != nil && comment == raw["comment"]?.stringValue, "\(context)")
    }
}

extension ApprovalResponseCommand: KeyFieldChecked {
    func checkKeyFields(against raw: JSONValue, _ context: String) {
        #expect(comment != nil && comment == raw["comment"]?.stringValue, "\(context)")
    }
}

extension TaskUpdateCommand: KeyFieldChecked {
    func checkKeyFields(against raw: JSONValue, _ context: String) {
        #expect(newStatus.rawValue == raw["newStatus"]?.stringValue && newStatus.isKnown, "\(context)")
        #expect(comment == raw["comment"]?.stringValue, "\(context)")
    }
}

extension ReassignCommand: KeyFieldChecked {
    func checkKeyFields(against raw: JSONValue, _ context: String) {
        let rawItems = raw["reassignments"]?.arrayValue ?? []
        #expect(!rawItems.isEmpty && reassignments.count == rawItems.count, "\(context)")
        for (item, rawItem) in zip(reassignments, rawItems) {
            #expect(
                item.reassignFrom == rawItem["reassignFrom"]?.stringValue
                    && item.reassignTo == rawItem["reassignTo"]?.stringValue, "\(context)")
        }
    }
}

@Suite struct PurviewDataLocationTests {
    /// The data is found from a clone (`<dir>/main` beside `<dir>/shared`) and from a worktree
    /// (`<dir>/wt/<name>`), and not found when absent.
    @Test func findsSharedDataBesideTheCheckout() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("purview-locate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: base) }
        let testFile = "Tests/PurviewWorkflowTests/PurviewDataTests.swift"
        let clone = base.appendingPathComponent("main").appendingPathComponent(testFile).path
        let worktree = base.appendingPathComponent("wt/models").appendingPathComponent(testFile).path
        #expect(purviewDataDirectory(filePath: clone) == nil)

        let shared = base.appendingPathComponent("shared/purview")
        try FileManager.default.createDirectory(at: shared, withIntermediateDirectories: true)
        #expect(purviewDataDirectory(filePath: clone)?.standardizedFileURL.path == shared.standardizedFileURL.path)
        #expect(purviewDataDirectory(filePath: worktree)?.standardizedFileURL.path == shared.standardizedFileURL.path)
    }
}
