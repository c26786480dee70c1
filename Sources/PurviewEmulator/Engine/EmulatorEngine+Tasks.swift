public import PurviewWorkflow

// Tasks: approvals and SimpleTasks, their replies, reassignment, status changes, reminders and expiry.

extension EmulatorEngine {
    /// GET /workflowtasks/{id}: the task with its payload's inner `payload`.
    public mutating func getWorkflowTask(id: String, caller: String) throws(EmulatorError) -> JSONValue {
        tick()
        guard let task = state.tasks[id.lowercased()] else { throw .taskNotFound(id) }
        return render(task, full: true)
    }

    /// GET /workflowtasks. A caller sees the tasks assigned to it or requested by it; viewMode
    /// narrows that (see ``WorkflowTaskListQuery/ViewMode``).
    public mutating func listWorkflowTasks(_ query: WorkflowTaskListQuery, caller: String) throws(EmulatorError)
        -> EmulatorPage
    {
        tick()
        let who = normalizedPrincipal(caller)
        let earliest = query.timeWindow.map { now.adding(seconds: -$0.seconds) }
        let types = Set(query.taskTypes.map { $0.lowercased() })
        let statuses = Set(query.taskStatuses.map { $0.lowercased() })
        let requestors = Set(query.requestors.map(normalizedPrincipal))
        let assignees = Set(query.assignees.map(normalizedPrincipal))
        let workflows = Set(query.workflowIds.map { $0.lowercased() })
        let keyword = query.workflowNameKeyword?.lowercased()
        func matches(_ task: TaskRecord) -> Bool {
            let assigned = task.assignees.contains(who)
            let requested = task.requestor == who
            switch query.viewMode {
            case .sent: if !requested { return false }
            case .received: if !assigned { return false }
            case .history: if !(assigned || requested) || task.isOpen { return false }
            case .mine, nil: if !(assigned || requested) { return false }
            }
            if let earliest, task.createdTime < earliest { return false }
            if !types.isEmpty, !types.contains(task.type.rawValue.lowercased()) { return false }
            if !statuses.isEmpty, !statuses.contains(task.statusText.lowercased()) { return false }
            if !requestors.isEmpty, !requestors.contains(task.requestor) { return false }
            if !assignees.isEmpty, assignees.isDisjoint(with: task.assignees) { return false }
            if !workflows.isEmpty, !workflows.contains(task.workflowId) { return false }
            if let keyword {
                let name = state.workflows[task.workflowId]?.name ?? task.workflowName
                if !name.lowercased().contains(keyword) { return false }
            }
            return true
        }
        if query.orderBy == .createdTime, state.taskOrderIsChronological {
            return try chronologicalPage(query, matches: matches)
        }
        var tasks: [(Int, TaskRecord)] = []
        for (index, id) in state.taskOrder.enumerated() {
            guard let task = state.tasks[id], matches(task) else { continue }
            tasks.append((index, task))
        }
        tasks.sort { lhs, rhs in
            let order: Int
            switch query.orderBy {
            case .createdTime: order = compare(lhs.1.createdTime, rhs.1.createdTime)
            case .requestor: order = compare(lhs.1.requestor, rhs.1.requestor)
            }
            if order != 0 { return query.descending ? order > 0 : order < 0 }
            return query.descending ? lhs.0 > rhs.0 : lhs.0 < rhs.0
        }
        return try page(tasks, maxPageSize: query.maxPageSize, token: query.continuationToken) {
            render($0.1, full: false)
        }
    }

    /// A page of tasks by creation time when `taskOrder` already is that order: walks it from the right end and
    /// stops once the page is full, so the first pages of a large list cost what they hold, not the whole list.
    /// Same items, order and tokens as sorting everything would give.
    private func chronologicalPage(_ query: WorkflowTaskListQuery, matches: (TaskRecord) -> Bool) throws(EmulatorError)
        -> EmulatorPage
    {
        var skip = 0
        if let token = query.continuationToken {
            guard let offset = Int(token), offset >= 0 else {
                throw .invalidParameter("continuationToken", "The continuation token '\(token)' is not valid.")
            }
            skip = offset
        }
        let limit = query.maxPageSize ?? Int.max
        var value: [JSONValue] = []
        var more = false
        let order = state.taskOrder
        var position = query.descending ? order.count - 1 : 0
        while query.descending ? position >= 0 : position < order.count {
            defer { position += query.descending ? -1 : 1 }
            guard let task = state.tasks[order[position]], matches(task) else { continue }
            if skip > 0 {
                skip -= 1
                continue
            }
            if value.count == limit {
                more = true
                break
            }
            value.append(render(task, full: false))
        }
        if skip > 0 {
            throw .invalidParameter(
                "continuationToken", "The continuation token '\(query.continuationToken ?? "")' is not valid.")
        }
        let next = more ? String((Int(query.continuationToken ?? "0") ?? 0) + value.count) : nil
        return EmulatorPage(value: value, continuationToken: next)
    }

