import FoundationEssentials
public import GatewayCore
import HTTP
public import Networking
public import Observability
public import PurviewWorkflow
import Synchronization

/// What the last calls to a peer said, for `/healthz`: reachable means it answered (any status).
public final class UpstreamHealth: Sendable {
    private struct State {
        var lastAnswerAt: Date?
        var lastFailureAt: Date?
        var lastFailure: String?
    }

    private let state = Mutex(State())

    public init() {}

    func answered() { state.withLock { $0.lastAnswerAt = Date() } }

    func failed(_ error: HTTPClientError) {
        state.withLock {
            $0.lastFailureAt = Date()
            $0.lastFailure = error.description
        }
    }

    /// `{"reachable": true|false|null, "lastAnswerAt", "lastFailureAt", "lastFailure"}`; null before any call.
    public var json: JSONObject {
        state.withLock { state in
            var object = JSONObject()
            switch (state.lastAnswerAt, state.lastFailureAt) {
            case (nil, nil): object["reachable"] = .null
            case (_?, nil): object["reachable"] = true
            case (nil, _?): object["reachable"] = false
            case (let answer?, let failure?): object["reachable"] = .bool(answer >= failure)
            }
            object["lastAnswerAt"] = state.lastAnswerAt.map { .string(PurviewTimestamp($0).formatted(fractionDigits: 3)) } ?? .null
            object["lastFailureAt"] = state.lastFailureAt.map { .string(PurviewTimestamp($0).formatted(fractionDigits: 3)) } ?? .null
            object["lastFailure"] = state.lastFailure.map(JSONValue.string) ?? .null
            return object
        }
    }
}

/// Wraps the transport to Purview: every call's latency, and its outcome by status or failure kind.
public struct InstrumentedTransport: HTTPClientTransport {
    let inner: any HTTPClientTransport
    let metrics: MetricsRegistry
    /// Names the peer in the metric labels: `purview` or `token`.
    let peer: String
    let health: UpstreamHealth?

    public init(_ inner: any HTTPClientTransport, metrics: MetricsRegistry, peer: String, health: UpstreamHealth? = nil) {
        self.inner = inner
        self.metrics = metrics
        self.peer = peer
        self.health = health
    }

    public func execute(_ request: HTTPClientRequest) async throws(HTTPClientError) -> HTTPClientResponse {
        let started = ContinuousClock.now
        let outcome: String
        defer {
            metrics.histogram("gateway_upstream_request_duration_seconds", help: "Calls to Purview and the token endpoint", labels: ["peer": peer])
                .observe(started.duration(to: .now))
            metrics.counter("gateway_upstream_requests_total", help: "Calls to Purview and the token endpoint by outcome", labels: ["peer": peer, "outcome": outcome])
                .increment()
        }
        do throws(HTTPClientError) {
            let response = try await inner.execute(request)
            outcome = String(response.status.code)
            health?.answered()
            return response
        } catch {
            outcome = error.shortDescription
            health?.failed(error)
            throw error
        }
    }
}

/// Samples slow-moving figures into gauges: forward queue depth, statuses, poller lag, forwarder activity.
public struct MetricsSampler: Sendable {
    let service: GatewayService
    let metrics: MetricsRegistry
    let extra: @Sendable () -> Void

    public init(service: GatewayService, metrics: MetricsRegistry, extra: @escaping @Sendable () -> Void = {}) {
        self.service = service
        self.metrics = metrics
        self.extra = extra
    }

    public func sample() async {
        if let counts = try? await service.store.countByStatus() {
            for status in RequestStatus.allCases {
                metrics.gauge("gateway_requests", help: "Stored requests by status", labels: ["status": status.rawValue])
                    .set(counts[status] ?? 0)
            }
            metrics.gauge("gateway_forward_queue_depth", help: "Requests waiting to be sent to Purview (queued or submitting)")
                .set((counts[.queued] ?? 0) + (counts[.submitting] ?? 0))
            metrics.gauge("gateway_unknown_requests", help: "Requests whose send outcome is unknown (need an operator)")
                .set(counts[.unknown] ?? 0)
        }
        metrics.gauge("gateway_poller_lag_seconds", help: "How overdue the oldest due refresh was at the last poll").set(service.poller.lag.seconds)
        metrics.gauge("gateway_forwarder_in_flight", help: "Sends to Purview in flight").set(service.forwarder.sendsInFlight)
        metrics.gauge("gateway_poller_refreshes", help: "Run refreshes since start").set(service.poller.refreshCount)
        extra()
    }

    public func run(every interval: Duration = .seconds(5)) async {
        while !Task.isCancelled {
            await sample()
            try? await Task.sleep(for: interval)
        }
    }
}
