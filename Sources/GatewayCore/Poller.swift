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
    /// How approval tasks are found in Purview's task listings.
    public var taskDiscovery = TaskDiscoverySettings()

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
    let discovery: TaskDiscovery
    private let refreshed = Atomic<Int>(0)
    /// Seconds the oldest due request had been waiting at the last tick (poller lag).
    private let lagMilliseconds = Atomic<Int>(0)

    public init(
        store: any RequestStore, purview: any PurviewWorkflowAPI,
        configuration: PollerConfiguration = PollerConfiguration(),
        logger: Logger, now: @escaping @Sendable () -> Date = { Date() },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.store = store
        self.purview = purview
        self.configuration = configuration
        self.logger = logger
        self.now = now
        self.random = random
        discovery = TaskDiscovery(purview: purview, settings: configuration.taskDiscovery, now: now)
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
            due = try await store.claimPollable(
                now: now(), polledBefore: polledBefore, limit: configuration.concurrency * 4,
                owner: configuration.owner, lease: configuration.lease)
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
        let generation = discovery.nextGeneration()
        await withTaskGroup(of: Void.self) { group in
            var index = 0
            for request in due {
                if index >= configuration.concurrency { await group.next() }
                index += 1
                group.addTask { [self] in
                    _ = try? await refresh(request, generation: generation)
                    try? await store.release(id: request.id, owner: configuration.owner)
                }
            }
        }
    }

    /// Reads every unfinished run of `request` and its approval tasks, and stores the result.
    @discardableResult
    public func refresh(_ original: GatewayRequest) async throws(PurviewClientError) -> GatewayRequest {
        try await refresh(original, generation: discovery.nextGeneration())
    }

    /// `refresh`, sharing the task listings of round `generation`.
    func refresh(_ original: GatewayRequest, generation: Int) async throws(PurviewClientError) -> GatewayRequest {
        let reader = RunReader(purview: purview, discovery: discovery, generation: generation)
        let runs = try await reader.read(original.runs, requestId: original.purviewClientRequestId, now: now())
        var request = original
        for _ in 0..<5 {
            var next = request
            _ = try? next.apply(.runsRefreshed(runs.records), now: now(), actor: "poller")
            next.polledAt = now()
            do {
                request = try await store.update(next)
                refreshed.add(1, ordering: .relaxed)
                for (runId, workflowId) in runs.workflows {
                    let stored = request.runs.first { $0.runId == runId }?.approvalTaskIds ?? []
                    discovery.stored(runId: runId, workflowId: workflowId, taskIds: stored)
                }
                return request
            } catch is StoreConflict {
                guard let fresh = try? await store.get(id: request.id) else { return request }
                request = fresh
            } catch {
                logger.error(
                    "cannot store refreshed runs",
                    metadata: ["request.id": .string(request.id), "error": .string("\(error)")])
                return request
            }
        }
        return request
    }
}

/// Turns Purview's runs and tasks into the gateway's `RunRecord`s.
struct RunReader {
    let purview: any PurviewWorkflowAPI
    let discovery: TaskDiscovery
    let generation: Int

    struct Result {
        var records: [RunRecord] = []
        /// The workflow of each run read from Purview.
        var workflows: [(runId: String, workflowId: String)] = []
    }

    func read(_ known: [RunRecord], requestId: String, now: Date) async throws(PurviewClientError) -> Result {
        var result = Result()
        let options = PurviewCallOptions(clientRequestId: requestId)
        for record in known {
            if record.status.isTerminal && !record.approvals.contains(.pending) {
                result.records.append(record)
                continue
            }
            let run = try await purview.getWorkflowRun(record.runId, options: options).value
            // Without the run's detail (the seed's run form), when it last changed is unknown: list.
            let lastActivity = run.detail.map { detail in
                detail.actions.values.compactMap { $0.startTime?.date }.max() ?? run.startTime?.date ?? .distantFuture
            }
            try await discovery.discover(
                workflowId: run.workflowId, lastActivity: lastActivity, generation: generation,
                clientRequestId: requestId)
            result.workflows.append((run.id, run.workflowId))
            // Tasks already stored keep their order (oldest first); newly found ones follow.
            var taskIds = record.approvalTaskIds
            for id in discovery.tasks(runId: run.id, workflowId: run.workflowId) where !taskIds.contains(id) {
                taskIds.append(id)
            }
            var kept: [String] = []
            var approvals: [ApprovalDecision] = []
            var pending: [String] = []
            for (index, id) in taskIds.enumerated() {
                let stored =
                    index < record.approvals.count && index < record.approvalTaskIds.count
                    ? record.approvals[index] : nil
                if let stored, stored != .pending {
                    kept.append(id)
                    approvals.append(stored)
                    continue
                }
                let task: WorkflowTask
                do {
                    task = try await purview.getWorkflowTask(id, options: options).value
                } catch  where error.status == 404 {
                    continue
                }
                guard task.type == .approval, task.workflowRunId == nil || task.workflowRunId == run.id else {
                    continue
                }
                kept.append(id)
                approvals.append(Self.decision(task))
                if task.approvalDetail?.status.rawValue == "Pending" {
                    pending += (task.approvalDetail?.approvers ?? [:]).filter { $0.value.reply.rawValue == "Pending" }
                        .map(\.key).sorted()
                }
            }
            result.records.append(
                RunRecord(
                    runId: run.id, status: PurviewRunStatus(purview: run.status.rawValue),
                    startTime: run.startTime?.date,
                    endTime: run.endTime?.date ?? run.cancelTime?.date, pendingApprovers: pending, approvals: approvals,
                    approvalTaskIds: kept, polledAt: now))
        }
        return result
    }

    static func decision(_ task: WorkflowTask) -> ApprovalDecision {
        switch task.approvalDetail?.status.rawValue ?? task.status?.rawValue {
        case "Approved": .approved
        case "Rejected": .rejected
        case "Canceled", "Cancelled": .canceled
        default: .pending
        }
    }
}
