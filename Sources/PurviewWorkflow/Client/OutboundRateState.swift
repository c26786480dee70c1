/// Settings of the outbound budget to Purview: one rate and one in-flight limit for every call the
/// gateway makes, cut while Purview answers 429 and regained afterwards (docs/OUTBOUND-BUDGET.md).
public struct OutboundBudgetConfiguration: Sendable, Hashable {
    /// Calls per second when Purview is not throttling.
    public var requestsPerSecond: Double = 50
    /// Calls in flight at once (per process).
    public var maxInFlight = 32
    /// A 429 multiplies the rate by this.
    public var decreaseFactor = 0.5
    /// The rate never falls below this.
    public var minimumRequestsPerSecond = 1.0
    /// Calls per second regained each second without a 429 (nil: a tenth of `requestsPerSecond`).
    public var recoveryPerSecond: Double?
    /// 429s within this long after a cut are answers to calls sent before it: they do not cut again.
    public var decreaseCooldown = 1.0
    /// Seconds of calls that may go out back to back after a quiet spell (the bucket's depth).
    public var burstSeconds = 0.1

    public init() {}

    public init(requestsPerSecond: Double, maxInFlight: Int) {
        self.requestsPerSecond = requestsPerSecond
        self.maxInFlight = maxInFlight
    }

    var recovery: Double { recoveryPerSecond ?? requestsPerSecond / 10 }
}

/// The rate half of the outbound budget as a value: a token bucket whose rate is cut on 429
/// (multiplicative decrease, at most once per cooldown) and grows back linearly (additive increase).
///
/// Time is seconds on any clock the caller injects (monotonic in one process, Unix time when the state
/// is shared through the database); it only needs to be the same clock for every event.
public struct OutboundRateState: Sendable, Hashable {
    public var tokens: Double
    /// When `tokens` was last brought up to date.
    public var updatedAt: Double
    /// The rate right after the last cut; nil when never cut.
    public var rateAtCut: Double?
    public var cutAt: Double?

    public init(tokens: Double = 1, updatedAt: Double, rateAtCut: Double? = nil, cutAt: Double? = nil) {
        self.tokens = tokens
        self.updatedAt = updatedAt
        self.rateAtCut = rateAtCut
        self.cutAt = cutAt
    }

    public enum Decision: Sendable, Hashable {
        case granted
        /// No token now; one is due after this many seconds.
        case retry(afterSeconds: Double)
    }

    /// Calls per second allowed at `now`.
    public func rate(at now: Double, _ configuration: OutboundBudgetConfiguration) -> Double {
        guard let rateAtCut, let cutAt else { return configuration.requestsPerSecond }
        let regained = rateAtCut + configuration.recovery * max(0, now - cutAt)
        return min(configuration.requestsPerSecond, max(configuration.minimumRequestsPerSecond, regained))
    }

    func depth(_ rate: Double, _ configuration: OutboundBudgetConfiguration) -> Double {
        max(1, rate * configuration.burstSeconds)
    }

    /// One call wants to go out at `now`.
    public mutating func take(now: Double, _ configuration: OutboundBudgetConfiguration) -> Decision {
        let (granted, retryAfter) = take(upTo: 1, now: now, configuration)
        return granted == 1 ? .granted : .retry(afterSeconds: retryAfter)
    }

    /// Takes as many whole tokens as there are, at most `count`; when none, also says when the next one is due.
    public mutating func take(upTo count: Int, now: Double, _ configuration: OutboundBudgetConfiguration)
        -> (granted: Int, retryAfterSeconds: Double)
    {
        let rate = rate(at: now, configuration)
        refill(now: now, rate: rate, configuration)
        let granted = max(0, min(count, Int(tokens.rounded(.down))))
        tokens -= Double(granted)
        return (granted, max((1 - tokens) / rate, 0.001))
    }

    /// Purview answered 429 at `now`: cut the rate, unless it was cut less than a cooldown ago.
    public mutating func throttled(now: Double, _ configuration: OutboundBudgetConfiguration) {
        let current = rate(at: now, configuration)
        refill(now: now, rate: current, configuration)
        if let cutAt, now - cutAt < configuration.decreaseCooldown { return }
        let cut = max(configuration.minimumRequestsPerSecond, current * configuration.decreaseFactor)
        rateAtCut = cut
        cutAt = now
        tokens = min(tokens, depth(cut, configuration))
    }

    private mutating func refill(now: Double, rate: Double, _ configuration: OutboundBudgetConfiguration) {
        // A clock that went backwards (another replica's, through the database) adds nothing.
        let elapsed = max(0, now - updatedAt)
        tokens = min(depth(rate, configuration), tokens + elapsed * rate)
        updatedAt = max(updatedAt, now)
    }
}
