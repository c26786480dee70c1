public import PurviewWorkflow

// The emulator's state, all value types. Each record knows how to write itself into a snapshot and
// read itself back (`snapshot` / `init(snapshot:)`), so nothing is lost across `--state` restarts.

/// Workflow run status, as the service spells it.
enum RunStatus: String, Sendable, CaseIterable {
    case notStarted = "NotStarted"
    case inProgress = "InProgress"
    case failed = "Failed"
    case completed = "Completed"
    case canceling = "Canceling"
    case cancellationFailed = "CancellationFailed"
    case canceled = "Canceled"

    var isFinished: Bool { self == .failed || self == .completed || self == .canceled || self == .cancellationFailed }

    /// Accepts any case and the seed's `Cancelled` spelling.
    init?(lenient text: String) {
        let lowered = text.lowercased()
        if lowered == "cancelled" {
            self = .canceled
            return
        }
        guard let match = Self.allCases.first(where: { $0.rawValue.lowercased() == lowered }) else { return nil }
        self = match
    }
}

/// Status of one action inside a run.
enum ActionStatus: String, Sendable, CaseIterable {
    case running = "Running"
    case succeeded = "Succeeded"
    case failed = "Failed"
    case skipped = "Skipped"
    case canceled = "Canceled"
    case timedOut = "TimedOut"

    var isFinished: Bool { self != .running }
}

/// An operation of a user request: what a run is about.
struct OperationRecord: Sendable, Hashable {
    var type: String
    var payload: JSONValue
    var targetValue: String

    var snapshot: JSONValue { ["type": .string(type), "payload": payload, "targetValue": .string(targetValue)] }

    init(type: String, payload: JSONValue, targetValue: String) {
        self.type = type
        self.payload = payload
        self.targetValue = targetValue
    }

    init(snapshot: JSONValue?) throws(EmulatorError) {
        let reader = try SnapshotReader(snapshot, "operation")
        type = try reader.string("type")
        payload = try reader.value("payload")
        targetValue = try reader.string("targetValue")
    }
}

struct WorkflowRecord: Sendable, Hashable {
    var id: String
    var name: String
    var description: String
    var isEnabled: Bool
    var triggers: [JSONValue]
    /// Normalised at PUT (runtimeConfiguration defaults); nil when the PUT had none.
    var actionDag: JSONValue?
    var createdTime: PurviewTimestamp
    var createdBy: String
    var lastUpdateTime: PurviewTimestamp
    var updatedBy: String

    var snapshot: JSONValue {
        var object: JSONObject = [
            "id": .string(id), "name": .string(name), "description": .string(description),
            "isEnabled": .bool(isEnabled), "triggers": .array(triggers),
            "createdTime": .string(createdTime.description), "createdBy": .string(createdBy),
            "lastUpdateTime": .string(lastUpdateTime.description), "updatedBy": .string(updatedBy),
        ]
        object["actionDag"] = actionDag
        return .object(object)
    }

    init(
        id: String, name: String, description: String, isEnabled: Bool, triggers: [JSONValue], actionDag: JSONValue?,
        createdTime: PurviewTimestamp, createdBy: String, lastUpdateTime: PurviewTimestamp, updatedBy: String
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.isEnabled = isEnabled
        self.triggers = triggers
        self.actionDag = actionDag
        self.createdTime = createdTime
        self.createdBy = createdBy
        self.lastUpdateTime = lastUpdateTime
        self.updatedBy = updatedBy
    }

    init(snapshot: JSONValue) throws(EmulatorError) {
        let reader = try SnapshotReader(snapshot, "workflow")
        id = try reader.string("id")
        name = try reader.string("name")
        description = try reader.string("description")
        isEnabled = try reader.bool("isEnabled")
        triggers = try reader.array("triggers")
        actionDag = reader.optionalValue("actionDag")
        createdTime = try reader.timestamp("createdTime")
        createdBy = try reader.string("createdBy")
        lastUpdateTime = try reader.timestamp("lastUpdateTime")
        updatedBy = try reader.string("updatedBy")
    }
}

