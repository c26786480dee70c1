import FoundationEssentials
import Observability
import PurviewWorkflow
import Testing

@testable import GatewayCore

@Suite struct GatewayServiceTests {
    let purview = FakePurview()
    let store = InMemoryRequestStore()
    let body: JSONValue = [
        "glossaryId": "20031e20-b4df-4a66-a61d-1b0716f3fa48", "name": "Revenue", "definition": "Money in.",
        "requestedBy": "ada@contoso.com",
    ]

    func service(
        poller: PollerConfiguration = PollerConfiguration(), configure: (inout ForwarderConfiguration) -> Void = { _ in }
    ) -> GatewayService {
        var forwarder = ForwarderConfiguration()
        forwarder.initialBackoff = .milliseconds(10)
        forwarder.maxBackoff = .milliseconds(20)
        forwarder.idlePollInterval = .milliseconds(20)
        forwarder.lease = .seconds(60)
        configure(&forwarder)
        return GatewayService(store: store, purview: purview, forwarder: forwarder, poller: poller, logger: .disabled())
    }

    /// Runs the background loops for the duration of `body`.
    func withRunning<T: Sendable>(_ service: GatewayService, _ body: () async throws -> T) async rethrows -> T {
        let loops = Task { await service.run() }
        defer { loops.cancel() }
        return try await body()
    }

    func waitFor(_ id: String, timeout: Duration = .seconds(60), until done: (GatewayRequest) -> Bool) async throws -> GatewayRequest {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let request = try await store.get(id: id), done(request) { return request }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("request \(id) did not reach the expected state")
        return try #require(try await store.get(id: id))
    }

    @Test func submitForwardsWithinTheWaitBudget() async throws {
        let gateway = service()
        let result = try await withRunning(gateway) {
            try await gateway.submit(kind: .termCreation, body: body, clientName: "portal", idempotencyKey: nil, wait: .seconds(60))
        }
        guard case .created(let request, let settled) = result else { Issue.record("not created"); return }
        #expect(settled)
        #expect(request.status == .submitted)
        #expect(request.workflowRunIds.count == 1)
        #expect(request.purviewRequestId == "ur-1")
        let sent = purview.state.withLock { $0.submissions }
        #expect(sent.count == 1)
        #expect(sent[0].comment == "Requested by ada@contoso.com via portal")
        #expect(sent[0].operations[0].type == .createTerm)
    }

    @Test func waitZeroAnswersAtOnceAndForwardsLater() async throws {
        let gateway = service()
        try await withRunning(gateway) {
            let result = try await gateway.submit(kind: .termCreation, body: body, clientName: "portal", idempotencyKey: nil, wait: .zero)
            guard case .created(let request, let settled) = result else { Issue.record("not created"); return }
            #expect(!settled && request.status == .queued)
            _ = try await waitFor(request.id) { $0.status == .submitted }
        }
    }

    @Test func idempotencyKeyReplaysOrConflicts() async throws {
        let gateway = service()
        let first = try await gateway.submit(kind: .termCreation, body: body, clientName: "portal", idempotencyKey: "k1", wait: .zero)
        let again = try await gateway.submit(kind: .termCreation, body: body, clientName: "portal", idempotencyKey: "k1", wait: .zero)
        guard case .created(let original, _) = first, case .replayed(let replay) = again else { Issue.record("unexpected"); return }
        #expect(replay.id == original.id)
        var changed = body
        if case .object(var object) = changed { object["name"] = "Other"; changed = .object(object) }
        do {
            _ = try await gateway.submit(kind: .termCreation, body: changed, clientName: "portal", idempotencyKey: "k1", wait: .zero)
            Issue.record("expected a conflict")
        } catch {
            guard case .idempotencyKeyReused(let id) = error else { Issue.record("wrong error \(error)"); return }
            #expect(id == original.id)
        }
        // Another client may use the same key.
        let other = try await gateway.submit(kind: .termCreation, body: body, clientName: "bot", idempotencyKey: "k1", wait: .zero)
        guard case .created(let otherRequest, _) = other else { Issue.record("not created"); return }
        #expect(otherRequest.id != original.id)
    }

