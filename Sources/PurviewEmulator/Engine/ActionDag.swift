import PurviewWorkflow

/// The action types the emulator runs. `Approval`, `If`, `EmailNotification` and `CreateTerm` are
/// confirmed by live data; the other operation actions follow the operation names; `Scope` (a plain
/// container) and `Task` (creates a SimpleTask) are our own, unverified spellings.
enum ActionType {
    static let approval = "Approval"
    static let condition = "If"
    static let scope = "Scope"
    static let email = "EmailNotification"
    static let simpleTask = "Task"

    static let operations: Set<String> = [
        "CreateTerm", "UpdateTerm", "DeleteTerm", "ImportTerms", "UpdateAsset", "GrantDataAccess",
    ]
    static let known: Set<String> = operations.union([approval, condition, scope, email, simpleTask])

    /// Statuses a `runAfter` entry may name.
    static let runAfterStatuses: Set<String> = ["Succeeded", "Failed", "Skipped", "TimedOut"]
}

/// One action of a DAG, read leniently: the validator reports what is wrong, the runner copes.
struct ActionDefinition: Sendable {
    var name: String
    var type: String
    var json: JSONObject
    /// `runAfter` entries in document order: predecessor name and the statuses that let this run.
    var runAfter: [(name: String, statuses: [String])]
    /// `inputs.parameters`.
    var parameters: JSONObject
    /// For If: the true branch then the else branch; for Scope: its body.
    var scopes: [ActionScope]

    var isContainer: Bool { type == ActionType.condition || type == ActionType.scope }

    init(name: String, json: JSONObject) {
        self.name = name
        self.json = json
        type = json["type"]?.stringValue ?? ""
        runAfter = []
        if let entries = json["runAfter"]?.objectValue {
            for (predecessor, statuses) in entries {
                runAfter.append((predecessor, statuses.arrayValue?.compactMap(\.stringValue) ?? []))
            }
        }
        parameters = json["inputs"]?["parameters"]?.objectValue ?? JSONObject()
        switch type {
        case ActionType.condition:
            scopes = [ActionScope(actions: json["actions"]), ActionScope(actions: json["else"]?["actions"])]
        case ActionType.scope:
            scopes = [ActionScope(actions: json["actions"])]
        default:
            scopes = []
        }
    }

    /// This action and every action nested in it.
    var allActions: [ActionDefinition] { [self] + scopes.flatMap(\.allActions) }
}

/// A set of sibling actions: the DAG's top level, an If branch or a Scope body.
struct ActionScope: Sendable {
    var actions: [ActionDefinition]

    init(actions value: JSONValue?) {
        actions = []
        guard let object = value?.objectValue else { return }
        for (name, item) in object {
            actions.append(ActionDefinition(name: name, json: item.objectValue ?? JSONObject()))
        }
    }

    init(dag: JSONValue?) { self.init(actions: dag?["actions"]) }

    var allActions: [ActionDefinition] { actions.flatMap(\.allActions) }

    func action(named name: String) -> ActionDefinition? { actions.first { $0.name == name } }
}

// MARK: - Normalisation and rendering of stored DAGs

enum ActionDagForm {
    /// Adds the `runtimeConfiguration` defaults the service adds on PUT (as its echo shows):
    /// `{aggregateEmails:false}` on Approval (and our Task), `{secureInput:false, secureOutput:false,
    /// aggregateEmails:false}` on EmailNotification, nothing on the others. Given keys are kept.
    static func normalized(_ dag: JSONValue) -> JSONValue {
        guard var object = dag.objectValue else { return dag }
        if let actions = object["actions"] { object["actions"] = normalizedActions(actions) }
        return .object(object)
    }

    private static func normalizedActions(_ value: JSONValue) -> JSONValue {
        guard let actions = value.objectValue else { return value }
        var result = JSONObject()
        for (name, item) in actions {
            guard var action = item.objectValue else {
                result[name] = item
                continue
            }
            if let nested = action["actions"] { action["actions"] = normalizedActions(nested) }
            if var elseBranch = action["else"]?.objectValue, let nested = elseBranch["actions"] {
                elseBranch["actions"] = normalizedActions(nested)
                action["else"] = .object(elseBranch)
            }
            let defaults: [(String, JSONValue)]
            switch action["type"]?.stringValue {
            case ActionType.email:
                defaults = [("secureInput", false), ("secureOutput", false), ("aggregateEmails", false)]
            case ActionType.approval, ActionType.simpleTask:
                defaults = [("aggregateEmails", false)]
            default:
                defaults = []
            }
            if !defaults.isEmpty {
                var configuration = action["runtimeConfiguration"]?.objectValue ?? JSONObject()
                for (key, value) in defaults where configuration[key] == nil { configuration[key] = value }
                action["runtimeConfiguration"] = .object(configuration)
            }
            result[name] = .object(action)
        }
        return .object(result)
    }

    /// The DAG as the service returns it on GET: legacy expressions rewritten to the current forms
    /// (`triggerBody()['request']` -> `runInput()`, `@outputs('X')['body/outcome']` ->
    /// `@{outputs('X')['outcome']}`), as the live service did in July 2023. Keys are left alone.
    static func modernized(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text):
            return .string(modernizedExpression(text))
        case .array(let items):
            return .array(items.map(modernized))
        case .object(let object):
            var result = JSONObject()
            for (key, item) in object { result[key] = modernized(item) }
            return .object(result)
        default:
            return value
        }
    }

    static func modernizedExpression(_ text: String) -> String {
        guard text.contains("@") else { return text }
        let rewritten = text.replacing("triggerBody()['request']", with: "runInput()")
            .replacing("['body/outcome']", with: "['outcome']")
        guard rewritten != text else { return text }
        if rewritten.hasPrefix("@"), !rewritten.hasPrefix("@{"), !rewritten.hasPrefix("@@") {
            return "@{" + rewritten.dropFirst() + "}"
        }
        return rewritten
    }
}