/// The error an action ends with, shown as `output.error` in the run detail.
struct ActionFailure: Sendable, Hashable {
    var requestId: String
    var code: String
    var message: String

    var json: JSONValue { ["requestId": .string(requestId), "code": .string(code), "message": .string(message)] }

    init(requestId: String, code: String, message: String) {
        self.requestId = requestId
        self.code = code
        self.message = message
    }

    init(snapshot: JSONValue?) throws(EmulatorError) {
        let reader = try SnapshotReader(snapshot, "action error")
        requestId = try reader.string("requestId")
        code = try reader.string("code")
        message = try reader.string("message")
    }
}

/// What happened to one action of a run.
struct ActionRecord: Sendable, Hashable {
    var startTime: PurviewTimestamp
    var endTime: PurviewTimestamp?
    var status: ActionStatus
    /// The evaluated `inputs.parameters`, when the action has any.
    var input: JSONValue?
    /// What `outputs('<name>')` returns once the action succeeded.
    var outputs: JSONValue?
    var failure: ActionFailure?
    /// The task an Approval or Task action waits for.
    var taskId: String?
    /// For `If`: which branch runs.
    var branch: Bool?

    init(startTime: PurviewTimestamp, status: ActionStatus) {
        self.startTime = startTime
        self.status = status
    }

    var snapshot: JSONValue {
        var object: JSONObject = ["startTime": .string(startTime.description), "status": .string(status.rawValue)]
        object["endTime"] = endTime.map { .string($0.description) }
        object["input"] = input
        object["outputs"] = outputs
        object["failure"] = failure?.json
        object["taskId"] = taskId.map { .string($0) }
        object["branch"] = branch.map { .bool($0) }
        return .object(object)
    }

    init(snapshot: JSONValue?) throws(EmulatorError) {
        let reader = try SnapshotReader(snapshot, "action")
        startTime = try reader.timestamp("startTime")
        endTime = try reader.optionalTimestamp("endTime")
        guard let status = ActionStatus(rawValue: try reader.string("status")) else {
            throw SnapshotReader.invalid("action status")
        }
        self.status = status
        input = reader.optionalValue("input")
        outputs = reader.optionalValue("outputs")
        failure = try reader.optionalValue("failure").map { value throws(EmulatorError) in
            try ActionFailure(snapshot: value)
        }
        taskId = reader.optionalString("taskId")
        branch = reader.optionalValue("branch")?.boolValue
    }
}

struct RunRecord: Sendable, Hashable {
    var id: String
    var workflowId: String
    var workflowName: String
    var userRequestId: String
    var requestor: String
    var operation: OperationRecord
    var trigger: JSONValue
    var actionDag: JSONValue
    var runInput: JSONValue
    var status: RunStatus
    var startTime: PurviewTimestamp
    var endTime: PurviewTimestamp?
    var cancelTime: PurviewTimestamp?
    var cancelComment: String?
    var actions: [String: ActionRecord] = [:]
    /// Action names in the order they started, for a stable rendering.
    var actionOrder: [String] = []

    init(
        id: String, workflowId: String, workflowName: String, userRequestId: String, requestor: String,
        operation: OperationRecord, trigger: JSONValue, actionDag: JSONValue, runInput: JSONValue,
        startTime: PurviewTimestamp
    ) {
        self.id = id
        self.workflowId = workflowId
        self.workflowName = workflowName
        self.userRequestId = userRequestId
        self.requestor = requestor
        self.operation = operation
        self.trigger = trigger
        self.actionDag = actionDag
        self.runInput = runInput
        self.status = .inProgress
        self.startTime = startTime
    }

    mutating func setAction(_ name: String, _ record: ActionRecord) {
        if actions.updateValue(record, forKey: name) == nil { actionOrder.append(name) }
    }