    /// POST /workflowtasks/{id}/approve-approval with `{comment?}`.
    public mutating func approveApprovalTask(id: String, body: JSONValue?, caller: String) throws(EmulatorError) {
        try reply(.approved, taskId: id, body: body, caller: caller)
    }

    /// POST /workflowtasks/{id}/reject-approval with `{comment?}`.
    public mutating func rejectApprovalTask(id: String, body: JSONValue?, caller: String) throws(EmulatorError) {
        try reply(.rejected, taskId: id, body: body, caller: caller)
    }

    /// Only an approver may reply, once, while the approval is pending. PendingOnAny: the first reply
    /// decides. PendingOnAll: a rejection decides, otherwise the last approval does.
    private mutating func reply(_ reply: ApproverReply, taskId: String, body: JSONValue?, caller: String)
        throws(EmulatorError)
    {
        tick()
        let comment = try optionalComment(body)
        guard var task = state.tasks[taskId.lowercased()] else { throw .taskNotFound(taskId) }
        guard task.type == .approval, var approval = task.approval else {
            throw EmulatorError(
                .badRequest, code: "Workflow.InvalidTaskType",
                message: "The task '\(task.id)' is a SimpleTask; change its status instead.", target: task.id)
        }
        guard approval.status == .pending else {
            throw .conflict(
                "Workflow.TaskAlreadyCompleted",
                "The approval task '\(task.id)' is already \(approval.status.rawValue).", target: task.id)
        }
        let who = normalizedPrincipal(caller)
        guard let index = approval.approvers.firstIndex(where: { $0.id == who }) else {
            throw .forbidden("The caller is not an approver of task '\(task.id)'.", target: task.id)
        }
        guard approval.approvers[index].reply == .pending else {
            throw .conflict(
                "Workflow.TaskAlreadyReplied",
                "The approver has already replied \(approval.approvers[index].reply.rawValue) to task '\(task.id)'.",
                target: task.id)
        }
        let time = now
        approval.approvers[index].reply = reply
        approval.approvers[index].comment = comment
        approval.approvers[index].responseTime = time
        let outcome: ApprovalStatus?
        if approval.approvalType == "PendingOnAny" || reply == .rejected {
            outcome = reply == .approved ? .approved : .rejected
        } else {
            outcome = approval.approvers.allSatisfy { $0.reply == .approved } ? .approved : nil
        }
        if let outcome { approval.status = outcome }
        task.approval = approval
        task.lastUpdateTime = time
        state.tasks[task.id] = task
        if let outcome {
            finishTaskAction(
                task, status: .succeeded,
                outputs: ["outcome": .string(outcome.rawValue), "taskId": .string(task.id)], failure: nil)
        }
    }

    /// POST /workflowtasks/{id}/reassign with `{reassignments:[{reassignFrom, reassignTo}]}`. The caller
    /// must be an assignee of the open task (or an administrator); each reassignFrom must be a pending
    /// assignee. reassignTo may be an object id or a known email.
    public mutating func reassignWorkflowTask(id: String, body: JSONValue?, caller: String) throws(EmulatorError) {
        tick()
        guard let reassignments = body?["reassignments"]?.arrayValue, !reassignments.isEmpty else {
            throw .invalidRequest("The request must hold a non-empty 'reassignments' array.", target: "reassignments")
        }
        var pairs: [(from: String, to: String)] = []
        for (index, item) in reassignments.enumerated() {
            guard let from = item["reassignFrom"]?.stringValue, let to = item["reassignTo"]?.stringValue else {
                throw .invalidRequest(
                    "Each reassignment needs 'reassignFrom' and 'reassignTo' strings.",
                    target: "reassignments[\(index)]")
            }
            let (resolved, unknown) = resolvePrincipals(.string(to))
            guard unknown.isEmpty, let target = resolved.first else {
                throw .invalidRequest(
                    "The principal '\(to)' is not known.", target: "reassignments[\(index)].reassignTo")
            }
            pairs.append((normalizedPrincipal(from), target))
        }
        guard var task = state.tasks[id.lowercased()] else { throw .taskNotFound(id) }
        guard task.isOpen else {
            throw .conflict(
                "Workflow.TaskAlreadyCompleted", "The task '\(task.id)' is already \(task.statusText).", target: task.id
            )
        }
        let who = normalizedPrincipal(caller)
        guard task.assignees.contains(who) || configuration.isAdministrator(who) else {
            throw .forbidden("Only an assignee of task '\(task.id)' may reassign it.", target: task.id)
        }
        for (from, to) in pairs {
            if var approval = task.approval {
                guard let index = approval.approvers.firstIndex(where: { $0.id == from }) else {
                    throw .invalidRequest("'\(from)' is not an assignee of task '\(task.id)'.", target: "reassignFrom")
                }
                guard approval.approvers[index].reply == .pending else {
                    throw .conflict(
                        "Workflow.TaskAlreadyReplied", "'\(from)' has already replied to task '\(task.id)'.",
                        target: "reassignFrom")
                }
                if approval.approvers.contains(where: { $0.id == to }) {
                    approval.approvers.remove(at: index)
                } else {
                    approval.approvers[index] = Approver(id: to)
                }
                task.approval = approval
            } else if var simple = task.simple {
                guard let index = simple.assignedTo.firstIndex(of: from) else {
                    throw .invalidRequest("'\(from)' is not an assignee of task '\(task.id)'.", target: "reassignFrom")
                }
                if simple.assignedTo.contains(to) {
                    simple.assignedTo.remove(at: index)
                } else {
                    simple.assignedTo[index] = to
                }
                task.simple = simple
            }
        }
        task.lastUpdateTime = now
        state.tasks[task.id] = task
        // A PendingOnAll approval whose only pending approver was merged away may now be decided.
        if let approval = task.approval, approval.approvalType != "PendingOnAny",
            approval.approvers.allSatisfy({ $0.reply == .approved })
        {
            task.approval?.status = .approved
            state.tasks[task.id] = task
            finishTaskAction(
                task, status: .succeeded, outputs: ["outcome": "Approved", "taskId": .string(task.id)], failure: nil)
        }
    }

