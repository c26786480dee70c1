/// A workflow definition as the service returns it (`GET`/`PUT /workflows/{id}`; list items lack
/// `actionDag`).
public struct Workflow: Codable, Sendable, Hashable {
    public var id: String
    /// Undocumented; `UserManaged` since 2023.
    public var type: WorkflowType?
    public var triggers: [WorkflowTrigger]
    public var createdTime: PurviewTimestamp?
    public var createdBy: String?
    public var lastUpdateTime: PurviewTimestamp?
    public var updatedBy: String?
    public var name: String
    public var isEnabled: Bool
    /// Required by the service but may be empty.
    public var description: String
    /// The action graph, `{"actions":{<name>:{type, inputs, runAfter, ...}}}`; absent in lists.
    public var actionDag: JSONValue?

    public init(
        id: String, type: WorkflowType? = nil, triggers: [WorkflowTrigger], createdTime: PurviewTimestamp? = nil,
        createdBy: String? = nil, lastUpdateTime: PurviewTimestamp? = nil, updatedBy: String? = nil, name: String,
        isEnabled: Bool, description: String = "", actionDag: JSONValue? = nil
    ) {
        self.id = id
        self.type = type
        self.triggers = triggers
        self.createdTime = createdTime
        self.createdBy = createdBy
        self.lastUpdateTime = lastUpdateTime
        self.updatedBy = updatedBy
        self.name = name
        self.isEnabled = isEnabled
        self.description = description
        self.actionDag = actionDag
    }

    /// A workflow made from a create-or-replace command plus the server-side fields.
    public init(
        id: String, command: WorkflowCreateOrUpdateCommand, type: WorkflowType? = .userManaged,
        createdTime: PurviewTimestamp? = nil, createdBy: String? = nil, lastUpdateTime: PurviewTimestamp? = nil,
        updatedBy: String? = nil
    ) {
        self.init(
            id: id, type: type, triggers: command.triggers, createdTime: createdTime, createdBy: createdBy,
            lastUpdateTime: lastUpdateTime, updatedBy: updatedBy, name: command.name, isEnabled: command.isEnabled,
            description: command.description, actionDag: command.actionDag)
    }

    /// The command that would re-create this workflow.
    public var command: WorkflowCreateOrUpdateCommand {
        WorkflowCreateOrUpdateCommand(
            name: name, description: description, triggers: triggers, isEnabled: isEnabled, actionDag: actionDag)
    }

    private enum CodingKeys: String, CodingKey {
        case id, type, triggers, createdTime, createdBy, lastUpdateTime, updatedBy, name, isEnabled, description
        case actionDag
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        type = try container.decodeIfPresent(WorkflowType.self, forKey: .type)
        triggers = try container.decode(.triggers, or: [])
        createdTime = try container.decodeIfPresent(PurviewTimestamp.self, forKey: .createdTime)
        createdBy = try container.decodeIfPresent(String.self, forKey: .createdBy)
        lastUpdateTime = try container.decodeIfPresent(PurviewTimestamp.self, forKey: .lastUpdateTime)
        updatedBy = try container.decodeIfPresent(String.self, forKey: .updatedBy)
        name = try container.decode(String.self, forKey: .name)
        isEnabled = try container.decode(Bool.self, forKey: .isEnabled)
        description = try container.decode(.description, or: "")
        actionDag = try container.decodeIfPresent(JSONValue.self, forKey: .actionDag)
    }
}

/// A workflow list item: the same shape without `actionDag`.
public typealias WorkflowMetadata = Workflow

/// The body of `PUT /workflows/{id}` and `POST /workflows/{id}/validate`. Decoding requires `name`,
/// `description`, `isEnabled` and `triggers`, as the service does.
public struct WorkflowCreateOrUpdateCommand: Codable, Sendable, Hashable {
    public var name: String
    public var description: String
    public var triggers: [WorkflowTrigger]
    public var isEnabled: Bool
    public var actionDag: JSONValue?

    public init(
        name: String, description: String = "", triggers: [WorkflowTrigger], isEnabled: Bool,
        actionDag: JSONValue? = nil
    ) {
        self.name = name
        self.description = description
        self.triggers = triggers
        self.isEnabled = isEnabled
        self.actionDag = actionDag
    }
}

/// When a workflow runs: an operation type, optionally scoped. No scope means the whole account.
public struct WorkflowTrigger: Codable, Sendable, Hashable {
    public var type: TriggerType
    /// `/glossaries/<glossaryGuid>` or `/terms/<parentTermGuid>`.
    public var underGlossaryHierarchy: String?
    /// A collection name; the root collection is the account name.
    public var underCollection: String?
    public var underGlossary: String?
    /// Seen live on data-access triggers: `{"type":"underCollection","value":<collection>}`.
    public var eligibleAssetFilter: EligibleAssetFilter?

    public init(
        type: TriggerType, underGlossaryHierarchy: String? = nil, underCollection: String? = nil,
        underGlossary: String? = nil, eligibleAssetFilter: EligibleAssetFilter? = nil
    ) {
        self.type = type
        self.underGlossaryHierarchy = underGlossaryHierarchy
        self.underCollection = underCollection
        self.underGlossary = underGlossary
        self.eligibleAssetFilter = eligibleAssetFilter
    }
}

/// Which assets a data-access trigger covers.
public struct EligibleAssetFilter: Codable, Sendable, Hashable {
    public var type: String
    public var value: String?

    public init(type: String, value: String? = nil) {
        self.type = type
        self.value = value
    }
}
