/// `timeWindow`: only items started or created within this much time before now.
public enum ListTimeWindow: String, Sendable, Hashable, CaseIterable {
    case oneDay = "1d"
    case sevenDays = "7d"
    case thirtyDays = "30d"
    case ninetyDays = "90d"

    var seconds: Int64 {
        switch self {
        case .oneDay: 86_400
        case .sevenDays: 7 * 86_400
        case .thirtyDays: 30 * 86_400
        case .ninetyDays: 90 * 86_400
        }
    }
}

/// The query of GET /workflowruns.
public struct WorkflowRunListQuery: Sendable, Hashable {
    public enum ViewMode: String, Sendable, Hashable, CaseIterable {
        case admin, mine
    }

    public enum OrderField: String, Sendable, Hashable, CaseIterable {
        case status, requestor, startTime
    }

    public var viewMode: ViewMode?
    public var timeWindow: ListTimeWindow?
    public var orderBy: OrderField = .startTime
    public var descending = true
    /// Run statuses (any case; `Cancelled` means Canceled).
    public var runStatuses: [String] = []
    public var workflowIds: [String] = []
    public var requestors: [String] = []
    public var maxPageSize: Int?
    public var continuationToken: String?

    public init() {}

    /// Reads the query string's parameters: `viewMode`, `timeWindow`, `orderby` (`field asc|desc`),
    /// `runStatuses`, `workflowIds`, `requestors` (comma-joined, or repeated), `maxpagesize`,
    /// `continuationToken`. Others (api-version, ...) are ignored. Names are matched without regard
    /// to case.
    public init(queryItems: [(name: String, value: String)]) throws(EmulatorError) {
        let query = QueryItems(queryItems)
        if let text = query.single("viewMode") {
            viewMode = try query.choice("viewMode", text, ViewMode.allCases)
        }
        timeWindow = try query.timeWindow()
        if let text = query.single("orderby") {
            let (field, descending) = try query.order(text, OrderField.allCases)
            orderBy = field
            self.descending = descending
        }
        runStatuses = try query.list("runStatuses").map { value throws(EmulatorError) in
            guard let status = RunStatus(lenient: value) else {
                throw .invalidParameter("runStatuses", "The run status '\(value)' is not valid.")
            }
            return status.rawValue
        }
        workflowIds = query.list("workflowIds")
        requestors = query.list("requestors")
        maxPageSize = try query.pageSize()
        continuationToken = query.single("continuationToken")
    }
}

/// The query of GET /workflowtasks.
public struct WorkflowTaskListQuery: Sendable, Hashable {
    /// `sent`: tasks the caller requested; `received`: tasks assigned to the caller; `history`: the
    /// caller's tasks that are no longer open; `mine` (and no viewMode): assigned or requested.
    public enum ViewMode: String, Sendable, Hashable, CaseIterable {
        case sent, received, history, mine
    }

    public enum OrderField: String, Sendable, Hashable, CaseIterable {
        case createdTime, requestor
    }

    public var viewMode: ViewMode?
    public var timeWindow: ListTimeWindow?
    public var orderBy: OrderField = .createdTime
    public var descending = true
    /// `approval` / `simpleTask` (any case).
    public var taskTypes: [String] = []
    /// Pending, Approved, Rejected, Canceled, NotStarted, InProgress, Completed (any case).
    public var taskStatuses: [String] = []
    public var requestors: [String] = []
    public var assignees: [String] = []
    public var workflowIds: [String] = []
    public var workflowNameKeyword: String?
    public var maxPageSize: Int?
    public var continuationToken: String?

    public init() {}

    /// Reads `viewMode`, `timeWindow`, `orderby`, `taskTypes`, `taskStatuses`, `requestors`,
    /// `assignees`, `workflowIds`, `workflowNameKeyword`, `maxpagesize`, `continuationToken`.
    public init(queryItems: [(name: String, value: String)]) throws(EmulatorError) {
        let query = QueryItems(queryItems)
        if let text = query.single("viewMode") {
            viewMode = try query.choice("viewMode", text, ViewMode.allCases)
        }
        timeWindow = try query.timeWindow()
        if let text = query.single("orderby") {
            let (field, descending) = try query.order(text, OrderField.allCases)
            orderBy = field
            self.descending = descending
        }
        taskTypes = try query.list("taskTypes").map { value throws(EmulatorError) in
            switch value.lowercased() {
            case "approval": return "approval"
            case "simpletask": return "simpleTask"
            default:
                throw .invalidParameter(
                    "taskTypes", "The task type '\(value)' is not valid; expected approval or simpleTask.")
            }
        }
        let statuses = ["Pending", "Approved", "Rejected", "Canceled", "NotStarted", "InProgress", "Completed"]
        taskStatuses = try query.list("taskStatuses").map { value throws(EmulatorError) in
            let lowered = value.lowercased() == "cancelled" ? "canceled" : value.lowercased()
            guard let match = statuses.first(where: { $0.lowercased() == lowered }) else {
                throw .invalidParameter("taskStatuses", "The task status '\(value)' is not valid.")
            }
            return match
        }
        requestors = query.list("requestors")
        assignees = query.list("assignees")
        workflowIds = query.list("workflowIds")
        workflowNameKeyword = query.single("workflowNameKeyword")
        maxPageSize = try query.pageSize()
        continuationToken = query.single("continuationToken")
    }
}

/// Query string parameters, with the conversions both list queries need.
private struct QueryItems {
    let items: [(name: String, value: String)]

    init(_ items: [(name: String, value: String)]) { self.items = items }

    func values(_ name: String) -> [String] {
        items.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    func single(_ name: String) -> String? {
        values(name).last.map(\.trimmedWhitespace).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Comma-joined or repeated values, blanks dropped.
    func list(_ name: String) -> [String] {
        values(name).flatMap { $0.split(separator: ",") }.map { String($0).trimmedWhitespace }.filter { !$0.isEmpty }
    }

    func choice<T: RawRepresentable>(_ name: String, _ text: String, _ cases: [T]) throws(EmulatorError) -> T
    where T.RawValue == String {
        guard let match = cases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
            let known = cases.map(\.rawValue).joined(separator: ", ")
            throw .invalidParameter(name, "The value '\(text)' of '\(name)' is not valid; expected one of \(known).")
        }
        return match
    }

    func timeWindow() throws(EmulatorError) -> ListTimeWindow? {
        guard let text = single("timeWindow") else { return nil }
        return try choice("timeWindow", text, ListTimeWindow.allCases)
    }

    /// `field`, `field asc` or `field desc`.
    func order<T: RawRepresentable>(_ text: String, _ cases: [T]) throws(EmulatorError) -> (T, Bool)
    where T.RawValue == String {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard (1...2).contains(parts.count) else {
            throw .invalidParameter("orderby", "The value '\(text)' of 'orderby' is not valid.")
        }
        let field = try choice("orderby", parts[0], cases)
        guard parts.count == 2 else { return (field, false) }
        switch parts[1].lowercased() {
        case "asc": return (field, false)
        case "desc": return (field, true)
        default: throw .invalidParameter("orderby", "The order '\(parts[1])' is not valid; expected asc or desc.")
        }
    }

    func pageSize() throws(EmulatorError) -> Int? {
        guard let text = single("maxpagesize") else { return nil }
        guard let size = Int(text), size > 0 else {
            throw .invalidParameter("maxpagesize", "The value '\(text)' of 'maxpagesize' must be a positive integer.")
        }
        return size
    }
}
