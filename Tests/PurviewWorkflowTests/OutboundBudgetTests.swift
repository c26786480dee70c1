import FoundationEssentials
import HTTP
import Networking
import Synchronization
import Testing

@testable import PurviewWorkflow

/// The outbound budget's rate as a value (no clock, no I/O), then its slots and its transport.
@Suite struct OutboundRateStateTests {
    func configuration(rate: Double = 10) -> OutboundBudgetConfiguration {
        var configuration = OutboundBudgetConfiguration(requestsPerSecond: rate, maxInFlight: 4)
        configuration.burstSeconds = 0.2
        configuration.recoveryPerSecond = 1
        configuration.minimumRequestsPerSecond = 1
        return configuration
    }

    /// Tokens granted over `seconds`, asking every millisecond.
    func granted(
        _ state: inout OutboundRateState, from start: Double, seconds: Double,
        _ configuration: OutboundBudgetConfiguration
    ) -> Int {
        var count = 0
        for step in 0..<Int(seconds * 1000) {
            if state.take(now: start + Double(step) / 1000, configuration) == .granted { count += 1 }
        }
        return count
    }

    @Test func grantsTheRateAndABurstNoMore() {
        let configuration = configuration()
        var state = OutboundRateState(tokens: 0, updatedAt: 0)
        // 10/s for 10 s, plus the bucket's depth (2) at most.
        let count = granted(&state, from: 0, seconds: 10, configuration)
        #expect((99...102).contains(count), "granted \(count) in 10 s at 10/s")
    }

    @Test func tellsWhenTheNextTokenIsDue() {
        let configuration = configuration()
        var state = OutboundRateState(tokens: 1, updatedAt: 0)
        #expect(state.take(now: 0, configuration) == .granted)
        guard case .retry(let after) = state.take(now: 0, configuration) else {
            Issue.record("expected a wait")
            return
        }
        #expect(abs(after - 0.1) < 1e-9)
        #expect(state.take(now: after, configuration) == .granted)
    }

    @Test func a429HalvesTheRateOncePerCooldownDownToTheFloor() {
        let configuration = configuration()
        var state = OutboundRateState(tokens: 0, updatedAt: 0)
        state.throttled(now: 1, configuration)
        #expect(state.rate(at: 1, configuration) == 5)
        // Answers to calls sent before the cut: no second cut within the cooldown.
        state.throttled(now: 1.5, configuration)
        #expect(state.rate(at: 1.5, configuration) == 5.5)
        state.throttled(now: 2.0, configuration)
        #expect(state.rate(at: 2.0, configuration) == 3)
        for second in 3...20 { state.throttled(now: Double(second), configuration) }
        #expect(abs(state.rate(at: 20, configuration) - 1) < 0.001)
    }

    @Test func recoversLinearlyAfterTheLast429() {
        let configuration = configuration()
        var state = OutboundRateState(tokens: 0, updatedAt: 0)
        state.throttled(now: 0, configuration)
        #expect(state.rate(at: 0, configuration) == 5)
        #expect(state.rate(at: 2, configuration) == 7)
        #expect(state.rate(at: 5, configuration) == 10)
        #expect(state.rate(at: 60, configuration) == 10)
        // Fewer calls right after the cut than before it.
        var fresh = OutboundRateState(tokens: 0, updatedAt: 0)
        var cut = OutboundRateState(tokens: 0, updatedAt: 0)
        cut.throttled(now: 0, configuration)
        #expect(granted(&cut, from: 0, seconds: 2, configuration) < granted(&fresh, from: 0, seconds: 2, configuration))
    }

    @Test func aClockGoingBackwardsAddsNothing() {
        let configuration = configuration()
        var state = OutboundRateState(tokens: 0, updatedAt: 100)
        #expect(state.take(now: 50, configuration) != .granted)
        #expect(state.take(now: 99.9, configuration) != .granted)
        #expect(state.take(now: 100.15, configuration) == .granted)
    }

    @Test func takesSeveralAtOnceUpToWhatIsThere() {
        let configuration = configuration(rate: 100)
        var state = OutboundRateState(tokens: 0, updatedAt: 0)
        let taken = state.take(upTo: 50, now: 1, configuration)
        #expect(taken.granted == 20, "the bucket holds 0.2 s of the rate")
        #expect(state.take(upTo: 5, now: 1, configuration).granted == 0)
    }
}

@Suite struct OutboundBudgetTests {
    /// A clock the test moves.
    final class ManualClock: Sendable {
        let seconds = Mutex(0.0)
        func advance(_ by: Double) { seconds.withLock { $0 += by } }
        var read: @Sendable () -> Double { { self.seconds.withLock { $0 } } }
    }

    @Test func slotsBoundCallsInFlightAndPassInOrder() async throws {
        let budget = OutboundBudget(
            configuration: OutboundBudgetConfiguration(requestsPerSecond: 100_000, maxInFlight: 2))
        let first = try await budget.acquire()
        let second = try await budget.acquire()
        #expect(budget.inFlight == 2)
        let third = Task { try await budget.acquire() }
        try await Task.sleep(for: .milliseconds(50))
        #expect(budget.inFlight == 2, "a third call waits")
        first.release()
        first.release()
        let permit = try await third.value
        #expect(budget.inFlight == 2, "the freed slot went to the waiter; a second release did nothing")
        permit.release()
        second.release()
        #expect(budget.inFlight == 0)
    }

