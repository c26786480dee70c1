/// A workflow task: an `Approval` (with `approvalDetail`) or a `SimpleTask` (with `taskDetail`).
/// Lists omit `payload.payload`; `GET /workflowtasks/{id}` includes it.
public struct WorkflowTask: Codable, Sendable, Hashable {
    public var type: TaskType
    public var id: String
    public var workflowRunId: String?
    public var workflowId: String?
    public var requestor: String?
    public var createdTime: PurviewTimestamp?
    public var lastUpdateTime: PurviewTimestamp?
    public var payload: RunPayload?
    public var title: String?
    public var reminderInfo: ReminderInfo?
    public var expiryInfo: ExpiryInfo?
    public var approvalDetail: ApprovalDetail?
    public var taskDetail: SimpleTaskDetail?
    /// The seed's top-level status; the service puts it in `approvalDetail` or `taskDetail`.
    public var status: TaskStatus?

    public init(
        type: TaskType, id: String, workflowRunId: String? = nil, workflowId: String? = nil, requestor: String? = nil,
        createdTime: PurviewTimestamp? = nil, lastUpdateTime: PurviewTimestamp? = nil, payload: RunPayload? = nil,
        title: String? = nil, reminderInfo: ReminderInfo? = nil, expiryInfo: ExpiryInfo? = nil,
        approvalDetail: ApprovalDetail? = nil, taskDetail: SimpleTaskDetail? = nil, status: TaskStatus? = nil
    ) {
        self.type = type
        self.id = id
        self.workflowRunId = workflowRunId
        self.workflowId = workflowId
        self.requestor = requestor
        self.createdTime = createdTime
        self.lastUpdateTime = lastUpdateTime
        self.payload = payload
        self.title = title
        self.reminderInfo = reminderInfo
        self.expiryInfo = expiryInfo
        self.approvalDetail = approvalDetail
        self.taskDetail = taskDetail
        self.status = status
    }

    /// The task's status wherever it is: `approvalDetail.status`, `taskDetail.status`, or the seed's
    /// top-level `status`.
    public var effectiveStatus: TaskStatus? { approvalDetail?.status ?? taskDetail?.status ?? status }
}

/// `{lastRemindTime?, nextRemindTime, reminderSettings}`; the settings are stored as e.g.
/// `{"reminderFrequency":{"Day":{"number":1}}}`.
public struct ReminderInfo: Codable, Sendable, Hashable {
    public var lastRemindTime: PurviewTimestamp?
    public var nextRemindTime: PurviewTimestamp?
    public var reminderSettings: JSONValue?

    public init(
        lastRemindTime: PurviewTimestamp? = nil, nextRemindTime: PurviewTimestamp? = nil,
        reminderSettings: JSONValue? = nil
    ) {
        self.lastRemindTime = lastRemindTime
        self.nextRemindTime = nextRemindTime
        self.reminderSettings = reminderSettings
    }
}

/// `{lastExpiryNotificationTime?, nextExpiryNotificationTime, expiryTime, expirySettings}`; the settings
/// are stored as e.g. `{"expireAfter":{"Month":{"number":1}},"notifyOnExpiration":[]}`.
public struct ExpiryInfo: Codable, Sendable, Hashable {
    public var lastExpiryNotificationTime: PurviewTimestamp?
    public var nextExpiryNotificationTime: PurviewTimestamp?
    public var expiryTime: PurviewTimestamp?
    public var expirySettings: JSONValue?

    public init(
        lastExpiryNotificationTime: PurviewTimestamp? = nil, nextExpiryNotificationTime: PurviewTimestamp? = nil,
        expiryTime: PurviewTimestamp? = nil, expirySettings: JSONValue? = nil
    ) {
        self.lastExpiryNotificationTime = lastExpiryNotificationTime
        self.nextExpiryNotificationTime = nextExpiryNotificationTime
        self.expiryTime = expiryTime
        self.expirySettings = expirySettings
    }
}

/// The state of an approval task.
public struct ApprovalDetail: Codable, Sendable, Hashable {
    public var approvalType: ApprovalType
    /// Pending, Approved, Rejected or Canceled.
    public var status: TaskStatus
    /// Keyed by approver object id; encoded with the ids sorted.
    public var approvers: [String: ApproverResponse]

    public init(approvalType: ApprovalType, status: TaskStatus, approvers: [String: ApproverResponse] = [:]) {
        self.approvalType = approvalType
        self.status = status
        self.approvers = approvers
    }

    private enum CodingKeys: String, CodingKey { case approvalType, status, approvers }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        approvalType = try container.decode(ApprovalType.self, forKey: .approvalType)
        status = try container.decode(TaskStatus.self, forKey: .status)
        approvers = try container.decode(.approvers, or: [:])
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(approvalType, forKey: .approvalType)
        try container.encode(status, forKey: .status)
        try container.encodeSorted(approvers, forKey: .approvers)
    }
}

/// One approver's reply.
public struct ApproverResponse: Codable, Sendable, Hashable {
    public var reply: ApprovalReply
    public var comment: String?
    public var responseTime: PurviewTimestamp?

    public init(reply: ApprovalReply, comment: String? = nil, responseTime: PurviewTimestamp? = nil) {
        self.reply = reply
        self.comment = comment
        self.responseTime = responseTime
    }
}

/// The state of a simple task (from a "Create task and wait" action).
public struct SimpleTaskDetail: Codable, Sendable, Hashable {
    public var taskBody: String?
    public var assignedTo: [String]
    /// NotStarted, InProgress, Completed or Canceled.
    public var status: TaskStatus
    /// Entries are kept as JSON: their shape is not published.
    public var changeHistory: [JSONValue]

    public init(taskBody: String? = nil, assignedTo: [String] = [], status: TaskStatus, changeHistory: [JSONValue] = [])
    {
        self.taskBody = taskBody
        self.assignedTo = assignedTo
        self.status = status
        self.changeHistory = changeHistory
    }

    private enum CodingKeys: String, CodingKey { case taskBody, assignedTo, status, changeHistory }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        taskBody = try container.decodeIfPresent(String.self, forKey: .taskBody)
        assignedTo = try container.decode(.assignedTo, or: [])
        status = try container.decode(TaskStatus.self, forKey: .status)
        changeHistory = try container.decode(.changeHistory, or: [])
    }
}
