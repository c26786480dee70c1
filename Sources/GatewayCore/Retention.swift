public import FoundationEssentials
public import Observability

/// What a store offers to forget old data: finished requests and finished batch imports after the retention
/// period, Idempotency-Keys after their window. Deletes are bounded (`limit` rows each), so a sweep never holds the database long.
public protocol RetentionStore: Sendable {
    /// Deletes up to `limit` requests in a terminal status last updated before `cutoff`: the whole stored
    /// request goes (`requestedBy`, comments, body and timeline with it), and its Idempotency-Key. Requests
    /// still going (queued, submitting, submitted, in progress) are never touched. Returns how many went.
    func purgeTerminalRequests(updatedBefore cutoff: Date, limit: Int) async throws -> Int

    /// Forgets up to `limit` Idempotency-Keys recorded before `cutoff`; returns how many.
    func purgeIdempotencyKeys(createdBefore cutoff: Date, limit: Int) async throws -> Int

    /// Deletes up to `limit` imports in status `done` last updated before `cutoff`, with their rejected rows
    /// (whose raw text holds personal data). Imports still receiving or processing are never touched; their
    /// requests are ordinary requests, purged by `purgeTerminalRequests`. Returns how many imports went.
    func purgeImports(updatedBefore cutoff: Date, limit: Int) async throws -> Int
}

/// How long data is kept.
public struct RetentionPolicy: Sendable, Hashable {
    /// Terminal requests and finished imports are deleted this long after their last change
    /// (`GATEWAY_RETENTION_DAYS`, default 90).
    public var requests: Duration = .seconds(90 * 24 * 3600)
    /// Idempotency-Keys are forgotten after this long (their window).
    public var idempotencyKeys: Duration = .seconds(24 * 3600)
    /// Rows per delete.
    public var batchSize = 200
    /// Pause between batches, so the writer serves other work in between.
    public var pauseBetweenBatches: Duration = .milliseconds(50)
    /// Most batches per sweep (the rest waits for the next sweep).
    public var maximumBatchesPerSweep = 500
    /// Time between sweeps.
    public var interval: Duration = .seconds(3600)

    public init() {}
}

/// Deletes what the policy says is too old, in small batches, in the background.
public struct RetentionSweeper: Sendable {
    let store: any RetentionStore
    let policy: RetentionPolicy
    let logger: Logger
    let metrics: MetricsRegistry?
    let now: @Sendable () -> Date

    public init(
        store: any RetentionStore, policy: RetentionPolicy, logger: Logger, metrics: MetricsRegistry? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.policy = policy
        self.logger = logger
        self.metrics = metrics
        self.now = now
    }

    /// One sweep: returns how many requests, keys and imports were deleted.
    @discardableResult
    public func sweep() async -> (requests: Int, idempotencyKeys: Int, imports: Int) {
        let moment = now()
        let requestCutoff = moment.addingTimeInterval(-policy.requests.seconds)
        let requests = await drain("requests") { limit in
            try await store.purgeTerminalRequests(updatedBefore: requestCutoff, limit: limit)
        }
        let keys = await drain("idempotency_keys") { limit in
            try await store.purgeIdempotencyKeys(
                createdBefore: moment.addingTimeInterval(-policy.idempotencyKeys.seconds), limit: limit)
        }
        let imports = await drain("imports") { limit in
            try await store.purgeImports(updatedBefore: requestCutoff, limit: limit)
        }
        if requests > 0 || keys > 0 || imports > 0 {
            logger.info(
                "retention sweep",
                metadata: [
                    "purged.requests": .int(requests), "purged.idempotency_keys": .int(keys),
                    "purged.imports": .int(imports),
                ])
        }
        return (requests, keys, imports)
    }

    /// Sweeps now and then every `policy.interval` until cancelled.
    public func run() async {
        while !Task.isCancelled {
            await sweep()
            try? await Task.sleep(for: policy.interval)
        }
    }

    private func drain(_ what: String, _ purge: (Int) async throws -> Int) async -> Int {
        var total = 0
        for batch in 0..<policy.maximumBatchesPerSweep {
            if Task.isCancelled { break }
            if batch > 0 && policy.pauseBetweenBatches > .zero {
                try? await Task.sleep(for: policy.pauseBetweenBatches)
            }
            let deleted: Int
            do {
                deleted = try await purge(policy.batchSize)
            } catch {
                logger.error("retention sweep failed", metadata: ["what": .string(what), "error": .string("\(error)")])
                break
            }
            total += deleted
            metrics?.counter(
                "gateway_retention_purged_total", help: "Rows deleted by retention", labels: ["what": what]
            )
            .increment(by: UInt64(deleted))
            if deleted < policy.batchSize { break }
        }
        return total
    }
}
