import FoundationEssentials
import Networking
import PurviewWorkflow
import Synchronization

@testable import GatewayCore

/// A Purview double for the forwarder and poller: scripted submit outcomes, runs and tasks in memory,
/// and a count of every submission (to prove nothing is sent twice).
final class FakePurview: PurviewWorkflowAPI {
    enum SubmitBehaviour: Sendable {
        case accept(runs: Int)
        case fail(PurviewClientError)
        /// Purview starts the runs but the answer is lost (timeout after sending).
        case acceptButLoseAnswer(runs: Int)
    }

    struct State {
        var behaviours: [SubmitBehaviour] = []
        var submissions: [UserRequestPayload] = []
        var runs: [String: WorkflowRun] = [:]
        var runOrder: [String] = []
        var tasks: [WorkflowTask] = []
        var cancelled: [String] = []
        /// While true, listing runs fails as if Purview were unreachable.
        var listUnreachable = false
        /// `GET /workflowruns/{id}` calls.
        var runReads = 0
        /// While true, submissions wait (as on a slow network) until `releaseHeldSubmissions()`.
        var holdSubmissions = false
        var held: [CheckedContinuation<Void, Never>] = []
        /// Submissions that have reached Purview and not yet been answered.
        var submissionsInProgress = 0
        /// `GET /workflowtasks` listings (pages fetched).
        var taskListings = 0
        /// The queries of those listings.
        var taskQueries: [WorkflowTaskQuery] = []
        /// `GET /workflowtasks/{id}` calls.
        var taskReads = 0
    }

    let state = Mutex(State())
    let workflowId = "4afb5752-e47f-43a1-8ba7-c696bf8d2745"

    func script(_ behaviours: SubmitBehaviour...) { state.withLock { $0.behaviours += behaviours } }
    var submissionCount: Int { state.withLock { $0.submissions.count } }

    static func error(
        _ kind: PurviewClientError.Kind, status: Int? = nil, code: String = "E", retryAfter: Duration? = nil
    ) -> PurviewClientError {
        PurviewClientError(
            kind: kind, status: status, code: code, message: "scripted \(code)", serviceError: nil,
            clientRequestId: "c", serviceRequestId: nil, retryAfter: retryAfter)
    }

    /// Answers every held submission and stops holding new ones.
    func releaseHeldSubmissions() {
        let held = state.withLock { state in
            state.holdSubmissions = false
            defer { state.held = [] }
            return state.held
        }
        for continuation in held { continuation.resume() }
    }

