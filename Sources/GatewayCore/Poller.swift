public import FoundationEssentials
public import Observability
public import PurviewWorkflow
import Synchronization

/// Settings of the status poller (ARCHITECTURE.md §6 defaults).
public struct PollerConfiguration: Sendable {
    /// How often one request's runs are read.
    public var interval: Duration = .seconds(15)
    /// Requests refreshed at once.
    public var concurrency = 8
    /// ± this fraction of the interval, so refreshes do not synchronise.
    public var jitter = 0.2
    public var lease: Duration = .seconds(60)
    public var owner = "poller-\(UUID().uuidString.prefix(8))"
    /// How often the poller looks for due work.
    public var tick: Duration = .seconds(1)

    public init() {}
}

/// Keeps non-terminal requests fresh from Purview at a bounded rate; terminal ones are never polled.
public final class Poller: Sendable {
    let store: any RequestStore
    let purview: any PurviewWorkflowAPI
    let configuration: PollerConfiguration
    let logger: Logger
    let now: @Sendable () -> Date
    let random: @Sendable () -> Double
    private let refreshed = Atomic<Int>(0)
    /// Seconds the oldest due request had been waiting at the last tick (poller lag).
    private let lagMilliseconds = Atomic<Int>(0)

    public init(
        store: any RequestStore, purview: any PurviewWorkflowAPI, configuration: PollerConfiguration = PollerConfiguration(),
        logger: Logger, now: @escaping @Sendable () -> Date = { Date() },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.store = store
        self.purview = purview
        self.configuration = configuration
        self.logger = logger
        self.now = now
        self.random = random
    }

    public var refreshCount: Int { refreshed.load(ordering: .relaxed) }
    public var lag: Duration { .milliseconds(lagMilliseconds.load(ordering: .relaxed)) }

    public func run() async {
        while !Task.isCancelled {
            await pollDue()
            try? await Task.sleep(for: configuration.tick)
        }
    }

    func pollDue() async {
        let jitter = configuration.interval.seconds * configuration.jitter * (random() * 2 - 1)
        let polledBefore = now().addingTimeInterval(-(configuration.interval.seconds + jitter))
        let due: [GatewayRequest]
        do {
            due = try await store.claimPollable(now: now(), polledBefore: polledBefore, limit: configuration.concurrency * 4, owner: configuration.owner, lease: configuration.lease)
        } catch {
            logger.error("cannot claim requests to poll", metadata: ["error": .string("\(error)")])
            return
        }
        if let oldest = due.map({ $0.polledAt ?? $0.updatedAt }).min() {
            let lag = max(0, polledBefore.timeIntervalSince(oldest))
            lagMilliseconds.store(Int(lag * 1000), ordering: .relaxed)
        } else {
            lagMilliseconds.store(0, ordering: .relaxed)
        }
        let listings = TaskListingShare()
        await withTaskGroup(of: Void.self) { group in
            var index = 0
            for request in due {
                if index >= configuration.concurrency { await group.next() }
                index += 1
                group.addTask { [self] in
                    _ = try? await refresh(request, sharing: listings)
                    try? await store.release(id: request.id, owner: configuration.owner)
                }
            }
        }
    }

    /// Reads every unfinished run of `request` and its approval tasks, and stores the result.
    @discardableResult
    public func refresh(_ original: GatewayRequest) async throws(PurviewClientError) -> GatewayRequest {
        try await refresh(original, sharing: nil)
    }

    /// `refresh`, with the task listings of a poll round shared (nil: fetched for this request alone).
    func refresh(_ original: GatewayRequest, sharing listings: TaskListingShare?) async throws(PurviewClientError) -> GatewayRequest {
        let runs = try await RunReader(purview: purview, listings: listings).read(original.runs, requestId: original.purviewClientRequestId, now: now())
        var request = original
        for _ in 0..<5 {
            var next = request
            _ = try? next.apply(.runsRefreshed(runs), now: now(), actor: "poller")
            next.polledAt = now()
            do {
                request = try await store.update(next)
                refreshed.add(1, ordering: .relaxed)
                return request
            } catch is StoreConflict {
                guard let fresh = try? await store.get(id: request.id) else { return request }
                request = fresh
            } catch {
                logger.error("cannot store refreshed runs", metadata: ["request.id": .string(request.id), "error": .string("\(error)")])
                return request
            }
        }
        return request
    }
}

/// Turns Purview's runs and tasks into the gateway's `RunRecord`s.
struct RunReader {
    let purview: any PurviewWorkflowAPI
    var listings: TaskListingShare? = nil

    func read(_ known: [RunRecord], requestId: String, now: Date) async throws(PurviewClientError) -> [RunRecord] {
        var result: [RunRecord] = []
        for record in known {
            if record.status.isTerminal && !record.approvals.contains(.pending) {
                result.append(record)
                continue
            }
            let run = try await purview.getWorkflowRun(record.runId, options: PurviewCallOptions(clientRequestId: requestId)).value
            var query = WorkflowTaskQuery()
            query.viewMode = "sent"
            query.workflowIds = [run.workflowId]
            let fetch: @Sendable () async throws(PurviewClientError) -> [WorkflowTask] = { [purview, query] () async throws(PurviewClientError) in
                try await purview.listWorkflowTasks(query, options: PurviewCallOptions(clientRequestId: requestId)).all()
            }
            let listed: [WorkflowTask]
            if let listings {
                listed = try await listings.tasks(workflowId: run.workflowId, fetch: fetch)
            } else {
                listed = try await fetch()
            }
            let tasks = listed
                .filter { $0.workflowRunId == run.id && $0.type == .approval }
                .sorted { ($0.createdTime?.date ?? .distantPast) < ($1.createdTime?.date ?? .distantPast) }
            let approvals = tasks.map { task -> ApprovalDecision in
                switch task.approvalDetail?.status.rawValue ?? task.status?.rawValue {
                case "Approved": .approved
                case "Rejected": .rejected
                case "Canceled", "Cancelled": .canceled
                default: .pending
                }
            }
            let pending = tasks.filter { $0.approvalDetail?.status.rawValue == "Pending" }.flatMap { task in
                (task.approvalDetail?.approvers ?? [:]).filter { $0.value.reply.rawValue == "Pending" }.map(\.key).sorted()
            }
            result.append(
                RunRecord(
                    runId: run.id, status: PurviewRunStatus(purview: run.status.rawValue), startTime: run.startTime?.date,
                    endTime: run.endTime?.date ?? run.cancelTime?.date, pendingApprovers: pending, approvals: approvals,
                    polledAt: now))
        }
        return result
    }
}
