public import Observability

/// One JSON log line per decision about a request: accepted, sent, refused, unknown, failed, re-driven,
/// cancelled. Lines carry `"kind":"audit"` (access lines carry `"kind":"access"`), so a log pipeline can route
/// them apart; the request's own kind is `request.kind`.
public struct AuditLog: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// Records `event` for `request` as it is now; `actor` is who caused it (a client name, `forwarder`).
    public func record(_ event: String, _ request: GatewayRequest, actor: String) {
        // Built for every transition of every request: skip the metadata when nobody will read it.
        guard logger.isEnabled(.notice) else { return }
        var metadata: [String: LogValue] = [
            "kind": "audit", "event": .string(event), "request.id": .string(request.id),
            "client": .string(request.clientName), "requestedBy": .string(request.requestedBy),
            "request.kind": .string(request.kind.rawValue), "status": .string(request.status.rawValue),
            "outcome": request.outcome.map { .string($0.rawValue) } ?? .null,
            "purviewRequestId": request.purviewRequestId.map(LogValue.string) ?? .null,
            "workflowRunIds": .array(request.workflowRunIds.map(LogValue.string)), "actor": .string(actor),
        ]
        if let error = request.error { metadata["error.code"] = .string(error.code) }
        if let traceId = request.traceId { metadata["trace.id"] = .string(traceId) }
        logger.notice("audit \(event)", metadata: metadata)
    }
}