    func submitUserRequest(_ payload: UserRequestPayload, options: PurviewCallOptions) async throws(PurviewClientError)
        -> PurviewResponse<UserRequestResponse>
    {
        state.withLock { $0.submissionsInProgress += 1 }
        defer { state.withLock { $0.submissionsInProgress -= 1 } }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let wait = state.withLock { state in
                if state.holdSubmissions { state.held.append(continuation) }
                return state.holdSubmissions
            }
            if !wait { continuation.resume() }
        }
        let result: Result<UserRequestResponse, PurviewClientError> = state.withLock { state in
            state.submissions.append(payload)
            let behaviour = state.behaviours.isEmpty ? .accept(runs: 1) : state.behaviours.removeFirst()
            func start(_ count: Int) -> [String] {
                (0..<count).map { _ in
                    let id = UUID().uuidString.lowercased()
                    let operation = payload.operations[0]
                    state.runs[id] = WorkflowRun(
                        id: id, workflowId: workflowId, startTime: PurviewTimestamp(Date()), requestor: "gateway",
                        userRequestId: "ur-\(id.prefix(4))",
                        runPayload: RunPayload(
                            type: operation.type, targetValue: Self.targetValue(operation.payload ?? .null),
                            payload: operation.payload),
                        status: .inProgress)
                    state.runOrder.insert(id, at: 0)
                    return id
                }
            }
            switch behaviour {
            case .accept(let runs):
                let ids = start(runs)
                return .success(
                    UserRequestResponse(
                        requestId: "ur-1", requestor: "gateway",
                        operations: [
                            UserRequestOperation(
                                type: payload.operations[0].type, payload: payload.operations[0].payload,
                                workflowRunIds: ids)
                        ], comment: payload.comment, status: ids.isEmpty ? .completed : .inProgress))
            case .fail(let error):
                return .failure(error)
            case .acceptButLoseAnswer(let runs):
                _ = start(runs)
                return .failure(Self.error(.ambiguous, code: "request_timeout"))
            }
        }
        return PurviewResponse(
            value: try result.get(), status: 200, clientRequestId: options.clientRequestId ?? "",
            serviceRequestId: "svc")
    }

    /// Purview's `targetValue`: the term's name (for other operations the fake leaves it empty).
    static func targetValue(_ payload: JSONValue) -> String { payload["glossaryTerm"]?["name"]?.stringValue ?? "" }

    func getWorkflowRun(_ id: String, options: PurviewCallOptions) async throws(PurviewClientError) -> PurviewResponse<
        WorkflowRun
    > {
        state.withLock { $0.runReads += 1 }
        guard let run = state.withLock({ $0.runs[id] }) else {
            throw Self.error(.service, status: 404, code: "NotFound")
        }
        return PurviewResponse(value: run, status: 200, clientRequestId: "", serviceRequestId: nil)
    }

    func cancelWorkflowRun(_ id: String, comment: String?, options: PurviewCallOptions) async throws(PurviewClientError)
        -> PurviewResponse<Void>
    {
        state.withLock {
            $0.cancelled.append(id)
            $0.runs[id]?.status = .canceled
        }
        return PurviewResponse(value: (), status: 200, clientRequestId: "", serviceRequestId: nil)
    }

    func listWorkflowRuns(_ query: WorkflowRunQuery, options: PurviewCallOptions) -> PurviewPages<WorkflowRun> {
        // As Purview's list: runPayload without its payload (only the full run has it).
        let (runs, unreachable) = state.withLock { state in
            (
                state.runOrder.compactMap { state.runs[$0] }.map { run in
                    var listed = run
                    listed.runPayload?.payload = nil
                    return listed
                }, state.listUnreachable
            )
        }
        return PurviewPages(first: HTTPURLForTests.url) { _ async throws(PurviewClientError) in
            if unreachable { throw Self.error(.unreachable, code: "connect_failed") }
            return Page(value: runs)
        } resolve: { _ in
            nil
        }
    }

    /// Newest first, one page of `maxPageSize` at a time (the whole list without it), with the filters the poller
    /// sends (type, status); nextLink carries the offset.
    func listWorkflowTasks(_ query: WorkflowTaskQuery, options: PurviewCallOptions) -> PurviewPages<WorkflowTask> {
        PurviewPages(first: HTTPURLForTests.url) { url async throws(PurviewClientError) in
            let tasks = self.state.withLock { state in
                state.taskListings += 1
                state.taskQueries.append(query)
                return state.tasks.reversed().filter { task in
                    (query.taskStatuses.isEmpty
                        || query.taskStatuses.contains(task.approvalDetail?.status.rawValue ?? ""))
                        && (query.taskTypes.isEmpty
                            || query.taskTypes.contains(task.type == .approval ? "approval" : "simpleTask"))
                }
            }
            let offset = Int(url.pathAndQuery.split(separator: "=").last ?? "") ?? 0
            let size = query.maxPageSize ?? tasks.count
            let end = min(tasks.count, offset + size)
            let next = end < tasks.count ? "https://fake.purview.test/next?offset=\(end)" : nil
            return Page(value: Array(tasks[offset..<end]), nextLink: next)
        } resolve: {
            HTTPURL($0)
        }
    }

    func getWorkflowTask(_ id: String, options: PurviewCallOptions) async throws(PurviewClientError) -> PurviewResponse<
        WorkflowTask
    > {
        let task = state.withLock { state in
            state.taskReads += 1
            return state.tasks.first { $0.id == id }
        }
        guard let task else { throw Self.error(.service, status: 404, code: "Workflow.TaskNotFound") }
        return PurviewResponse(value: task, status: 200, clientRequestId: "", serviceRequestId: nil)
    }

    /// Moves a run along as Purview would, with one approval task in the given state.
    func settle(run id: String, status: RunStatus, approval: String, approvers: [String: String]) {
        state.withLock { state in
            state.runs[id]?.status = status
            let detail = ApprovalDetail(
                approvalType: .pendingOnAny, status: TaskStatus(rawValue: approval),
                approvers: approvers.mapValues { ApproverResponse(reply: ApprovalReply(rawValue: $0)) })
            // The run's task keeps its id as it moves along, as Purview's do; a run without one gets a new task.
            if let index = state.tasks.firstIndex(where: { $0.workflowRunId == id }) {
                state.tasks[index].approvalDetail = detail
            } else {
                state.tasks.append(
                    WorkflowTask(
                        type: .approval, id: UUID().uuidString, workflowRunId: id, workflowId: workflowId,
                        createdTime: PurviewTimestamp(Date()), approvalDetail: detail))
            }
        }
    }
}

enum HTTPURLForTests {
    static let url = HTTPURL("https://fake.purview.test")!
}
