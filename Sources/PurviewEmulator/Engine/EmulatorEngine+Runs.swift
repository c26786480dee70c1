public import PurviewWorkflow

// Runs: starting them, walking the action DAG, cancelling, listing and rendering.
//
// The walk follows Logic Apps rules: within a scope, an action whose `runAfter` predecessors have all
// finished runs when each predecessor's status is among the listed ones, and is Skipped otherwise
// (with everything nested in it). `If` evaluates its expression and runs one branch, skipping the
// other; a container ends Failed when an action inside failed and no sibling runs after that failure.
// The run ends Completed, or Failed on such an unhandled failure at the top level. Approval and Task
// actions stay Running until their task is decided.

extension EmulatorEngine {
    mutating func startRun(
        workflow: WorkflowRecord, trigger: JSONValue, facts: OperationFacts, operation: OperationRecord,
        requestId: String, requestor: String
    ) -> String {
        let id = newID()
        let run = RunRecord(
            id: id, workflowId: workflow.id, workflowName: workflow.name, userRequestId: requestId,
            requestor: requestor, operation: operation, trigger: trigger,
            actionDag: workflow.actionDag ?? ["actions": [:]], runInput: facts.runInput(requestor: requestor),
            startTime: now)
        state.runs[id] = run
        state.runOrder.append(id)
        advanceRun(id)
        return id
    }

    /// Runs every action that can run now, then finishes the run if nothing is left.
    mutating func advanceRun(_ id: String) {
        guard var run = state.runs[id], run.status == .inProgress else { return }
        let root = ActionScope(dag: run.actionDag)
        // Each pass starts or finishes at least one action, so the bound is never reached in practice.
        for _ in 0..<10_000 {
            guard step(root, &run) else { break }
        }
        if isFinished(root, run) {
            run.status = hasUnhandledFailure(root, run) ? .failed : .completed
            run.endTime = now
        }
        state.runs[id] = run
    }

    private mutating func step(_ scope: ActionScope, _ run: inout RunRecord) -> Bool {
        var progressed = false
        for action in scope.actions {
            if let record = run.actions[action.name] {
                guard record.status == .running, action.isContainer else { continue }
                let active = activeScopes(action, record)
                for inner in active {
                    if step(inner, &run) { progressed = true }
                }
                if active.allSatisfy({ isFinished($0, run) }), var done = run.actions[action.name] {
                    done.status = active.contains { hasUnhandledFailure($0, run) } ? .failed : .succeeded
                    done.endTime = now
                    run.setAction(action.name, done)
                    progressed = true
                }
                continue
            }
            var ready = true
            var satisfied = true
            for (predecessor, statuses) in action.runAfter {
                // A predecessor that is not a sibling can never finish: such an action is skipped.
                guard scope.action(named: predecessor) != nil else {
                    satisfied = false
                    continue
                }
                guard let done = run.actions[predecessor], done.status.isFinished else {
                    ready = false
                    break
                }
                if !statuses.contains(where: { $0.lowercased() == done.status.rawValue.lowercased() }) {
                    satisfied = false
                }
            }
            guard ready else { continue }
            if satisfied {
                execute(action, &run)
            } else {
                skip([action], &run)
            }
            progressed = true
        }
        return progressed
    }

    private func activeScopes(_ action: ActionDefinition, _ record: ActionRecord) -> [ActionScope] {
        switch action.type {
        case ActionType.condition:
            guard let branch = record.branch else { return [] }
            return [action.scopes[branch ? 0 : 1]]
        default:
            return action.scopes
        }
    }

    private func isFinished(_ scope: ActionScope, _ run: RunRecord) -> Bool {
        scope.actions.allSatisfy { run.actions[$0.name]?.status.isFinished ?? false }
    }