    var snapshot: JSONValue {
        var object: JSONObject = [
            "id": .string(id), "workflowId": .string(workflowId), "workflowName": .string(workflowName),
            "userRequestId": .string(userRequestId), "requestor": .string(requestor),
            "operation": operation.snapshot, "trigger": trigger, "actionDag": actionDag, "runInput": runInput,
            "status": .string(status.rawValue), "startTime": .string(startTime.description),
        ]
        object["endTime"] = endTime.map { .string($0.description) }
        object["cancelTime"] = cancelTime.map { .string($0.description) }
        object["cancelComment"] = cancelComment.map { .string($0) }
        object["actions"] = .array(
            actionOrder.compactMap { name in
                actions[name].map { ["name": .string(name), "record": $0.snapshot] }
            })
        return .object(object)
    }

    init(snapshot: JSONValue) throws(EmulatorError) {
        let reader = try SnapshotReader(snapshot, "run")
        id = try reader.string("id")
        workflowId = try reader.string("workflowId")
        workflowName = try reader.string("workflowName")
        userRequestId = try reader.string("userRequestId")
        requestor = try reader.string("requestor")
        operation = try OperationRecord(snapshot: reader.optionalValue("operation"))
        trigger = try reader.value("trigger")
        actionDag = try reader.value("actionDag")
        runInput = try reader.value("runInput")
        guard let status = RunStatus(rawValue: try reader.string("status")) else {
            throw SnapshotReader.invalid("run status")
        }
        self.status = status
        startTime = try reader.timestamp("startTime")
        endTime = try reader.optionalTimestamp("endTime")
        cancelTime = try reader.optionalTimestamp("cancelTime")
        cancelComment = reader.optionalString("cancelComment")
        for item in try reader.array("actions") {
            let entry = try SnapshotReader(item, "run action")
            setAction(try entry.string("name"), try ActionRecord(snapshot: entry.optionalValue("record")))
        }
    }
}

enum TaskType: String, Sendable {
    case approval = "Approval"
    case simpleTask = "SimpleTask"
}

enum ApprovalStatus: String, Sendable, CaseIterable {
    case pending = "Pending"
    case approved = "Approved"
    case rejected = "Rejected"
    case canceled = "Canceled"
}

enum ApproverReply: String, Sendable {
    case pending = "Pending"
    case approved = "Approved"
    case rejected = "Rejected"
}

enum SimpleTaskStatus: String, Sendable, CaseIterable {
    case notStarted = "NotStarted"
    case inProgress = "InProgress"
    case completed = "Completed"
    case canceled = "Canceled"

    init?(lenient text: String) {
        let lowered = text.lowercased().replacing(" ", with: "")
        if lowered == "cancelled" {
            self = .canceled
            return
        }
        guard let match = Self.allCases.first(where: { $0.rawValue.lowercased() == lowered }) else { return nil }
        self = match
    }
}

struct Approver: Sendable, Hashable {
    var id: String
    var reply: ApproverReply
    var comment: String?
    var responseTime: PurviewTimestamp?

    var snapshot: JSONValue {
        var object: JSONObject = ["id": .string(id), "reply": .string(reply.rawValue)]
        object["comment"] = comment.map { .string($0) }
        object["responseTime"] = responseTime.map { .string($0.description) }
        return .object(object)
    }

    init(id: String, reply: ApproverReply = .pending) {
        self.id = id
        self.reply = reply
    }

    init(snapshot: JSONValue) throws(EmulatorError) {
        let reader = try SnapshotReader(snapshot, "approver")
        id = try reader.string("id")
        guard let reply = ApproverReply(rawValue: try reader.string("reply")) else {
            throw SnapshotReader.invalid("approver reply")
        }
        self.reply = reply
        comment = reader.optionalString("comment")
        responseTime = try reader.optionalTimestamp("responseTime")
    }
}

struct ApprovalState: Sendable, Hashable {
    var approvalType: String
    var status: ApprovalStatus
    var approvers: [Approver]
}

struct StatusChange: Sendable, Hashable {
    var previousStatus: SimpleTaskStatus
    var newStatus: SimpleTaskStatus
    var changedBy: String
    var comment: String?
    var time: PurviewTimestamp

    var json: JSONValue {
        var object: JSONObject = [
            "previousStatus": .string(previousStatus.rawValue), "newStatus": .string(newStatus.rawValue),
            "changedBy": .string(changedBy), "changedTime": .string(time.description),
        ]
        object["comment"] = comment.map { .string($0) }
        return .object(object)
    }

