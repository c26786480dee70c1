/// A workflow run. The list form has the summary fields; `GET /workflowruns/{id}` adds
/// `runPayload.payload`, `actionDag` and `detail`.
public struct WorkflowRun: Codable, Sendable, Hashable {
    public var id: String
    public var workflowId: String
    public var startTime: PurviewTimestamp?
    public var requestor: String?
    /// Absent from some single-run answers.
    public var userRequestId: String?
    public var runPayload: RunPayload?
    public var status: RunStatus
    public var endTime: PurviewTimestamp?
    public var cancelTime: PurviewTimestamp?
    public var cancelComment: String?
    /// A snapshot of the workflow's action graph when the run started.
    public var actionDag: JSONValue?
    public var detail: WorkflowRunDetail?

    public init(
        id: String, workflowId: String, startTime: PurviewTimestamp? = nil, requestor: String? = nil,
        userRequestId: String? = nil, runPayload: RunPayload? = nil, status: RunStatus,
        endTime: PurviewTimestamp? = nil, cancelTime: PurviewTimestamp? = nil, cancelComment: String? = nil,
        actionDag: JSONValue? = nil, detail: WorkflowRunDetail? = nil
    ) {
        self.id = id
        self.workflowId = workflowId
        self.startTime = startTime
        self.requestor = requestor
        self.userRequestId = userRequestId
        self.runPayload = runPayload
        self.status = status
        self.endTime = endTime
        self.cancelTime = cancelTime
        self.cancelComment = cancelComment
        self.actionDag = actionDag
        self.detail = detail
    }
}

/// What a run (or a task) is about: `{type, targetValue, payload?}`. `payload`, the original operation
/// payload, appears only on single-item answers.
public struct RunPayload: Codable, Sendable, Hashable {
    public var type: OperationType
    /// E.g. the glossary term's name.
    public var targetValue: String?
    public var payload: JSONValue?

    public init(type: OperationType, targetValue: String? = nil, payload: JSONValue? = nil) {
        self.type = type
        self.targetValue = targetValue
        self.payload = payload
    }
}

/// The execution detail of a run: the trigger that matched, the run input and one record per action
/// that has started.
public struct WorkflowRunDetail: Codable, Sendable, Hashable {
    public var trigger: WorkflowTrigger?
    /// E.g. `{"requestor":…, "term":{"name":…, …}}` for CreateTerm.
    public var runInput: JSONValue?
    /// Keyed by action name; encoded with the names sorted.
    public var actions: [String: ActionRecord]

    public init(trigger: WorkflowTrigger? = nil, runInput: JSONValue? = nil, actions: [String: ActionRecord] = [:]) {
        self.trigger = trigger
        self.runInput = runInput
        self.actions = actions
    }

    private enum CodingKeys: String, CodingKey { case trigger, runInput, actions }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        trigger = try container.decodeIfPresent(WorkflowTrigger.self, forKey: .trigger)
        runInput = try container.decodeIfPresent(JSONValue.self, forKey: .runInput)
        actions = try container.decode(.actions, or: [:])
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(trigger, forKey: .trigger)
        try container.encodeIfPresent(runInput, forKey: .runInput)
        try container.encodeSorted(actions, forKey: .actions)
    }
}

/// One action's execution. `input` is `{"type":"inlined","parameters":{…}}`; `output` on failure is
/// `{"type":"inlined","error":{"requestId","code","message"}}`.
public struct ActionRecord: Codable, Sendable, Hashable {
    public var startTime: PurviewTimestamp?
    public var endTime: PurviewTimestamp?
    public var status: ActionStatus?
    public var input: JSONValue?
    public var output: JSONValue?

    public init(
        startTime: PurviewTimestamp? = nil, endTime: PurviewTimestamp? = nil, status: ActionStatus? = nil,
        input: JSONValue? = nil, output: JSONValue? = nil
    ) {
        self.startTime = startTime
        self.endTime = endTime
        self.status = status
        self.input = input
        self.output = output
    }
}
