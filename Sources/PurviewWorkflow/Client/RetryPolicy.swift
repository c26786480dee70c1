/// When a failed call to Purview is tried again: exponential backoff with full jitter, the server's
/// `Retry-After` honoured, and a hard line for calls that are not idempotent.
public struct RetryPolicy: Sendable, Hashable {
    /// Retries after the first attempt.
    public var maxRetries = 4
    /// Time allowed for all attempts and waits together.
    public var totalBudget: Duration = .seconds(30)
    public var baseDelay: Duration = .milliseconds(500)
    public var maxDelay: Duration = .seconds(8)

    public init() {}

    public init(maxRetries: Int, totalBudget: Duration) {
        self.maxRetries = maxRetries
        self.totalBudget = totalBudget
    }

    public static let none = RetryPolicy(maxRetries: 0, totalBudget: .zero)

    /// What happened to one attempt.
    public enum Outcome: Sendable, Hashable {
        /// The connection could not be made: the request certainly never reached the server.
        case connectFailed
        /// The request may have reached the server (timeout or reset after sending began).
        case transportFailedAfterSending
        /// The server answered with this status and, possibly, a delay it asked for.
        case status(Int, retryAfter: Duration?)
    }

    public enum Decision: Sendable, Hashable {
        case retry(after: Duration)
        /// Stop and report the failure as it is.
        case giveUp
        /// Stop: a non-idempotent call may or may not have been processed; the caller must reconcile.
        case ambiguous
    }

    /// Decides after attempt number `attempt` (1 = the first) that ended in `outcome`.
    ///
    /// - Parameters:
    ///   - idempotent: false for `POST /userrequests`, which is retried only when it was certainly
    ///     not processed (connect failure, 429, 503).
    ///   - elapsed: time spent since the first attempt started.
    ///   - random: a source of uniform values in 0..<1 (injected so tests are deterministic).
    public func decide(
        attempt: Int, outcome: Outcome, idempotent: Bool, elapsed: Duration, random: () -> Double
    ) -> Decision {
        let retryable: Bool
        var serverDelay: Duration?
        switch outcome {
        case .connectFailed:
            retryable = true
        case .transportFailedAfterSending:
            if !idempotent { return .ambiguous }
            retryable = true
        case .status(let code, let retryAfter):
            serverDelay = retryAfter
            let certainlyNotProcessed = code == 429 || code == 503
            if idempotent {
                retryable = certainlyNotProcessed || [408, 500, 502, 504].contains(code)
            } else {
                if certainlyNotProcessed {
                    retryable = true
                } else if code >= 500 || code == 408 {
                    return .ambiguous
                } else {
                    retryable = false
                }
            }
        }
        guard retryable else { return .giveUp }
        guard attempt <= maxRetries else { return .giveUp }
        let delay = serverDelay ?? jittered(attempt: attempt, random: random)
        guard elapsed + delay < totalBudget else { return .giveUp }
        return .retry(after: delay)
    }

    /// Full jitter: uniform in [0, min(maxDelay, base · 2^(attempt−1))].
    func jittered(attempt: Int, random: () -> Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 20)
        let ceiling = min(maxDelay, baseDelay * (1 << exponent))
        return ceiling * random()
    }
}

/// Parses the delay a server asks for: `retry-after-ms` / `x-ms-retry-after-ms` (milliseconds) win,
/// then `Retry-After` as delta-seconds or an HTTP date (relative to `now`, Unix seconds).
public enum RetryAfter {
    public static func delay(
        retryAfter: String?, retryAfterMilliseconds: String?, msRetryAfterMilliseconds: String?,
        nowUnixSeconds: Double
    ) -> Duration? {
        for text in [retryAfterMilliseconds, msRetryAfterMilliseconds] {
            if let text, let milliseconds = Double(text.trimmingWhitespace()), milliseconds >= 0,
                milliseconds.isFinite
            {
                return .milliseconds(Int64(min(milliseconds, 86_400_000)))
            }
        }
        guard let text = retryAfter?.trimmingWhitespace(), !text.isEmpty else { return nil }
        if let seconds = Int(text), seconds >= 0 { return .seconds(min(seconds, 86_400)) }
        if let date = HTTPDate.parse(text) {
            return .seconds(max(0, min(date - nowUnixSeconds, 86_400)))
        }
        return nil
    }
}

/// IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`, to and from Unix seconds.
public enum HTTPDate {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    private static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]

    public static func parse(_ text: String) -> Double? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]),
            let month = months.firstIndex(of: String(parts[2])), let year = Int(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]),
            (1...31).contains(day), (0..<24).contains(hour), (0..<60).contains(minute), (0...60).contains(second)
        else { return nil }
        let days = daysFromCivil(year: year, month: month + 1, day: day)
        return Double(days * 86_400 + hour * 3_600 + minute * 60 + second)
    }

    public static func format(unixSeconds: Int) -> String {
        let days = unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds - 86_399) / 86_400
        let secondsOfDay = unixSeconds - days * 86_400
        let (year, month, day) = civilFromDays(days)
        let weekday = weekdays[((days % 7) + 7) % 7]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekday), \(two(day)) \(months[month - 1]) \(year) \(two(secondsOfDay / 3600)):"
            + "\(two(secondsOfDay / 60 % 60)):\(two(secondsOfDay % 60)) GMT"
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension String {
    /// The string without leading and trailing whitespace and newlines.
    public func trimmingWhitespace() -> String {
        // Most strings start and end with a visible ASCII character, which never begins or ends a whitespace
        // character: nothing to trim, and no Unicode lookups needed to know it.
        if let first = utf8.first, let last = utf8.last, first > 0x20, first < 0x7F, last > 0x20, last < 0x7F {
            return self
        }
        var slice = self[...]
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}