    private func hasUnhandledFailure(_ scope: ActionScope, _ run: RunRecord) -> Bool {
        scope.actions.contains { action in
            guard let status = run.actions[action.name]?.status, status == .failed || status == .timedOut else {
                return false
            }
            let handled = scope.actions.contains { sibling in
                sibling.runAfter.contains { $0.name == action.name && $0.statuses.contains(status.rawValue) }
            }
            return !handled
        }
    }

    /// Marks actions (and everything nested in them) Skipped.
    private mutating func skip(_ actions: [ActionDefinition], _ run: inout RunRecord) {
        let time = now
        for action in actions.flatMap(\.allActions) where run.actions[action.name] == nil {
            var record = ActionRecord(startTime: time, status: .skipped)
            record.endTime = time
            run.setAction(action.name, record)
        }
    }

    private func evaluationContext(for run: RunRecord) -> EvaluationContext {
        var outputs: [String: JSONValue] = [:]
        for (name, record) in run.actions where record.status == .succeeded {
            if let value = record.outputs { outputs[name] = value }
        }
        return EvaluationContext(runInput: run.runInput, actionOutputs: outputs, now: now)
    }

    private mutating func execute(_ action: ActionDefinition, _ run: inout RunRecord) {
        var record = ActionRecord(startTime: now, status: .running)
        let context = evaluationContext(for: run)
        var parameters = JSONObject()
        if !action.parameters.isEmpty {
            do {
                parameters = try context.evaluateDeep(.object(action.parameters)).objectValue ?? JSONObject()
                record.input = .object(parameters)
            } catch {
                record.input = .object(action.parameters)
                fail(action, &record, &run, code: "Workflow.ExpressionEvaluationFailed", message: error.message)
                return
            }
        }
        switch action.type {
        case ActionType.condition:
            do {
                let result = try context.evaluateCondition(action.json["expression"] ?? .bool(false))
                record.branch = result
                record.outputs = ["expression": .bool(result)]
                run.setAction(action.name, record)
                skip(action.scopes[result ? 1 : 0].actions, &run)
            } catch {
                fail(action, &record, &run, code: "Workflow.ExpressionEvaluationFailed", message: error.message)
            }
        case ActionType.scope:
            run.setAction(action.name, record)
        case ActionType.approval, ActionType.simpleTask:
            startTask(action, parameters, &record, &run)
        case ActionType.email:
            let recipients = Self.flattenedStrings(parameters["emailRecipients"])
            recordEmail(
                kind: .notification, recipients: recipients,
                subject: Self.text(parameters["emailSubject"]), message: Self.text(parameters["emailMessage"]),
                runId: run.id, taskId: nil, actionName: action.name)
            succeed(action, &record, &run, outputs: nil)
        case let type where ActionType.operations.contains(type):
            recordEffect(
                type: type, payload: run.operation.payload, requestId: run.userRequestId, requestor: run.requestor,
                run: run, actionName: action.name)
            succeed(action, &record, &run, outputs: nil)
        default:
            fail(
                action, &record, &run, code: "Workflow.UnsupportedAction",
                message: "The action type '\(action.type)' is not supported by the emulator.")
        }
    }

    private mutating func succeed(
        _ action: ActionDefinition, _ record: inout ActionRecord, _ run: inout RunRecord, outputs: JSONValue?
    ) {
        record.status = .succeeded
        record.endTime = now
        record.outputs = outputs
        run.setAction(action.name, record)
    }

    private mutating func fail(
        _ action: ActionDefinition, _ record: inout ActionRecord, _ run: inout RunRecord, code: String,
        message: String
    ) {
        record.status = .failed
        record.endTime = now
        record.failure = ActionFailure(requestId: newID(), code: code, message: message)
        run.setAction(action.name, record)
        skip(action.scopes.flatMap(\.actions), &run)
    }

