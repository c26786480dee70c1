import PurviewWorkflow
import Synchronization

/// The approval-task listings of one poll round, shared by its refreshes.
///
/// Purview lists tasks by workflow, not by run, so each refreshed run of a workflow would otherwise fetch (and
/// parse) the same list, which grows with every open approval: with thousands of pending requests one poll
/// round re-read megabytes per request. A round fetches each workflow's list once; a later round fetches anew.
final class TaskListingShare: Sendable {
    private typealias Listing = Task<Result<[WorkflowTask], PurviewClientError>, Never>
    private let listings = Mutex<[String: Listing]>([:])

    init() {}

    /// The tasks `fetch` lists for `workflowId`, fetched by the first caller of this round; a failed fetch is
    /// not kept, so the next caller tries again.
    func tasks(
        workflowId: String, fetch: @escaping @Sendable () async throws(PurviewClientError) -> [WorkflowTask]
    ) async throws(PurviewClientError) -> [WorkflowTask] {
        let listing = listings.withLock { listings in
            if let running = listings[workflowId] { return running }
            let started = Listing {
                do throws(PurviewClientError) { return .success(try await fetch()) } catch { return .failure(error) }
            }
            listings[workflowId] = started
            return started
        }
        let result = await listing.value
        if case .failure = result {
            listings.withLock { listings in
                if listings[workflowId] == listing { listings[workflowId] = nil }
            }
        }
        return try result.get()
    }
}