    /// POST /workflowtasks/{id}/change-task-status with `{newStatus, comment?}`, for SimpleTasks.
    /// Completed lets the run go on; Canceled fails the waiting action (our reading).
    public mutating func changeTaskStatus(id: String, body: JSONValue?, caller: String) throws(EmulatorError) {
        tick()
        guard let text = body?["newStatus"]?.stringValue else {
            throw .invalidRequest("The request must hold 'newStatus'.", target: "newStatus")
        }
        guard let newStatus = SimpleTaskStatus(lenient: text) else {
            throw .invalidRequest(
                "The status '\(text)' is not valid; expected NotStarted, InProgress, Completed or Canceled.",
                target: "newStatus")
        }
        let comment = try optionalComment(body)
        guard var task = state.tasks[id.lowercased()] else { throw .taskNotFound(id) }
        guard task.type == .simpleTask, var simple = task.simple else {
            throw EmulatorError(
                .badRequest, code: "Workflow.InvalidTaskType",
                message: "The task '\(task.id)' is an approval; approve or reject it instead.", target: task.id)
        }
        let who = normalizedPrincipal(caller)
        guard simple.assignedTo.contains(who) || configuration.isAdministrator(who) else {
            throw .forbidden("Only an assignee of task '\(task.id)' may change its status.", target: task.id)
        }
        guard task.isOpen else {
            throw .conflict(
                "Workflow.TaskAlreadyCompleted", "The task '\(task.id)' is already \(simple.status.rawValue).",
                target: task.id)
        }
        let time = now
        simple.changeHistory.append(
            StatusChange(
                previousStatus: simple.status, newStatus: newStatus, changedBy: who, comment: comment, time: time))
        simple.status = newStatus
        task.simple = simple
        task.lastUpdateTime = time
        state.tasks[task.id] = task
        switch newStatus {
        case .completed:
            finishTaskAction(
                task, status: .succeeded, outputs: ["status": "Completed", "taskId": .string(task.id)], failure: nil)
        case .canceled:
            finishTaskAction(
                task, status: .failed, outputs: nil,
                failure: ActionFailure(
                    requestId: newID(), code: "Workflow.TaskCanceled",
                    message: "The task '\(task.title)' (\(task.id)) was canceled by \(who)."))
        case .notStarted, .inProgress:
            break
        }
    }

    // MARK: - Timers

    /// Fires every reminder and expiry due by now, earliest first (an expiry before a reminder at the
    /// same instant), each at its own scheduled time.
    mutating func fireDueTimers() {
        let current = now
        for _ in 0..<10_000 {
            var next: (time: PurviewTimestamp, isReminder: Bool, order: Int, id: String)?
            for (order, id) in state.timedTaskOrder.enumerated() {
                guard let task = state.tasks[id], task.isOpen else { continue }
                var candidates: [(PurviewTimestamp, Bool)] = []
                if let expiry = task.expiry, expiry.expiryTime <= current {
                    candidates.append((expiry.expiryTime, false))
                }
                if let reminder = task.reminder, reminder.nextRemindTime <= current,
                    task.expiry.map({ reminder.nextRemindTime < $0.expiryTime }) ?? true
                {
                    candidates.append((reminder.nextRemindTime, true))
                }
                for (time, isReminder) in candidates {
                    let key = (time, isReminder, order, id)
                    if let best = next,
                        (best.time, best.isReminder ? 1 : 0, best.order) <= (time, isReminder ? 1 : 0, order)
                    {
                        continue
                    }
                    next = key
                }
            }
            guard let next else { return }
            pinnedTime = next.time
            if next.isReminder {
                remind(next.id)
            } else {
                expire(next.id)
            }
            pinnedTime = nil
        }
    }