    /// Approval -> an approval task; Task -> a SimpleTask. The action then waits (Running).
    private mutating func startTask(
        _ action: ActionDefinition, _ parameters: JSONObject, _ record: inout ActionRecord, _ run: inout RunRecord
    ) {
        let (assignees, unknown) = resolvePrincipals(parameters["assignedTo"])
        guard unknown.isEmpty else {
            fail(
                action, &record, &run, code: "Workflow.UserDataClient.CanNotFindEmailForUsers",
                message: "Users not found: [\(unknown.joined(separator: ", "))]")
            return
        }
        guard !assignees.isEmpty else {
            fail(
                action, &record, &run, code: "Workflow.NoAssignees",
                message: "The action '\(action.name)' has nobody in assignedTo.")
            return
        }
        let time = now
        let isApproval = action.type == ActionType.approval
        var task = TaskRecord(
            id: newID(), type: isApproval ? .approval : .simpleTask,
            title: parameters["title"]?.stringValue ?? action.name, run: run, actionName: action.name,
            createdTime: time)
        if isApproval {
            task.approval = ApprovalState(
                approvalType: parameters["approvalType"]?.stringValue ?? "PendingOnAll", status: .pending,
                approvers: assignees.map { Approver(id: $0) })
        } else {
            task.simple = SimpleTaskState(
                taskBody: Self.text(parameters["taskBody"]), assignedTo: assignees, status: .notStarted,
                changeHistory: [])
        }
        if let frequency = parameters["reminderSettings"]?["interval"].flatMap(SettingsDuration.init) {
            task.reminder = ReminderState(frequency: frequency, nextRemindTime: time.adding(seconds: frequency.seconds))
        }
        if let settings = parameters["expirySettings"],
            let period = settings["expireAfter"].flatMap(SettingsDuration.init)
        {
            task.expiry = ExpiryState(
                expireAfter: period, expiryTime: time.adding(seconds: period.seconds),
                notifyOnExpiration: Self.flattenedStrings(settings["notifyOnExpiration"]))
        }
        state.appendTask(task)
        if task.hasTimers { state.timedTaskOrder.append(task.id) }
        record.taskId = task.id
        run.setAction(action.name, record)
    }

    /// Resolves `assignedTo` entries (already evaluated) to object ids: GUIDs as they are, emails
    /// through the principal directory. Returns the entries that resolve to nobody separately.
    func resolvePrincipals(_ value: JSONValue?) -> (ids: [String], unknown: [String]) {
        var ids: [String] = []
        var unknown: [String] = []
        for entry in Self.flattenedStrings(value) {
            if isUUID(entry) {
                // The live service fails an approval naming an object id it cannot find in the
                // directory; unless the directory is authoritative, every id is taken as given.
                let id = normalizedPrincipal(entry)
                if !configuration.requireKnownPrincipals
                    || configuration.principals.contains(where: { normalizedPrincipal($0.objectId) == id })
                {
                    ids.appendUnique(id)
                } else {
                    unknown.append(entry)
                }
            } else if let principal = configuration.principal(email: entry) {
                ids.appendUnique(normalizedPrincipal(principal.objectId))
            } else {
                unknown.append(entry)
            }
        }
        return (ids, unknown)
    }

    /// Strings of a recipients-like value: arrays flattened, `;`-separated lists split, blanks dropped.
    static func flattenedStrings(_ value: JSONValue?) -> [String] {
        switch value {
        case .string(let text):
            return text.split(separator: ";").map { String($0).trimmedWhitespace }.filter { !$0.isEmpty }
        case .array(let items):
            return items.flatMap { flattenedStrings($0) }
        default:
            return []
        }
    }

    static func text(_ value: JSONValue?) -> String {
        guard let value else { return "" }
        return EvaluationContext.interpolationText(value)
    }

    /// Ends the waiting action of a task (decided, completed, canceled or expired) and moves its run on.
    mutating func finishTaskAction(
        _ task: TaskRecord, status: ActionStatus, outputs: JSONValue?, failure: ActionFailure?
    ) {
        guard var run = state.runs[task.workflowRunId], run.status == .inProgress,
            var record = run.actions[task.actionName], record.status == .running
        else { return }
        record.status = status
        record.endTime = now
        record.outputs = outputs
        record.failure = failure
        run.setAction(task.actionName, record)
        state.runs[run.id] = run
        advanceRun(run.id)
    }

