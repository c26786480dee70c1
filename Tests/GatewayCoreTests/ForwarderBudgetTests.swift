import FoundationEssentials
import Observability
import PurviewWorkflow
import Testing

@testable import GatewayCore

/// The forwarder marks a request `submitting` only when its send can go out at once: a request waiting for a
/// connection (the outbound budget's slots) stays `queued`, so a crash leaves at most the sends really in flight
/// in doubt. Regression: with 32 forward tasks and a 16-connection client, 16 waited inside the client already
/// marked `submitting`, and a kill -9 turned them `unknown`.
@Suite struct ForwarderBudgetTests {
    let purview = FakePurview()
    let store = InMemoryRequestStore()

    func body(_ index: Int) -> JSONValue {
        [
            "glossaryId": "20031e20-b4df-4a66-a61d-1b0716f3fa48", "name": .string("Term \(index)"), "definition": "d",
            "requestedBy": "ada@contoso.com",
        ]
    }

    func count(_ status: RequestStatus) async throws -> Int { try await store.countByStatus()[status] ?? 0 }

    @Test func requestsWaitingForASlotStayQueued() async throws {
        purview.state.withLock { $0.holdSubmissions = true }
        let budget = OutboundBudget(
            configuration: OutboundBudgetConfiguration(requestsPerSecond: 100_000, maxInFlight: 4))
        var forwarder = ForwarderConfiguration()
        forwarder.concurrency = 32
        forwarder.idlePollInterval = .milliseconds(20)
        let gateway = GatewayService(
            store: store, purview: purview, forwarder: forwarder, logger: .disabled(), budget: budget)
        for index in 0..<20 {
            _ = try await gateway.submit(
                kind: .termCreation, body: body(index), clientName: "portal", idempotencyKey: nil, wait: .zero)
        }
        let loops = Task { await gateway.run() }
        defer { loops.cancel() }

        let deadline = ContinuousClock.now + .seconds(30)
        while purview.state.withLock({ $0.submissionsInProgress }) < 4 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        // Give the other 16 claimed forward tasks time to (wrongly) mark their requests.
        try await Task.sleep(for: .milliseconds(200))
        #expect(purview.state.withLock { $0.submissionsInProgress } == 4)
        #expect(budget.inFlight == 4)
        #expect(try await count(.submitting) == 4, "only the sends on the wire may be submitting")
        #expect(try await count(.queued) == 16)

        purview.releaseHeldSubmissions()
        while try await count(.submitted) < 20 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(try await count(.submitted) == 20)
        #expect(purview.submissionCount == 20, "each request was sent once")
        #expect(budget.inFlight == 0, "every slot was given back")
    }

    @Test func cancelledWhileWaitingForASlotLeavesTheRequestQueued() async throws {
        purview.state.withLock { $0.holdSubmissions = true }
        let budget = OutboundBudget(
            configuration: OutboundBudgetConfiguration(requestsPerSecond: 100_000, maxInFlight: 1))
        var forwarder = ForwarderConfiguration()
        forwarder.idlePollInterval = .milliseconds(20)
        let gateway = GatewayService(
            store: store, purview: purview, forwarder: forwarder, logger: .disabled(), budget: budget)
        for index in 0..<3 {
            _ = try await gateway.submit(
                kind: .termCreation, body: body(index), clientName: "portal", idempotencyKey: nil, wait: .zero)
        }
        let loops = Task { await gateway.run() }
        let deadline = ContinuousClock.now + .seconds(30)
        while purview.state.withLock({ $0.submissionsInProgress }) < 1 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        loops.cancel()
        try await Task.sleep(for: .milliseconds(100))
        // The two waiting for the slot gave up without marking anything.
        #expect(try await count(.submitting) == 1)
        #expect(try await count(.queued) == 2)
        purview.releaseHeldSubmissions()
        await loops.value
        #expect(purview.submissionCount == 1)
    }
}