    init(
        previousStatus: SimpleTaskStatus, newStatus: SimpleTaskStatus, changedBy: String, comment: String?,
        time: PurviewTimestamp
    ) {
        self.previousStatus = previousStatus
        self.newStatus = newStatus
        self.changedBy = changedBy
        self.comment = comment
        self.time = time
    }

    init(snapshot: JSONValue) throws(EmulatorError) {
        let reader = try SnapshotReader(snapshot, "status change")
        guard let previous = SimpleTaskStatus(rawValue: try reader.string("previousStatus")),
            let new = SimpleTaskStatus(rawValue: try reader.string("newStatus"))
        else { throw SnapshotReader.invalid("task status") }
        previousStatus = previous
        newStatus = new
        changedBy = try reader.string("changedBy")
        comment = reader.optionalString("comment")
        time = try reader.timestamp("changedTime")
    }
}

struct SimpleTaskState: Sendable, Hashable {
    var taskBody: String
    var assignedTo: [String]
    var status: SimpleTaskStatus
    var changeHistory: [StatusChange]
}

struct ReminderState: Sendable, Hashable {
    var frequency: SettingsDuration
    var nextRemindTime: PurviewTimestamp
    var lastRemindTime: PurviewTimestamp?
}

struct ExpiryState: Sendable, Hashable {
    var expireAfter: SettingsDuration
    var expiryTime: PurviewTimestamp
    /// Recipients (evaluated) told when the task expires.
    var notifyOnExpiration: [String]
    var lastExpiryNotificationTime: PurviewTimestamp?
}

struct TaskRecord: Sendable, Hashable {
    var id: String
    var type: TaskType
    var title: String
    var workflowRunId: String
    var workflowId: String
    var workflowName: String
    var actionName: String
    var requestor: String
    var createdTime: PurviewTimestamp
    var lastUpdateTime: PurviewTimestamp
    var operation: OperationRecord
    var reminder: ReminderState?
    var expiry: ExpiryState?
    var approval: ApprovalState?
    var simple: SimpleTaskState?

    /// Whether the task still waits for someone.
    var isOpen: Bool {
        switch type {
        case .approval: approval?.status == .pending
        case .simpleTask: simple.map { $0.status == .notStarted || $0.status == .inProgress } ?? false
        }
    }

    /// Whether a reminder or an expiry can fire for it (both are set only when the task is created).
    var hasTimers: Bool { reminder != nil || expiry != nil }

    /// The status the list filter `taskStatuses` compares with.
    var statusText: String {
        switch type {
        case .approval: approval?.status.rawValue ?? ""
        case .simpleTask: simple?.status.rawValue ?? ""
        }
    }

    /// Who must act: approvers or the SimpleTask's assignees.
    var assignees: [String] {
        switch type {
        case .approval: approval?.approvers.map(\.id) ?? []
        case .simpleTask: simple?.assignedTo ?? []
        }
    }

    var snapshot: JSONValue {
        var object: JSONObject = [
            "id": .string(id), "type": .string(type.rawValue), "title": .string(title),
            "workflowRunId": .string(workflowRunId), "workflowId": .string(workflowId),
            "workflowName": .string(workflowName), "actionName": .string(actionName), "requestor": .string(requestor),
            "createdTime": .string(createdTime.description), "lastUpdateTime": .string(lastUpdateTime.description),
            "operation": operation.snapshot,
        ]
        if let reminder {
            var value: JSONObject = [
                "frequency": reminder.frequency.json, "nextRemindTime": .string(reminder.nextRemindTime.description),
            ]
            value["lastRemindTime"] = reminder.lastRemindTime.map { .string($0.description) }
            object["reminder"] = .object(value)
        }
        if let expiry {
            var value: JSONObject = [
                "expireAfter": expiry.expireAfter.json, "expiryTime": .string(expiry.expiryTime.description),
                "notifyOnExpiration": .array(expiry.notifyOnExpiration.map { .string($0) }),
            ]
            value["lastExpiryNotificationTime"] = expiry.lastExpiryNotificationTime.map { .string($0.description) }
            object["expiry"] = .object(value)
        }
        if let approval {
            object["approval"] = [
                "approvalType": .string(approval.approvalType), "status": .string(approval.status.rawValue),
                "approvers": .array(approval.approvers.map(\.snapshot)),
            ]
        }
        if let simple {
            object["simple"] = [
                "taskBody": .string(simple.taskBody), "assignedTo": .array(simple.assignedTo.map { .string($0) }),
                "status": .string(simple.status.rawValue), "changeHistory": .array(simple.changeHistory.map(\.json)),
            ]
        }
        return .object(object)
    }

