import FoundationEssentials
import PurviewWorkflow
import Synchronization

/// Settings of ``TaskDiscovery``.
public struct TaskDiscoverySettings: Sendable {
    /// How far behind the newest task already seen a listing reads again, for tasks Purview lists a little late.
    public var overlap: Duration = .seconds(2)
    /// How often the open approvals are listed whole, for any task that showed up later than `overlap`.
    public var fullListingInterval: Duration = .seconds(600)
    /// `maxpagesize` of each listing.
    public var pageSize = 1000
    /// Runs remembered with tasks not yet stored; past this the oldest are forgotten (a pending one is found again
    /// by the next full listing).
    public var capacity = 200_000

    public init() {}
}

/// Which approval tasks belong to which run, learnt from Purview's task listings a little at a time.
///
/// Purview lists tasks by workflow and cannot filter them by run or by time, so a listing of every open approval
/// grows with the backlog (45 MB for 79k open approvals, 1.4 s of the emulator's time). Listings here go newest
/// first and stop where the previous one left off; the first (and then every `fullListingInterval`, open
/// approvals only) reads everything. Once a run's tasks are stored with it, a refresh reads them by id, so the
/// listings only have to find tasks that are new.
///
/// A poll round shares one listing per workflow among its refreshes (`generation`); a listing already started for
/// this round or a later one serves it.
final class TaskDiscovery: Sendable {
    private typealias Listing = Task<Result<Void, PurviewClientError>, Never>

    private struct WorkflowState {
        /// Task ids by run, oldest first, for runs whose refresh has not stored them yet.
        var tasksByRun: [String: [FoundTask]] = [:]
        /// Run ids as they were first found, to forget the oldest past `capacity`.
        var arrival: [String] = []
        var arrivalStart = 0
        var remembered = 0
        /// The newest creation time seen (Purview's clock).
        var newest: Date?
        /// When the last whole listing began (the gateway's clock); nil until one completes.
        var lastFullListing: Date?
        var listedGeneration = -1
        var running: (generation: Int, listing: Listing)?
    }

    struct FoundTask: Sendable, Hashable {
        let id: String
        let createdTime: Date?
    }

    let purview: any PurviewWorkflowAPI
    let settings: TaskDiscoverySettings
    let now: @Sendable () -> Date
    private let workflows = Mutex<[String: WorkflowState]>([:])
    private let generations = Atomic<Int>(0)
    private let listingCount = Atomic<Int>(0)

    init(purview: any PurviewWorkflowAPI, settings: TaskDiscoverySettings, now: @escaping @Sendable () -> Date) {
        self.purview = purview
        self.settings = settings
        self.now = now
    }

    /// A new round: refreshes that pass it share listings started from now on.
    func nextGeneration() -> Int { generations.add(1, ordering: .relaxed).newValue }

    /// Listings made so far (each may be several pages).
    var listings: Int { listingCount.load(ordering: .relaxed) }

