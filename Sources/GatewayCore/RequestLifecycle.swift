public import FoundationEssentials

/// Something that happened to a request; `GatewayRequest.apply` turns it into a transition.
public enum RequestEvent: Sendable, Hashable {
    /// The forwarder is about to send it (recorded durably before the send).
    case sendStarted
    /// Purview accepted the user request.
    case accepted(purviewRequestId: String?, runIds: [String])
    /// Purview answered 4xx: final.
    case refused(RequestError)
    /// Certainly not processed (connect failure, 429, 503): try again at `retryAt`.
    case deferred(retryAt: Date, reason: RequestError)
    /// The send's outcome is unknown and reconciliation found nothing: never resent automatically.
    case outcomeUnknown(RequestError)
    /// Forwarding kept failing for longer than allowed.
    case gaveUp(RequestError)
    /// The poller (or a refresh) read the runs.
    case runsRefreshed([RunRecord])
    /// The caller asked to cancel; for a queued request this is the end, otherwise runs are cancelled in Purview.
    case cancelRequested(comment: String?)
    /// Purview confirmed the runs' cancellation.
    case cancelConfirmed
    /// An operator sends a failed, refused or unknown request again.
    case redriven
}

/// A transition the current status does not allow (answered 409 by the API).
public struct LifecycleConflict: Error, Sendable, Hashable, CustomStringConvertible {
    public var status: RequestStatus
    public var message: String
    public var description: String { message }
}

extension GatewayRequest {
    /// Applies `event` at `now`, recording a timeline entry when the status or the outcome changes.
    ///
    /// - Returns: whether anything observable changed (so callers know to store and notify).
    @discardableResult
    public mutating func apply(_ event: RequestEvent, now: Date, actor: String) throws(LifecycleConflict) -> Bool {
        let before = (status, outcome)
        var note: String?
        switch event {
        case .sendStarted:
            try require([.queued], for: "send")
            status = .submitting
            attempts += 1
            submittingSince = now
            nextAttemptAt = nil
        case .accepted(let purviewRequestId, let runIds):
            try require([.submitting, .unknown], for: "record an acceptance for")
            self.purviewRequestId = purviewRequestId
            submittingSince = nil
            error = nil
            let known = Set(runs.map(\.runId))
            runs += runIds.filter { !known.contains($0) }.map { RunRecord(runId: $0) }
            status = runs.isEmpty ? .noWorkflow : .submitted
        case .refused(let error):
            try require([.submitting], for: "refuse")
            self.error = error
            submittingSince = nil
            status = .refused
            note = "\(error.code): \(error.message)"
        case .deferred(let retryAt, let reason):
            try require([.submitting], for: "defer")
            submittingSince = nil
            nextAttemptAt = retryAt
            error = reason
            status = .queued
            note = "retry: \(reason.code)"
        case .outcomeUnknown(let error):
            try require([.submitting], for: "mark unknown")
            self.error = error
            submittingSince = nil
            status = .unknown
            note = error.message
        case .gaveUp(let error):
            try require([.queued, .submitting], for: "give up on")
            self.error = error
            submittingSince = nil
            nextAttemptAt = nil
            status = .failed
            note = error.message
        case .runsRefreshed(let fresh):
            guard status == .submitted || status == .inProgress || status == .cancelled else { return false }
            let previous = runs
            runs = fresh
            let rolled = rollUp(fresh.map(\.status))
            // A cancellation the caller asked for stays cancelled while Purview catches up.
            if status != .cancelled || rolled == .cancelled || rolled == .failed || rolled == .completed {
                status = rolled == .submitted ? status : rolled
            }
            outcome = rollUpOutcome(fresh.flatMap(\.approvals))
            if previous == fresh && before == (status, outcome) { return false }
        case .cancelRequested(let comment):
            switch status {
            case .queued:
                nextAttemptAt = nil
                status = .cancelled
                note = comment.map { "cancelled before sending: \($0)" } ?? "cancelled before sending"
            case .submitting:
                throw LifecycleConflict(status: status, message: "the request is being sent to Purview; cancel again once it settles")
            case .submitted, .inProgress:
                status = .cancelled
                note = comment.map { "cancellation requested: \($0)" } ?? "cancellation requested"
            default:
                throw LifecycleConflict(status: status, message: "a \(status.rawValue) request cannot be cancelled")
            }
        case .cancelConfirmed:
            guard status == .cancelled else { return false }
            for index in runs.indices where !runs[index].status.isTerminal {
                runs[index].status = .canceled
                runs[index].endTime = runs[index].endTime ?? now
            }
        case .redriven:
            try require([.failed, .refused, .unknown], for: "re-drive")
            // Earlier runs are set aside (named in the timeline): a failed one kept beside the new run would roll
            // the request back to `failed` on the first poll.
            let earlier = runs.map(\.runId)
            runs = []
            outcome = nil
            purviewRequestId = nil
            error = nil
            nextAttemptAt = now
            status = .queued
            note = earlier.isEmpty ? "re-driven" : "re-driven (earlier runs: \(earlier.joined(separator: ", ")))"
        }
        updatedAt = now
        if before != (status, outcome) || note != nil {
            timeline.append(TimelineEntry(at: now, status: status, outcome: outcome, note: note, actor: actor))
        }
        return true
    }

    private func require(_ allowed: Set<RequestStatus>, for action: String) throws(LifecycleConflict) {
        guard allowed.contains(status) else {
            throw LifecycleConflict(status: status, message: "cannot \(action) a \(status.rawValue) request")
        }
    }
}
