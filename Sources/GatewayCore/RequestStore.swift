public import FoundationEssentials
import Synchronization

/// Filters of `GET /v1/requests`.
public struct RequestFilter: Sendable, Hashable {
    /// Only this client's requests, unless nil (`requests:read:all`).
    public var clientName: String?
    public var statuses: [RequestStatus] = []
    public var kinds: [RequestKind] = []
    public var requestedBy: String?
    public var createdAfter: Date?
    public var createdBefore: Date?

    public init(clientName: String? = nil) { self.clientName = clientName }
}

/// A position in a listing: requests are listed newest first, by (createdAt, id).
public struct RequestCursor: Sendable, Hashable {
    public var createdAt: Date
    public var id: String

    public init(createdAt: Date, id: String) {
        self.createdAt = createdAt
        self.id = id
    }
}

/// The result of inserting a request that may carry an Idempotency-Key.
public enum InsertOutcome: Sendable, Hashable {
    case inserted(GatewayRequest)
    /// A request with the same client and key exists (made within the key's lifetime): it is returned as stored.
    case existing(GatewayRequest)
}

/// The store changed underneath an update: re-read and apply again.
public struct StoreConflict: Error, Sendable, Hashable {
    public var id: String
    public init(id: String) { self.id = id }
}

/// Why the store could not do what was asked (disk full, database down, ...).
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Durable storage of gateway requests. SQLite is the embedded default; PostgreSQL serves several replicas.
///
/// Every method commits durably before it returns: a request the API acknowledged survives a crash.
public protocol RequestStore: Sendable {
    /// Stores a new request, unless the same client already used its Idempotency-Key within
    /// `idempotencyWindow` (then the stored request is returned untouched). Atomic across replicas.
    func insert(_ request: GatewayRequest, idempotencyWindow: Duration, now: Date) async throws -> InsertOutcome

    func get(id: String) async throws -> GatewayRequest?

    /// Replaces the stored request if its version still equals `request.version`; returns the stored
    /// copy with the version incremented. Throws `StoreConflict` when someone else updated it first.
    /// A request's identity (id, client, kind, requestedBy, Idempotency-Key, creation time) is fixed at
    /// insert: stores index it then and do not re-index it here, so callers must not change it.
    /// With `owner`, the lease `owner` holds on it is released in the same commit (a forwarder's last word).
    func update(_ request: GatewayRequest, releasingLeaseOf owner: String?) async throws -> GatewayRequest

    /// Newest first, after `cursor`, at most `limit`.
    func list(_ filter: RequestFilter, limit: Int, after cursor: RequestCursor?) async throws -> [GatewayRequest]

    /// Takes up to `limit` requests due for forwarding (`queued` with `nextAttemptAt <= now`) and leases
    /// them to `owner` until `now + lease`, so no other forwarder takes them meanwhile.
    func claimForwardable(now: Date, limit: Int, owner: String, lease: Duration) async throws -> [GatewayRequest]

    /// Takes up to `limit` requests left `submitting` whose lease expired (a forwarder died mid-send):
    /// they must be reconciled, never blindly resent.
    func claimStaleSubmitting(now: Date, limit: Int, owner: String, lease: Duration) async throws -> [GatewayRequest]

    /// Takes up to `limit` requests whose runs are due a refresh (status submitted or in progress,
    /// not polled since `polledBefore`), leased like `claimForwardable`.
    func claimPollable(now: Date, polledBefore: Date, limit: Int, owner: String, lease: Duration) async throws -> [GatewayRequest]

    /// Releases a lease early (work done or given up).
    func release(id: String, owner: String) async throws

    /// How many requests are in each status (forward queue depth, unknown count, ...).
    func countByStatus() async throws -> [RequestStatus: Int]

    /// Cheap liveness check for readiness probes.
    func ping() async throws

    /// The stored version of a request (nil when there is none), read without decoding the document, so a
    /// caller holding a rendering of that version can reuse it. Every change to a request's document
    /// increments its version.
    func storedVersion(id: String) async throws -> Int?

    /// Asks the store to call `observer` with a request's id after each committed change to it (update or
    /// deletion), before the changing call returns. True when the store can promise that for every change,
    /// because no other process writes its data; false (and `observer` is never called) otherwise.
    func observeChanges(_ observer: @escaping @Sendable (String) -> Void) -> Bool
}

extension RequestStore {
    public func update(_ request: GatewayRequest) async throws -> GatewayRequest {
        try await update(request, releasingLeaseOf: nil)
    }

    /// Stores that have no cheaper way read the whole request.
    public func storedVersion(id: String) async throws -> Int? { try await get(id: id)?.version }

    /// Stores shared with other processes cannot see every change.
    public func observeChanges(_ observer: @escaping @Sendable (String) -> Void) -> Bool { false }
}

/// The observers a store that sees every change calls (see `RequestStore.observeChanges`).
public final class RequestChangeObservers: Sendable {
    private let observers = Mutex<[@Sendable (String) -> Void]>([])

    public init() {}

    public func add(_ observer: @escaping @Sendable (String) -> Void) { observers.withLock { $0.append(observer) } }

    /// Tells every observer that these requests changed; call after the change committed.
    public func report<IDs: Sequence<String>>(_ ids: IDs) {
        let current = observers.withLock { $0 }
        guard !current.isEmpty else { return }
        for id in ids { for observer in current { observer(id) } }
    }
}