    @Test func concurrentSameKeyCreatesOneRequest() async throws {
        let gateway = service()
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    switch try await gateway.submit(kind: .termCreation, body: body, clientName: "portal", idempotencyKey: "same", wait: .zero) {
                    case .created(let request, _), .replayed(let request): return request.id
                    }
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(ids.count == 1)
    }

    @Test func invalidBodyIsRejectedWithViolations() async throws {
        do {
            _ = try await service().submit(kind: .termCreation, body: ["name": 1], clientName: "p", idempotencyKey: nil, wait: .zero)
            Issue.record("expected a validation failure")
        } catch {
            guard case .invalid(let failure) = error else { Issue.record("wrong error"); return }
            #expect(failure.violations.contains { $0.pointer == "/name" && $0.code == "invalid_type" })
        }
        #expect(try await store.countByStatus().isEmpty)
    }

    @Test func refusalIsFinalAndKeepsPurviewsError() async throws {
        purview.script(.fail(FakePurview.error(.service, status: 400, code: "Workflow.InvalidPayload")))
        let gateway = service()
        let result = try await withRunning(gateway) {
            try await gateway.submit(kind: .termCreation, body: body, clientName: "portal", idempotencyKey: nil, wait: .seconds(60))
        }
        guard case .created(let request, true) = result else { Issue.record("not settled"); return }
        #expect(request.status == .refused)
        #expect(request.error?.code == "Workflow.InvalidPayload" && request.error?.httpStatus == 400)
    }

    @Test func purviewDownThenBackIsRetried() async throws {
        purview.script(
            .fail(FakePurview.error(.unreachable, code: "connect_failed")),
            .fail(FakePurview.error(.service, status: 503, code: "Busy", retryAfter: .milliseconds(10))),
            .accept(runs: 2))
        let gateway = service()
        try await withRunning(gateway) {
            let result = try await gateway.submit(kind: .termCreation, body: body, clientName: "portal", idempotencyKey: nil, wait: .zero)
            guard case .created(let accepted, _) = result else { return }
            let request = try await waitFor(accepted.id) { $0.status == .submitted }
            #expect(request.attempts == 3)
            #expect(request.workflowRunIds.count == 2)
            #expect(request.timeline.map(\.status) == [.queued, .submitting, .queued, .submitting, .queued, .submitting, .submitted])
        }
        #expect(purview.submissionCount == 3)
    }

    /// The give-up period runs from the first try: tries failing for longer than it end `failed`.
    @Test func triesFailingPastTheGiveUpPeriodEndFailed() async throws {
        purview.script(
            .fail(FakePurview.error(.unreachable, code: "connect_failed")),
            .fail(FakePurview.error(.unreachable, code: "connect_failed")),
            .fail(FakePurview.error(.unreachable, code: "connect_failed")),
            .fail(FakePurview.error(.unreachable, code: "connect_failed")))
        let gateway = service {
            $0.giveUpAfter = .milliseconds(30)
            $0.initialBackoff = .milliseconds(20)
        }
        try await withRunning(gateway) {
            let result = try await gateway.submit(kind: .termCreation, body: body, clientName: "portal", idempotencyKey: nil, wait: .zero)
            guard case .created(let accepted, _) = result else { return }
            let request = try await waitFor(accepted.id) { $0.status == .failed }
            #expect(request.error?.code == "forwarding_expired")
            #expect(request.attempts >= 1 && request.timeline.contains { $0.status == .submitting })
        }
    }

    @Test func ambiguousSendIsReconciledNotResent() async throws {
        purview.script(.acceptButLoseAnswer(runs: 1))
        let gateway = service()
        try await withRunning(gateway) {
            let result = try await gateway.submit(kind: .termCreation, body: body, clientName: "portal", idempotencyKey: nil, wait: .seconds(60))
            guard case .created(let request, _) = result else { return }
            let settled = try await waitFor(request.id) { $0.status == .submitted }
            #expect(settled.workflowRunIds.count == 1)
        }
        #expect(purview.submissionCount == 1)
    }

