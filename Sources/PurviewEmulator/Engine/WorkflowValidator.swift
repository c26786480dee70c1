import PurviewWorkflow

/// One finding of workflow validation, in the shape of the service's validate answer:
/// `{severity, location:{type, actionName?, parameterKey?}, message}`.
struct WorkflowViolation: Sendable, Hashable {
    enum Severity: String, Sendable {
        case error, warning
    }

    enum LocationType: String, Sendable {
        case workflow, action, actionParameter
    }

    var severity: Severity
    var locationType: LocationType
    var actionName: String?
    var parameterKey: String?
    var message: String

    static func workflow(_ message: String, severity: Severity = .error) -> WorkflowViolation {
        WorkflowViolation(severity: severity, locationType: .workflow, message: message)
    }

    static func action(_ name: String, _ message: String) -> WorkflowViolation {
        WorkflowViolation(severity: .error, locationType: .action, actionName: name, message: message)
    }

    static func parameter(_ action: String, _ key: String, _ message: String) -> WorkflowViolation {
        WorkflowViolation(
            severity: .error, locationType: .actionParameter, actionName: action, parameterKey: key, message: message)
    }

    var json: JSONValue {
        var location: JSONObject = ["type": .string(locationType.rawValue)]
        location["actionName"] = actionName.map { .string($0) }
        location["parameterKey"] = parameterKey.map { .string($0) }
        return ["severity": .string(severity.rawValue), "location": .object(location), "message": .string(message)]
    }
}

enum WorkflowValidator {
    /// Checks a workflow create-or-replace command: required fields, triggers and their scopes,
    /// action types, `runAfter` references and cycles, required parameters and expressions.
    static func validate(_ command: JSONValue) -> [WorkflowViolation] {
        guard let object = command.objectValue else {
            return [.workflow("The workflow definition must be a JSON object.")]
        }
        var found: [WorkflowViolation] = []
        if object["name"]?.stringValue.map({ !$0.isEmpty }) != true {
            found.append(.workflow("The workflow property 'name' is required and must be a non-empty string."))
        }
        if object["description"]?.stringValue == nil {
            found.append(.workflow("The workflow property 'description' is required and must be a string."))
        }
        if object["isEnabled"]?.boolValue == nil {
            found.append(.workflow("The workflow property 'isEnabled' is required and must be a boolean."))
        }
        found += validateTriggers(object["triggers"])
        found += validateDag(object["actionDag"])
        return found
    }

    static func validateTriggers(_ value: JSONValue?) -> [WorkflowViolation] {
        guard let triggers = value?.arrayValue, !triggers.isEmpty else {
            return [.workflow("The workflow property 'triggers' is required and must hold at least one trigger.")]
        }
        var found: [WorkflowViolation] = []
        for (index, trigger) in triggers.enumerated() {
            guard let object = trigger.objectValue else {
                found.append(.workflow("Trigger \(index) must be an object."))
                continue
            }
            guard let type = object["type"]?.stringValue else {
                found.append(.workflow("Trigger \(index) has no 'type'."))
                continue
            }
            if OperationKind.forTrigger(type) == nil {
                let known = OperationKind.allCases.map(\.triggerType).joined(separator: ", ")
                found.append(.workflow("The trigger type '\(type)' is not supported; expected one of \(known)."))
            }
            if let hierarchy = object["underGlossaryHierarchy"] {
                if hierarchy.stringValue.flatMap(GlossaryScope.init(path:)) == nil {
                    found.append(
                        .workflow(
                            "The trigger scope underGlossaryHierarchy '\(hierarchy.stringValue ?? jsonText(hierarchy))' "
                                + "must be '/glossaries/<glossaryGuid>' or '/terms/<termGuid>'."))
                }
            }
            for key in ["underCollection", "underGlossary"] {
                if let scope = object[key], scope.stringValue.map({ !$0.isEmpty }) != true {
                    found.append(.workflow("The trigger scope \(key) must be a non-empty string."))
                }
            }
        }
        return found
    }

    static func validateDag(_ value: JSONValue?) -> [WorkflowViolation] {
        guard let value, !value.isNull else {
            return [.workflow("The workflow has no actions.", severity: .warning)]
        }
        guard let dag = value.objectValue else { return [.workflow("The property 'actionDag' must be an object.")] }
        guard let actions = dag["actions"] else {
            return [.workflow("The workflow has no actions.", severity: .warning)]
        }
        guard actions.objectValue != nil else {
            return [.workflow("The property 'actionDag.actions' must be an object.")]
        }
        let root = ActionScope(actions: actions)
        if root.actions.isEmpty { return [.workflow("The workflow has no actions.", severity: .warning)] }
        var found: [WorkflowViolation] = []
        var seen: Set<String> = []
        for action in root.allActions {
            if !seen.insert(action.name).inserted {
                found.append(.action(action.name, "The action name '\(action.name)' is used more than once."))
            }
        }
        validateScope(root, scopeJSON: actions, allNames: seen, into: &found)
        return found
    }

