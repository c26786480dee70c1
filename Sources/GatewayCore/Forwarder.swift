public import FoundationEssentials
public import Observability
public import PurviewWorkflow
import Synchronization

/// Settings of the forwarder.
public struct ForwarderConfiguration: Sendable {
    /// Requests claimed and in hand at once, until Purview answered their sends (an accepted one's outcome is
    /// then stored outside this count). With an outbound budget, how many of them are on the wire (and
    /// `submitting`) is bounded by its slots instead; the others wait `queued`.
    public var concurrency = 32
    /// How long a claimed request is reserved for this forwarder.
    public var lease: Duration = .seconds(120)
    /// Longest wait between tries of one request.
    public var maxBackoff: Duration = .seconds(300)
    public var initialBackoff: Duration = .seconds(2)
    /// After this long since its first try (since acceptance or the last re-drive), a request that still could
    /// not be sent is `failed`; one never tried yet (an imported row waiting for its pace) is not.
    public var giveUpAfter: Duration = .seconds(24 * 3600)
    /// How often due retries and stale sends are looked for when nothing wakes the forwarder.
    public var idlePollInterval: Duration = .seconds(1)
    /// The client name in the user request's comment prefix is the caller's; this names the forwarder's lease owner.
    public var owner = "forwarder-\(UUID().uuidString.prefix(8))"
    /// How far back reconciliation looks for runs started by an ambiguous send (clock skew allowance).
    public var reconciliationSkew: Duration = .seconds(120)
    /// Most full runs one reconciliation reads to compare payloads (Purview's run list omits them).
    public var reconciliationRunReads = 20
    /// Imported rows sent per second at most (halved on each 429 from Purview, then recovering).
    public var importRowsPerSecond: Double = 20

    public init() {}
}

/// Wakes whoever waits for a request to settle (the API's wait budget) when the forwarder moved it.
///
/// A caller announces its interest with `expect` before the forwarder can start, so a send that
/// settles before `wait` is reached is remembered rather than missed.
public final class RequestSettleNotifier: Sendable {
    private enum Entry {
        case waiting([CheckedContinuation<Void, Never>])
        case settled
    }

    private let entries = Mutex<[String: Entry]>([:])

    public init() {}

    /// Starts remembering whether `id` settles; call before waking the forwarder.
    public func expect(_ id: String) {
        entries.withLock { $0[id] = .waiting([]) }
    }

    /// Stops remembering `id` (the request was not created after all).
    public func forget(_ id: String) {
        entries.withLock { _ = $0.removeValue(forKey: id) }
    }

    /// Waits until `settled(id)` was or is called, or `timeout` passes; forgets `id` afterwards.
    public func wait(for id: String, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let resumeNow = self.entries.withLock { entries -> Bool in
                        switch entries[id] {
                        case .settled?:
                            return true
                        case .waiting(let waiting)?:
                            entries[id] = .waiting(waiting + [continuation])
                            return false
                        case nil:
                            entries[id] = .waiting([continuation])
                            return false
                        }
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            // Whichever finished first, release the other and forget the id.
            let pending = entries.withLock { entries -> [CheckedContinuation<Void, Never>] in
                defer { entries[id] = nil }
                if case .waiting(let waiting)? = entries[id] { return waiting }
                return []
            }
            for continuation in pending { continuation.resume() }
            await group.waitForAll()
        }
    }

    /// The forwarder finished with `id` (whatever the outcome).
    public func settled(_ id: String) {
        let resumed = entries.withLock { entries -> [CheckedContinuation<Void, Never>] in
            guard case .waiting(let waiting)? = entries[id] else { return [] }
            entries[id] = .settled
            return waiting
        }
        for continuation in resumed { continuation.resume() }
    }
}

/// A forwarder's concurrency slot held by one send; `free` runs its release once, however often it is called.
final class SendSlot: Sendable {
    private let freed = Atomic<Bool>(false)
    private let onFree: @Sendable () -> Void