    /// Regression: Purview's run list omits the payload, and reconciliation compared payloads on the list alone, so
    /// an ambiguous send that Purview did process always ended `unknown`. Runs whose target value is another term's
    /// are passed over without reading them.
    /// Imported rows wait for their pace: one first claimed more than the give-up period after it was accepted
    /// has never been tried, so it must be sent, not failed as if Purview had been unreachable all along.
    @Test func aRequestNeverTriedIsSentHoweverLongItWaited() async throws {
        let validated = try RequestMapper.validate(kind: .termCreation, body: body).get()
        let acceptedLongAgo = Date().addingTimeInterval(-30 * 3600)
        let waiting = GatewayRequest(
            id: "waited-a-day", clientName: "portal", validated: validated, idempotencyKey: nil, now: acceptedLongAgo)
        _ = try await store.insert(waiting, idempotencyWindow: .seconds(86_400), now: acceptedLongAgo)
        let gateway = service()
        try await withRunning(gateway) {
            let settled = try await waitFor(waiting.id) { $0.status != .queued && $0.status != .submitting }
            #expect([.submitted, .inProgress].contains(settled.status), "\(settled.status) \(settled.error?.code ?? "")")
        }
        #expect(purview.submissionCount == 1)
    }

    @Test func ambiguousSendIsFoundAmongOtherRunsOfTheSameType() async throws {
        // The poller would read runs too once the test outlasts its first tick (a loaded machine): keep it
        // idle, so the count below is reconciliation's alone.
        var idlePoller = PollerConfiguration()
        idlePoller.tick = .seconds(3600)
        let gateway = service(poller: idlePoller)
        let other: JSONValue = [
            "glossaryId": "20031e20-b4df-4a66-a61d-1b0716f3fa48", "name": "Costs", "definition": "Money out.",
            "requestedBy": "ada@contoso.com",
        ]
        let sameName: JSONValue = [
            "glossaryId": "20031e20-b4df-4a66-a61d-1b0716f3fa48", "name": "Revenue", "definition": "Another one.",
            "requestedBy": "ada@contoso.com",
        ]
        try await withRunning(gateway) {
            for (index, earlier) in [other, other, sameName].enumerated() {
                let result = try await gateway.submit(kind: .termCreation, body: earlier, clientName: "portal", idempotencyKey: nil, wait: .seconds(60))
                guard case .created(let request, _) = result else { return }
                #expect(try await waitFor(request.id) { $0.status == .submitted }.workflowRunIds.count == 1, "earlier request \(index)")
            }
            purview.script(.acceptButLoseAnswer(runs: 1))
            let result = try await gateway.submit(kind: .termCreation, body: body, clientName: "portal", idempotencyKey: nil, wait: .seconds(60))
            guard case .created(let request, _) = result else { return }
            let settled = try await waitFor(request.id) { $0.status != .submitting }
            let newest = purview.state.withLock { $0.runOrder.first }
            #expect(settled.status == .submitted)
            #expect(settled.workflowRunIds == [newest].compactMap { $0 })
        }
        #expect(purview.submissionCount == 4)
        // Only the runs named "Revenue" were read: the ambiguous send's and the one with another definition.
        #expect(purview.state.withLock { $0.runReads } == 2)
    }

    @Test func ambiguousSendWithNoRunBecomesUnknown() async throws {
        purview.script(.fail(FakePurview.error(.ambiguous, code: "request_timeout")))
        let gateway = service()
        try await withRunning(gateway) {
            let result = try await gateway.submit(kind: .termCreation, body: body, clientName: "portal", idempotencyKey: nil, wait: .seconds(60))
            guard case .created(let request, _) = result else { return }
            let settled = try await waitFor(request.id) { $0.status == .unknown }
            #expect(settled.error?.code == "outcome_unknown")
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(purview.submissionCount == 1)
    }

    @Test func reconciliationWaitsWhilePurviewIsUnreachable() async throws {
        purview.script(.acceptButLoseAnswer(runs: 1))
        purview.state.withLock { $0.listUnreachable = true }
        let gateway = service { $0.lease = .milliseconds(300) }
        try await withRunning(gateway) {
            let result = try await gateway.submit(kind: .termCreation, body: body, clientName: "portal", idempotencyKey: nil, wait: .seconds(60))
            guard case .created(let request, _) = result else { return }
            // Nothing is decided while Purview cannot be asked: no `unknown` by default.
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await store.get(id: request.id)?.status == .submitting)
            purview.state.withLock { $0.listUnreachable = false }
            let settled = try await waitFor(request.id) { $0.status != .submitting }
            #expect(settled.status == .submitted)
        }
        #expect(purview.submissionCount == 1)
    }

