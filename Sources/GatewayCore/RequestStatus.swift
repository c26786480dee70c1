/// The gateway's one status vocabulary for a request (ARCHITECTURE.md §3).
public enum RequestStatus: String, Sendable, Hashable, CaseIterable, Codable {
    /// Committed, not yet sent.
    case queued
    /// A send is in flight.
    case submitting
    /// Purview accepted it; runs not started yet.
    case submitted
    /// At least one run in progress.
    case inProgress = "in_progress"
    /// Every run ended `Completed`.
    case completed
    /// A run ended `Failed` (or forwarding gave up).
    case failed
    /// Cancelled by the caller or in Purview.
    case cancelled
    /// Purview answered 4xx to the submission; its error is kept.
    case refused
    /// Accepted, but no workflow matched (Purview applied it directly).
    case noWorkflow = "no_workflow"
    /// A send's outcome could not be established; never resent automatically.
    case unknown

    /// Terminal statuses are never polled or forwarded again (an operator may re-drive some).
    public var isTerminal: Bool {
        switch self {
        case .completed, .failed, .cancelled, .refused, .noWorkflow, .unknown: true
        case .queued, .submitting, .submitted, .inProgress: false
        }
    }

    /// Statuses whose runs the poller keeps fresh.
    public var isPolled: Bool { self == .submitted || self == .inProgress }
}

/// Whether the people asked to approve said yes.
public enum RequestOutcome: String, Sendable, Hashable, Codable {
    case approved
    case rejected
}

/// Purview's own status of a workflow run, as reported (spellings normalised to the service's).
public enum PurviewRunStatus: String, Sendable, Hashable, Codable {
    case notStarted = "NotStarted"
    case inProgress = "InProgress"
    case completed = "Completed"
    case failed = "Failed"
    case canceling = "Canceling"
    case cancellationFailed = "CancellationFailed"
    case canceled = "Canceled"

    /// Accepts the service's spellings and the seed's `Cancelled`; anything else is reported as in progress
    /// (an unknown, new status must not be mistaken for an ending).
    public init(purview text: String) {
        switch text {
        case "Cancelled": self = .canceled
        default: self = PurviewRunStatus(rawValue: text) ?? .inProgress
        }
    }

    public var isTerminal: Bool { self == .completed || self == .failed || self == .canceled }
}

/// Rolls up the runs of one request (ARCHITECTURE.md §3): any failed → failed; else any still going →
/// in progress; else any cancelled → cancelled; else completed. No runs yet → submitted.
public func rollUp(_ runs: [PurviewRunStatus]) -> RequestStatus {
    guard !runs.isEmpty else { return .submitted }
    if runs.contains(.failed) { return .failed }
    // CancellationFailed: the run goes on, so it counts as in progress.
    if runs.contains(where: { !$0.isTerminal }) { return .inProgress }
    if runs.contains(.canceled) { return .cancelled }
    return .completed
}

/// The approval outcome across runs: any rejection → rejected; every approval task approved → approved;
/// otherwise (none decided yet, or no approvals at all) nil.
public func rollUpOutcome(_ approvals: [ApprovalDecision]) -> RequestOutcome? {
    guard !approvals.isEmpty else { return nil }
    if approvals.contains(.rejected) { return .rejected }
    if approvals.allSatisfy({ $0 == .approved }) { return .approved }
    return nil
}

/// The state of one approval task as far as the outcome is concerned.
public enum ApprovalDecision: String, Sendable, Hashable, Codable {
    case pending
    case approved
    case rejected
    case canceled
}
