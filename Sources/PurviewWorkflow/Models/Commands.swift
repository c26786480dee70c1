/// The body of `POST /workflowtasks/{id}/approve-approval` and `.../reject-approval`.
public struct ApprovalResponseCommand: Codable, Sendable, Hashable {
    public var comment: String?
    public init(comment: String? = nil) { self.comment = comment }
}

/// The body of `POST /workflowtasks/{id}/reassign`.
public struct ReassignCommand: Codable, Sendable, Hashable {
    public var reassignments: [Reassignment]
    public init(reassignments: [Reassignment]) { self.reassignments = reassignments }
}

/// Moves a task from one assignee (object id) to another.
public struct Reassignment: Codable, Sendable, Hashable {
    public var reassignFrom: String
    public var reassignTo: String

    public init(reassignFrom: String, reassignTo: String) {
        self.reassignFrom = reassignFrom
        self.reassignTo = reassignTo
    }
}

/// The body of `POST /workflowtasks/{id}/change-task-status` (simple tasks): NotStarted, InProgress,
/// Completed or Canceled.
public struct TaskUpdateCommand: Codable, Sendable, Hashable {
    public var newStatus: TaskStatus
    public var comment: String?

    public init(newStatus: TaskStatus, comment: String? = nil) {
        self.newStatus = newStatus
        self.comment = comment
    }
}

/// The body of `POST /workflowruns/{id}/cancel`.
public struct CancelRunCommand: Codable, Sendable, Hashable {
    public var comment: String?
    public init(comment: String? = nil) { self.comment = comment }
}
