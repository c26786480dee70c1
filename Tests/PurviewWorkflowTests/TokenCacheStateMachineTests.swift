import Testing

@testable import PurviewWorkflow

/// A hand-driven instant: tests move time explicitly.
struct TestInstant: InstantProtocol {
    var offset: Duration
    func advanced(by duration: Duration) -> TestInstant { TestInstant(offset: offset + duration) }
    func duration(to other: TestInstant) -> Duration { other.offset - offset }
    static func < (lhs: TestInstant, rhs: TestInstant) -> Bool { lhs.offset < rhs.offset }
    static let zero = TestInstant(offset: .zero)
}

@Suite struct TokenCacheStateMachineTests {
    typealias Machine = TokenCacheStateMachine<TestInstant>
    let hour = AccessToken(value: "t1", lifetime: .seconds(3600))

    @Test func firstCallerFetchesAndOthersWait() {
        var machine = Machine()
        #expect(machine.requestToken(now: .zero) == .waitAndFetch)
        for _ in 0..<1000 { #expect(machine.requestToken(now: .zero) == .wait) }
        #expect(machine.fetchSucceeded(hour, now: .zero) == .resumeWaiters("t1"))
        #expect(machine.requestToken(now: .zero.advanced(by: .seconds(1))) == .use("t1"))
    }

    @Test func refreshesAtExpiryMinusFiveMinutesForLongTokens() {
        var machine = Machine()
        _ = machine.requestToken(now: .zero)
        _ = machine.fetchSucceeded(hour, now: .zero)
        // min(3600 − 300, 1800) = 1800 s: half the lifetime comes first for a one-hour token.
        #expect(machine.requestToken(now: .zero.advanced(by: .seconds(1799))) == .use("t1"))
        #expect(machine.requestToken(now: .zero.advanced(by: .seconds(1800))) == .useAndRefresh("t1"))
        // The refresh is in flight: others keep using the old token, no second fetch.
        #expect(machine.requestToken(now: .zero.advanced(by: .seconds(1801))) == .use("t1"))
        #expect(machine.isFetching)
    }

    @Test func expiryMarginWinsForVeryLongTokens() {
        var machine = Machine()
        _ = machine.requestToken(now: .zero)
        _ = machine.fetchSucceeded(AccessToken(value: "day", lifetime: .seconds(400)), now: .zero)
        // min(400 − 300, 200) = 100 s.
        #expect(machine.requestToken(now: .zero.advanced(by: .seconds(99))) == .use("day"))
        #expect(machine.requestToken(now: .zero.advanced(by: .seconds(100))) == .useAndRefresh("day"))
    }

    @Test func shortLivedTokensRefreshAtHalfTheirLifetime() {
        var machine = Machine()
        _ = machine.requestToken(now: .zero)
        _ = machine.fetchSucceeded(AccessToken(value: "short", lifetime: .seconds(60)), now: .zero)
        #expect(machine.requestToken(now: .zero.advanced(by: .seconds(29))) == .use("short"))
        #expect(machine.requestToken(now: .zero.advanced(by: .seconds(30))) == .useAndRefresh("short"))
    }

    @Test func refreshInFromTheIssuerWins() {
        var machine = Machine()
        _ = machine.requestToken(now: .zero)
        _ = machine.fetchSucceeded(AccessToken(value: "r", lifetime: .seconds(3600), refreshIn: .seconds(600)), now: .zero)
        #expect(machine.requestToken(now: .zero.advanced(by: .seconds(599))) == .use("r"))
        #expect(machine.requestToken(now: .zero.advanced(by: .seconds(600))) == .useAndRefresh("r"))
    }

    @Test func failedRefreshKeepsServingTheOldTokenUntilItExpires() {
        var machine = Machine()
        _ = machine.requestToken(now: .zero)
        _ = machine.fetchSucceeded(hour, now: .zero)
        let refreshTime = TestInstant.zero.advanced(by: .seconds(1800))
        #expect(machine.requestToken(now: refreshTime) == .useAndRefresh("t1"))
        let error = TokenError(code: "unreachable", message: "connection refused")
        #expect(machine.fetchFailed(error, now: refreshTime) == .resumeWaitersWithOld("t1"))
        // During the backoff the old token is served without a new fetch.
        #expect(machine.requestToken(now: refreshTime.advanced(by: .milliseconds(500))) == .use("t1"))
        // After the backoff the next caller triggers another background refresh.
        #expect(machine.requestToken(now: refreshTime.advanced(by: .seconds(2))) == .useAndRefresh("t1"))
        _ = machine.fetchFailed(error, now: refreshTime.advanced(by: .seconds(2)))
        // Once it really expires, callers fail fast with the token endpoint's error during backoff.
        let expired = TestInstant.zero.advanced(by: .seconds(3600))
        #expect(machine.requestToken(now: expired) == .waitAndFetch)
        #expect(machine.fetchFailed(error, now: expired) == .failWaiters(error))
        #expect(machine.requestToken(now: expired.advanced(by: .milliseconds(10))) == .fail(error))
    }

    @Test func backoffGrowsAndIsCapped() {
        var machine = Machine()
        let error = TokenError(code: "temporarily_unavailable", message: "503", status: 503)
        var now = TestInstant.zero
        var waits: [Duration] = []
        #expect(machine.requestToken(now: now) == .waitAndFetch)
        for _ in 0..<10 {
            _ = machine.fetchFailed(error, now: now)
            var probe = now
            var answer = machine.requestToken(now: probe)
            while answer == .fail(error) {
                probe = probe.advanced(by: .milliseconds(250))
                answer = machine.requestToken(now: probe)
            }
            #expect(answer == .waitAndFetch)
            waits.append(now.duration(to: probe))
            now = probe
        }
        #expect(waits.first == .seconds(1))
        #expect(waits.last == .seconds(60))
        #expect(zip(waits, waits.dropFirst()).allSatisfy { $0 <= $1 })
    }

    @Test func invalidateOn401DropsOnlyThatToken() {
        var machine = Machine()
        _ = machine.requestToken(now: .zero)
        _ = machine.fetchSucceeded(hour, now: .zero)
        machine.invalidate("someone-else")
        #expect(machine.requestToken(now: .zero) == .use("t1"))
        machine.invalidate("t1")
        #expect(machine.requestToken(now: .zero) == .waitAndFetch)
    }

    @Test func tokenCloseToExpiryIsNotHandedOut() {
        var machine = Machine()
        let error = TokenError(code: "e", message: "m")
        _ = machine.requestToken(now: .zero)
        _ = machine.fetchSucceeded(AccessToken(value: "x", lifetime: .seconds(30)), now: .zero)
        #expect(machine.requestToken(now: .zero.advanced(by: .seconds(15))) == .useAndRefresh("x"))
        #expect(machine.fetchFailed(error, now: .zero.advanced(by: .seconds(15))) == .resumeWaitersWithOld("x"))
        #expect(machine.requestToken(now: .zero.advanced(by: .milliseconds(15_500))) == .use("x"))
        // 10 s safety margin: from 20 s on the 30 s token is no longer handed out; a new fetch is needed.
        #expect(machine.requestToken(now: .zero.advanced(by: .seconds(20))) == .waitAndFetch)
    }

    @Test func descriptionsNeverContainTheToken() {
        let token = AccessToken(value: "secret-value", lifetime: .seconds(1))
        #expect(!String(describing: token).contains("secret-value"))
    }
}
