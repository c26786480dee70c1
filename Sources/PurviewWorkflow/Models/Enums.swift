// The string enumerations of the Workflow API. Each keeps unknown values (see `WireEnum`).

/// The status of a workflow run, and of a user request.
public struct RunStatus: WireEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = RunStatus.spellings.canonical(rawValue) }

    public static let notStarted = RunStatus(rawValue: "NotStarted")
    public static let inProgress = RunStatus(rawValue: "InProgress")
    public static let failed = RunStatus(rawValue: "Failed")
    public static let completed = RunStatus(rawValue: "Completed")
    public static let canceling = RunStatus(rawValue: "Canceling")
    public static let cancellationFailed = RunStatus(rawValue: "CancellationFailed")
    /// Spelled `Canceled` by the service; the seed's `Cancelled` decodes to this.
    public static let canceled = RunStatus(rawValue: "Canceled")

    static let spellings = WireSpellings(
        ["NotStarted", "InProgress", "Failed", "Completed", "Canceling", "CancellationFailed", "Canceled"],
        aliases: ["Cancelled": "Canceled", "Cancelling": "Canceling", "CancelationFailed": "CancellationFailed"])
    public static var knownValues: [RunStatus] { spellings.known.map(RunStatus.init(rawValue:)) }

    /// Whether the run has ended for good: `Completed`, `Failed` or `Canceled`. `CancellationFailed` is
    /// not terminal: the run goes on.
    public var isTerminal: Bool { self == .completed || self == .failed || self == .canceled }
}

/// A user request's status uses the run vocabulary.
public typealias UserRequestStatus = RunStatus

/// What a workflow trigger reacts to.
public struct TriggerType: WireEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = TriggerType.spellings.canonical(rawValue) }

    public static let whenTermCreationIsRequested = TriggerType(rawValue: "when_term_creation_is_requested")
    public static let whenTermUpdateIsRequested = TriggerType(rawValue: "when_term_update_is_requested")
    public static let whenTermDeletionIsRequested = TriggerType(rawValue: "when_term_deletion_is_requested")
    public static let whenTermsImportIsRequested = TriggerType(rawValue: "when_terms_import_is_requested")
    public static let whenAssetUpdateIsRequested = TriggerType(rawValue: "when_asset_update_is_requested")
    public static let whenDataAccessGrantIsRequested = TriggerType(rawValue: "when_data_access_grant_is_requested")

    static let spellings = WireSpellings([
        "when_term_creation_is_requested", "when_term_update_is_requested", "when_term_deletion_is_requested",
        "when_terms_import_is_requested", "when_asset_update_is_requested", "when_data_access_grant_is_requested",
    ])
    public static var knownValues: [TriggerType] { spellings.known.map(TriggerType.init(rawValue:)) }

    /// The operation that fires this trigger (inferred from the names; the spec does not state it).
    public var operationType: OperationType? {
        OperationType.knownValues.first { $0.triggerType == self }
    }
}

/// The kind of a user-request operation.
public struct OperationType: WireEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = OperationType.spellings.canonical(rawValue) }

    public static let createTerm = OperationType(rawValue: "CreateTerm")
    public static let updateTerm = OperationType(rawValue: "UpdateTerm")
    public static let deleteTerm = OperationType(rawValue: "DeleteTerm")
    public static let importTerms = OperationType(rawValue: "ImportTerms")
    public static let updateAsset = OperationType(rawValue: "UpdateAsset")
    public static let grantDataAccess = OperationType(rawValue: "GrantDataAccess")

    static let spellings = WireSpellings([
        "CreateTerm", "UpdateTerm", "DeleteTerm", "ImportTerms", "UpdateAsset", "GrantDataAccess",
    ])
    public static var knownValues: [OperationType] { spellings.known.map(OperationType.init(rawValue:)) }

    /// The trigger type this operation fires (inferred from the names; the spec does not state it).
    public var triggerType: TriggerType? {
        switch self {
        case .createTerm: return .whenTermCreationIsRequested
        case .updateTerm: return .whenTermUpdateIsRequested
        case .deleteTerm: return .whenTermDeletionIsRequested
        case .importTerms: return .whenTermsImportIsRequested
        case .updateAsset: return .whenAssetUpdateIsRequested
        case .grantDataAccess: return .whenDataAccessGrantIsRequested
        default: return nil
        }
    }
}

/// The undocumented `type` the service has returned on workflows since 2023.
public struct WorkflowType: WireEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = WorkflowType.spellings.canonical(rawValue) }

    public static let userManaged = WorkflowType(rawValue: "UserManaged")

    static let spellings = WireSpellings(["UserManaged"])
    public static var knownValues: [WorkflowType] { spellings.known.map(WorkflowType.init(rawValue:)) }
}