    init(
        id: String, type: TaskType, title: String, run: RunRecord, actionName: String, createdTime: PurviewTimestamp
    ) {
        self.id = id
        self.type = type
        self.title = title
        self.workflowRunId = run.id
        self.workflowId = run.workflowId
        self.workflowName = run.workflowName
        self.actionName = actionName
        self.requestor = run.requestor
        self.createdTime = createdTime
        self.lastUpdateTime = createdTime
        self.operation = run.operation
    }

    init(snapshot: JSONValue) throws(EmulatorError) {
        let reader = try SnapshotReader(snapshot, "task")
        id = try reader.string("id")
        guard let type = TaskType(rawValue: try reader.string("type")) else {
            throw SnapshotReader.invalid("task type")
        }
        self.type = type
        title = try reader.string("title")
        workflowRunId = try reader.string("workflowRunId")
        workflowId = try reader.string("workflowId")
        workflowName = try reader.string("workflowName")
        actionName = try reader.string("actionName")
        requestor = try reader.string("requestor")
        createdTime = try reader.timestamp("createdTime")
        lastUpdateTime = try reader.timestamp("lastUpdateTime")
        operation = try OperationRecord(snapshot: reader.optionalValue("operation"))
        if let value = reader.optionalValue("reminder") {
            let entry = try SnapshotReader(value, "reminder")
            guard let frequency = SettingsDuration(try entry.value("frequency")) else {
                throw SnapshotReader.invalid("reminder frequency")
            }
            reminder = ReminderState(
                frequency: frequency, nextRemindTime: try entry.timestamp("nextRemindTime"),
                lastRemindTime: try entry.optionalTimestamp("lastRemindTime"))
        }
        if let value = reader.optionalValue("expiry") {
            let entry = try SnapshotReader(value, "expiry")
            guard let expireAfter = SettingsDuration(try entry.value("expireAfter")) else {
                throw SnapshotReader.invalid("expireAfter")
            }
            expiry = ExpiryState(
                expireAfter: expireAfter, expiryTime: try entry.timestamp("expiryTime"),
                notifyOnExpiration: try entry.array("notifyOnExpiration").compactMap(\.stringValue),
                lastExpiryNotificationTime: try entry.optionalTimestamp("lastExpiryNotificationTime"))
        }
        if let value = reader.optionalValue("approval") {
            let entry = try SnapshotReader(value, "approval")
            guard let status = ApprovalStatus(rawValue: try entry.string("status")) else {
                throw SnapshotReader.invalid("approval status")
            }
            var approvers: [Approver] = []
            for item in try entry.array("approvers") { approvers.append(try Approver(snapshot: item)) }
            approval = ApprovalState(
                approvalType: try entry.string("approvalType"), status: status, approvers: approvers)
        }
        if let value = reader.optionalValue("simple") {
            let entry = try SnapshotReader(value, "simple task")
            guard let status = SimpleTaskStatus(rawValue: try entry.string("status")) else {
                throw SnapshotReader.invalid("simple task status")
            }
            var history: [StatusChange] = []
            for item in try entry.array("changeHistory") { history.append(try StatusChange(snapshot: item)) }
            simple = SimpleTaskState(
                taskBody: try entry.string("taskBody"),
                assignedTo: try entry.array("assignedTo").compactMap(\.stringValue), status: status,
                changeHistory: history)
        }
    }
}

struct UserRequestRecord: Sendable, Hashable {
    struct Operation: Sendable, Hashable {
        var type: String
        var payload: JSONValue
        var workflowRunIds: [String]
    }