    // MARK: - API

    /// GET /workflowruns/{id}: the run with runPayload.payload, actionDag and detail.
    public mutating func getWorkflowRun(id: String, caller: String) throws(EmulatorError) -> JSONValue {
        tick()
        guard let run = state.runs[id.lowercased()] else { throw .runNotFound(id) }
        return render(run, full: true)
    }

    /// POST /workflowruns/{id}/cancel with `{comment?}`. The run's requestor or an administrator may;
    /// open tasks of the run are canceled, running actions end Canceled, the run ends Canceled.
    public mutating func cancelWorkflowRun(id: String, body: JSONValue?, caller: String) throws(EmulatorError) {
        tick()
        let comment = try optionalComment(body)
        guard var run = state.runs[id.lowercased()] else { throw .runNotFound(id) }
        let who = normalizedPrincipal(caller)
        guard who == run.requestor || configuration.isAdministrator(who) else {
            throw .forbidden("Only the requestor of workflow run '\(run.id)' or an administrator may cancel it.")
        }
        guard !run.status.isFinished else {
            throw .conflict(
                "Workflow.WorkflowRunAlreadyCompleted",
                "The workflow run '\(run.id)' has already finished with status \(run.status.rawValue).", target: run.id)
        }
        let time = now
        run.status = .canceled
        run.cancelTime = time
        run.endTime = time
        run.cancelComment = comment
        for name in run.actionOrder {
            guard var record = run.actions[name], record.status == .running else { continue }
            record.status = .canceled
            record.endTime = time
            run.setAction(name, record)
        }
        state.runs[run.id] = run
        for taskId in state.taskOrder {
            guard var task = state.tasks[taskId], task.workflowRunId == run.id, task.isOpen else { continue }
            task.approval?.status = .canceled
            if let previous = task.simple?.status {
                task.simple?.status = .canceled
                task.simple?.changeHistory.append(
                    StatusChange(
                        previousStatus: previous, newStatus: .canceled, changedBy: who, comment: comment, time: time))
            }
            task.lastUpdateTime = time
            state.tasks[taskId] = task
        }
    }

    /// GET /workflowruns with filters, ordering and paging. `viewMode=admin` (administrators only)
    /// lists every run, `mine` the caller's; without viewMode administrators see all, others theirs.
    public mutating func listWorkflowRuns(_ query: WorkflowRunListQuery, caller: String) throws(EmulatorError)
        -> EmulatorPage
    {
        tick()
        let who = normalizedPrincipal(caller)
        let isAdministrator = configuration.isAdministrator(who)
        let mode = query.viewMode ?? (isAdministrator ? .admin : .mine)
        if mode == .admin, !isAdministrator {
            throw .forbidden("Only administrators may list workflow runs with viewMode=admin.", target: "viewMode")
        }
        let earliest = query.timeWindow.map { now.adding(seconds: -$0.seconds) }
        let statuses = Set(query.runStatuses.map { $0.lowercased() })
        let workflows = Set(query.workflowIds.map { $0.lowercased() })
        let requestors = Set(query.requestors.map(normalizedPrincipal))
        var runs: [(Int, RunRecord)] = []
        for (index, id) in state.runOrder.enumerated() {
            guard let run = state.runs[id] else { continue }
            if mode == .mine, run.requestor != who { continue }
            if let earliest, run.startTime < earliest { continue }
            if !statuses.isEmpty, !statuses.contains(run.status.rawValue.lowercased()) { continue }
            if !workflows.isEmpty, !workflows.contains(run.workflowId) { continue }
            if !requestors.isEmpty, !requestors.contains(run.requestor) { continue }
            runs.append((index, run))
        }
        runs.sort { lhs, rhs in
            let order: Int
            switch query.orderBy {
            case .status: order = compare(lhs.1.status.rawValue, rhs.1.status.rawValue)
            case .requestor: order = compare(lhs.1.requestor, rhs.1.requestor)
            case .startTime: order = compare(lhs.1.startTime, rhs.1.startTime)
            }
            if order != 0 { return query.descending ? order > 0 : order < 0 }
            return query.descending ? lhs.0 > rhs.0 : lhs.0 < rhs.0
        }
        return try page(runs, maxPageSize: query.maxPageSize, token: query.continuationToken) {
            render($0.1, full: false)
        }
    }

