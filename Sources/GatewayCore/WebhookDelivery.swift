public import FoundationEssentials

/// What happened when an event was POSTed to its receiver.
public enum WebhookAttemptOutcome: Sendable, Hashable {
    /// The receiver answered with this status (redirects are not followed: a 3xx is an answer).
    case response(status: Int)
    /// No answer: connect failure, TLS failure, timeout, connection closed.
    case transportFailure(String)
    /// The event cannot be sent as things are configured (host no longer allowed, no secret): not retried.
    case notSendable(String)
}

/// What the dispatcher does with an event after an attempt.
public enum WebhookDeliveryDecision: Sendable, Hashable {
    case delivered(at: Date)
    case retry(at: Date, reason: String)
    case failed(reason: String)
    /// 410 Gone: stop this event and every later one to the same URL.
    case gone
}

/// The retry state of one event: fed attempt outcomes, it returns the decision (no I/O; time is passed in).
///
/// 2xx delivers; 410 stops the URL; anything else (other statuses, redirects, no answer) is retried on the
/// schedule, the last delay repeating, until the deadline (24 h after the event); the last attempt is made at
/// the deadline and a failure then is final.
public struct WebhookDelivery: Sendable, Hashable {
    /// How long an event is retried.
    public static let maximumAge: Duration = .seconds(24 * 3600)
    /// The delay before attempt n+1 after n failed ones; the last repeats.
    public static let defaultSchedule: [Duration] = [
        .seconds(5), .seconds(30), .seconds(120), .seconds(600), .seconds(1800), .seconds(3600), .seconds(7200),
        .seconds(14400),
    ]

    public private(set) var attempts: Int
    public let deadline: Date
    public let schedule: [Duration]

    public init(attempts: Int, deadline: Date, schedule: [Duration] = WebhookDelivery.defaultSchedule) {
        precondition(!schedule.isEmpty, "WebhookDelivery: the schedule needs at least one delay")
        self.attempts = attempts
        self.deadline = deadline
        self.schedule = schedule
    }

    /// The delay after `failures` failed attempts.
    public func delay(afterFailures failures: Int) -> Duration {
        schedule[min(max(failures, 1), schedule.count) - 1]
    }

    /// How much of each delay is random: a retry comes between 80% and 100% of the scheduled delay, so the
    /// events that failed together when a receiver went down do not all come back in the same second.
    public static let jitterFraction = 0.2

    /// Records an attempt that ended at `now` with `outcome`. `random` (in 0..<1) picks where in the jitter
    /// window a retry lands; 0 keeps the scheduled delay.
    public mutating func attemptFinished(_ outcome: WebhookAttemptOutcome, now: Date, random: Double = 0)
        -> WebhookDeliveryDecision
    {
        attempts += 1
        let reason: String
        switch outcome {
        case .response(let status) where (200..<300).contains(status):
            return .delivered(at: now)
        case .response(410):
            return .gone
        case .response(let status) where (300..<400).contains(status):
            reason = "the receiver answered \(status) (redirects are not followed)"
        case .response(let status):
            reason = "the receiver answered \(status)"
        case .transportFailure(let message):
            reason = message
        case .notSendable(let message):
            return .failed(reason: message)
        }
        guard now < deadline else {
            return .failed(reason: "gave up after \(attempts) attempts over 24 h; last: \(reason)")
        }
        let jitter = 1 - Self.jitterFraction * min(max(random, 0), 1)
        let next = now.addingTimeInterval(delay(afterFailures: attempts).seconds * jitter)
        return .retry(at: min(next, deadline), reason: reason)
    }
}