    var id: String
    var requestor: String
    var comment: String?
    var operations: [Operation]
    var status: RunStatus
    var createdTime: PurviewTimestamp

    var snapshot: JSONValue {
        var object: JSONObject = [
            "id": .string(id), "requestor": .string(requestor), "status": .string(status.rawValue),
            "createdTime": .string(createdTime.description),
            "operations": .array(
                operations.map {
                    [
                        "type": .string($0.type), "payload": $0.payload,
                        "workflowRunIds": .array($0.workflowRunIds.map { .string($0) }),
                    ]
                }),
        ]
        object["comment"] = comment.map { .string($0) }
        return .object(object)
    }

    init(
        id: String, requestor: String, comment: String?, operations: [Operation], status: RunStatus,
        createdTime: PurviewTimestamp
    ) {
        self.id = id
        self.requestor = requestor
        self.comment = comment
        self.operations = operations
        self.status = status
        self.createdTime = createdTime
    }

    init(snapshot: JSONValue) throws(EmulatorError) {
        let reader = try SnapshotReader(snapshot, "user request")
        id = try reader.string("id")
        requestor = try reader.string("requestor")
        comment = reader.optionalString("comment")
        guard let status = RunStatus(rawValue: try reader.string("status")) else {
            throw SnapshotReader.invalid("request status")
        }
        self.status = status
        createdTime = try reader.timestamp("createdTime")
        operations = []
        for item in try reader.array("operations") {
            let entry = try SnapshotReader(item, "user request operation")
            operations.append(
                Operation(
                    type: try entry.string("type"), payload: try entry.value("payload"),
                    workflowRunIds: try entry.array("workflowRunIds").compactMap(\.stringValue)))
        }
    }
}

/// A change the emulator made to the (imaginary) catalog: what an operation action, or an operation
/// applied directly because no workflow matched, did.
public struct EmulatorEffect: Sendable, Hashable {
    /// Position in the effects list (1, 2, ...).
    public var sequence: Int
    /// The operation type: CreateTerm, UpdateTerm, DeleteTerm, ImportTerms, UpdateAsset, GrantDataAccess.
    public var type: String
    /// The operation's payload as submitted.
    public var payload: JSONValue
    public var requestId: String
    public var requestor: String
    /// The run whose action applied it; nil when applied directly (no workflow matched).
    public var runId: String?
    public var workflowId: String?
    public var actionName: String?
    public var time: PurviewTimestamp

    /// `{sequence,type,payload,requestId,requestor,runId?,workflowId?,actionName?,time}`.
    public var json: JSONValue {
        var object: JSONObject = [
            "sequence": .number(Double(sequence)), "type": .string(type), "payload": payload,
            "requestId": .string(requestId), "requestor": .string(requestor),
        ]
        object["runId"] = runId.map { .string($0) }
        object["workflowId"] = workflowId.map { .string($0) }
        object["actionName"] = actionName.map { .string($0) }
        object["time"] = .string(time.description)
        return .object(object)
    }

    init(
        sequence: Int, type: String, payload: JSONValue, requestId: String, requestor: String, runId: String?,
        workflowId: String?, actionName: String?, time: PurviewTimestamp
    ) {
        self.sequence = sequence
        self.type = type
        self.payload = payload
        self.requestId = requestId
        self.requestor = requestor
        self.runId = runId
        self.workflowId = workflowId
        self.actionName = actionName
        self.time = time
    }

    init(snapshot: JSONValue) throws(EmulatorError) {
        let reader = try SnapshotReader(snapshot, "effect")
        sequence = try reader.int("sequence")
        type = try reader.string("type")
        payload = try reader.value("payload")
        requestId = try reader.string("requestId")
        requestor = try reader.string("requestor")
        runId = reader.optionalString("runId")
        workflowId = reader.optionalString("workflowId")
        actionName = reader.optionalString("actionName")
        time = try reader.timestamp("time")
    }
}

/// An email the emulator "sent".
public struct EmulatorEmail: Sendable, Hashable {
    public enum Kind: String, Sendable {
        /// An EmailNotification action.
        case notification
        /// A task reminder (reminderSettings).
        case reminder
        /// A task expired (expirySettings.notifyOnExpiration).
        case expiry
    }

