/// An OAuth2 access token and when it stops being usable.
public struct AccessToken: Sendable, Hashable, CustomStringConvertible {
    public var value: String
    /// Lifetime from the moment it was received (`expires_in`).
    public var lifetime: Duration
    /// When the issuer asks for a refresh (`refresh_in`), if it said.
    public var refreshIn: Duration?

    public init(value: String, lifetime: Duration, refreshIn: Duration? = nil) {
        self.value = value
        self.lifetime = lifetime
        self.refreshIn = refreshIn
    }

    /// Never the token itself: descriptions end up in logs.
    public var description: String { "AccessToken(lifetime: \(lifetime), redacted)" }
}

/// The token cache's logic: one fetch in flight whatever the concurrency, refresh ahead of expiry,
/// the old token served while a refresh fails, backoff after failures, invalidation on a 401.
///
/// A value fed events that returns actions; the owner keeps the waiting callers and runs the fetch.
/// Time comes in with each event, so tests drive it by hand.
public struct TokenCacheStateMachine<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// How long before expiry a token is refreshed at the latest.
    public var refreshMargin: Duration = .seconds(300)
    /// A token closer than this to expiry is not handed out (it could expire in flight).
    public var expirySafetyMargin: Duration = .seconds(10)
    public var initialBackoff: Duration = .seconds(1)
    public var maximumBackoff: Duration = .seconds(60)

    struct CachedToken: Sendable {
        var token: AccessToken
        var refreshAt: Instant
        var expiresAt: Instant
    }

    private enum State: Sendable {
        case empty
        case fetching(old: CachedToken?)
        case cached(CachedToken)
        case backingOff(old: CachedToken?, until: Instant, error: TokenError)
    }

    private var state: State = .empty
    private var consecutiveFailures = 0

    public init() {}

    public enum RequestAction: Sendable, Equatable {
        /// Use this token now.
        case use(String)
        /// Use this token now and start a background refresh (nobody waits for it).
        case useAndRefresh(String)
        /// Wait for the fetch this action starts.
        case waitAndFetch
        /// Wait for the fetch already in flight.
        case wait
        /// Fail now: the token endpoint failed recently and there is no usable token.
        case fail(TokenError)
    }

    /// A caller needs a token.
    public mutating func requestToken(now: Instant) -> RequestAction {
        switch state {
        case .empty:
            state = .fetching(old: nil)
            return .waitAndFetch
        case .fetching(let old):
            if let old, isUsable(old, now: now) { return .use(old.token.value) }
            return .wait
        case .cached(let cached):
            guard isUsable(cached, now: now) else {
                state = .fetching(old: nil)
                return .waitAndFetch
            }
            if now >= cached.refreshAt {
                state = .fetching(old: cached)
                return .useAndRefresh(cached.token.value)
            }
            return .use(cached.token.value)
        case .backingOff(let old, let until, let error):
            if let old, isUsable(old, now: now) {
                if now >= until {
                    state = .fetching(old: old)
                    return .useAndRefresh(old.token.value)
                }
                return .use(old.token.value)
            }
            if now >= until {
                state = .fetching(old: nil)
                return .waitAndFetch
            }
            return .fail(error)
        }
    }

    /// The cached token when handing it out changes nothing (no fetch or refresh due): the lock-light fast path.
    public func tokenWithoutTransition(now: Instant) -> String? {
        switch state {
        case .cached(let cached) where isUsable(cached, now: now) && now < cached.refreshAt:
            return cached.token.value
        case .fetching(let old?) where isUsable(old, now: now):
            return old.token.value
        case .backingOff(let old?, let until, _) where isUsable(old, now: now) && now < until:
            return old.token.value
        default:
            return nil
        }
    }

    public enum FetchResultAction: Sendable, Equatable {
        /// Hand this token to every waiting caller.
        case resumeWaiters(String)
        /// Fail every waiting caller with this error.
        case failWaiters(TokenError)
        /// A refresh failed but the old token is still good: waiters (if any) get it.
        case resumeWaitersWithOld(String)
    }

    /// The fetch started by an earlier action succeeded.
    public mutating func fetchSucceeded(_ token: AccessToken, now: Instant) -> FetchResultAction {
        consecutiveFailures = 0
        state = .cached(Self.cache(token, now: now, refreshMargin: refreshMargin))
        return .resumeWaiters(token.value)
    }

    /// The fetch started by an earlier action failed.
    public mutating func fetchFailed(_ error: TokenError, now: Instant) -> FetchResultAction {
        consecutiveFailures += 1
        let old: CachedToken?
        switch state {
        case .fetching(let previous): old = previous
        default: old = nil
        }
        let usableOld = old.flatMap { isUsable($0, now: now) ? $0 : nil }
        state = .backingOff(old: usableOld, until: now.advanced(by: backoff()), error: error)
        if let usableOld { return .resumeWaitersWithOld(usableOld.token.value) }
        return .failWaiters(error)
    }

    /// Purview answered 401 with `token`: drop it (if it is still the cached one) so the retry fetches anew.
    public mutating func invalidate(_ token: String) {
        switch state {
        case .cached(let cached) where cached.token.value == token:
            state = .empty
        case .fetching(let old) where old?.token.value == token:
            state = .fetching(old: nil)
        case .backingOff(let old, let until, let error) where old?.token.value == token:
            state = .backingOff(old: nil, until: until, error: error)
        default:
            break
        }
    }

    /// Whether a fetch is in flight (for tests and health details).
    public var isFetching: Bool {
        if case .fetching = state { return true }
        return false
    }

    /// When the cached token expires, if there is one (for health details).
    public var cachedTokenExpiry: Instant? {
        switch state {
        case .cached(let cached): return cached.expiresAt
        case .fetching(let old): return old?.expiresAt
        case .backingOff(let old, _, _): return old?.expiresAt
        case .empty: return nil
        }
    }

    /// Refresh at `refresh_in` when given, else at the earlier of expiry − margin and half the lifetime,
    /// so that short-lived tokens do not refresh constantly.
    static func cache(_ token: AccessToken, now: Instant, refreshMargin: Duration) -> CachedToken {
        let expiresAt = now.advanced(by: token.lifetime)
        let refreshAfter: Duration
        if let refreshIn = token.refreshIn, refreshIn > .zero, refreshIn < token.lifetime {
            refreshAfter = refreshIn
        } else {
            // A token living less than the margin would otherwise be "due" on arrival.
            let half = token.lifetime / 2
            refreshAfter = token.lifetime > refreshMargin ? min(token.lifetime - refreshMargin, half) : half
        }
        return CachedToken(token: token, refreshAt: now.advanced(by: max(refreshAfter, .zero)), expiresAt: expiresAt)
    }

    private func isUsable(_ cached: CachedToken, now: Instant) -> Bool {
        now.advanced(by: expirySafetyMargin) < cached.expiresAt
    }

    private func backoff() -> Duration {
        let exponent = min(consecutiveFailures - 1, 16)
        let delay = initialBackoff * (1 << exponent)
        return min(delay, maximumBackoff)
    }
}

/// Why a token could not be had. Never carries the secret or the assertion.
public struct TokenError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The AAD error code (`invalid_client`, ...) or a transport category (`unreachable`, `bad_response`).
    public var code: String
    /// A description safe to log: AAD's `error_description` or the transport failure.
    public var message: String
    /// The HTTP status of the token endpoint's answer, if there was one.
    public var status: Int?

    public init(code: String, message: String, status: Int? = nil) {
        self.code = code
        self.message = message
        self.status = status
    }

    public var description: String {
        "token request failed: \(code)\(status.map { " (HTTP \($0))" } ?? ""): \(message)"
    }
}