    @Test func aCancelledWaiterTakesNothing() async throws {
        let budget = OutboundBudget(
            configuration: OutboundBudgetConfiguration(requestsPerSecond: 100_000, maxInFlight: 1))
        let held = try await budget.acquire()
        let waiter = Task { try await budget.acquire() }
        try await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        held.release()
        #expect(budget.inFlight == 0)
        let again = try await budget.acquire()
        again.release()
    }

    @Test func transportDrawsPerAttemptAndCutsTheRateOn429() async throws {
        let clock = ManualClock()
        var configuration = OutboundBudgetConfiguration(requestsPerSecond: 10, maxInFlight: 4)
        configuration.burstSeconds = 0.1
        let rate = LocalOutboundRate(configuration: configuration, clock: clock.read)
        let budget = OutboundBudget(configuration: configuration, rate: rate)
        let scripted = ScriptedTransport([
            ScriptedTransport.json(
                429, #"{"error":{"code":"TooManyRequests","message":"slow down"}}"#, headers: ["Retry-After": "1"]),
            ScriptedTransport.empty(200),
        ])
        let transport = BudgetedTransport(scripted, budget: budget)
        let request = HTTPClientRequest(method: .get, url: HTTPURL("https://purview.test/workflow/workflowruns")!)
        let throttled = try await transport.execute(request)
        #expect(throttled.status.code == 429)
        #expect(budget.throttledAnswers == 1)
        #expect(rate.currentRate == 5)
        // The bucket is empty: the next attempt waits for a token at the cut rate (1/5 s), here on the real
        // clock while the manual one stands still, so it must be released by moving the manual clock.
        let next = Task { try await transport.execute(request) }
        try await Task.sleep(for: .milliseconds(30))
        #expect(scripted.requests.count == 1, "no token yet, nothing sent")
        clock.advance(0.2)
        let answer = try await next.value
        #expect(answer.status.code == 200)
        #expect(scripted.requests.count == 2)
        #expect(budget.inFlight == 0)
        #expect(budget.permitsGranted == 2)
    }

    @Test func aPrepaidPermitServesTheFirstAttemptOnly() async throws {
        let budget = OutboundBudget(
            configuration: OutboundBudgetConfiguration(requestsPerSecond: 100_000, maxInFlight: 1))
        let scripted = ScriptedTransport([ScriptedTransport.empty(200), ScriptedTransport.empty(200)])
        let transport = BudgetedTransport(scripted, budget: budget)
        let request = HTTPClientRequest(method: .get, url: HTTPURL("https://purview.test/workflow/workflowruns")!)
        let permit = try await budget.acquire()
        try await OutboundBudget.$prepaid.withValue(permit) {
            // With the only slot prepaid, drawing again would wait forever: the first attempt must use it.
            _ = try await transport.execute(request)
            #expect(budget.inFlight == 0, "the attempt gave the slot back when it ended")
            _ = try await transport.execute(request)
        }
        permit.release()
        #expect(budget.inFlight == 0)
        #expect(budget.permitsGranted == 2)
    }

    @Test func tokenFetchesTakeNoSlot() async throws {
        let budget = OutboundBudget(
            configuration: OutboundBudgetConfiguration(requestsPerSecond: 100_000, maxInFlight: 1))
        let held = try await budget.acquire()
        let scripted = ScriptedTransport([ScriptedTransport.empty(200)])
        let tokens = BudgetedTransport(scripted, budget: budget, holdsSlot: false)
        _ = try await tokens.execute(
            HTTPClientRequest(method: .post, url: HTTPURL("https://login.test/t/oauth2/v2.0/token")!))
        held.release()
        #expect(scripted.requests.count == 1)
    }

    /// Calls waiting for the rate may already hold a slot and then need an access token: the token fetch must
    /// not queue behind them (a replica's forwarder once took 26 permits, one by one at a cut rate, while its
    /// first token fetch waited behind them, then sent all 26 together when the token came).
    @Test func aTokenFetchGoesAheadOfCallsWaitingForTheRate() async throws {
        let clock = ManualClock()
        var configuration = OutboundBudgetConfiguration(requestsPerSecond: 10, maxInFlight: 8)
        configuration.burstSeconds = 0.1
        let budget = OutboundBudget(
            configuration: configuration, rate: LocalOutboundRate(configuration: configuration, clock: clock.read))
        (try await budget.acquire()).release()
        let waiting = (0..<5).map { _ in Task { try await budget.acquire() } }
        try await Task.sleep(for: .milliseconds(50))
        let scripted = ScriptedTransport([ScriptedTransport.empty(200)])
        let tokens = BudgetedTransport(scripted, budget: budget, holdsSlot: false)
        let fetch = Task {
            try await tokens.execute(
                HTTPClientRequest(method: .post, url: HTTPURL("https://login.test/t/oauth2/v2.0/token")!))
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(scripted.requests.isEmpty, "no token yet")
        // One token comes due: it is the fetch's, not the first waiting call's.
        clock.advance(0.1)
        for _ in 0..<200 where scripted.requests.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(scripted.requests.count == 1, "the fetch waits behind the calls")
        #expect(budget.permitsGranted == 1, "no waiting call got a permit meanwhile")
        // The waiting calls (and, before the fix, the fetch) get the next tokens, one per tenth of a second.
        for _ in 0..<100 where budget.permitsGranted < 6 || scripted.requests.isEmpty {
            clock.advance(0.1)
            try await Task.sleep(for: .milliseconds(20))
        }
        _ = try await fetch.value
        for task in waiting { (try await task.value).release() }
        #expect(budget.permitsGranted == 6)
    }
}