    public var sequence: Int
    public var kind: Kind
    /// As evaluated: object ids or email addresses.
    public var recipients: [String]
    public var subject: String
    public var message: String
    public var runId: String?
    public var taskId: String?
    public var actionName: String?
    public var time: PurviewTimestamp

    /// `{sequence,kind,recipients,subject,message,runId?,taskId?,actionName?,time}`.
    public var json: JSONValue {
        var object: JSONObject = [
            "sequence": .number(Double(sequence)), "kind": .string(kind.rawValue),
            "recipients": .array(recipients.map { .string($0) }), "subject": .string(subject),
            "message": .string(message),
        ]
        object["runId"] = runId.map { .string($0) }
        object["taskId"] = taskId.map { .string($0) }
        object["actionName"] = actionName.map { .string($0) }
        object["time"] = .string(time.description)
        return .object(object)
    }

    init(
        sequence: Int, kind: Kind, recipients: [String], subject: String, message: String, runId: String?,
        taskId: String?, actionName: String?, time: PurviewTimestamp
    ) {
        self.sequence = sequence
        self.kind = kind
        self.recipients = recipients
        self.subject = subject
        self.message = message
        self.runId = runId
        self.taskId = taskId
        self.actionName = actionName
        self.time = time
    }

    init(snapshot: JSONValue) throws(EmulatorError) {
        let reader = try SnapshotReader(snapshot, "email")
        sequence = try reader.int("sequence")
        guard let kind = Kind(rawValue: try reader.string("kind")) else { throw SnapshotReader.invalid("email kind") }
        self.kind = kind
        recipients = try reader.array("recipients").compactMap(\.stringValue)
        subject = try reader.string("subject")
        message = try reader.string("message")
        runId = reader.optionalString("runId")
        taskId = reader.optionalString("taskId")
        actionName = reader.optionalString("actionName")
        time = try reader.timestamp("time")
    }
}

/// Reads snapshot objects, turning any missing or mistyped field into a clear error.
struct SnapshotReader {
    let object: JSONObject
    let context: String

    init(_ value: JSONValue?, _ context: String) throws(EmulatorError) {
        guard let object = value?.objectValue else { throw Self.invalid(context) }
        self.object = object
        self.context = context
    }

    static func invalid(_ what: String) -> EmulatorError {
        EmulatorError(
            .badRequest, code: "Workflow.InvalidSnapshot", message: "The state snapshot has an invalid \(what).")
    }

    func value(_ key: String) throws(EmulatorError) -> JSONValue {
        guard let value = object[key] else { throw Self.invalid("\(context) field '\(key)'") }
        return value
    }

    func optionalValue(_ key: String) -> JSONValue? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    func string(_ key: String) throws(EmulatorError) -> String {
        guard let text = object[key]?.stringValue else { throw Self.invalid("\(context) field '\(key)'") }
        return text
    }

    func optionalString(_ key: String) -> String? { object[key]?.stringValue }

    func bool(_ key: String) throws(EmulatorError) -> Bool {
        guard let flag = object[key]?.boolValue else { throw Self.invalid("\(context) field '\(key)'") }
        return flag
    }

    func int(_ key: String) throws(EmulatorError) -> Int {
        guard let number = object[key]?.intValue else { throw Self.invalid("\(context) field '\(key)'") }
        return number
    }

    func array(_ key: String) throws(EmulatorError) -> [JSONValue] {
        guard let items = object[key]?.arrayValue else { throw Self.invalid("\(context) field '\(key)'") }
        return items
    }

    func timestamp(_ key: String) throws(EmulatorError) -> PurviewTimestamp {
        guard let time = PurviewTimestamp(try string(key)) else { throw Self.invalid("\(context) time '\(key)'") }
        return time
    }

    func optionalTimestamp(_ key: String) throws(EmulatorError) -> PurviewTimestamp? {
        guard object[key] != nil, !(object[key]?.isNull ?? true) else { return nil }
        return try timestamp(key)
    }
}