    /// Ensures the tasks of `workflowId` were listed in round `generation` or later, unless the listings so far
    /// already cover a run whose latest action started at `lastActivity` (Purview's clock; nil: not known).
    ///
    /// A task is created when its action starts, so a run that has started nothing since the newest task listed
    /// (less the overlap) holds no task the listings missed: refreshing a backlog of old runs lists nothing.
    func discover(workflowId: String, lastActivity: Date?, generation: Int, clientRequestId: String)
        async throws(PurviewClientError)
    {
        let listing: Listing? = workflows.withLock { workflows in
            var state = workflows[workflowId] ?? WorkflowState()
            defer { workflows[workflowId] = state }
            if state.listedGeneration >= generation { return nil }
            if let lastActivity, let newest = state.newest, let lastFull = state.lastFullListing,
                lastActivity < newest.addingTimeInterval(-settings.overlap.seconds),
                now().timeIntervalSince(lastFull) < settings.fullListingInterval.seconds
            {
                return nil
            }
            if let running = state.running, running.generation >= generation { return running.listing }
            let current = max(generation, generations.load(ordering: .relaxed))
            let plan = plan(state)
            let started = Listing { [self] in
                do throws(PurviewClientError) {
                    try await list(
                        workflowId: workflowId, plan: plan, generation: current, clientRequestId: clientRequestId)
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            state.running = (current, started)
            return started
        }
        guard let listing else { return }
        try await listing.value.get()
    }

    /// Task ids found for `runId` that its stored record may not hold yet, oldest first.
    func tasks(runId: String, workflowId: String) -> [String] {
        workflows.withLock { $0[workflowId]?.tasksByRun[runId]?.map(\.id) ?? [] }
    }

    /// Runs remembered for `workflowId` and the length of their arrival list (for tests: both stay bounded).
    func bookkeeping(workflowId: String) -> (remembered: Int, arrival: Int) {
        workflows.withLock {
            (
                $0[workflowId]?.remembered ?? 0,
                ($0[workflowId]?.arrival.count ?? 0) - ($0[workflowId]?.arrivalStart ?? 0)
            )
        }
    }

    /// Forgets `taskIds` of `runId`: they are stored with the run now.
    func stored(runId: String, workflowId: String, taskIds: [String]) {
        workflows.withLock { workflows in
            guard var found = workflows[workflowId]?.tasksByRun[runId] else { return }
            found.removeAll { taskIds.contains($0.id) }
            workflows[workflowId]?.tasksByRun[runId] = found.isEmpty ? nil : found
            if found.isEmpty { workflows[workflowId]?.remembered -= 1 }
        }
    }

    private struct Plan {
        /// Stop at the first page reaching back before this creation time; nil: read every page.
        var since: Date?
        var pendingOnly: Bool
        var startedAt: Date
    }

    private func plan(_ state: WorkflowState) -> Plan {
        let startedAt = now()
        guard let lastFull = state.lastFullListing else {
            return Plan(since: nil, pendingOnly: false, startedAt: startedAt)
        }
        if startedAt.timeIntervalSince(lastFull) >= settings.fullListingInterval.seconds {
            return Plan(since: nil, pendingOnly: true, startedAt: startedAt)
        }
        return Plan(
            since: state.newest.map { $0.addingTimeInterval(-settings.overlap.seconds) }, pendingOnly: false,
            startedAt: startedAt)
    }

    private func list(workflowId: String, plan: Plan, generation: Int, clientRequestId: String)
        async throws(PurviewClientError)
    {
        var query = WorkflowTaskQuery()
        query.viewMode = "sent"
        query.workflowIds = [workflowId]
        query.taskTypes = ["approval"]
        query.orderBy = "createdTime desc"
        query.maxPageSize = settings.pageSize
        if plan.pendingOnly { query.taskStatuses = ["Pending"] }
        var found: [(runId: String, task: FoundTask)] = []
        var newest: Date?
        do throws(PurviewClientError) {
            var pages = purview.listWorkflowTasks(query, options: PurviewCallOptions(clientRequestId: clientRequestId))
                .makeAsyncIterator()
            while let page = try await pages.next() {
                var oldest: Date?
                for task in page.value where task.type == .approval {
                    guard let runId = task.workflowRunId else { continue }
                    let created = task.createdTime?.date
                    found.append((runId, FoundTask(id: task.id, createdTime: created)))
                    if let created {
                        newest = max(newest ?? created, created)
                        oldest = min(oldest ?? created, created)
                    }
                }
                if let since = plan.since, let oldest, oldest < since { break }
            }
        } catch {
            workflows.withLock { workflows in
                if workflows[workflowId]?.running?.generation == generation { workflows[workflowId]?.running = nil }
            }
            throw error
        }
        listingCount.add(1, ordering: .relaxed)
        workflows.withLock { workflows in
            var state = workflows[workflowId] ?? WorkflowState()
            defer { workflows[workflowId] = state }
            for (runId, task) in found.reversed() { remember(task, runId: runId, in: &state) }
            if let newest { state.newest = max(state.newest ?? newest, newest) }
            if plan.since == nil { state.lastFullListing = plan.startedAt }
            state.listedGeneration = max(state.listedGeneration, generation)
            if state.running?.generation == generation { state.running = nil }
        }
    }

    private func remember(_ task: FoundTask, runId: String, in state: inout WorkflowState) {
        if var known = state.tasksByRun[runId] {
            guard !known.contains(where: { $0.id == task.id }) else { return }
            known.append(task)
            known.sort { ($0.createdTime ?? .distantPast) < ($1.createdTime ?? .distantPast) }
            state.tasksByRun[runId] = known
            return
        }
        state.tasksByRun[runId] = [task]
        state.arrival.append(runId)
        state.remembered += 1
        while state.remembered > settings.capacity, state.arrivalStart < state.arrival.count {
            let oldest = state.arrival[state.arrivalStart]
            state.arrivalStart += 1
            if state.tasksByRun.removeValue(forKey: oldest) != nil { state.remembered -= 1 }
        }
        // Runs whose tasks were stored left their place in `arrival`: drop those places once they are most of it.
        if state.arrival.count > 2 * state.remembered + 4096 {
            var seen = Set<String>()
            state.arrival = state.arrival[state.arrivalStart...].filter {
                state.tasksByRun[$0] != nil && seen.insert($0).inserted
            }
            state.arrivalStart = 0
        }
    }
}