    private static func validateScope(
        _ scope: ActionScope, scopeJSON: JSONValue?, allNames: Set<String>, into found: inout [WorkflowViolation]
    ) {
        let siblings = Set(scope.actions.map(\.name))
        for action in scope.actions {
            if scopeJSON?[action.name]?.objectValue == nil {
                found.append(.action(action.name, "The action '\(action.name)' must be an object."))
                continue
            }
            validateAction(action, siblings: siblings, allNames: allNames, into: &found)
        }
        found += cycles(in: scope)
        for action in scope.actions {
            switch action.type {
            case ActionType.condition:
                validateScope(action.scopes[0], scopeJSON: action.json["actions"], allNames: allNames, into: &found)
                validateScope(
                    action.scopes[1], scopeJSON: action.json["else"]?["actions"], allNames: allNames, into: &found)
            case ActionType.scope:
                validateScope(action.scopes[0], scopeJSON: action.json["actions"], allNames: allNames, into: &found)
            default:
                break
            }
        }
    }

    private static func validateAction(
        _ action: ActionDefinition, siblings: Set<String>, allNames: Set<String>, into found: inout [WorkflowViolation]
    ) {
        let name = action.name
        guard action.json["type"]?.stringValue != nil else {
            found.append(.action(name, "The action '\(name)' has no 'type'."))
            return
        }
        if !ActionType.known.contains(action.type) {
            found.append(.action(name, "The action type '\(action.type)' of action '\(name)' is not supported."))
        }
        if let runAfter = action.json["runAfter"], runAfter.objectValue == nil {
            found.append(.action(name, "The 'runAfter' of action '\(name)' must be an object."))
        }
        for (predecessor, statuses) in action.runAfter {
            if predecessor == name {
                found.append(.action(name, "The action '\(name)' cannot run after itself."))
            } else if !siblings.contains(predecessor) {
                found.append(
                    .action(
                        name,
                        "The action '\(name)' runs after '\(predecessor)', which is not an action in the same scope."))
            }
            let raw = action.json["runAfter"]?[predecessor]?.arrayValue
            if raw == nil || statuses.isEmpty || raw?.count != statuses.count {
                found.append(
                    .action(name, "The runAfter entry '\(predecessor)' of action '\(name)' must list statuses."))
            }
            for status in statuses where !ActionType.runAfterStatuses.contains(status) {
                let known = ActionType.runAfterStatuses.sorted().joined(separator: ", ")
                found.append(
                    .action(
                        name,
                        "The runAfter status '\(status)' of action '\(name)' is not valid; expected one of \(known)."))
            }
        }
        if let inputs = action.json["inputs"], inputs["parameters"].map({ $0.objectValue == nil }) ?? true {
            found.append(.action(name, "The 'inputs' of action '\(name)' must hold a 'parameters' object."))
        }
        found += requiredParameters(action)
        for (key, value) in action.parameters {
            for message in expressionProblems(in: value, allNames: allNames) {
                found.append(.parameter(name, key, message))
            }
        }
        if action.type == ActionType.condition {
            if let expression = action.json["expression"] {
                for message in conditionProblems(expression, allNames: allNames) {
                    found.append(.parameter(name, "expression", message))
                }
            } else {
                found.append(.parameter(name, "expression", "The If action '\(name)' has no 'expression'."))
            }
        }
    }

    private static func requiredParameters(_ action: ActionDefinition) -> [WorkflowViolation] {
        let name = action.name
        let parameters = action.parameters
        var found: [WorkflowViolation] = []
        func requireString(_ key: String) {
            guard let value = parameters[key] else {
                found.append(.parameter(name, key, "The required parameter '\(key)' of action '\(name)' is missing."))
                return
            }
            if value.stringValue == nil {
                found.append(.parameter(name, key, "The parameter '\(key)' of action '\(name)' must be a string."))
            }
        }
        func requireRecipients(_ key: String) {
            guard let value = parameters[key] else {
                found.append(.parameter(name, key, "The required parameter '\(key)' of action '\(name)' is missing."))
                return
            }
            let valid: Bool
            switch value {
            case .array(let items): valid = !items.isEmpty && items.allSatisfy { $0.stringValue != nil }
            case .string(let text): valid = text.hasPrefix("@")
            default: valid = false
            }
            if !valid {
                found.append(
                    .parameter(
                        name, key, "The parameter '\(key)' of action '\(name)' must be a non-empty array of strings."))
            }
        }
        switch action.type {
        case ActionType.approval:
            requireString("title")
            requireRecipients("assignedTo")
            if let type = parameters["approvalType"] {
                if !["PendingOnAny", "PendingOnAll"].contains(type.stringValue ?? "") {
                    found.append(
                        .parameter(
                            name, "approvalType",
                            "The approvalType '\(type.stringValue ?? jsonText(type))' is not valid; expected PendingOnAny or PendingOnAll."
                        ))
                }
            } else {
                found.append(
                    .parameter(
                        name, "approvalType", "The required parameter 'approvalType' of action '\(name)' is missing."))
            }
            found += settingsProblems(action)
        case ActionType.simpleTask:
            requireString("taskBody")
            requireRecipients("assignedTo")
            if parameters["title"] != nil { requireString("title") }
            found += settingsProblems(action)
        case ActionType.email:
            requireString("emailSubject")
            requireString("emailMessage")
            requireRecipients("emailRecipients")
        default:
            break
        }
        return found
    }

