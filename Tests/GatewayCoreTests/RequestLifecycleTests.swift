import FoundationEssentials
import GatewayCore
import PurviewWorkflow
import Testing

@Suite struct RequestLifecycleTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func makeRequest() throws -> GatewayRequest {
        let body: JSONValue = [
            "glossaryId": "20031e20-b4df-4a66-a61d-1b0716f3fa48", "name": "Revenue", "definition": "d",
            "requestedBy": "ada@contoso.com",
        ]
        let validated = try RequestMapper.validate(kind: .termCreation, body: body).get()
        return GatewayRequest(id: "r1", clientName: "portal", validated: validated, idempotencyKey: nil, now: t0)
    }

    @Test func happyPathRecordsEveryTransition() throws {
        var request = try makeRequest()
        #expect(request.status == .queued)
        try request.apply(.sendStarted, now: t0 + 1, actor: "forwarder")
        #expect(request.status == .submitting && request.attempts == 1 && request.submittingSince == t0 + 1)
        try request.apply(.accepted(purviewRequestId: "p1", runIds: ["run-a"]), now: t0 + 2, actor: "forwarder")
        #expect(request.status == .submitted && request.workflowRunIds == ["run-a"])
        let pending = RunRecord(runId: "run-a", status: .inProgress, pendingApprovers: ["u1"], approvals: [.pending])
        try request.apply(.runsRefreshed([pending]), now: t0 + 3, actor: "poller")
        #expect(request.status == .inProgress && request.outcome == nil)
        #expect(try !request.apply(.runsRefreshed([pending]), now: t0 + 4, actor: "poller"))
        let done = RunRecord(runId: "run-a", status: .completed, approvals: [.approved])
        try request.apply(.runsRefreshed([done]), now: t0 + 5, actor: "poller")
        #expect(request.status == .completed && request.outcome == .approved)
        #expect(request.timeline.map(\.status) == [.queued, .submitting, .submitted, .inProgress, .completed])
        #expect(request.timeline.last?.outcome == .approved)
    }

    @Test func rejectionCompletesWithOutcomeRejected() throws {
        var request = try makeRequest()
        try request.apply(.sendStarted, now: t0, actor: "f")
        try request.apply(.accepted(purviewRequestId: nil, runIds: ["a", "b"]), now: t0, actor: "f")
        try request.apply(
            .runsRefreshed([
                RunRecord(runId: "a", status: .completed, approvals: [.approved]),
                RunRecord(runId: "b", status: .completed, approvals: [.rejected]),
            ]), now: t0, actor: "p")
        #expect(request.status == .completed && request.outcome == .rejected)
    }

    @Test func noRunsMeansNoWorkflow() throws {
        var request = try makeRequest()
        try request.apply(.sendStarted, now: t0, actor: "f")
        try request.apply(.accepted(purviewRequestId: "p", runIds: []), now: t0, actor: "f")
        #expect(request.status == .noWorkflow && request.status.isTerminal)
    }

    @Test func deferredGoesBackToQueuedAndRefusedIsFinal() throws {
        var request = try makeRequest()
        try request.apply(.sendStarted, now: t0, actor: "f")
        let busy = RequestError(code: "TooManyRequests", message: "slow down", httpStatus: 429)
        try request.apply(.deferred(retryAt: t0 + 30, reason: busy), now: t0, actor: "f")
        #expect(request.status == .queued && request.nextAttemptAt == t0 + 30 && request.error == busy)
        try request.apply(.sendStarted, now: t0 + 30, actor: "f")
        #expect(request.attempts == 2)
        let bad = RequestError(code: "Workflow.BadRequest", message: "glossary not found", httpStatus: 400)
        try request.apply(.refused(bad), now: t0 + 31, actor: "f")
        #expect(request.status == .refused && request.error == bad)
        #expect(throws: LifecycleConflict.self) { try request.apply(.sendStarted, now: t0, actor: "f") }
    }

    @Test func cancellationRules() throws {
        var queued = try makeRequest()
        try queued.apply(.cancelRequested(comment: "changed my mind"), now: t0, actor: "portal")
        #expect(queued.status == .cancelled)

        var submitting = try makeRequest()
        try submitting.apply(.sendStarted, now: t0, actor: "f")
        #expect(throws: LifecycleConflict.self) { try submitting.apply(.cancelRequested(comment: nil), now: t0, actor: "p") }

        var running = try makeRequest()
        try running.apply(.sendStarted, now: t0, actor: "f")
        try running.apply(.accepted(purviewRequestId: nil, runIds: ["a"]), now: t0, actor: "f")
        try running.apply(.cancelRequested(comment: nil), now: t0, actor: "p")
        #expect(running.status == .cancelled)
        // Purview still reports the run in progress for a moment: the status stays cancelled.
        try running.apply(.runsRefreshed([RunRecord(runId: "a", status: .inProgress)]), now: t0, actor: "poller")
        #expect(running.status == .cancelled)
        try running.apply(.cancelConfirmed, now: t0 + 1, actor: "f")
        #expect(running.runs[0].status == .canceled)
        #expect(throws: LifecycleConflict.self) { try running.apply(.cancelRequested(comment: nil), now: t0, actor: "p") }
    }

    @Test func unknownIsOnlyLeftByRedrive() throws {
        var request = try makeRequest()
        try request.apply(.sendStarted, now: t0, actor: "f")
        try request.apply(.outcomeUnknown(RequestError(code: "ambiguous", message: "timeout after sending")), now: t0, actor: "f")
        #expect(request.status == .unknown)
        #expect(throws: LifecycleConflict.self) { try request.apply(.sendStarted, now: t0, actor: "f") }
        try request.apply(.redriven, now: t0 + 60, actor: "operator:ops")
        #expect(request.status == .queued && request.timeline.last?.actor == "operator:ops")
    }

    /// A failed run kept beside the re-sent one would roll the request straight back to `failed` on the first
    /// poll (and stop polling the live run), so re-drive sets the earlier runs aside, naming them in the timeline.
    @Test func redriveSetsEarlierRunsAsideAndStartsTheGiveUpClockAfresh() throws {
        var request = try makeRequest()
        try request.apply(.sendStarted, now: t0 + 1, actor: "f")
        try request.apply(.accepted(purviewRequestId: "p1", runIds: ["run-a"]), now: t0 + 2, actor: "f")
        request.runs[0].status = .failed
        try request.apply(.runsRefreshed(request.runs), now: t0 + 3, actor: "poller")
        #expect(request.status == .failed)
        try request.apply(.redriven, now: t0 + 60, actor: "operator:ops")
        #expect(request.status == .queued)
        #expect(request.runs.isEmpty && request.outcome == nil && request.purviewRequestId == nil)
        #expect(request.timeline.last?.note?.contains("run-a") == true)
        #expect(request.forwardingSince == t0 + 60)
        #expect(request.firstSendSinceForwarding == nil)
        try request.apply(.sendStarted, now: t0 + 70, actor: "f")
        #expect(request.firstSendSinceForwarding == t0 + 70)
        try request.apply(.accepted(purviewRequestId: "p2", runIds: ["run-b"]), now: t0 + 71, actor: "f")
        #expect(request.workflowRunIds == ["run-b"])
    }

    @Test(arguments: [
        ([PurviewRunStatus](), RequestStatus.submitted),
        ([.inProgress], .inProgress), ([.notStarted], .inProgress), ([.completed], .completed),
        ([.completed, .failed], .failed), ([.inProgress, .failed], .failed), ([.canceled, .completed], .cancelled),
        ([.canceled, .inProgress], .inProgress), ([.cancellationFailed], .inProgress), ([.canceling], .inProgress),
    ])
    func rollUpTable(runs: [PurviewRunStatus], expected: RequestStatus) {
        #expect(rollUp(runs) == expected)
    }

    @Test func outcomeTable() {
        #expect(rollUpOutcome([]) == nil)
        #expect(rollUpOutcome([.pending]) == nil)
        #expect(rollUpOutcome([.approved, .pending]) == nil)
        #expect(rollUpOutcome([.approved, .approved]) == .approved)
        #expect(rollUpOutcome([.approved, .rejected]) == .rejected)
        #expect(rollUpOutcome([.pending, .rejected]) == .rejected)
        #expect(PurviewRunStatus(purview: "Cancelled") == .canceled)
        #expect(PurviewRunStatus(purview: "SomethingNew") == .inProgress)
    }
}