    init(onFree: @escaping @Sendable () -> Void) { self.onFree = onFree }

    func free() {
        if !freed.exchange(true, ordering: .acquiringAndReleasing) { onFree() }
    }
}

/// Sends queued requests to Purview, exactly once as far as the gateway can tell: marked `submitting`
/// durably before the send, retried only when Purview certainly did not process it, reconciled against
/// Purview's runs when the outcome is unknown.
public final class Forwarder: Sendable {
    let store: any RequestStore
    let purview: any PurviewWorkflowAPI
    let configuration: ForwarderConfiguration
    let logger: Logger
    let notifier: RequestSettleNotifier
    let now: @Sendable () -> Date
    let random: @Sendable () -> Double
    /// When set, a send waits for its share of the budget before the request is marked `submitting`.
    let budget: OutboundBudget?
    /// Wakes the running `run` (each run makes its own stream, so the forwarder can be run again).
    private let wakeupContinuation = Mutex<AsyncStream<Void>.Continuation?>(nil)
    private let inFlight = Atomic<Int>(0)
    private let sentCount = Atomic<Int>(0)
    /// Paces imported rows (ImportService.swift).
    let importPacer: ImportPacer

    public init(
        store: any RequestStore, purview: any PurviewWorkflowAPI,
        configuration: ForwarderConfiguration = ForwarderConfiguration(),
        notifier: RequestSettleNotifier, logger: Logger, now: @escaping @Sendable () -> Date = { Date() },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }, budget: OutboundBudget? = nil
    ) {
        self.budget = budget
        self.store = store
        self.purview = purview
        self.configuration = configuration
        self.notifier = notifier
        self.logger = logger
        self.now = now
        self.random = random
        importPacer = ImportPacer(rowsPerSecond: configuration.importRowsPerSecond)
    }

    /// New work is waiting (a request was accepted): look now rather than at the next idle poll.
    public func wake() { _ = wakeupContinuation.withLock { $0 }?.yield() }

    /// Requests currently being sent.
    public var sendsInFlight: Int { inFlight.load(ordering: .relaxed) }

    /// Sends completed since start (any outcome).
    public var sendsCompleted: Int { sentCount.load(ordering: .relaxed) }

    /// Runs until the task is cancelled: claims due work, sends it with bounded concurrency.
    ///
    /// Sends are refilled as they finish rather than batch by batch, so one slow send does not hold back the
    /// others' successors; a claim waits until a quarter of the slots are free (or none is busy), so claims
    /// stay batched when sends finish one at a time.
    public func run() async {
        let (wakeups, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        wakeupContinuation.withLock { $0 = continuation }
        await withDiscardingTaskGroup { group in
            group.addTask { [self] in
                while !Task.isCancelled {
                    await recoverStaleSends()
                    continuation.yield()
                    try? await Task.sleep(for: configuration.idlePollInterval)
                }
                continuation.finish()
            }
            for await _ in wakeups {
                let inFlightNow = inFlight.load(ordering: .relaxed)
                let capacity = configuration.concurrency - inFlightNow
                guard capacity >= max(1, configuration.concurrency / 4) || (inFlightNow == 0 && capacity > 0) else {
                    continue
                }
                // Each finished send wakes this loop: a slot is free, and a full claim may have left more behind.
                for request in await claimDue(capacity: capacity) { startSend(request, in: &group, wakeWhenDone: true) }
            }
        }
    }

    /// Sends everything due now, `concurrency` at a time, until nothing is left (for callers that need the
    /// queue empty before they go on; `run` refills continuously instead).
    func drain() async {
        while !Task.isCancelled {
            let capacity = configuration.concurrency - inFlight.load(ordering: .relaxed)
            guard capacity > 0 else { return }
            let batch = await claimDue(capacity: capacity)
            if batch.isEmpty { return }
            await withDiscardingTaskGroup { group in
                for request in batch { startSend(request, in: &group, wakeWhenDone: false) }
            }
        }
    }

    private func startSend(_ request: GatewayRequest, in group: inout DiscardingTaskGroup, wakeWhenDone: Bool) {
        inFlight.add(1, ordering: .relaxed)
        let slot = SendSlot { [self] in
            inFlight.subtract(1, ordering: .relaxed)
            if wakeWhenDone { wake() }
        }
        group.addTask { [self] in
            await forward(request, slot: slot)
            slot.free()
            sentCount.add(1, ordering: .relaxed)
        }
    }

    /// Leases up to `capacity` requests due now: interactive ones first, imported rows in the room left.
    private func claimDue(capacity: Int) async -> [GatewayRequest] {
        var batch: [GatewayRequest]
        do {
            batch = try await store.claimForwardable(
                now: now(), limit: capacity, owner: configuration.owner, lease: configuration.lease)
        } catch {
            logger.error("cannot claim requests to forward", metadata: ["error": .string("\(error)")])
            return []
        }
        batch += await claimImported(capacity: capacity, interactiveClaimed: batch.count)
        return batch
    }

    /// One request: mark submitting (durably), send, record what Purview said.
    ///
    /// `slot` is freed as soon as Purview answered an accepted send, before its outcome is stored: the request
    /// stays leased until then, so nobody else takes it, while the next send need not wait for that commit.
    func forward(_ claimed: GatewayRequest, slot: SendSlot? = nil) async {
        var request = claimed
        let log = logger.with(["request.id": .string(request.id), "request.kind": .string(request.kind.rawValue)])
        // Cleared when the lease is kept (a reconciliation pending) or was released with the last transition.
        var releaseLease = true
        defer {
            notifier.settled(claimed.id)
            if releaseLease {
                let id = claimed.id
                let owner = configuration.owner
                let store = store
                Task { try? await store.release(id: id, owner: owner) }
            }
        }
        if let firstSend = request.firstSendSinceForwarding,
            now().timeIntervalSince(firstSend) > configuration.giveUpAfter.seconds
        {
            _ = await transition(
                &request,
                .gaveUp(
                    RequestError(
                        code: "forwarding_expired",
                        message:
                            "Purview could not be reached for \(Int(configuration.giveUpAfter.seconds / 3600)) hours")),
                log: log)
            return
        }
        // The slot and rate token come first: a request waiting for them stays `queued`, so a crash while it
        // waits leaves nothing in doubt. Only a send that can go out at once is marked `submitting`.
        var permit: OutboundPermit?
        if let budget {
            do {
                permit = try await budget.acquire()
            } catch {
                return
            }
        }
        defer { permit?.release() }
        guard await transition(&request, .sendStarted, log: log) else { return }
        await OutboundBudget.$prepaid.withValue(permit) {
            await send(&request, log: log, releaseLease: &releaseLease, slot: slot)
        }
    }

    private func send(_ request: inout GatewayRequest, log: Logger, releaseLease: inout Bool, slot: SendSlot?) async {
        let payload = UserRequestPayload(
            operations: request.operations.map {
                UserRequestOperation(type: OperationType(rawValue: $0.type), payload: $0.payload)
            },
            comment: RequestMapper.purviewComment(
                requestedBy: request.requestedBy, clientName: request.clientName, comment: request.comment))
        let options = PurviewCallOptions(clientRequestId: request.purviewClientRequestId)
        do throws(PurviewClientError) {
            let response = try await purview.submitUserRequest(payload, options: options)
            slot?.free()
            // The common case ends with one write: the outcome and the lease's release in the same commit.
            let recorded = await transition(
                &request,
                .accepted(purviewRequestId: response.value.requestId, runIds: response.value.allWorkflowRunIds),
                log: log, releasingLease: true)
            if recorded { releaseLease = false }
        } catch {
            releaseLease = await handleFailure(error, request: &request, log: log)
        }
    }

    /// Records what a failed send means; false when the request stays `submitting` for a later
    /// reconciliation (its lease then expires on its own, which paces the retries).
    private func handleFailure(_ error: PurviewClientError, request: inout GatewayRequest, log: Logger) async -> Bool {
        let requestError = RequestError(
            code: error.code, message: error.message, httpStatus: error.status, purviewRequestId: error.serviceRequestId
        )
        if error.status == 429 { importPacer.throttled() }
        if error.certainlyNotProcessed {
            let delay =
                error.retryAfter.map { min($0, configuration.maxBackoff) } ?? backoff(attempts: request.attempts)
            log.warning(
                "Purview did not take the request; will retry",
                metadata: ["error": .string(error.description), "retry_in_s": .double(delay.seconds)])
            await transition(
                &request, .deferred(retryAt: now().addingTimeInterval(delay.seconds), reason: requestError), log: log)
            return true
        } else if error.kind == .service, let status = error.status, (400..<500).contains(status) {
            log.notice("Purview refused the request", metadata: ["error": .string(error.description)])
            await transition(&request, .refused(requestError), log: log)
            return true
        } else {
            log.warning("send outcome unknown; reconciling", metadata: ["error": .string(error.description)])
            return await reconcile(&request, reason: requestError, log: log)
        }
    }

    /// Full jitter on an exponential ceiling: 2 s, 4 s, 8 s, ... capped at `maxBackoff`.
    func backoff(attempts: Int) -> Duration {
        let exponent = min(max(attempts - 1, 0), 16)
        let ceiling = min(configuration.initialBackoff * (1 << exponent), configuration.maxBackoff)
        return max(ceiling * random(), .milliseconds(100))
    }

    /// Requests left `submitting` by a forwarder that died: reconcile, never resend.
    func recoverStaleSends() async {
        let stale: [GatewayRequest]
        do {
            stale = try await store.claimStaleSubmitting(
                now: now(), limit: configuration.concurrency, owner: configuration.owner, lease: configuration.lease)
        } catch {
            return
        }
        for request in stale {
            // Only requests whose send began before our lease window are abandoned ones.
            guard let since = request.submittingSince, now().timeIntervalSince(since) > configuration.lease.seconds
            else {
                try? await store.release(id: request.id, owner: configuration.owner)
                continue
            }
            var copy = request
            let log = logger.with("request.id", .string(request.id))
            log.warning("found a send interrupted by a crash; reconciling")
            let settled = await reconcile(
                &copy,
                reason: RequestError(code: "interrupted", message: "the gateway stopped while sending this request"),
                log: log)
            if settled { try? await store.release(id: request.id, owner: configuration.owner) }
        }
    }

    /// Looks for the runs an ambiguous send may have started: the gateway's own recent runs with the same
    /// operation type and payload, started after the send began. Found → recorded; not found → `unknown`.
    /// When Purview cannot be asked right now, nothing is decided and false is returned: the request stays
    /// `submitting` until its lease expires and the next reconciliation.
    ///
    /// Purview's run list carries each run's `targetValue` but not its payload, so the payload is compared on the
    /// full run (`GET /workflowruns/{id}`), read only for list entries whose target value could be this payload's
    /// (it is taken from the payload, e.g. the term's name), closest to the send's start first, at most
    /// `reconciliationRunReads` of them.
    @discardableResult
    func reconcile(_ request: inout GatewayRequest, reason: RequestError, log: Logger) async -> Bool {
        guard let since = request.submittingSince, let operation = request.operations.first else {
            await transition(&request, .outcomeUnknown(reason), log: log)
            return true
        }
        var query = WorkflowRunQuery()
        query.viewMode = "mine"
        query.timeWindow = "1d"
        query.orderBy = "startTime desc"
        let earliest = since.addingTimeInterval(-configuration.reconciliationSkew.seconds)
        let payloadStrings = Self.strings(in: operation.payload)
        let options = PurviewCallOptions(clientRequestId: request.purviewClientRequestId)
        do throws(PurviewClientError) {
            var matches: [WorkflowRun] = []
            var candidates: [(run: WorkflowRun, distance: Double)] = []
            var pages = purview.listWorkflowRuns(query, options: options).makeAsyncIterator()
            scan: while let page = try await pages.next() {
                for run in page.value {
                    guard let started = run.startTime?.date else { continue }
                    if started < earliest { break scan }
                    guard let runPayload = run.runPayload, runPayload.type.rawValue == operation.type else { continue }
                    if let payload = runPayload.payload {
                        if Self.samePayload(payload, operation.payload) { matches.append(run) }
                    } else if let target = runPayload.targetValue, !target.isEmpty, !payloadStrings.contains(target) {
                        continue
                    } else {
                        candidates.append((run, abs(started.timeIntervalSince(since))))
                    }
                }
            }
            candidates.sort { $0.distance < $1.distance }
            for candidate in candidates.prefix(configuration.reconciliationRunReads) {
                let full: WorkflowRun
                do throws(PurviewClientError) {
                    full = try await purview.getWorkflowRun(candidate.run.id, options: options).value
                } catch  where error.status == 404 {
                    continue
                }
                if full.runPayload?.type.rawValue == operation.type
                    && Self.samePayload(full.runPayload?.payload, operation.payload)
                {
                    matches.append(full)
                }
            }
            if matches.isEmpty {
                let unread = candidates.count - min(candidates.count, configuration.reconciliationRunReads)
                let note =
                    unread > 0
                    ? " among the \(configuration.reconciliationRunReads) closest candidates (\(unread) more not read)"
                    : ""
                await transition(
                    &request,
                    .outcomeUnknown(
                        RequestError(
                            code: "outcome_unknown",
                            message: "\(reason.message); no matching run found in Purview\(note), so it was not resent")
                    ), log: log)
            } else {
                log.info("reconciled an ambiguous send", metadata: ["runs": .int(matches.count)])
                await transition(
                    &request, .accepted(purviewRequestId: matches.first?.userRequestId, runIds: matches.map(\.id)),
                    log: log)
            }
            return true
        } catch  where error.certainlyNotProcessed {
            log.warning("cannot reconcile now; will try again", metadata: ["error": .string(error.description)])
            return false
        } catch {
            await transition(
                &request,
                .outcomeUnknown(
                    RequestError(
                        code: "outcome_unknown", message: "\(reason.message); reconciliation failed: \(error.message)")),
                log: log)
            return true
        }
    }

    /// Every string in `value` (object keys excluded): where a run's target value comes from.
    static func strings(in value: JSONValue) -> Set<String> {
        switch value {
        case .string(let text): [text]
        case .array(let items): items.reduce(into: Set<String>()) { $0.formUnion(strings(in: $1)) }
        case .object(let object): object.reduce(into: Set<String>()) { $0.formUnion(strings(in: $1.value)) }
        default: []
        }
    }

    static func samePayload(_ a: JSONValue?, _ b: JSONValue) -> Bool {
        guard let a else { return false }
        return a.canonicalBytes == b.canonicalBytes
    }

    /// Applies and stores one transition, re-reading and re-applying on a version conflict.
    @discardableResult
    func transition(_ request: inout GatewayRequest, _ event: RequestEvent, log: Logger, releasingLease: Bool = false)
        async -> Bool
    {
        for _ in 0..<5 {
            var next = request
            do {
                try next.apply(event, now: now(), actor: "forwarder")
            } catch {
                log.notice(
                    "transition not allowed", metadata: ["event": .string("\(event)"), "error": .string(error.message)])
                return false
            }
            do {
                request = try await store.update(next, releasingLeaseOf: releasingLease ? configuration.owner : nil)
                if let audited = event.auditName {
                    AuditLog(logger: logger).record(audited, request, actor: "forwarder")
                }
                return true
            } catch is StoreConflict {
                guard let fresh = try? await store.get(id: request.id) else { return false }
                request = fresh
            } catch {
                log.error("cannot store a transition", metadata: ["error": .string("\(error)")])
                return false
            }
        }
        return false
    }
}
