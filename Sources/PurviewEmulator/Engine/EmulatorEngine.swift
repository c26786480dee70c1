public import PurviewWorkflow

/// A person or application the emulator knows: approvers given by email resolve to `objectId`.
public struct EmulatorPrincipal: Sendable, Hashable {
    public var objectId: String
    public var email: String?
    public var displayName: String?
    /// Administrators may list all runs (`viewMode=admin`) and cancel anyone's run.
    public var isAdministrator: Bool

    public init(objectId: String, email: String? = nil, displayName: String? = nil, isAdministrator: Bool = false) {
        self.objectId = objectId
        self.email = email
        self.displayName = displayName
        self.isAdministrator = isAdministrator
    }
}

/// Fixed inputs of the engine (not part of snapshots).
public struct EmulatorConfiguration: Sendable, Hashable {
    /// The Purview account name, which is also the root collection: an `underCollection` scope naming
    /// it matches every operation.
    public var accountName: String
    /// The principal directory.
    public var principals: [EmulatorPrincipal]
    /// When true, an approver or assignee given as an object id missing from `principals` fails the
    /// action as the service does (`Workflow.UserDataClient.CanNotFindEmailForUsers`).
    public var requireKnownPrincipals: Bool

    public init(
        accountName: String = "purview-emulator", principals: [EmulatorPrincipal] = [],
        requireKnownPrincipals: Bool = false
    ) {
        self.accountName = accountName
        self.principals = principals
        self.requireKnownPrincipals = requireKnownPrincipals
    }

    func principal(email: String) -> EmulatorPrincipal? {
        let wanted = email.lowercased()
        return principals.first { $0.email?.lowercased() == wanted }
    }

    func isAdministrator(_ objectId: String) -> Bool {
        let wanted = normalizedPrincipal(objectId)
        return principals.contains { normalizedPrincipal($0.objectId) == wanted && $0.isAdministrator }
    }
}

/// One page of a list answer. The HTTP layer renders `{"value":[...],"nextLink":...}`, building an
/// absolute nextLink with `continuationToken=<token>` when ``continuationToken`` is set.
public struct EmulatorPage: Sendable, Hashable {
    public var value: [JSONValue]
    public var continuationToken: String?

    public init(value: [JSONValue], continuationToken: String? = nil) {
        self.value = value
        self.continuationToken = continuationToken
    }

    /// `{"value":[...]}` (without nextLink, which needs the request URL).
    public var json: JSONValue { ["value": .array(value)] }
}

/// Everything the emulator remembers; value types only, so a copy is a snapshot.
struct EngineState: Sendable, Hashable {
    var workflows: [String: WorkflowRecord] = [:]
    var workflowOrder: [String] = []
    var runs: [String: RunRecord] = [:]
    var runOrder: [String] = []
    var tasks: [String: TaskRecord] = [:]
    var taskOrder: [String] = []
    /// True while `taskOrder` is also creation-time order (a clock that stepped back makes it false), so a listing
    /// by `createdTime` can walk `taskOrder` and stop after its page instead of sorting every task.
    var taskOrderIsChronological = true
    /// The tasks created with a reminder or an expiry, in `taskOrder` order: the only ones timers can fire for, so
    /// the timer scan that precedes every call stays small however many plain tasks there are.
    var timedTaskOrder: [String] = []
    var userRequests: [String: UserRequestRecord] = [:]
    var userRequestOrder: [String] = []
    var effects: [EmulatorEffect] = []
    var emails: [EmulatorEmail] = []
    /// Added to the clock by `advance(seconds:)`.
    var timeOffsetNanoseconds: Int64 = 0
}

/// The Purview Workflow service without HTTP: workflows, validation, user requests, runs walking
/// their action DAG, approval and simple tasks, reminders and expiry, effects and emails.
///
/// A plain value: the owner serialises access (a `Mutex` or an actor) and calls one method per API
/// operation with the calling principal's object id. Every method first fires the reminders and
/// expiries that are due, so reads are `mutating` too. Failures are ``EmulatorError``s carrying the
/// HTTP status and the service-style code.
public struct EmulatorEngine: Sendable {
    public var configuration: EmulatorConfiguration
    private let clock: any EmulatorClock
    private var ids: any EmulatorIDGenerator
    var state = EngineState()
    /// While timers fire, records use the timer's own time rather than the clock's.
    var pinnedTime: PurviewTimestamp?

    public init(
        configuration: EmulatorConfiguration = EmulatorConfiguration(), clock: any EmulatorClock = SystemClock(),
        ids: any EmulatorIDGenerator = RandomIDGenerator()
    ) {
        self.configuration = configuration
        self.clock = clock
        self.ids = ids
    }