    @Test func interruptedSendIsReconciledAfterRestart() async throws {
        // A previous process marked the request submitting, sent it, and died before recording the answer.
        let validated = try RequestMapper.validate(kind: .termCreation, body: body).get()
        let longAgo = Date().addingTimeInterval(-600)
        var request = GatewayRequest(id: "crashed", clientName: "portal", validated: validated, idempotencyKey: nil, now: longAgo)
        guard case .inserted(let stored) = try await store.insert(request, idempotencyWindow: .seconds(86400), now: longAgo) else { return }
        request = stored
        try request.apply(.sendStarted, now: longAgo, actor: "forwarder")
        request = try await store.update(request)
        purview.script(.acceptButLoseAnswer(runs: 1))
        _ = try? await purview.submitUserRequest(UserRequestPayload(operations: [UserRequestOperation(type: .createTerm, payload: validated.operations[0].payload)]), options: PurviewCallOptions())
        // The run started "now" but the send began ten minutes ago: widen the skew window accordingly.
        let gateway = service { $0.lease = .seconds(1); $0.reconciliationSkew = .seconds(1200) }
        try await withRunning(gateway) {
            let recovered = try await waitFor("crashed") { $0.status != .submitting }
            #expect(recovered.status == .submitted)
        }
        #expect(purview.submissionCount == 1)
    }

    @Test func pollerRollsUpRunsAndApprovals() async throws {
        let gateway = service()
        let result = try await withRunning(gateway) {
            try await gateway.submit(kind: .termCreation, body: body, clientName: "portal", idempotencyKey: nil, wait: .seconds(60))
        }
        guard case .created(let request, _) = result, let runId = request.workflowRunIds.first else { return }
        purview.settle(run: runId, status: .inProgress, approval: "Pending", approvers: ["u1": "Pending", "u2": "Pending"])
        let pending = try #require(try await gateway.request(id: request.id, refresh: true))
        #expect(pending.status == .inProgress && pending.outcome == nil)
        #expect(pending.runs[0].pendingApprovers == ["u1", "u2"])
        purview.settle(run: runId, status: .completed, approval: "Approved", approvers: ["u1": "Approved", "u2": "Pending"])
        let done = try #require(try await gateway.request(id: request.id, refresh: true))
        #expect(done.status == .completed && done.outcome == .approved)
        #expect(done.runs[0].pendingApprovers.isEmpty)
    }

    @Test func cancelQueuedWithoutPurviewAndSentThroughPurview() async throws {
        let gateway = service()
        guard case .created(let queued, _) = try await gateway.submit(kind: .termCreation, body: body, clientName: "p", idempotencyKey: nil, wait: .zero) else { return }
        let cancelled = try await gateway.cancel(queued, comment: "no longer needed", actor: "p")
        #expect(cancelled.status == .cancelled)
        #expect(purview.state.withLock { $0.cancelled }.isEmpty)

        let result = try await withRunning(gateway) {
            try await gateway.submit(kind: .termCreation, body: body, clientName: "p", idempotencyKey: nil, wait: .seconds(60))
        }
        guard case .created(let sent, _) = result else { return }
        let stopped = try await gateway.cancel(sent, comment: nil, actor: "p")
        #expect(stopped.status == .cancelled)
        #expect(stopped.runs.allSatisfy { $0.status == .canceled })
        #expect(purview.state.withLock { $0.cancelled } == sent.workflowRunIds)
    }
}
