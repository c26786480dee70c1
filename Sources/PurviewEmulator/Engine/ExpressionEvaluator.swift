import PurviewWorkflow

/// What expressions can see while a run executes.
struct EvaluationContext: Sendable {
    var runInput: JSONValue
    /// Outputs of the actions that have finished, by action name.
    var actionOutputs: [String: JSONValue]
    var now: PurviewTimestamp
}

struct ExpressionEvaluationError: Error, Sendable, Hashable {
    var message: String
}

extension EvaluationContext {
    /// Evaluates every string inside `value` (arrays and objects recursively) as a template.
    func evaluateDeep(_ value: JSONValue) throws(ExpressionEvaluationError) -> JSONValue {
        switch value {
        case .string(let text):
            return try evaluate(template: text)
        case .array(let items):
            var result: [JSONValue] = []
            result.reserveCapacity(items.count)
            for item in items { result.append(try evaluateDeep(item)) }
            return .array(result)
        case .object(let object):
            var result = JSONObject()
            for (key, item) in object { result[key] = try evaluateDeep(item) }
            return .object(result)
        default:
            return value
        }
    }

    /// Evaluates one string value of a definition.
    func evaluate(template text: String) throws(ExpressionEvaluationError) -> JSONValue {
        let template: Template
        do {
            template = try Template(parsing: text)
        } catch {
            throw ExpressionEvaluationError(message: error.message)
        }
        return try evaluate(template)
    }

    func evaluate(_ template: Template) throws(ExpressionEvaluationError) -> JSONValue {
        switch template {
        case .literal(let text):
            return .string(text)
        case .value(let expression):
            return try evaluate(expression)
        case .interpolation(let parts):
            var text = ""
            for part in parts {
                switch part {
                case .text(let literal): text += literal
                case .expression(let expression): text += Self.interpolationText(try evaluate(expression))
                }
            }
            return .string(text)
        }
    }

