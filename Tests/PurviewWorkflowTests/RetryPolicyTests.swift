import Testing

@testable import PurviewWorkflow

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy()
    let half = { 0.5 }

    @Test(arguments: [408, 429, 500, 502, 503, 504])
    func idempotentCallsRetryTransientStatuses(code: Int) {
        let decision = policy.decide(
            attempt: 1, outcome: .status(code, retryAfter: nil), idempotent: true, elapsed: .zero, random: half)
        #expect(decision == .retry(after: .milliseconds(250)))
    }

    @Test(arguments: [400, 401, 403, 404, 409, 422, 501])
    func otherStatusesAreFinal(code: Int) {
        for idempotent in [true, false] {
            let decision = policy.decide(
                attempt: 1, outcome: .status(code, retryAfter: nil), idempotent: idempotent, elapsed: .zero,
                random: half)
            #expect(decision == (idempotent || code < 500 ? .giveUp : .ambiguous))
        }
    }

    @Test func nonIdempotentRetriesOnlyWhenCertainlyNotProcessed() {
        func decide(_ outcome: RetryPolicy.Outcome) -> RetryPolicy.Decision {
            policy.decide(attempt: 1, outcome: outcome, idempotent: false, elapsed: .zero, random: half)
        }
        #expect(decide(.connectFailed) == .retry(after: .milliseconds(250)))
        #expect(decide(.status(429, retryAfter: nil)) == .retry(after: .milliseconds(250)))
        #expect(decide(.status(503, retryAfter: .seconds(2))) == .retry(after: .seconds(2)))
        #expect(decide(.transportFailedAfterSending) == .ambiguous)
        for code in [408, 500, 502, 504] { #expect(decide(.status(code, retryAfter: nil)) == .ambiguous) }
    }

    @Test func retryAfterIsHonouredOverJitter() {
        let decision = policy.decide(
            attempt: 2, outcome: .status(429, retryAfter: .seconds(7)), idempotent: true, elapsed: .zero,
            random: { 0.0 })
        #expect(decision == .retry(after: .seconds(7)))
    }

    @Test func exponentialFullJitterIsBoundedByCap() {
        #expect(policy.jittered(attempt: 1, random: { 1.0 }) == .milliseconds(500))
        #expect(policy.jittered(attempt: 2, random: { 1.0 }) == .seconds(1))
        #expect(policy.jittered(attempt: 4, random: { 1.0 }) == .seconds(4))
        #expect(policy.jittered(attempt: 10, random: { 1.0 }) == .seconds(8))
        #expect(policy.jittered(attempt: 3, random: { 0.0 }) == .zero)
    }

    @Test func stopsAfterMaxRetriesAndBudget() {
        let last = policy.decide(
            attempt: 5, outcome: .connectFailed, idempotent: true, elapsed: .zero, random: half)
        #expect(last == .giveUp)
        let overBudget = policy.decide(
            attempt: 1, outcome: .status(503, retryAfter: .seconds(10)), idempotent: true, elapsed: .seconds(25),
            random: half)
        #expect(overBudget == .giveUp)
        #expect(
            RetryPolicy.none.decide(attempt: 1, outcome: .connectFailed, idempotent: true, elapsed: .zero, random: half)
                == .giveUp)
    }

    @Test func parsesEveryRetryAfterSpelling() {
        let now = HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT")!
        #expect(now == 784_111_777)
        #expect(RetryAfter.delay(retryAfter: "3", retryAfterMilliseconds: nil, msRetryAfterMilliseconds: nil, nowUnixSeconds: now) == .seconds(3))
        #expect(RetryAfter.delay(retryAfter: "Sun, 06 Nov 1994 08:49:47 GMT", retryAfterMilliseconds: nil, msRetryAfterMilliseconds: nil, nowUnixSeconds: now) == .seconds(10))
        #expect(RetryAfter.delay(retryAfter: "3", retryAfterMilliseconds: "1500", msRetryAfterMilliseconds: nil, nowUnixSeconds: now) == .milliseconds(1500))
        #expect(RetryAfter.delay(retryAfter: nil, retryAfterMilliseconds: nil, msRetryAfterMilliseconds: "20", nowUnixSeconds: now) == .milliseconds(20))
        #expect(RetryAfter.delay(retryAfter: "soon", retryAfterMilliseconds: nil, msRetryAfterMilliseconds: nil, nowUnixSeconds: now) == nil)
        #expect(RetryAfter.delay(retryAfter: "Sun, 06 Nov 1994 08:49:00 GMT", retryAfterMilliseconds: nil, msRetryAfterMilliseconds: nil, nowUnixSeconds: now) == .zero)
    }

    @Test func httpDateRoundTrips() {
        for seconds in [0, 784_111_777, 951_782_400, 1_700_000_000, 4_102_444_799] {
            #expect(HTTPDate.parse(HTTPDate.format(unixSeconds: seconds)) == Double(seconds))
        }
        #expect(HTTPDate.format(unixSeconds: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }
}
