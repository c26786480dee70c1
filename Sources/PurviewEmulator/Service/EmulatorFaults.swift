public import PurviewWorkflow

/// A fault to inject: calls matching `match` are delayed, answered with an error status, or have
/// their connection dropped, for `count` calls and/or `seconds` after it was added (forever when
/// neither is set).
///
/// JSON form: `{"match":"POST /userrequests","status":503,"retryAfter":2,"count":5,"seconds":null,
/// "latencyMs":0,"drop":false,"processFirst":false}`.
public struct EmulatorFault: Sendable, Hashable {
    /// `METHOD /path`, the path relative to `/workflow`: a template (`GET /workflowruns/{id}`) or a
    /// concrete path; `POST /token` is the token endpoint. `*` matches any method.
    public var match: String
    /// The error status to answer with (nil: no error).
    public var status: Int?
    /// Seconds sent as `Retry-After` with `status`.
    public var retryAfter: Int?
    /// How many matching calls the fault affects (nil: unlimited).
    public var count: Int?
    /// How long after being added the fault is active (nil: unlimited).
    public var seconds: Double?
    /// Delay before the call goes on (or before the fault answers).
    public var latencyMs: Int
    /// Close the connection instead of answering.
    public var drop: Bool
    /// Carry the call out first, then answer with the fault: a processed request whose answer is lost.
    public var processFirst: Bool

    public init(
        match: String, status: Int? = nil, retryAfter: Int? = nil, count: Int? = nil, seconds: Double? = nil,
        latencyMs: Int = 0, drop: Bool = false, processFirst: Bool = false
    ) {
        self.match = match
        self.status = status
        self.retryAfter = retryAfter
        self.count = count
        self.seconds = seconds
        self.latencyMs = latencyMs
        self.drop = drop
        self.processFirst = processFirst
    }

    /// Reads a fault; errors name `key` and the field.
    public static func parse(_ json: JSONValue, key: String) throws(EmulatorConfigError) -> EmulatorFault {
        guard let object = json.objectValue else { throw EmulatorConfigError(key: key, message: "must be an object") }
        let reader = ConfigReader(object: object, path: key)
        let match = try reader.nonEmptyString("match")
        guard FaultPattern(match) != nil else {
            throw reader.error("match", "must be 'METHOD /path', e.g. 'POST /userrequests'")
        }
        var fault = EmulatorFault(match: match)
        if let status = try reader.optionalInt("status") {
            guard (400...599).contains(status) else { throw reader.error("status", "must be between 400 and 599") }
            fault.status = status
        }
        if let retryAfter = try reader.optionalInt("retryAfter") {
            guard (0...86_400).contains(retryAfter) else {
                throw reader.error("retryAfter", "must be between 0 and 86400 seconds")
            }
            fault.retryAfter = retryAfter
        }
        if let count = try reader.optionalInt("count") {
            guard count >= 1 else { throw reader.error("count", "must be at least 1") }
            fault.count = count
        }
        if let seconds = try reader.optionalNumber("seconds") {
            guard seconds > 0 else { throw reader.error("seconds", "must be greater than 0") }
            fault.seconds = seconds
        }
        if let latency = try reader.optionalInt("latencyMs") {
            guard (0...600_000).contains(latency) else {
                throw reader.error("latencyMs", "must be between 0 and 600000")
            }
            fault.latencyMs = latency
        }
        fault.drop = try reader.optionalBool("drop") ?? false
        fault.processFirst = try reader.optionalBool("processFirst") ?? false
        guard fault.status != nil || fault.drop || fault.latencyMs > 0 else {
            throw EmulatorConfigError(key: key, message: "needs a status, drop or latencyMs")
        }
        return fault
    }

    public var json: JSONValue {
        var object: JSONObject = ["match": .string(match)]
        object["status"] = status.map { .number(Double($0)) } ?? .null
        object["retryAfter"] = retryAfter.map { .number(Double($0)) } ?? .null
        object["count"] = count.map { .number(Double($0)) } ?? .null
        object["seconds"] = seconds.map { .number($0) } ?? .null
        object["latencyMs"] = .number(Double(latencyMs))
        object["drop"] = .bool(drop)
        object["processFirst"] = .bool(processFirst)
        return .object(object)
    }
}

/// `METHOD /a/{x}/b` split for matching against a call's template and concrete path.
struct FaultPattern: Sendable, Hashable {
    var method: String
    var segments: [String]

    init?(_ text: String) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, parts[1].hasPrefix("/") else { return nil }
        method = parts[0].uppercased()
        guard method == "*" || method.allSatisfy({ $0.isLetter }) else { return nil }
        var path = String(parts[1])
        if let question = path.firstIndex(of: "?") { path = String(path[..<question]) }
        if path.lowercased() == "/workflow" || path.lowercased().hasPrefix("/workflow/") {
            path = String(path.dropFirst("/workflow".count))
        }
        segments = FaultPattern.split(path)
    }

    static func split(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map { String($0) }
    }

    /// True when the method matches and every segment is a `{parameter}`, the template's segment, or
    /// the concrete path's segment (ignoring case).
    func matches(method: String, template: [String], path: [String]) -> Bool {
        guard self.method == "*" || self.method == method.uppercased() else { return false }
        guard segments.count == template.count, segments.count == path.count else { return false }
        for (index, segment) in segments.enumerated() {
            if segment.hasPrefix("{") && segment.hasSuffix("}") { continue }
            if segment == template[index] { continue }
            if segment.lowercased() == path[index].lowercased() { continue }
            return false
        }
        return true
    }
}

/// The faults in force: each with what is left of its count and the end of its window.
struct FaultTable: Sendable {
    struct Entry: Sendable {
        var fault: EmulatorFault
        var pattern: FaultPattern
        var remaining: Int?
        var expires: ContinuousClock.Instant?
    }

    private(set) var entries: [Entry] = []

    mutating func add(_ fault: EmulatorFault, now: ContinuousClock.Instant) {
        guard let pattern = FaultPattern(fault.match) else { return }
        entries.append(
            Entry(
                fault: fault, pattern: pattern, remaining: fault.count,
                expires: fault.seconds.map { now.advanced(by: .milliseconds(Int64(($0 * 1000).rounded()))) }))
    }

    mutating func removeAll() { entries.removeAll() }

    /// The first fault in force for this call, using up one of its count.
    mutating func take(method: String, template: String, path: String, now: ContinuousClock.Instant)
        -> EmulatorFault?
    {
        entries.removeAll { entry in
            (entry.remaining.map { $0 <= 0 } ?? false) || (entry.expires.map { now >= $0 } ?? false)
        }
        let templateSegments = FaultPattern.split(template)
        let pathSegments = FaultPattern.split(path)
        guard
            let index = entries.firstIndex(where: {
                $0.pattern.matches(method: method, template: templateSegments, path: pathSegments)
            })
        else { return nil }
        if let remaining = entries[index].remaining { entries[index].remaining = remaining - 1 }
        return entries[index].fault
    }

    /// The faults in force with what is left of them.
    func json(now: ContinuousClock.Instant) -> JSONValue {
        .array(
            entries.compactMap { entry in
                if let remaining = entry.remaining, remaining <= 0 { return nil }
                if let expires = entry.expires, now >= expires { return nil }
                var object = entry.fault.json.objectValue ?? JSONObject()
                object["remainingCount"] = entry.remaining.map { .number(Double($0)) } ?? .null
                if let expires = entry.expires {
                    let left = now.duration(to: expires)
                    object["remainingSeconds"] = .number(
                        Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18)
                } else {
                    object["remainingSeconds"] = .null
                }
                return .object(object)
            })
    }
}