    /// The emulator's current time: the clock plus everything `advance(seconds:)` added.
    public var now: PurviewTimestamp {
        pinnedTime ?? PurviewTimestamp(clock.now()).adding(.nanoseconds(state.timeOffsetNanoseconds))
    }

    /// Moves the emulator's time forward and fires the reminders and expiries now due.
    /// Negative or non-finite amounts are ignored; the emulator's time runs at most a century ahead of
    /// the clock (so that timestamps plus the longest reminder or expiry period stay within Int64).
    public mutating func advance(seconds: Double) {
        if seconds > 0, seconds.isFinite {
            let bounded = min(seconds, Self.century)
            let total = state.timeOffsetNanoseconds.addingReportingOverflow(Int64((bounded * 1_000_000_000).rounded()))
            state.timeOffsetNanoseconds = min(total.overflow ? Int64.max : total.partialValue, Self.maximumOffset)
        }
        tick()
    }

    private static let century: Double = 100 * 365 * 86_400
    private static let maximumOffset = Int64(century) * 1_000_000_000

    /// Fires due reminders and expiries. Every API method calls it first; call it on a timer to
    /// have reminder emails appear without traffic.
    public mutating func tick() {
        fireDueTimers()
    }

    /// Effects applied so far, oldest first.
    public var effects: [EmulatorEffect] { state.effects }

    /// Emails sent so far, oldest first.
    public var emails: [EmulatorEmail] { state.emails }

    /// A fresh id not used by any workflow, run, task or request (a restored snapshot may hold ids a
    /// sequential generator would issue again).
    mutating func newID() -> String {
        for _ in 0..<10_000 {
            let id = ids.next().lowercased()
            if state.workflows[id] == nil, state.runs[id] == nil, state.tasks[id] == nil,
                state.userRequests[id] == nil
            {
                return id
            }
        }
        preconditionFailure("the id generator keeps issuing ids already in use")
    }

    // MARK: - Workflows

    /// PUT /workflows/{id}: creates or replaces; the answer is 200 either way. A replace keeps
    /// createdTime/createdBy. Definitions with validation errors are refused (400) with one detail per
    /// violation.
    public mutating func createOrReplaceWorkflow(id rawID: String, body: JSONValue, caller: String)
        throws(EmulatorError) -> JSONValue
    {
        tick()
        guard isUUID(rawID) else { throw .invalidParameter("workflowId", "The workflow id '\(rawID)' is not a UUID.") }
        guard let object = body.objectValue else {
            throw .invalidRequest("The request body must be a JSON object.")
        }
        let errors = WorkflowValidator.validate(body).filter { $0.severity == .error }
        if let first = errors.first {
            let more = errors.count > 1 ? " (and \(errors.count - 1) more problems)" : ""
            throw EmulatorError(
                .badRequest, code: "Workflow.InvalidWorkflowDefinition", message: first.message + more,
                target: first.actionName,
                details: errors.map { violation in
                    EmulatorError(
                        .badRequest, code: "Workflow.ValidationError", message: violation.message,
                        target: [violation.actionName, violation.parameterKey].compactMap { $0 }.joined(separator: "/")
                            .nilIfEmpty)
                })
        }
        let id = rawID.lowercased()
        let time = now
        let who = normalizedPrincipal(caller)
        let previous = state.workflows[id]
        let record = WorkflowRecord(
            id: id, name: object["name"]?.stringValue ?? "", description: object["description"]?.stringValue ?? "",
            isEnabled: object["isEnabled"]?.boolValue ?? false, triggers: object["triggers"]?.arrayValue ?? [],
            actionDag: object["actionDag"].flatMap { $0.isNull ? nil : ActionDagForm.normalized($0) },
            createdTime: previous?.createdTime ?? time, createdBy: previous?.createdBy ?? who, lastUpdateTime: time,
            updatedBy: who)
        if previous == nil { state.workflowOrder.append(id) }
        state.workflows[id] = record
        // The PUT echo shows the DAG as sent (plus defaults); GET shows modernised expressions.
        return render(record, includeDag: true, modernize: false)
    }

    /// GET /workflows/{id}.
    public mutating func getWorkflow(id: String, caller: String) throws(EmulatorError) -> JSONValue {
        tick()
        guard let record = state.workflows[id.lowercased()] else { throw .workflowNotFound(id) }
        return render(record, includeDag: true, modernize: true)
    }

    /// GET /workflows: metadata only (no actionDag), oldest first.
    public mutating func listWorkflows(caller: String) -> EmulatorPage {
        tick()
        return EmulatorPage(
            value: state.workflowOrder.compactMap { state.workflows[$0] }.map {
                render($0, includeDag: false, modernize: true)
            })
    }