    private mutating func remind(_ id: String) {
        guard var task = state.tasks[id], var reminder = task.reminder else { return }
        let time = now
        let pending: [String] =
            task.approval.map { $0.approvers.filter { $0.reply == .pending }.map(\.id) } ?? task.assignees
        recordEmail(
            kind: .reminder, recipients: pending, subject: "Reminder: \(task.title)",
            message: "The task '\(task.title)' requested by \(task.requestor) is waiting for your response.",
            runId: task.workflowRunId, taskId: task.id, actionName: task.actionName)
        reminder.lastRemindTime = time
        reminder.nextRemindTime = time.adding(seconds: reminder.frequency.seconds)
        task.reminder = reminder
        state.tasks[id] = task
    }

    private mutating func expire(_ id: String) {
        guard var task = state.tasks[id], var expiry = task.expiry else { return }
        let time = now
        task.approval?.status = .canceled
        task.simple?.status = .canceled
        expiry.lastExpiryNotificationTime = time
        task.expiry = expiry
        task.lastUpdateTime = time
        state.tasks[id] = task
        let period =
            "\(expiry.expireAfter.number) \(expiry.expireAfter.unit.rawValue.lowercased())"
            + (expiry.expireAfter.number == 1 ? "" : "s")
        let message =
            "The task '\(task.title)' (\(task.id)) expired at \(time) after \(period) "
            + "(expirySettings.expireAfter) without a decision."
        if !expiry.notifyOnExpiration.isEmpty {
            recordEmail(
                kind: .expiry, recipients: expiry.notifyOnExpiration, subject: "Expired: \(task.title)",
                message: message, runId: task.workflowRunId, taskId: task.id, actionName: task.actionName)
        }
        finishTaskAction(
            task, status: .failed, outputs: nil,
            failure: ActionFailure(requestId: newID(), code: "Workflow.TaskExpired", message: message))
    }

    // MARK: - Rendering

    func render(_ task: TaskRecord, full: Bool) -> JSONValue {
        var payload: JSONObject = [
            "type": .string(task.operation.type), "targetValue": .string(task.operation.targetValue),
        ]
        if full { payload["payload"] = task.operation.payload }
        var object: JSONObject = [
            "type": .string(task.type.rawValue), "id": .string(task.id), "workflowRunId": .string(task.workflowRunId),
            "workflowId": .string(task.workflowId), "requestor": .string(task.requestor),
            "createdTime": .string(task.createdTime.description),
            "lastUpdateTime": .string(task.lastUpdateTime.description), "payload": .object(payload),
            "title": .string(task.title),
        ]
        if let reminder = task.reminder {
            var info = JSONObject()
            info["lastRemindTime"] = reminder.lastRemindTime.map { .string($0.description) }
            info["nextRemindTime"] = .string(reminder.nextRemindTime.description)
            info["reminderSettings"] = ["reminderFrequency": reminder.frequency.json]
            object["reminderInfo"] = .object(info)
        }
        if let expiry = task.expiry {
            var info = JSONObject()
            info["lastExpiryNotificationTime"] = expiry.lastExpiryNotificationTime.map { .string($0.description) }
            info["nextExpiryNotificationTime"] = .string(expiry.expiryTime.description)
            info["expiryTime"] = .string(expiry.expiryTime.description)
            info["expirySettings"] = [
                "expireAfter": expiry.expireAfter.json,
                "notifyOnExpiration": .array(expiry.notifyOnExpiration.map { .string($0) }),
            ]
            object["expiryInfo"] = .object(info)
        }
        if let approval = task.approval {
            var approvers = JSONObject()
            for approver in approval.approvers {
                var entry: JSONObject = ["reply": .string(approver.reply.rawValue)]
                entry["comment"] = approver.comment.map { .string($0) }
                entry["responseTime"] = approver.responseTime.map { .string($0.description) }
                approvers[approver.id] = .object(entry)
            }
            object["approvalDetail"] = [
                "approvalType": .string(approval.approvalType), "status": .string(approval.status.rawValue),
                "approvers": .object(approvers),
            ]
        }
        if let simple = task.simple {
            object["taskDetail"] = [
                "taskBody": .string(simple.taskBody), "assignedTo": .array(simple.assignedTo.map { .string($0) }),
                "status": .string(simple.status.rawValue), "changeHistory": .array(simple.changeHistory.map(\.json)),
            ]
        }
        return .object(object)
    }
}
