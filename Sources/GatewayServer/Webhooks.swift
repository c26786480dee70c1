import Crypto
public import FoundationEssentials
public import GatewayCore
import HTTP
public import Networking
public import Observability
import PurviewWorkflow

/// A client's webhook settings from the keys file:
/// `"callbacks":{"allowedHosts":["hooks.contoso.com"],"secret":"...","allowHttp":false,"defaultUrl":"https://..."}`.
///
/// Only hosts on the allowlist (exact, case-insensitive names or IP literals, any port) are ever called, so the
/// gateway cannot be used to reach arbitrary hosts of the internal network.
public struct CallbackSettings: Sendable, Hashable, CustomStringConvertible {
    public var allowedHosts: Set<String>
    /// The HMAC-SHA256 key of `X-Gateway-Signature`; never logged.
    public var secret: String
    public var allowHttp: Bool
    /// Used for requests that give no `callbackUrl`.
    public var defaultUrl: String?

    public init(allowedHosts: Set<String>, secret: String, allowHttp: Bool = false, defaultUrl: String? = nil) {
        self.allowedHosts = Set(allowedHosts.map { $0.lowercased() })
        self.secret = secret
        self.allowHttp = allowHttp
        self.defaultUrl = defaultUrl
    }

    public var description: String {
        "CallbackSettings(allowedHosts: \(allowedHosts.sorted()), allowHttp: \(allowHttp), defaultUrl: \(defaultUrl ?? "none"))"
    }

    /// The shortest secret accepted (bytes).
    public static let minimumSecretLength = 16

    /// Whether this client may have events sent to `url`; the problem says why not.
    public func check(_ url: String) -> Result<CallbackURL, CallbackURLProblem> {
        let parsed: CallbackURL
        switch CallbackURL.parse(url) {
        case .success(let value): parsed = value
        case .failure(let problem): return .failure(problem)
        }
        guard allowedHosts.contains(parsed.host) else {
            return .failure(
                CallbackURLProblem(
                    "names the host \(parsed.host), which is not in this client's callbacks.allowedHosts"))
        }
        guard parsed.isHTTPS || allowHttp else {
            return .failure(CallbackURLProblem("must use https (this client's callbacks.allowHttp is false)"))
        }
        return .success(parsed)
    }

    struct ParseError: Error {
        var message: String
    }

    static func parse(_ value: JSONValue) throws(ParseError) -> CallbackSettings {
        guard case .object(let object) = value else { throw ParseError(message: "must be an object") }
        for key in object.keys where !["allowedHosts", "secret", "allowHttp", "defaultUrl"].contains(key) {
            throw ParseError(message: "unknown member \"\(key)\"")
        }
        guard let hosts = object["allowedHosts"]?.arrayValue, !hosts.isEmpty else {
            throw ParseError(message: "\"allowedHosts\" must be a non-empty list of host names")
        }
        var allowed: Set<String> = []
        for host in hosts {
            guard let name = host.stringValue, !name.isEmpty, !name.contains("/"), !name.contains("@") else {
                throw ParseError(message: "\"allowedHosts\" must hold host names such as hooks.contoso.com")
            }
            allowed.insert(name.lowercased())
        }
        guard let secret = object["secret"]?.stringValue, secret.utf8.count >= minimumSecretLength else {
            throw ParseError(message: "\"secret\" must be a string of at least \(minimumSecretLength) characters")
        }
        var allowHttp = false
        switch object["allowHttp"] {
        case nil, .null?: break
        case .bool(let value)?: allowHttp = value
        default: throw ParseError(message: "\"allowHttp\" must be true or false")
        }
        var settings = CallbackSettings(allowedHosts: allowed, secret: secret, allowHttp: allowHttp)
        switch object["defaultUrl"] {
        case nil, .null?: break
        case .string(let url)?:
            if case .failure(let problem) = settings.check(url) {
                throw ParseError(message: "\"defaultUrl\" \(problem.message)")
            }
            settings.defaultUrl = url
        default: throw ParseError(message: "\"defaultUrl\" must be a URL")
        }
        return settings
    }
}

/// What receivers get: the body and its signature.
public enum WebhookMessage {
    /// `{"id","type","createdAt","request"}`, `request` rendered as `GET /v1/requests/{id}` renders it.
    public static func body(_ event: WebhookEvent) -> [UInt8] {
        let object: JSONObject = [
            "id": .string(event.id),
            "type": .string(event.type),
            "createdAt": .string(PurviewTimestamp(event.createdAt).formatted(fractionDigits: 3)),
            "request": RequestResource.render(event.request),
        ]
        return JSONValue.object(object).serialized()
    }