    /// DELETE /workflows/{id} (204). Runs already started keep going with their own DAG copy.
    public mutating func deleteWorkflow(id: String, caller: String) throws(EmulatorError) {
        tick()
        let key = id.lowercased()
        guard state.workflows.removeValue(forKey: key) != nil else { throw .workflowNotFound(id) }
        state.workflowOrder.removeAll { $0 == key }
    }

    /// POST /workflows/{id}/validate: `{"value":[violation...],"errors":[same]}`, `value` as the
    /// service answers and `errors` as the seed specification names it.
    public mutating func validateWorkflow(id: String, body: JSONValue, caller: String) throws(EmulatorError)
        -> JSONValue
    {
        tick()
        guard isUUID(id) else { throw .invalidParameter("workflowId", "The workflow id '\(id)' is not a UUID.") }
        guard body.objectValue != nil else { throw .invalidRequest("The request body must be a JSON object.") }
        let violations = WorkflowValidator.validate(body).map(\.json)
        return ["value": .array(violations), "errors": .array(violations)]
    }

    func render(_ record: WorkflowRecord, includeDag: Bool, modernize: Bool) -> JSONValue {
        var object: JSONObject = [
            "id": .string(record.id), "type": "UserManaged", "triggers": .array(record.triggers),
            "createdTime": .string(record.createdTime.description), "createdBy": .string(record.createdBy),
            "lastUpdateTime": .string(record.lastUpdateTime.description), "updatedBy": .string(record.updatedBy),
            "name": .string(record.name), "isEnabled": .bool(record.isEnabled),
            "description": .string(record.description),
        ]
        if includeDag, let dag = record.actionDag {
            object["actionDag"] = modernize ? ActionDagForm.modernized(dag) : dag
        }
        return .object(object)
    }

    // MARK: - User requests

    /// POST /userrequests. Each operation starts one run per enabled workflow whose trigger matches
    /// it (type and scope); an operation no workflow matches is applied directly (an effect without a
    /// run). The answer echoes the operations with their `workflowRunIds`, adds every run id at the
    /// top level (`workflowRunIds`, as the seed specification has it), and says `InProgress` when a
    /// run started, `Completed` when everything was applied directly.
    public mutating func submitUserRequest(body: JSONValue, caller: String) throws(EmulatorError) -> JSONValue {
        tick()
        guard let object = body.objectValue else { throw .invalidRequest("The request body must be a JSON object.") }
        guard let operations = object["operations"]?.arrayValue, !operations.isEmpty else {
            throw .invalidRequest("The request must hold a non-empty 'operations' array.", target: "operations")
        }
        var comment: String?
        if let value = object["comment"], !value.isNull {
            guard let text = value.stringValue else {
                throw .invalidRequest("The 'comment' must be a string.", target: "comment")
            }
            comment = text
        }
        var parsed: [(OperationKind, JSONValue)] = []
        for (index, operation) in operations.enumerated() {
            guard let typeName = operation["type"]?.stringValue,
                let kind = OperationKind.allCases.first(where: { $0.rawValue.lowercased() == typeName.lowercased() })
            else {
                let known = OperationKind.allCases.map(\.rawValue).joined(separator: ", ")
                throw .invalidRequest(
                    "The operation type '\(operation["type"]?.stringValue ?? "")' is not supported; expected one of \(known).",
                    target: "operations[\(index)].type")
            }
            guard let payload = operation["payload"], payload.objectValue != nil else {
                throw .invalidRequest(
                    "The operation payload must be a JSON object.", target: "operations[\(index)].payload")
            }
            parsed.append((kind, payload))
        }

        let requestor = normalizedPrincipal(caller)
        let requestId = newID()
        let time = now
        var recorded: [UserRequestRecord.Operation] = []
        var allRunIds: [String] = []
        let enabled = state.workflowOrder.compactMap { state.workflows[$0] }.filter(\.isEnabled)
        for (kind, payload) in parsed {
            let facts = OperationFacts(kind: kind, payload: payload)
            let operation = OperationRecord(type: kind.rawValue, payload: payload, targetValue: facts.targetValue)
            var runIds: [String] = []
            for workflow in enabled {
                guard
                    let trigger = workflow.triggers.first(where: {
                        TriggerMatcher.matches($0, facts, rootCollection: configuration.accountName)
                    })
                else { continue }
                runIds.append(
                    startRun(
                        workflow: workflow, trigger: trigger, facts: facts, operation: operation,
                        requestId: requestId, requestor: requestor))
            }
            if runIds.isEmpty {
                recordEffect(
                    type: kind.rawValue, payload: payload, requestId: requestId, requestor: requestor, run: nil,
                    actionName: nil)
            }
            recorded.append(.init(type: kind.rawValue, payload: payload, workflowRunIds: runIds))
            allRunIds += runIds
        }
        let status: RunStatus = allRunIds.isEmpty ? .completed : .inProgress
        let record = UserRequestRecord(
            id: requestId, requestor: requestor, comment: comment, operations: recorded, status: status,
            createdTime: time)
        state.userRequests[requestId] = record
        state.userRequestOrder.append(requestId)

        var answer: JSONObject = [
            "requestId": .string(requestId), "requestor": .string(requestor),
            "operations": .array(
                recorded.map {
                    [
                        "type": .string($0.type), "payload": $0.payload,
                        "workflowRunIds": .array($0.workflowRunIds.map { .string($0) }),
                    ]
                }),
        ]
        answer["comment"] = comment.map { .string($0) }
        answer["status"] = .string(status.rawValue)
        answer["workflowRunIds"] = .array(allRunIds.map { .string($0) })
        return .object(answer)
    }