    func render(_ run: RunRecord, full: Bool) -> JSONValue {
        var object: JSONObject = [
            "id": .string(run.id), "workflowId": .string(run.workflowId),
            "startTime": .string(run.startTime.description), "requestor": .string(run.requestor),
        ]
        // The live service's get form has no userRequestId; its list form has.
        if !full { object["userRequestId"] = .string(run.userRequestId) }
        var payload: JSONObject = [
            "type": .string(run.operation.type), "targetValue": .string(run.operation.targetValue),
        ]
        if full { payload["payload"] = run.operation.payload }
        object["runPayload"] = .object(payload)
        object["status"] = .string(run.status.rawValue)
        object["endTime"] = run.endTime.map { .string($0.description) }
        object["cancelTime"] = run.cancelTime.map { .string($0.description) }
        object["cancelComment"] = run.cancelComment.map { .string($0) }
        guard full else { return .object(object) }
        object["actionDag"] = ActionDagForm.modernized(run.actionDag)
        var actions = JSONObject()
        for name in run.actionOrder {
            guard let record = run.actions[name] else { continue }
            var entry: JSONObject = ["startTime": .string(record.startTime.description)]
            entry["endTime"] = record.endTime.map { .string($0.description) }
            entry["status"] = .string(record.status.rawValue)
            if let failure = record.failure {
                entry["output"] = ["type": "inlined", "error": failure.json]
            } else if let outputs = record.outputs {
                entry["output"] = ["type": "inlined", "outputs": outputs]
            }
            if let input = record.input { entry["input"] = ["type": "inlined", "parameters": input] }
            actions[name] = .object(entry)
        }
        object["detail"] = ["trigger": run.trigger, "runInput": run.runInput, "actions": .object(actions)]
        return .object(object)
    }

    func optionalComment(_ body: JSONValue?) throws(EmulatorError) -> String? {
        guard let body, !body.isNull else { return nil }
        guard let object = body.objectValue else { throw .invalidRequest("The request body must be a JSON object.") }
        guard let value = object["comment"], !value.isNull else { return nil }
        guard let text = value.stringValue else {
            throw .invalidRequest("The 'comment' must be a string.", target: "comment")
        }
        return text
    }

    /// Cuts one page of `items`, rendering only the items on it; the token is the offset of the next page.
    func page<Item>(_ items: [Item], maxPageSize: Int?, token: String?, render: (Item) -> JSONValue)
        throws(EmulatorError)
        -> EmulatorPage
    {
        var start = 0
        if let token {
            guard let offset = Int(token), offset >= 0, offset <= items.count else {
                throw .invalidParameter("continuationToken", "The continuation token '\(token)' is not valid.")
            }
            start = offset
        }
        guard let maxPageSize, maxPageSize < items.count - start else {
            return EmulatorPage(value: items[start...].map(render))
        }
        let end = start + maxPageSize
        return EmulatorPage(value: items[start..<end].map(render), continuationToken: String(end))
    }
}

func compare<T: Comparable>(_ lhs: T, _ rhs: T) -> Int { lhs < rhs ? -1 : (lhs > rhs ? 1 : 0) }

extension String {
    var trimmedWhitespace: String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
