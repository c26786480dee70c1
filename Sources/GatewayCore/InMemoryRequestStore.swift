public import FoundationEssentials
import Synchronization

/// A `RequestStore` in memory: for router-level tests and as the reference the durable stores are
/// checked against. Nothing survives the process.
public final class InMemoryRequestStore: RequestStore {
    struct Lease {
        var owner: String
        var until: Date
    }

    struct State {
        var requests: [String: GatewayRequest] = [:]
        var leases: [String: Lease] = [:]
        var outbox = InMemoryOutbox()
        /// Requests whose Idempotency-Key retention has forgotten (it had expired already).
        var forgottenKeys: Set<String> = []
    }

    let state = Mutex(State())
    let changeObservers = RequestChangeObservers()
    /// Batch imports (InMemoryRequestStore+Imports.swift).
    let importState = Mutex(InMemoryImportState())

    public init() {}

    public func insert(_ request: GatewayRequest, idempotencyWindow: Duration, now: Date) async throws -> InsertOutcome {
        state.withLock { state in
            if let key = request.idempotencyKey {
                let cutoff = now.addingTimeInterval(-idempotencyWindow.seconds)
                if let existing = state.requests.values.first(where: {
                    $0.clientName == request.clientName && $0.idempotencyKey == key && $0.createdAt > cutoff
                        && !state.forgottenKeys.contains($0.id)
                }) {
                    return .existing(existing)
                }
            }
            var stored = request
            stored.version = 1
            state.requests[request.id] = stored
            state.outbox.add(OutboxEvent.new(for: stored), snapshot: stored)
            return .inserted(stored)
        }
    }

    public func get(id: String) async throws -> GatewayRequest? { state.withLock { $0.requests[id] } }

    public func update(_ request: GatewayRequest, releasingLeaseOf owner: String?) async throws -> GatewayRequest {
        let stored = try state.withLock { state in
            guard let current = state.requests[request.id], current.version == request.version else {
                throw StoreConflict(id: request.id)
            }
            var stored = request
            stored.version += 1
            state.requests[request.id] = stored
            state.outbox.add(OutboxEvent.new(for: stored), snapshot: stored)
            if let owner, state.leases[request.id]?.owner == owner { state.leases[request.id] = nil }
            return stored
        }
        changeObservers.report(CollectionOfOne(request.id))
        return stored
    }

    public func observeChanges(_ observer: @escaping @Sendable (String) -> Void) -> Bool {
        changeObservers.add(observer)
        return true
    }

    public func list(_ filter: RequestFilter, limit: Int, after cursor: RequestCursor?) async throws -> [GatewayRequest] {
        state.withLock { state in
            let matching = state.requests.values.filter { request in
                if let client = filter.clientName, request.clientName != client { return false }
                if !filter.statuses.isEmpty && !filter.statuses.contains(request.status) { return false }
                if !filter.kinds.isEmpty && !filter.kinds.contains(request.kind) { return false }
                if let person = filter.requestedBy, request.requestedBy != person { return false }
                if let after = filter.createdAfter, request.createdAt <= after { return false }
                if let before = filter.createdBefore, request.createdAt >= before { return false }
                if let cursor, !Self.isAfter(request, cursor) { return false }
                return true
            }
            return Array(matching.sorted(by: Self.newestFirst).prefix(limit))
        }
    }

    public func claimForwardable(now: Date, limit: Int, owner: String, lease: Duration) async throws -> [GatewayRequest] {
        claim(now: now, limit: limit, owner: owner, lease: lease) {
            $0.status == .queued && ($0.nextAttemptAt ?? .distantPast) <= now && $0.importId == nil
        }
    }

    public func claimStaleSubmitting(now: Date, limit: Int, owner: String, lease: Duration) async throws -> [GatewayRequest] {
        claim(now: now, limit: limit, owner: owner, lease: lease) { $0.status == .submitting }
    }

    public func claimPollable(now: Date, polledBefore: Date, limit: Int, owner: String, lease: Duration) async throws -> [GatewayRequest] {
        claim(now: now, limit: limit, owner: owner, lease: lease) {
            $0.status.isPolled && ($0.polledAt ?? .distantPast) < polledBefore
        }
    }

    public func release(id: String, owner: String) async throws {
        state.withLock { state in
            if state.leases[id]?.owner == owner { state.leases[id] = nil }
        }
    }

    public func countByStatus() async throws -> [RequestStatus: Int] {
        state.withLock { state in
            var counts: [RequestStatus: Int] = [:]
            for request in state.requests.values { counts[request.status, default: 0] += 1 }
            return counts
        }
    }

    public func ping() async throws {}

    func claim(now: Date, limit: Int, owner: String, lease: Duration, where predicate: (GatewayRequest) -> Bool) -> [GatewayRequest] {
        state.withLock { state in
            let candidates = state.requests.values.filter { request in
                guard predicate(request) else { return false }
                if let held = state.leases[request.id], held.until > now { return false }
                return true
            }.sorted { ($0.nextAttemptAt ?? $0.createdAt, $0.id) < ($1.nextAttemptAt ?? $1.createdAt, $1.id) }
            let taken = Array(candidates.prefix(limit))
            for request in taken { state.leases[request.id] = Lease(owner: owner, until: now.addingTimeInterval(lease.seconds)) }
            return taken
        }
    }

    static func newestFirst(_ a: GatewayRequest, _ b: GatewayRequest) -> Bool {
        (a.createdAt, a.id) > (b.createdAt, b.id)
    }

    static func isAfter(_ request: GatewayRequest, _ cursor: RequestCursor) -> Bool {
        (request.createdAt, request.id) < (cursor.createdAt, cursor.id)
    }
}

extension Duration {
    /// The duration in seconds as a floating-point number.
    public var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}

extension InMemoryRequestStore: RetentionStore {
    public func purgeTerminalRequests(updatedBefore cutoff: Date, limit: Int) async throws -> Int {
        let purged = state.withLock { state in
            let old = state.requests.values.filter { $0.status.isTerminal && $0.updatedAt < cutoff }
                .sorted { ($0.updatedAt, $0.id) < ($1.updatedAt, $1.id) }.prefix(limit)
            for request in old {
                state.requests[request.id] = nil
                state.leases[request.id] = nil
                state.forgottenKeys.remove(request.id)
                state.outbox.events = state.outbox.events.filter { $0.value.requestId != request.id }
            }
            return old.map(\.id)
        }
        changeObservers.report(purged)
        return purged.count
    }

    public func purgeIdempotencyKeys(createdBefore cutoff: Date, limit: Int) async throws -> Int {
        state.withLock { state in
            let old = state.requests.values.filter {
                $0.idempotencyKey != nil && $0.createdAt < cutoff && !state.forgottenKeys.contains($0.id)
            }.prefix(limit)
            for request in old { state.forgottenKeys.insert(request.id) }
            return old.count
        }
    }

    public func purgeImports(updatedBefore cutoff: Date, limit: Int) async throws -> Int {
        importState.withLock { state in
            let old = state.imports.values.filter { $0.status == .done && $0.updatedAt < cutoff }
                .sorted { ($0.updatedAt, $0.id) < ($1.updatedAt, $1.id) }.prefix(limit)
            for record in old {
                state.imports[record.id] = nil
                state.rejections[record.id] = nil
            }
            return old.count
        }
    }
}