    /// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
    public static func signature(body: [UInt8], secret: String, timestamp: Int64) -> String {
        let signed = Array("\(timestamp).".utf8) + body
        return "t=\(timestamp),v1=\(Hex.encode(HMAC.sha256(key: Array(secret.utf8), data: signed)))"
    }

    /// Checks a signature header as a receiver should (constant-time, and the timestamp within `tolerance`).
    public static func verify(
        header: String, body: [UInt8], secret: String, now: Date, tolerance: Duration = .seconds(300)
    ) -> Bool {
        var timestamp: Int64?
        var candidates: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = Int64(pair[1]) }
            if pair[0] == "v1" { candidates.append(pair[1]) }
        }
        guard let timestamp, abs(now.timeIntervalSince1970 - Double(timestamp)) <= tolerance.seconds else {
            return false
        }
        let expected = Hex.encode(HMAC.sha256(key: Array(secret.utf8), data: Array("\(timestamp).".utf8) + body))
        return candidates.contains { constantTimeEquals(Array($0.utf8), Array(expected.utf8)) }
    }
}

/// How the dispatcher delivers: its own budget, separate from Purview's.
public struct WebhookDispatcherConfiguration: Sendable {
    /// Deliveries in flight at once (and events claimed per round).
    public var concurrency = 8
    /// How often the outbox is looked at when there was nothing to do.
    public var pollInterval: Duration = .milliseconds(500)
    /// How long a claimed event is this replica's (longer than `requestTimeout`).
    public var lease: Duration = .seconds(60)
    /// One POST, from connecting to the end of the answer.
    public var requestTimeout: Duration = .seconds(10)
    public var schedule: [Duration] = WebhookDelivery.defaultSchedule

    public init() {}
}

/// Delivers the outbox: claims due events (one per request at a time, in order), POSTs them signed, and records
/// each attempt and what follows from it (`WebhookDelivery`).
public final class WebhookDispatcher: Sendable {
    let outbox: any WebhookOutbox
    let transport: any HTTPClientTransport
    let callbacks: @Sendable (String) -> CallbackSettings?
    let configuration: WebhookDispatcherConfiguration
    let logger: Logger
    let now: @Sendable () -> Date
    /// Where in its jitter window a retry lands (0..<1; `WebhookDelivery.jitterFraction`).
    let random: @Sendable () -> Double
    let owner: String
    let delivered: Counter
    let failedAttempts: Counter

    /// - Parameters:
    ///   - transport: an HTTP client of the dispatcher's own (it must not follow redirects; ours never does).
    ///   - callbacks: the current settings of a client by name (the keys file may be reloaded).
    public init(
        outbox: any WebhookOutbox, transport: any HTTPClientTransport,
        callbacks: @escaping @Sendable (String) -> CallbackSettings?,
        configuration: WebhookDispatcherConfiguration = WebhookDispatcherConfiguration(), logger: Logger,
        metrics: MetricsRegistry = MetricsRegistry(),
        owner: String = "webhooks-" + UUID().uuidString.prefix(8).lowercased(),
        now: @escaping @Sendable () -> Date = { Date() },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.random = random
        self.outbox = outbox
        self.transport = transport
        self.callbacks = callbacks
        self.configuration = configuration
        self.logger = logger
        self.owner = owner
        self.now = now
        delivered = metrics.counter("gateway_webhook_deliveries_total", help: "Webhook events delivered (2xx)")
        failedAttempts = metrics.counter(
            "gateway_webhook_failed_attempts_total", help: "Webhook attempts without a 2xx answer")
    }

    /// Delivers until cancelled.
    public func run() async {
        while !Task.isCancelled {
            let handled = await deliverDueEvents()
            if handled == 0 { try? await Task.sleep(for: configuration.pollInterval) }
        }
    }

    /// One round: claims up to `concurrency` due events and delivers them concurrently. Returns how many.
    @discardableResult
    public func deliverDueEvents() async -> Int {
        let events: [WebhookEvent]
        do {
            events = try await outbox.claimWebhookEvents(
                now: now(), limit: configuration.concurrency, owner: owner, lease: configuration.lease)
        } catch {
            logger.warning("cannot claim webhook events", metadata: ["error": .string("\(error)")])
            return 0
        }
        await withDiscardingTaskGroup { group in
            for event in events { group.addTask { await self.deliver(event) } }
        }
        return events.count
    }

