import Synchronization

/// Fetches a fresh token from the identity provider; the cache decides when.
public protocol TokenFetcher: Sendable {
    func fetchToken() async throws(TokenError) -> AccessToken
}

/// Hands out access tokens: one fetch in flight whatever the concurrency, refreshed ahead of expiry,
/// the old token kept while a refresh fails. The logic is `TokenCacheStateMachine`; this class owns
/// the waiting callers and runs the fetches.
public final class TokenCache<C: Clock>: Sendable where C.Duration == Duration {
    private struct State: ~Copyable {
        var machine = TokenCacheStateMachine<C.Instant>()
        var waiters: [CheckedContinuation<String, any Error>] = []
        var fetchCount = 0
    }

    private let fetcher: any TokenFetcher
    private let clock: C
    private let state = Mutex(State())

    public init(fetcher: any TokenFetcher, clock: C) {
        self.fetcher = fetcher
        self.clock = clock
    }

    /// How many fetches were started (for tests, metrics and health details).
    public var fetchCount: Int { state.withLock { $0.fetchCount } }

    /// When the cached token expires, if there is one.
    public var tokenExpiry: C.Instant? { state.withLock { $0.machine.cachedTokenExpiry } }

    /// A usable token, fetching one if needed.
    public func token() async throws(TokenError) -> String {
        let now = clock.now
        if let token = state.withLock({ $0.machine.tokenWithoutTransition(now: now) }) { return token }
        do {
            return try await withCheckedThrowingContinuation { continuation in
                // Decide and register in one critical section, so a fetch that completes meanwhile
                // cannot miss this caller.
                let action = state.withLock { state in
                    let action = state.machine.requestToken(now: now)
                    switch action {
                    case .wait:
                        state.waiters.append(continuation)
                    case .waitAndFetch:
                        state.waiters.append(continuation)
                        state.fetchCount += 1
                    case .useAndRefresh:
                        state.fetchCount += 1
                    case .use, .fail:
                        break
                    }
                    return action
                }
                switch action {
                case .use(let token):
                    continuation.resume(returning: token)
                case .useAndRefresh(let token):
                    startFetch()
                    continuation.resume(returning: token)
                case .fail(let error):
                    continuation.resume(throwing: error)
                case .waitAndFetch:
                    startFetch()
                case .wait:
                    break
                }
            }
        } catch let error as TokenError {
            throw error
        } catch {
            throw TokenError(code: "unexpected", message: String(describing: error))
        }
    }

    /// Purview rejected `token` with 401: the next caller fetches a new one.
    public func invalidate(_ token: String) {
        state.withLock { $0.machine.invalidate(token) }
    }

    private func startFetch() {
        // The fetch outlives any one caller: callers may be cancelled while others still wait.
        Task { [self] in
            let outcome: Result<AccessToken, TokenError>
            do throws(TokenError) {
                outcome = .success(try await fetcher.fetchToken())
            } catch {
                outcome = .failure(error)
            }
            complete(outcome)
        }
    }

    private func complete(_ outcome: Result<AccessToken, TokenError>) {
        let now = clock.now
        let (action, waiters) = state.withLock { state in
            let action: TokenCacheStateMachine<C.Instant>.FetchResultAction
            switch outcome {
            case .success(let token): action = state.machine.fetchSucceeded(token, now: now)
            case .failure(let error): action = state.machine.fetchFailed(error, now: now)
            }
            let waiters = state.waiters
            state.waiters = []
            return (action, waiters)
        }
        switch action {
        case .resumeWaiters(let token), .resumeWaitersWithOld(let token):
            for waiter in waiters { waiter.resume(returning: token) }
        case .failWaiters(let error):
            for waiter in waiters { waiter.resume(throwing: error) }
        }
    }
}