    private static func settingsProblems(_ action: ActionDefinition) -> [WorkflowViolation] {
        var found: [WorkflowViolation] = []
        if let reminder = action.parameters["reminderSettings"] {
            if reminder["interval"].flatMap(SettingsDuration.init) == nil {
                found.append(
                    .parameter(
                        action.name, "reminderSettings",
                        "The reminderSettings.interval must be a duration such as '1 day' or '2 hours'."))
            }
        }
        if let expiry = action.parameters["expirySettings"] {
            if expiry["expireAfter"].flatMap(SettingsDuration.init) == nil {
                found.append(
                    .parameter(
                        action.name, "expirySettings",
                        "The expirySettings.expireAfter must be a duration such as '1 month' or '7 days'."))
            }
            if let notify = expiry["notifyOnExpiration"], notify.arrayValue == nil {
                found.append(
                    .parameter(
                        action.name, "expirySettings", "The expirySettings.notifyOnExpiration must be an array."))
            }
        }
        return found
    }

    /// Syntax and static problems of every string inside `value`.
    static func expressionProblems(in value: JSONValue, allNames: Set<String>?) -> [String] {
        switch value {
        case .string(let text):
            do {
                let template = try Template(parsing: text)
                return template.expressions.flatMap { $0.problems(actionNames: allNames) }
            } catch {
                return [error.message]
            }
        case .array(let items):
            return items.flatMap { expressionProblems(in: $0, allNames: allNames) }
        case .object(let object):
            return object.flatMap { expressionProblems(in: $0.value, allNames: allNames) }
        default:
            return []
        }
    }

    static func conditionProblems(_ condition: JSONValue, allNames: Set<String>?) -> [String] {
        switch condition {
        case .bool:
            return []
        case .string:
            return expressionProblems(in: condition, allNames: allNames)
        case .object(let object):
            guard object.count == 1, let key = object.keys.first, let operand = object[key] else {
                return ["A condition must be an object with exactly one operator."]
            }
            switch key.lowercased() {
            case "and", "or":
                guard let items = operand.arrayValue, !items.isEmpty else {
                    return ["The '\(key)' condition needs a non-empty array of conditions."]
                }
                return items.flatMap { conditionProblems($0, allNames: allNames) }
            case "not":
                let items = operand.arrayValue ?? [operand]
                guard items.count == 1 else { return ["The 'not' condition takes exactly one condition."] }
                return conditionProblems(items[0], allNames: allNames)
            default:
                guard let signature = FunctionSignature.named(key), signature.returns == .boolean,
                    !["and", "or", "not"].contains(signature.name)
                else {
                    return ["The condition operator '\(key)' is not supported."]
                }
                guard let items = operand.arrayValue, signature.accepts(count: items.count) else {
                    return [
                        "There's a parameter type error for the function call \"\(signature.name)()\". "
                            + "Actual: \(operand.arrayValue.map { "(\($0.count) operands)" } ?? "(not an array)"), "
                            + "expected: \(signature.expectedDescription)."
                    ]
                }
                return items.flatMap { expressionProblems(in: $0, allNames: allNames) }
            }
        default:
            return ["A condition must be an object, a boolean or an expression."]
        }
    }

    /// One violation per cycle among siblings' runAfter edges, located at the cycle's first action.
    private static func cycles(in scope: ActionScope) -> [WorkflowViolation] {
        let names = scope.actions.map(\.name)
        let nameSet = Set(names)
        var edges: [String: [String]] = [:]
        for action in scope.actions {
            edges[action.name] = action.runAfter.map(\.name).filter { nameSet.contains($0) && $0 != action.name }
        }
        enum Mark { case visiting, done }
        var marks: [String: Mark] = [:]
        var found: [WorkflowViolation] = []
        var path: [String] = []

        func visit(_ node: String) {
            marks[node] = .visiting
            path.append(node)
            for next in edges[node] ?? [] {
                switch marks[next] {
                case .visiting:
                    if let start = path.firstIndex(of: next) {
                        let cycle = Array(path[start...])
                        let described = (cycle + [next]).map { "'\($0)'" }.joined(separator: " -> ")
                        found.append(.action(next, "The actions form a cycle through runAfter: \(described)."))
                    }
                case .done:
                    break
                case nil:
                    visit(next)
                }
            }
            path.removeLast()
            marks[node] = .done
        }
        for name in names where marks[name] == nil { visit(name) }
        return found
    }
}