/// The discriminator of a workflow task. (List filters spell these `approval` and `simpleTask`; both
/// spellings decode to the same value.)
public struct TaskType: WireEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = TaskType.spellings.canonical(rawValue) }

    public static let approval = TaskType(rawValue: "Approval")
    public static let simpleTask = TaskType(rawValue: "SimpleTask")

    static let spellings = WireSpellings(["Approval", "SimpleTask"])
    public static var knownValues: [TaskType] { spellings.known.map(TaskType.init(rawValue:)) }
}

/// Whether one approver's reply settles an approval, or every approver must approve.
public struct ApprovalType: WireEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = ApprovalType.spellings.canonical(rawValue) }

    public static let pendingOnAny = ApprovalType(rawValue: "PendingOnAny")
    public static let pendingOnAll = ApprovalType(rawValue: "PendingOnAll")

    static let spellings = WireSpellings(["PendingOnAny", "PendingOnAll"])
    public static var knownValues: [ApprovalType] { spellings.known.map(ApprovalType.init(rawValue:)) }
}

/// The status of a task: approvals use Pending/Approved/Rejected/Canceled, simple tasks
/// NotStarted/InProgress/Completed/Canceled; list filters accept all of them. Also the `newStatus` of a
/// status change and the seed's top-level task `status` (`Cancelled` decodes as `.canceled`).
public struct TaskStatus: WireEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = TaskStatus.spellings.canonical(rawValue) }

    public static let pending = TaskStatus(rawValue: "Pending")
    public static let approved = TaskStatus(rawValue: "Approved")
    public static let rejected = TaskStatus(rawValue: "Rejected")
    public static let canceled = TaskStatus(rawValue: "Canceled")
    public static let notStarted = TaskStatus(rawValue: "NotStarted")
    public static let inProgress = TaskStatus(rawValue: "InProgress")
    public static let completed = TaskStatus(rawValue: "Completed")

    static let spellings = WireSpellings(
        ["Pending", "Approved", "Rejected", "Canceled", "NotStarted", "InProgress", "Completed"],
        aliases: ["Cancelled": "Canceled"])
    public static var knownValues: [TaskStatus] { spellings.known.map(TaskStatus.init(rawValue:)) }
}

/// One approver's answer on an approval task.
public struct ApprovalReply: WireEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = ApprovalReply.spellings.canonical(rawValue) }

    public static let approved = ApprovalReply(rawValue: "Approved")
    public static let rejected = ApprovalReply(rawValue: "Rejected")
    public static let pending = ApprovalReply(rawValue: "Pending")

    static let spellings = WireSpellings(["Approved", "Rejected", "Pending"])
    public static var knownValues: [ApprovalReply] { spellings.known.map(ApprovalReply.init(rawValue:)) }
}

/// The status of one action in a run's detail. Live data shows Running, Failed and Skipped; `Succeeded`
/// is the value `runAfter` waits for; TimedOut and Canceled complete the Logic Apps-style vocabulary.
public struct ActionStatus: WireEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = ActionStatus.spellings.canonical(rawValue) }

    public static let running = ActionStatus(rawValue: "Running")
    public static let succeeded = ActionStatus(rawValue: "Succeeded")
    public static let failed = ActionStatus(rawValue: "Failed")
    public static let skipped = ActionStatus(rawValue: "Skipped")
    public static let timedOut = ActionStatus(rawValue: "TimedOut")
    public static let canceled = ActionStatus(rawValue: "Canceled")

    static let spellings = WireSpellings(
        ["Running", "Succeeded", "Failed", "Skipped", "TimedOut", "Canceled"], aliases: ["Cancelled": "Canceled"])
    public static var knownValues: [ActionStatus] { spellings.known.map(ActionStatus.init(rawValue:)) }
}

/// How serious a validation finding is; the service writes these in lower case.
public struct ValidationSeverity: WireEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = ValidationSeverity.spellings.canonical(rawValue) }

    public static let error = ValidationSeverity(rawValue: "error")
    public static let warning = ValidationSeverity(rawValue: "warning")

    static let spellings = WireSpellings(["error", "warning"])
    public static var knownValues: [ValidationSeverity] { spellings.known.map(ValidationSeverity.init(rawValue:)) }
}

/// Where a validation finding is: the workflow, an action, or one parameter of an action.
public struct ValidationLocationType: WireEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = ValidationLocationType.spellings.canonical(rawValue) }

    public static let workflow = ValidationLocationType(rawValue: "workflow")
    public static let action = ValidationLocationType(rawValue: "action")
    public static let actionParameter = ValidationLocationType(rawValue: "actionParameter")

    static let spellings = WireSpellings(["workflow", "action", "actionParameter"])
    public static var knownValues: [ValidationLocationType] {
        spellings.known.map(ValidationLocationType.init(rawValue:))
    }
}