    /// How a value reads inside `@{...}`: strings as they are, null as nothing, the rest as JSON.
    static func interpolationText(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): text
        case .null: ""
        default: jsonText(value)
        }
    }

    /// Evaluates an `If` action's `expression`: a condition object (`and`, `or`, `not`, `equals`,
    /// `startsWith`, ...), a boolean, or an expression string yielding a boolean.
    func evaluateCondition(_ condition: JSONValue) throws(ExpressionEvaluationError) -> Bool {
        switch condition {
        case .bool(let flag):
            return flag
        case .string(let text):
            return try Self.truth(try evaluate(template: text), of: text)
        case .object(let object):
            guard object.count == 1, let key = object.keys.first, let operand = object[key] else {
                throw ExpressionEvaluationError(message: "A condition must be an object with exactly one operator.")
            }
            switch key.lowercased() {
            case "and":
                for item in Self.operands(operand) where !(try evaluateCondition(item)) { return false }
                return true
            case "or":
                for item in Self.operands(operand) where try evaluateCondition(item) { return true }
                return false
            case "not":
                let items = Self.operands(operand)
                guard items.count == 1 else {
                    throw ExpressionEvaluationError(message: "The 'not' condition takes exactly one operand.")
                }
                return !(try evaluateCondition(items[0]))
            default:
                guard let signature = FunctionSignature.named(key), signature.returns == .boolean else {
                    throw ExpressionEvaluationError(message: "The condition operator '\(key)' is not supported.")
                }
                let items = Self.operands(operand)
                guard signature.accepts(count: items.count) else {
                    throw ExpressionEvaluationError(
                        message: "The condition '\(key)' expects \(signature.expectedDescription) operands.")
                }
                var values: [JSONValue] = []
                for item in items { values.append(try evaluateDeep(item)) }
                return try Self.truth(try apply(signature.name, values), of: key)
            }
        default:
            throw ExpressionEvaluationError(message: "A condition must be an object, a boolean or an expression.")
        }
    }

    private static func operands(_ value: JSONValue) -> [JSONValue] {
        if case .array(let items) = value { return items }
        return [value]
    }

    private static func truth(_ value: JSONValue, of source: String) throws(ExpressionEvaluationError) -> Bool {
        switch value {
        case .bool(let flag): return flag
        case .string(let text) where text.lowercased() == "true": return true
        case .string(let text) where text.lowercased() == "false": return false
        default:
            throw ExpressionEvaluationError(message: "The condition '\(source)' did not evaluate to a boolean.")
        }
    }

    // MARK: Expressions

    func evaluate(_ expression: Expression) throws(ExpressionEvaluationError) -> JSONValue {
        switch expression {
        case .literal(let value):
            return value
        case .member(let baseExpression, let keyExpression, let optional):
            let base = try evaluate(baseExpression)
            let key = try evaluate(keyExpression)
            return try Self.member(of: base, key: key, optional: optional)
        case .call(let name, let argumentExpressions):
            guard let signature = FunctionSignature.named(name) else {
                throw ExpressionEvaluationError(message: "The template function '\(name)' is not defined or not valid.")
            }
            guard signature.accepts(count: argumentExpressions.count) else {
                throw ExpressionEvaluationError(
                    message: "The function '\(signature.name)' expects \(signature.expectedDescription) arguments.")
            }
            // Short-circuit forms evaluate their arguments lazily.
            switch signature.name {
            case "and":
                for argument in argumentExpressions where !(try Self.truth(try evaluate(argument), of: "and")) {
                    return .bool(false)
                }
                return .bool(true)
            case "or":
                for argument in argumentExpressions where try Self.truth(try evaluate(argument), of: "or") {
                    return .bool(true)
                }
                return .bool(false)
            case "if":
                let condition = try Self.truth(try evaluate(argumentExpressions[0]), of: "if")
                return try evaluate(argumentExpressions[condition ? 1 : 2])
            default:
                var arguments: [JSONValue] = []
                for argument in argumentExpressions { arguments.append(try evaluate(argument)) }
                return try apply(signature.name, arguments)
            }
        }
    }

    static func member(of base: JSONValue, key: JSONValue, optional: Bool) throws(ExpressionEvaluationError)
        -> JSONValue
    {
        switch (base, key) {
        case (.null, _) where optional:
            return .null
        case (.object(let object), .string(let name)):
            if let value = object[name] { return value }
            // The legacy form `outputs('X')['body/outcome']` addresses a path; action outputs carry no
            // `body` wrapper, so a leading `body` segment that does not exist is passed over.
            if name.contains("/") {
                var current: JSONValue = base
                for segment in name.split(separator: "/").map(String.init) {
                    if let next = current[segment] {
                        current = next
                    } else if segment == "body", case .object = current {
                        continue
                    } else {
                        if optional { return .null }
                        throw ExpressionEvaluationError(message: "The property '\(name)' doesn't exist.")
                    }
                }
                return current
            }
            if optional { return .null }
            let available = object.keys.map { "'\($0)'" }.joined(separator: ", ")
            throw ExpressionEvaluationError(
                message: "The property '\(name)' doesn't exist; available properties are \(available).")
        case (.array(let items), .number(let number)):
            guard let index = Int(exactly: number), items.indices.contains(index) else {
                if optional { return .null }
                throw ExpressionEvaluationError(message: "The index \(numberText(number)) is out of range.")
            }
            return items[index]
        default:
            if optional { return .null }
            throw ExpressionEvaluationError(
                message: "The value \(jsonText(base)) cannot be indexed with \(jsonText(key)).")
        }
    }

    // MARK: Functions

    private func apply(_ name: String, _ arguments: [JSONValue]) throws(ExpressionEvaluationError) -> JSONValue {
        func string(_ index: Int) throws(ExpressionEvaluationError) -> String {
            switch arguments[index] {
            case .string(let text): return text
            case .null: return ""
            case .number(let number): return numberText(number)
            case .bool(let flag): return flag ? "true" : "false"
            default:
                throw ExpressionEvaluationError(
                    message:
                        "The function '\(name)' expects a string as argument \(index + 1), not \(jsonText(arguments[index]))."
                )
            }
        }
        switch name {
        case "runInput":
            return runInput
        case "triggerBody":
            // The 2022 shape: the run input nested under `request`.
            return ["request": runInput]
        case "outputs", "body":
            let action = try string(0)
            guard let outputs = actionOutputs[action] else {
                throw ExpressionEvaluationError(
                    message: "The action '\(action)' has no outputs: it has not run, was skipped or failed.")
            }
            return outputs
        case "equals":
            return .bool(Self.equal(arguments[0], arguments[1]))
        case "not":
            return .bool(!(try Self.truth(arguments[0], of: "not")))
        case "startsWith":
            // Not case-sensitive, like the Logic Apps function.
            return .bool(try string(0).lowercased().hasPrefix(try string(1).lowercased()))
        case "endsWith":
            return .bool(try string(0).lowercased().hasSuffix(try string(1).lowercased()))
        case "contains":
            switch arguments[0] {
            case .string(let text): return .bool(text.contains(try string(1)))
            case .array(let items): return .bool(items.contains { Self.equal($0, arguments[1]) })
            case .object(let object): return .bool(object[try string(1)] != nil)
            case .null: return .bool(false)
            default:
                throw ExpressionEvaluationError(message: "The function 'contains' expects a string, array or object.")
            }
        case "greater", "greaterOrEquals", "less", "lessOrEquals":
            let order = try Self.compare(arguments[0], arguments[1], name)
            switch name {
            case "greater": return .bool(order > 0)
            case "greaterOrEquals": return .bool(order >= 0)
            case "less": return .bool(order < 0)
            default: return .bool(order <= 0)
            }
        case "concat":
            if arguments.allSatisfy({ $0.arrayValue != nil }) {
                return .array(arguments.flatMap { $0.arrayValue ?? [] })
            }
            return .string(arguments.map(Self.interpolationText).joined())
        case "toLower": return .string(try string(0).lowercased())
        case "toUpper": return .string(try string(0).uppercased())
        case "trim": return .string(trimmed(try string(0)))
        case "replace":
            let old = try string(1)
            guard !old.isEmpty else { return .string(try string(0)) }
            return .string(try string(0).replacing(old, with: try string(2)))
        case "split":
            let separator = try string(1)
            guard !separator.isEmpty else { return .array([.string(try string(0))]) }
            return .array(
                try string(0).split(separator: separator, omittingEmptySubsequences: false).map { .string(String($0)) })
        case "join":
            guard let items = arguments[0].arrayValue else {
                throw ExpressionEvaluationError(message: "The function 'join' expects an array.")
            }
            return .string(items.map(Self.interpolationText).joined(separator: try string(1)))
        case "empty":
            switch arguments[0] {
            case .null: return .bool(true)
            case .string(let text): return .bool(text.isEmpty)
            case .array(let items): return .bool(items.isEmpty)
            case .object(let object): return .bool(object.isEmpty)
            default: return .bool(false)
            }
        case "length":
            switch arguments[0] {
            case .string(let text): return .number(Double(text.count))
            case .array(let items): return .number(Double(items.count))
            case .object(let object): return .number(Double(object.count))
            default: throw ExpressionEvaluationError(message: "The function 'length' expects a string or an array.")
            }
        case "first", "last":
            switch arguments[0] {
            case .string(let text):
                let character = name == "first" ? text.first : text.last
                return character.map { .string(String($0)) } ?? .null
            case .array(let items): return (name == "first" ? items.first : items.last) ?? .null
            default: throw ExpressionEvaluationError(message: "The function '\(name)' expects a string or an array.")
            }
        case "coalesce":
            return arguments.first { !$0.isNull } ?? .null
        case "string":
            return .string(Self.interpolationText(arguments[0]))
        case "int":
            switch arguments[0] {
            case .number(let number) where number.rounded() == number: return .number(number)
            case .string(let text):
                if let value = Int(trimmed(text)) { return .number(Double(value)) }
            default: break
            }
            throw ExpressionEvaluationError(message: "The value \(jsonText(arguments[0])) is not an integer.")
        case "bool":
            return .bool(try Self.truth(arguments[0], of: "bool"))
        case "createArray":
            return .array(arguments)
        case "utcNow":
            return .string(now.description)
        default:
            throw ExpressionEvaluationError(message: "The template function '\(name)' is not defined or not valid.")
        }
    }

    static func equal(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool { lhs == rhs }

    private static func compare(_ lhs: JSONValue, _ rhs: JSONValue, _ name: String) throws(ExpressionEvaluationError)
        -> Int
    {
        switch (lhs, rhs) {
        case (.number(let left), .number(let right)):
            return left < right ? -1 : (left > right ? 1 : 0)
        case (.string(let left), .string(let right)):
            return left < right ? -1 : (left > right ? 1 : 0)
        default:
            throw ExpressionEvaluationError(
                message: "The function '\(name)' cannot compare \(jsonText(lhs)) with \(jsonText(rhs)).")
        }
    }
}

private func trimmed(_ text: String) -> String {
    var slice = Substring(text)
    while let first = slice.first, first.isWhitespace { slice.removeFirst() }
    while let last = slice.last, last.isWhitespace { slice.removeLast() }
    return String(slice)
}
