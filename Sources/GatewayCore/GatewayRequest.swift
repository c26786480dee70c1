public import FoundationEssentials
public import PurviewWorkflow

/// A request as the gateway stores it: what was asked, what Purview said, and every transition.
public struct GatewayRequest: Sendable, Hashable {
    public var id: String
    /// The API client (keys file `name`) that submitted it.
    public var clientName: String
    public var kind: RequestKind
    public var requestedBy: String
    public var comment: String?
    public var subject: String
    /// The body as accepted (canonical JSON decides idempotency).
    public var body: JSONValue
    public var operations: [PurviewOperation]
    public var idempotencyKey: String?
    public var status: RequestStatus
    public var outcome: RequestOutcome?
    public var purviewRequestId: String?
    public var runs: [RunRecord]
    public var error: RequestError?
    /// Sends attempted so far.
    public var attempts: Int
    /// When the forwarder may try again (queued requests only).
    public var nextAttemptAt: Date?
    /// When the current send began (submitting requests only): reconciliation looks for runs after it.
    public var submittingSince: Date?
    public var createdAt: Date
    public var updatedAt: Date
    public var timeline: [TimelineEntry]
    /// The caller's correlation id (its `X-Request-Id` or W3C trace id), sent to Purview as
    /// `x-ms-client-request-id` so one id follows the request through every system.
    public var traceId: String?
    /// When the poller last read the runs.
    public var polledAt: Date?
    /// Optimistic-concurrency version, managed by the store: an update based on a stale copy fails.
    public var version: Int = 0
    /// SHA-256 (hex) of the canonical JSON body: equal bodies under one Idempotency-Key return the same request.
    public var bodyDigest: String = ""
    /// Where status-change events are POSTed (the body's `callbackUrl`, else the client's default); nil: none.
    public var callbackUrl: String?
    /// The batch import this request came from, and its row number there (nil for interactive requests).
    public var importId: String?
    public var importRow: Int?

    public init(
        id: String, clientName: String, validated: ValidatedRequest, idempotencyKey: String?, now: Date
    ) {
        self.id = id
        self.clientName = clientName
        self.kind = validated.kind
        self.requestedBy = validated.requestedBy
        self.comment = validated.comment
        self.subject = validated.subject
        self.body = validated.body
        self.operations = validated.operations
        self.idempotencyKey = idempotencyKey
        self.status = .queued
        self.outcome = nil
        self.purviewRequestId = nil
        self.runs = []
        self.error = nil
        self.attempts = 0
        self.nextAttemptAt = now
        self.submittingSince = nil
        self.createdAt = now
        self.updatedAt = now
        self.timeline = [TimelineEntry(at: now, status: .queued, outcome: nil, note: "accepted", actor: clientName)]
        self.callbackUrl = validated.callbackUrl
    }

    /// The `x-ms-client-request-id` for Purview calls made for this request.
    public var purviewClientRequestId: String { traceId ?? id }

    /// The run ids Purview returned.
    public var workflowRunIds: [String] { runs.map(\.runId) }
}

/// What the gateway knows of one Purview workflow run.
public struct RunRecord: Sendable, Hashable {
    public var runId: String
    public var status: PurviewRunStatus
    public var startTime: Date?
    public var endTime: Date?
    /// Approvers who have not replied yet (object ids), from the run's pending approval tasks.
    public var pendingApprovers: [String]
    /// The decisions of the run's approval tasks, oldest first.
    public var approvals: [ApprovalDecision]
    /// Purview's ids of those approval tasks, in the same order (empty for runs stored before ids were kept), so a
    /// refresh reads each task by id instead of finding it again in the workflow's task list.
    public var approvalTaskIds: [String]
    public var polledAt: Date?

    public init(
        runId: String, status: PurviewRunStatus = .inProgress, startTime: Date? = nil, endTime: Date? = nil,
        pendingApprovers: [String] = [], approvals: [ApprovalDecision] = [], approvalTaskIds: [String] = [],
        polledAt: Date? = nil
    ) {
        self.runId = runId
        self.status = status
        self.startTime = startTime
        self.endTime = endTime
        self.pendingApprovers = pendingApprovers
        self.approvals = approvals
        self.approvalTaskIds = approvalTaskIds
        self.polledAt = polledAt
    }
}

/// Why a request failed or was refused: Purview's error as it answered, or the gateway's own.
public struct RequestError: Sendable, Hashable {
    /// Purview's error code (e.g. `Workflow.UserDataClient.CanNotFindEmailForUsers`) or the gateway's.
    public var code: String
    public var message: String
    /// The HTTP status Purview answered, if any.
    public var httpStatus: Int?
    public var purviewRequestId: String?

    public init(code: String, message: String, httpStatus: Int? = nil, purviewRequestId: String? = nil) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.purviewRequestId = purviewRequestId
    }
}

/// One transition of a request, as it happened.
public struct TimelineEntry: Sendable, Hashable {
    public var at: Date
    public var status: RequestStatus
    public var outcome: RequestOutcome?
    public var note: String?
    /// Who caused it: a client name, `forwarder`, `poller`, or an operator.
    public var actor: String?

    public init(at: Date, status: RequestStatus, outcome: RequestOutcome?, note: String?, actor: String?) {
        self.at = at
        self.status = status
        self.outcome = outcome
        self.note = note
        self.actor = actor
    }
}