    mutating func recordEffect(
        type: String, payload: JSONValue, requestId: String, requestor: String, run: RunRecord?, actionName: String?
    ) {
        state.effects.append(
            EmulatorEffect(
                sequence: state.effects.count + 1, type: type, payload: payload, requestId: requestId,
                requestor: requestor, runId: run?.id, workflowId: run?.workflowId, actionName: actionName, time: now))
    }

    mutating func recordEmail(
        kind: EmulatorEmail.Kind, recipients: [String], subject: String, message: String, runId: String?,
        taskId: String?, actionName: String?
    ) {
        state.emails.append(
            EmulatorEmail(
                sequence: state.emails.count + 1, kind: kind, recipients: recipients, subject: subject,
                message: message, runId: runId, taskId: taskId, actionName: actionName, time: now))
    }

    // MARK: - Snapshots

    /// The whole state as JSON, for `--state` persistence.
    public func snapshot() -> JSONValue {
        [
            "version": 1,
            "timeOffsetNanoseconds": .string(String(state.timeOffsetNanoseconds)),
            "workflows": .array(state.workflowOrder.compactMap { state.workflows[$0]?.snapshot }),
            "runs": .array(state.runOrder.compactMap { state.runs[$0]?.snapshot }),
            "tasks": .array(state.taskOrder.compactMap { state.tasks[$0]?.snapshot }),
            "userRequests": .array(state.userRequestOrder.compactMap { state.userRequests[$0]?.snapshot }),
            "effects": .array(state.effects.map(\.json)),
            "emails": .array(state.emails.map(\.json)),
        ]
    }

    /// Replaces the state with a snapshot's; on error the state is unchanged.
    public mutating func restore(from snapshot: JSONValue) throws(EmulatorError) {
        let reader = try SnapshotReader(snapshot, "snapshot")
        guard reader.optionalValue("version")?.intValue == 1 else { throw SnapshotReader.invalid("version") }
        var restored = EngineState()
        guard let offset = Int64(try reader.string("timeOffsetNanoseconds")) else {
            throw SnapshotReader.invalid("time offset")
        }
        restored.timeOffsetNanoseconds = offset
        for item in try reader.array("workflows") {
            let record = try WorkflowRecord(snapshot: item)
            restored.workflows[record.id] = record
            restored.workflowOrder.append(record.id)
        }
        for item in try reader.array("runs") {
            let record = try RunRecord(snapshot: item)
            restored.runs[record.id] = record
            restored.runOrder.append(record.id)
        }
        for item in try reader.array("tasks") {
            let record = try TaskRecord(snapshot: item)
            restored.appendTask(record)
            if record.hasTimers { restored.timedTaskOrder.append(record.id) }
        }
        for item in try reader.array("userRequests") {
            let record = try UserRequestRecord(snapshot: item)
            restored.userRequests[record.id] = record
            restored.userRequestOrder.append(record.id)
        }
        for item in try reader.array("effects") { restored.effects.append(try EmulatorEffect(snapshot: item)) }
        for item in try reader.array("emails") { restored.emails.append(try EmulatorEmail(snapshot: item)) }
        state = restored
    }

    /// Effects as JSON, oldest first (for a debugging endpoint).
    public var effectsJSON: JSONValue { ["value": .array(state.effects.map(\.json))] }

    /// Emails as JSON, oldest first (for a debugging endpoint).
    public var emailsJSON: JSONValue { ["value": .array(state.emails.map(\.json))] }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}

extension EngineState {
    /// Records a new task at the end of `taskOrder`, noting whether that order is still creation-time order.
    mutating func appendTask(_ task: TaskRecord) {
        if let last = taskOrder.last, let previous = tasks[last], task.createdTime < previous.createdTime {
            taskOrderIsChronological = false
        }
        tasks[task.id] = task
        taskOrder.append(task.id)
    }
}
