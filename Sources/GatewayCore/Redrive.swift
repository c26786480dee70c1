public import FoundationEssentials

extension RequestEvent {
    /// The audit line a forwarder transition deserves, if any.
    var auditName: String? {
        switch self {
        case .accepted: "sent"
        case .refused: "refused"
        case .outcomeUnknown: "unknown"
        case .gaveUp: "failed"
        default: nil
        }
    }
}

extension GatewayRequest {
    /// Since when forwarding has been trying: acceptance, or the last re-drive (so a re-driven old request
    /// gets a fresh give-up period rather than failing at once).
    public var forwardingSince: Date {
        timeline.last(where: { $0.note?.hasPrefix(GatewayService.redriveNote) == true })?.at ?? createdAt
    }

    /// The first send since ``forwardingSince``; nil while it has not been tried (an imported row waiting for
    /// its pace). The give-up period counts from here: only failed tries are evidence Purview is unreachable.
    public var firstSendSinceForwarding: Date? {
        let since = forwardingSince
        return timeline.first(where: { $0.status == .submitting && $0.at >= since })?.at
    }
}

extension GatewayService {
    static let redriveNote = "re-driven"

    public enum RedriveError: Error, Sendable {
        /// Only failed, refused and unknown requests may be re-driven.
        case conflict(LifecycleConflict)
        case store(String)
    }

    /// Queues a `failed`, `refused` or `unknown` request to be sent to Purview again, after an operator
    /// checked Purview; the timeline records `actor` (and `comment`), and an audit line is written.
    public func redrive(_ original: GatewayRequest, actor: String, comment: String?) async throws(RedriveError)
        -> GatewayRequest
    {
        var request = original
        for _ in 0..<5 {
            var next = request
            do {
                try next.apply(.redriven, now: Self.milliseconds(now()), actor: actor)
            } catch {
                throw .conflict(error)
            }
            if let comment, !comment.isEmpty, let last = next.timeline.indices.last {
                next.timeline[last].note = "\(next.timeline[last].note ?? Self.redriveNote): \(comment)"
            }
            do {
                let stored = try await store.update(next)
                AuditLog(logger: logger).record("redriven", stored, actor: actor)
                forwarder.wake()
                return stored
            } catch is StoreConflict {
                guard let fresh = try? await store.get(id: request.id) else { throw .store("the request vanished") }
                request = fresh
            } catch {
                throw .store("\(error)")
            }
        }
        throw .store("the request kept changing; try again")
    }
}