    func deliver(_ event: WebhookEvent) async {
        var delivery = WebhookDelivery(
            attempts: event.attempts, deadline: event.deadline, schedule: configuration.schedule)
        var attempt: WebhookAttempt?
        let decision: WebhookDeliveryDecision
        if event.urlGone {
            decision = .gone
        } else {
            switch prepare(event) {
            case .failure(let problem):
                decision = delivery.attemptFinished(.notSendable(problem.message), now: now())
            case .success(let request):
                let started = ContinuousClock.now
                let startedAt = now()
                let outcome: WebhookAttemptOutcome
                do {
                    let response = try await transport.execute(request)
                    outcome = .response(status: response.status.code)
                } catch {
                    outcome = .transportFailure(error.description)
                }
                let elapsed = started.duration(to: .now)
                switch outcome {
                case .response(let status):
                    attempt = WebhookAttempt(
                        at: startedAt, statusCode: status, error: nil, durationMilliseconds: Int(elapsed.seconds * 1000)
                    )
                case .transportFailure(let message), .notSendable(let message):
                    attempt = WebhookAttempt(
                        at: startedAt, statusCode: nil, error: message,
                        durationMilliseconds: Int(elapsed.seconds * 1000))
                }
                decision = delivery.attemptFinished(outcome, now: now(), random: random())
            }
        }
        if case .delivered = decision { delivered.increment() } else if attempt != nil { failedAttempts.increment() }
        var metadata: [String: LogValue] = [
            "event.id": .string(event.id), "request.id": .string(event.requestId), "type": .string(event.type),
            "decision": .string("\(decision)"),
        ]
        if let status = attempt?.statusCode { metadata["status"] = .int(status) }
        logger.debug("webhook attempt", metadata: metadata)
        do {
            try await outbox.recordWebhookAttempt(attempt, eventId: event.id, decision: decision, owner: owner)
        } catch {
            // The lease runs out and the event is tried again: at least once, never lost.
            logger.warning(
                "cannot record a webhook attempt",
                metadata: ["event.id": .string(event.id), "error": .string("\(error)")])
        }
    }

    /// The signed POST for `event`, or why it cannot be sent under the client's current settings.
    func prepare(_ event: WebhookEvent) -> Result<HTTPClientRequest, CallbackURLProblem> {
        guard let settings = callbacks(event.clientName) else {
            return .failure(CallbackURLProblem("the client \(event.clientName) has no callbacks configured any more"))
        }
        if case .failure(let problem) = settings.check(event.url) {
            return .failure(CallbackURLProblem("callbackUrl \(problem.message)"))
        }
        guard let url = HTTPURL(event.url) else { return .failure(CallbackURLProblem("callbackUrl is not a URL")) }
        let body = WebhookMessage.body(event)
        let timestamp = Int64(now().timeIntervalSince1970.rounded(.down))
        let headers: HTTPFields = [
            "Content-Type": "application/json",
            "X-Gateway-Event-Id": event.id,
            "X-Gateway-Event-Type": event.type,
            "X-Gateway-Signature": WebhookMessage.signature(body: body, secret: settings.secret, timestamp: timestamp),
        ]
        return .success(
            HTTPClientRequest(
                method: .post, url: url, headers: headers, body: body, timeout: configuration.requestTimeout))
    }
}

/// `GET /v1/requests/{id}/events` items.
enum WebhookEventResource {
    static func render(_ event: WebhookEvent) -> JSONValue {
        func time(_ date: Date?) -> JSONValue {
            date.map { .string(PurviewTimestamp($0).formatted(fractionDigits: 3)) } ?? .null
        }
        return [
            "id": .string(event.id),
            "type": .string(event.type),
            "sequence": .number(Double(event.sequence)),
            "createdAt": time(event.createdAt),
            "url": .string(event.url),
            "state": .string(event.state.rawValue),
            "nextAttemptAt": time(event.nextAttemptAt),
            "deadline": time(event.deadline),
            "deliveredAt": time(event.deliveredAt),
            "lastError": event.lastError.map(JSONValue.string) ?? .null,
            "attempts": .array(
                event.attemptLog.map { attempt in
                    [
                        "number": .number(Double(attempt.number)),
                        "at": time(attempt.at),
                        "statusCode": attempt.statusCode.map { .number(Double($0)) } ?? .null,
                        "error": attempt.error.map(JSONValue.string) ?? .null,
                        "durationMs": .number(Double(attempt.durationMilliseconds)),
                    ]
                }),
        ]
    }
}
