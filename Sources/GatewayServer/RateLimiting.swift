import FoundationEssentials
import GatewayCore
import Synchronization

/// A client's intake quota: `perSecond` calls on average, bursts up to `burst` (keys file `"rateLimit"`).
public struct RateLimit: Sendable, Hashable {
    public var perSecond: Double
    public var burst: Int

    public init(perSecond: Double, burst: Int) {
        self.perSecond = perSecond
        self.burst = burst
    }

    /// `GATEWAY_RATE_LIMIT_PER_SECOND` / `GATEWAY_RATE_LIMIT_BURST` defaults.
    public static let standard = RateLimit(perSecond: 50, burst: 100)
}

/// A token bucket as a value: `burst` tokens at most, refilled at `perSecond`; each call takes one.
/// Time comes from the caller (seconds on a monotonic clock), so tests drive it directly.
public struct TokenBucket: Sendable, Hashable {
    public private(set) var limit: RateLimit
    public private(set) var tokens: Double
    private var updatedAt: Double

    /// A full bucket at `now`.
    public init(limit: RateLimit, now: Double) {
        self.limit = limit
        self.tokens = Double(limit.burst)
        self.updatedAt = now
    }

    /// What one attempt to take a token decided, with the figures for the `RateLimit-*` headers.
    public struct Decision: Sendable, Hashable {
        public var allowed: Bool
        /// `RateLimit-Limit`: the burst.
        public var limit: Int
        /// `RateLimit-Remaining`: whole tokens left after this call.
        public var remaining: Int
        /// `RateLimit-Reset`: seconds until the bucket is full again (rounded up).
        public var resetSeconds: Int
        /// `Retry-After` when refused: seconds until one token is there (rounded up, at least 1).
        public var retryAfterSeconds: Int
    }

    /// Changes the limit (keys file reloaded), keeping the tokens already spent.
    public mutating func update(limit newLimit: RateLimit, now: Double) {
        guard newLimit != limit else { return }
        refill(now: now)
        limit = newLimit
        tokens = min(tokens, Double(newLimit.burst))
    }

    /// Takes one token if there is one.
    public mutating func take(now: Double) -> Decision {
        refill(now: now)
        let allowed = tokens >= 1
        if allowed { tokens -= 1 }
        let missing = Double(limit.burst) - tokens
        let rate = max(limit.perSecond, 1e-9)
        let reset = missing <= 0 ? 0 : Int((missing / rate).rounded(.up))
        let retry = allowed ? 0 : max(1, Int(((1 - tokens) / rate).rounded(.up)))
        return Decision(
            allowed: allowed, limit: limit.burst, remaining: max(0, Int(tokens.rounded(.down))), resetSeconds: reset,
            retryAfterSeconds: retry)
    }

    private mutating func refill(now: Double) {
        let elapsed = max(0, now - updatedAt)
        tokens = min(Double(limit.burst), tokens + elapsed * limit.perSecond)
        updatedAt = max(updatedAt, now)
    }
}

/// The buckets of every client: one for its calls, another for its imports (`/v1/imports...`).
public final class ClientRateLimiter: Sendable {
    /// Which quota a call draws on.
    public enum Pool: String, Sendable, Hashable {
        case requests
        case imports
    }

    private struct Key: Hashable {
        var client: String
        var pool: Pool
    }

    /// Applies to clients whose keys-file entry has no `"rateLimit"`; nil: no limit for them.
    let defaultLimit: RateLimit?
    private let now: @Sendable () -> Double
    private let buckets = Mutex<[Key: TokenBucket]>([:])

    public init(defaultLimit: RateLimit? = .standard, now: (@Sendable () -> Double)? = nil) {
        self.defaultLimit = defaultLimit
        if let now {
            self.now = now
        } else {
            let start = ContinuousClock.now
            self.now = { start.duration(to: .now).seconds }
        }
    }

    /// The pool a path draws on.
    public static func pool(forPath path: String) -> Pool {
        path == "/v1/imports" || path.hasPrefix("/v1/imports/") ? .imports : .requests
    }

    /// Takes a token for `client` from `pool`; nil when no limit applies.
    func take(_ client: APIClient, pool: Pool) -> TokenBucket.Decision? {
        let configured = pool == .imports ? (client.importRateLimit ?? client.rateLimit) : client.rateLimit
        guard let limit = configured ?? defaultLimit else { return nil }
        let moment = now()
        return buckets.withLock { buckets in
            let key = Key(client: client.name, pool: pool)
            var bucket = buckets[key] ?? TokenBucket(limit: limit, now: moment)
            bucket.update(limit: limit, now: moment)
            let decision = bucket.take(now: moment)
            buckets[key] = bucket
            return decision
        }
    }
}
