import Crypto
public import FoundationEssentials
public import Observability
public import PurviewWorkflow

/// What the API layer asks of the gateway: submit, look up, list, cancel. Transport-free, so the
/// router-level tests and the HTTP server share it.
public final class GatewayService: Sendable {
    public let store: any RequestStore
    public let forwarder: Forwarder
    public let poller: Poller
    let purview: any PurviewWorkflowAPI
    let notifier: RequestSettleNotifier
    let logger: Logger
    let now: @Sendable () -> Date
    /// How long an Idempotency-Key is remembered.
    public let idempotencyWindow: Duration = .seconds(24 * 3600)

    public init(
        store: any RequestStore, purview: any PurviewWorkflowAPI, forwarder: ForwarderConfiguration = ForwarderConfiguration(),
        poller: PollerConfiguration = PollerConfiguration(), logger: Logger, now: @escaping @Sendable () -> Date = { Date() },
        budget: OutboundBudget? = nil
    ) {
        self.store = store
        self.purview = purview
        self.logger = logger
        self.now = now
        let notifier = RequestSettleNotifier()
        self.notifier = notifier
        self.forwarder = Forwarder(store: store, purview: purview, configuration: forwarder, notifier: notifier, logger: logger.with("component", "forwarder"), now: now, budget: budget)
        self.poller = Poller(store: store, purview: purview, configuration: poller, logger: logger.with("component", "poller"), now: now)
    }

    /// Runs the forwarder and the poller until cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.forwarder.run() }
            group.addTask { await self.poller.run() }
        }
    }

    public enum SubmitResult: Sendable {
        /// Newly stored; `settled` tells whether forwarding finished within the wait budget.
        case created(GatewayRequest, settled: Bool)
        /// The same Idempotency-Key and body were seen before: the original request.
        case replayed(GatewayRequest)
    }

    public enum SubmitError: Error, Sendable {
        case invalid(ValidationFailure)
        /// The Idempotency-Key was used with a different body.
        case idempotencyKeyReused(existingId: String)
        case store(String)
    }

    /// Validates, stores durably, wakes the forwarder, and waits up to `wait` for the send to settle.
    public func submit(
        kind: RequestKind, body: JSONValue, clientName: String, idempotencyKey: String?, wait: Duration,
        traceId: String? = nil, defaultCallbackUrl: String? = nil
    ) async throws(SubmitError) -> SubmitResult {
        let validated: ValidatedRequest
        switch RequestMapper.validate(kind: kind, body: body) {
        case .success(let value): validated = value
        case .failure(let failure): throw .invalid(failure)
        }
        let acceptedAt = Self.milliseconds(now())
        var request = GatewayRequest(id: TimeOrderedIdentifier.make(at: acceptedAt), clientName: clientName, validated: validated, idempotencyKey: idempotencyKey, now: acceptedAt)
        request.traceId = traceId
        request.callbackUrl = request.callbackUrl ?? defaultCallbackUrl
        // The digest only serves Idempotency-Key comparisons (a retry with the same key must carry the same body).
        if idempotencyKey != nil { request.bodyDigest = Self.bodyDigest(kind: kind, body: body) }
        // Interest is registered before the request is visible to any forwarder, so a send that settles
        // at once is still noticed.
        if wait > .zero { notifier.expect(request.id) }
        let outcome: InsertOutcome
        do {
            outcome = try await store.insert(request, idempotencyWindow: idempotencyWindow, now: acceptedAt)
        } catch {
            notifier.forget(request.id)
            throw .store("\(error)")
        }
        switch outcome {
        case .existing(let existing):
            notifier.forget(request.id)
            guard existing.bodyDigest == request.bodyDigest else { throw .idempotencyKeyReused(existingId: existing.id) }
            return .replayed(existing)
        case .inserted(let stored):
            AuditLog(logger: logger).record("accepted", stored, actor: clientName)
            forwarder.wake()
            guard wait > .zero else { return .created(stored, settled: false) }
            await notifier.wait(for: stored.id, timeout: wait)
            let current = (try? await store.get(id: stored.id)) ?? stored
            let settled = current.status != .queued && current.status != .submitting
            return .created(current, settled: settled)
        }
    }

    /// The stored request; with `refresh`, its runs are read from Purview first.
    public func request(id: String, refresh: Bool) async throws -> GatewayRequest? {
        guard let request = try await store.get(id: id) else { return nil }
        guard refresh, !request.runs.isEmpty else { return request }
        return try await poller.refresh(request)
    }

    public func list(_ filter: RequestFilter, limit: Int, after cursor: RequestCursor?) async throws -> [GatewayRequest] {
        try await store.list(filter, limit: limit, after: cursor)
    }

    public enum CancelError: Error, Sendable {
        case conflict(LifecycleConflict)
        case purview(PurviewClientError)
        case store(String)
    }

    /// Cancels a request: a queued one at once; a sent one by cancelling its runs in Purview.
    public func cancel(_ original: GatewayRequest, comment: String?, actor: String) async throws(CancelError) -> GatewayRequest {
        var request = original
        for _ in 0..<5 {
            var next = request
            do {
                try next.apply(.cancelRequested(comment: comment), now: now(), actor: actor)
            } catch {
                throw .conflict(error)
            }
            do {
                request = try await store.update(next)
                break
            } catch is StoreConflict {
                guard let fresh = try? await store.get(id: request.id) else { throw .store("request vanished") }
                request = fresh
            } catch {
                throw .store("\(error)")
            }
        }
        let openRuns = request.runs.filter { !$0.status.isTerminal }
        guard !openRuns.isEmpty else { return request }
        for run in openRuns {
            do throws(PurviewClientError) {
                _ = try await purview.cancelWorkflowRun(run.runId, comment: comment, options: PurviewCallOptions(clientRequestId: request.purviewClientRequestId))
            } catch where error.status == 409 {
                continue  // Already finished or cancelled in Purview: the poller records how it ended.
            } catch {
                throw .purview(error)
            }
        }
        var confirmed = request
        if (try? confirmed.apply(.cancelConfirmed, now: now(), actor: actor)) == true, let stored = try? await store.update(confirmed) {
            request = stored
        }
        AuditLog(logger: logger).record("cancelled", request, actor: actor)
        return request
    }

    /// Times are kept at millisecond precision, the stores' resolution.
    static func milliseconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded(.down) / 1000)
    }
}
