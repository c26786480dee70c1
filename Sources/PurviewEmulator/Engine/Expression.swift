import PurviewWorkflow

// The workflow expression language: the subset of the Logic Apps workflow definition language that
// Purview workflows use. A string parameter is one of
//   - plain text (no `@` at the start, no `@{`),
//   - a whole-value expression `@outputs('X')['outcome']` (its value may be any JSON),
//   - text with interpolations `Term @{runInput()['term']['name']} is approved.` (always a string),
// with `@@` at the start of a value escaping a literal `@`.
// An expression is a literal ('text' with '' for a quote, a number, true, false, null) or a function
// call, followed by any number of member accesses `['key']`, `[0]`, `?['key']` or `.key`.

/// A parsed expression.
indirect enum Expression: Sendable, Hashable {
    case literal(JSONValue)
    case call(String, [Expression])
    /// `base[key]`; `optional` is the null-safe `?[...]` form.
    case member(Expression, Expression, optional: Bool)
}

/// A string value with its expressions parsed.
enum Template: Sendable, Hashable {
    enum Part: Sendable, Hashable {
        case text(String)
        case expression(Expression)
    }

    /// No expression at all.
    case literal(String)
    /// `@expr`: the value of the expression, whatever its type.
    case value(Expression)
    /// Text with `@{expr}` parts: always a string.
    case interpolation([Part])

    var expressions: [Expression] {
        switch self {
        case .literal: []
        case .value(let expression): [expression]
        case .interpolation(let parts):
            parts.compactMap {
                if case .expression(let expression) = $0 { return expression }
                return nil
            }
        }
    }
}

struct ExpressionSyntaxError: Error, Sendable, Hashable {
    var message: String
}

extension Template {
    /// Parses a string value of a workflow definition.
    init(parsing text: String) throws(ExpressionSyntaxError) {
        let bytes = Array(text.utf8)
        let at = UInt8(ascii: "@")
        let openBrace = UInt8(ascii: "{")
        if bytes.count >= 2, bytes[0] == at, bytes[1] == at {
            self = .literal(String(decoding: bytes[1...], as: UTF8.self))
            return
        }
        if bytes.first == at, bytes.count == 1 || bytes[1] != openBrace {
            let source = String(decoding: bytes[1...], as: UTF8.self)
            self = .value(try Expression(parsing: source))
            return
        }
        var parts: [Part] = []
        var text: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == at, index + 2 < bytes.count, bytes[index + 1] == at, bytes[index + 2] == openBrace {
                text += [at, openBrace]
                index += 3
            } else if bytes[index] == at, index + 1 < bytes.count, bytes[index + 1] == openBrace {
                var end = index + 2
                var inQuote = false
                while end < bytes.count {
                    if bytes[end] == UInt8(ascii: "'") {
                        inQuote.toggle()
                    } else if !inQuote, bytes[end] == UInt8(ascii: "}") {
                        break
                    }
                    end += 1
                }
                guard end < bytes.count else {
                    throw ExpressionSyntaxError(
                        message: "The expression starting at position \(index) has no closing '}'.")
                }
                if !text.isEmpty {
                    parts.append(.text(String(decoding: text, as: UTF8.self)))
                    text = []
                }
                let source = String(decoding: bytes[(index + 2)..<end], as: UTF8.self)
                parts.append(.expression(try Expression(parsing: source)))
                index = end + 1
            } else {
                text.append(bytes[index])
                index += 1
            }
        }
        if parts.isEmpty {
            self = .literal(String(decoding: text, as: UTF8.self))
            return
        }
        if !text.isEmpty { parts.append(.text(String(decoding: text, as: UTF8.self))) }
        self = .interpolation(parts)
    }
}

// MARK: - Tokens and parser

private enum Token: Equatable {
    case identifier(String)
    case string(String)
    case number(Double)
    case openParen, closeParen, openBracket, closeBracket, comma, dot, question
}

private struct Tokenizer {
    let bytes: [UInt8]
    let source: String

    func tokens() throws(ExpressionSyntaxError) -> [(Token, Int)] {
        var result: [(Token, Int)] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            let start = index
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                index += 1
            case UInt8(ascii: "("):
                result.append((.openParen, start))
                index += 1
            case UInt8(ascii: ")"):
                result.append((.closeParen, start))
                index += 1
            case UInt8(ascii: "["):
                result.append((.openBracket, start))
                index += 1
            case UInt8(ascii: "]"):
                result.append((.closeBracket, start))
                index += 1
            case UInt8(ascii: ","):
                result.append((.comma, start))
                index += 1
            case UInt8(ascii: "."):
                result.append((.dot, start))
                index += 1
            case UInt8(ascii: "?"):
                result.append((.question, start))
                index += 1
            case UInt8(ascii: "'"):
                var text: [UInt8] = []
                index += 1
                var closed = false
                while index < bytes.count {
                    if bytes[index] == UInt8(ascii: "'") {
                        if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "'") {
                            text.append(UInt8(ascii: "'"))
                            index += 2
                            continue
                        }
                        closed = true
                        index += 1
                        break
                    }
                    text.append(bytes[index])
                    index += 1
                }
                guard closed else { throw error("The string starting at position \(start) is not terminated.") }
                result.append((.string(String(decoding: text, as: UTF8.self)), start))
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                index += 1
                while index < bytes.count,
                    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) || bytes[index] == UInt8(ascii: ".")
                {
                    index += 1
                }
                let text = String(decoding: bytes[start..<index], as: UTF8.self)
                guard let number = Double(text) else { throw error("'\(text)' is not a valid number.") }
                result.append((.number(number), start))
            default:
                guard Self.isIdentifierStart(byte) else {
                    let character = String(decoding: [byte], as: UTF8.self)
                    throw error("Unexpected character '\(character)' at position \(start).")
                }
                while index < bytes.count, Self.isIdentifierStart(bytes[index]) || (48...57).contains(bytes[index]) {
                    index += 1
                }
                result.append((.identifier(String(decoding: bytes[start..<index], as: UTF8.self)), start))
            }
        }
        return result
    }

    private static func isIdentifierStart(_ byte: UInt8) -> Bool {
        (65...90).contains(byte) || (97...122).contains(byte) || byte == UInt8(ascii: "_")
    }

    private func error(_ message: String) -> ExpressionSyntaxError {
        ExpressionSyntaxError(message: "The expression '\(source)' is not valid: \(message)")
    }
}

extension Expression {
    /// Parses the text of one expression (without the leading `@` or the `@{ }`).
    init(parsing source: String) throws(ExpressionSyntaxError) {
        let tokens = try Tokenizer(bytes: Array(source.utf8), source: source).tokens()
        var parser = Parser(tokens: tokens, source: source)
        guard !tokens.isEmpty else { throw parser.error("The expression is empty.") }
        let expression = try parser.parseExpression(depth: 0)
        if parser.position < tokens.count {
            throw parser.error("Unexpected text at position \(tokens[parser.position].1).")
        }
        self = expression
    }
}

private struct Parser {
    let tokens: [(Token, Int)]
    let source: String
    var position = 0

    init(tokens: [(Token, Int)], source: String) {
        self.tokens = tokens
        self.source = source
    }

    func error(_ message: String) -> ExpressionSyntaxError {
        ExpressionSyntaxError(message: "The expression '\(source)' is not valid: \(message)")
    }

    private var current: Token? { position < tokens.count ? tokens[position].0 : nil }

    private mutating func expect(_ token: Token, _ description: String) throws(ExpressionSyntaxError) {
        guard current == token else {
            let location = position < tokens.count ? "at position \(tokens[position].1)" : "at the end"
            throw error("Expected \(description) \(location).")
        }
        position += 1
    }

    mutating func parseExpression(depth: Int) throws(ExpressionSyntaxError) -> Expression {
        // Bounds recursion on hostile input.
        guard depth < 64 else { throw error("The expression is nested too deeply.") }
        var expression = try parsePrimary(depth: depth)
        while let token = current {
            switch token {
            case .openBracket:
                position += 1
                let key = try parseExpression(depth: depth + 1)
                try expect(.closeBracket, "']'")
                expression = .member(expression, key, optional: false)
            case .question:
                position += 1
                if current == .dot {
                    position += 1
                    expression = .member(expression, .literal(.string(try parseIdentifier())), optional: true)
                } else {
                    try expect(.openBracket, "'[' after '?'")
                    let key = try parseExpression(depth: depth + 1)
                    try expect(.closeBracket, "']'")
                    expression = .member(expression, key, optional: true)
                }
            case .dot:
                position += 1
                expression = .member(expression, .literal(.string(try parseIdentifier())), optional: false)
            default:
                return expression
            }
        }
        return expression
    }

    private mutating func parseIdentifier() throws(ExpressionSyntaxError) -> String {
        guard case .identifier(let name) = current else { throw error("Expected a property name after '.'.") }
        position += 1
        return name
    }

    private mutating func parsePrimary(depth: Int) throws(ExpressionSyntaxError) -> Expression {
        guard let token = current else { throw error("The expression ends unexpectedly.") }
        position += 1
        switch token {
        case .string(let text): return .literal(.string(text))
        case .number(let number): return .literal(.number(number))
        case .identifier(let name):
            if current == .openParen {
                position += 1
                var arguments: [Expression] = []
                if current == .closeParen {
                    position += 1
                    return .call(name, arguments)
                }
                while true {
                    arguments.append(try parseExpression(depth: depth + 1))
                    if current == .comma {
                        position += 1
                        continue
                    }
                    try expect(.closeParen, "',' or ')' in the call of '\(name)'")
                    return .call(name, arguments)
                }
            }
            switch name.lowercased() {
            case "true": return .literal(.bool(true))
            case "false": return .literal(.bool(false))
            case "null": return .literal(.null)
            default: throw error("'\(name)' is not a function call; expected '\(name)(...)'.")
            }
        default:
            throw error("Unexpected token at position \(tokens[position - 1].1).")
        }
    }
}

// MARK: - Function table (shared by the validator and the evaluator)

/// The static description of a template function: its arity and parameter types, as the
/// service's validation message spells them ("expected: (string,string)").
struct FunctionSignature: Sendable {
    enum ValueType: String, Sendable {
        case string, boolean, integer, float, number, array, object, null, any
    }

    var name: String
    var parameters: [ValueType]
    /// Whether the last parameter may repeat.
    var variadic: Bool = false
    var minimum: Int
    var returns: ValueType

    init(_ name: String, _ parameters: [ValueType], minimum: Int? = nil, variadic: Bool = false, returns: ValueType) {
        self.name = name
        self.parameters = parameters
        self.variadic = variadic
        self.minimum = minimum ?? parameters.count
        self.returns = returns
    }

    var expectedDescription: String {
        "(" + parameters.map(\.rawValue).joined(separator: ",") + (variadic ? ",..." : "") + ")"
    }

    func accepts(count: Int) -> Bool {
        count >= minimum && (variadic || count <= parameters.count)
    }

    func parameterType(at index: Int) -> ValueType {
        index < parameters.count ? parameters[index] : (parameters.last ?? .any)
    }

    static let all: [String: FunctionSignature] = {
        let list: [FunctionSignature] = [
            FunctionSignature("runInput", [], returns: .object),
            FunctionSignature("triggerBody", [], returns: .object),
            FunctionSignature("outputs", [.string], returns: .object),
            FunctionSignature("body", [.string], returns: .any),
            FunctionSignature("equals", [.any, .any], returns: .boolean),
            FunctionSignature("and", [.boolean], variadic: true, returns: .boolean),
            FunctionSignature("or", [.boolean], variadic: true, returns: .boolean),
            FunctionSignature("not", [.boolean], returns: .boolean),
            FunctionSignature("startsWith", [.string, .string], returns: .boolean),
            FunctionSignature("endsWith", [.string, .string], returns: .boolean),
            FunctionSignature("contains", [.any, .any], returns: .boolean),
            FunctionSignature("greater", [.any, .any], returns: .boolean),
            FunctionSignature("greaterOrEquals", [.any, .any], returns: .boolean),
            FunctionSignature("less", [.any, .any], returns: .boolean),
            FunctionSignature("lessOrEquals", [.any, .any], returns: .boolean),
            FunctionSignature("concat", [.any], variadic: true, returns: .string),
            FunctionSignature("toLower", [.string], returns: .string),
            FunctionSignature("toUpper", [.string], returns: .string),
            FunctionSignature("trim", [.string], returns: .string),
            FunctionSignature("replace", [.string, .string, .string], returns: .string),
            FunctionSignature("split", [.string, .string], returns: .array),
            FunctionSignature("join", [.array, .string], returns: .string),
            FunctionSignature("empty", [.any], returns: .boolean),
            FunctionSignature("length", [.any], returns: .integer),
            FunctionSignature("first", [.any], returns: .any),
            FunctionSignature("last", [.any], returns: .any),
            FunctionSignature("coalesce", [.any], variadic: true, returns: .any),
            FunctionSignature("if", [.boolean, .any, .any], returns: .any),
            FunctionSignature("string", [.any], returns: .string),
            FunctionSignature("int", [.any], returns: .integer),
            FunctionSignature("bool", [.any], returns: .boolean),
            FunctionSignature("createArray", [.any], variadic: true, returns: .array),
            FunctionSignature("utcNow", [.string], minimum: 0, returns: .string),
        ]
        return Dictionary(uniqueKeysWithValues: list.map { ($0.name.lowercased(), $0) })
    }()

    static func named(_ name: String) -> FunctionSignature? { all[name.lowercased()] }
}

extension Expression {
    /// What can be known about the value's type without evaluating it.
    var staticType: FunctionSignature.ValueType {
        switch self {
        case .literal(let value):
            switch value {
            case .null: .null
            case .bool: .boolean
            case .number(let number): number.rounded() == number ? .integer : .float
            case .string: .string
            case .array: .array
            case .object: .object
            }
        case .call(let name, _): FunctionSignature.named(name)?.returns ?? .any
        case .member: .any
        }
    }

    /// Static problems: unknown functions, wrong argument counts or literal types, references to
    /// actions that do not exist. `actionNames` is nil when the caller does not check references.
    func problems(actionNames: Set<String>?) -> [String] {
        var found: [String] = []
        collectProblems(into: &found, actionNames: actionNames)
        return found
    }

    private func collectProblems(into found: inout [String], actionNames: Set<String>?) {
        switch self {
        case .literal:
            return
        case .member(let base, let key, _):
            base.collectProblems(into: &found, actionNames: actionNames)
            key.collectProblems(into: &found, actionNames: actionNames)
        case .call(let name, let arguments):
            for argument in arguments { argument.collectProblems(into: &found, actionNames: actionNames) }
            guard let signature = FunctionSignature.named(name) else {
                found.append("The template function '\(name)' is not defined or not valid.")
                return
            }
            let actual = "(" + arguments.map(\.staticType.rawValue).joined(separator: ",") + ")"
            let typeMismatch = arguments.enumerated().contains { index, argument in
                let expected = signature.parameterType(at: index)
                let actualType = argument.staticType
                guard expected != .any, actualType != .any, actualType != .null else { return false }
                if expected == .number { return actualType != .integer && actualType != .float }
                return expected != actualType && !(expected == .float && actualType == .integer)
            }
            if !signature.accepts(count: arguments.count) || typeMismatch {
                found.append(
                    "There's a parameter type error for the function call \"\(signature.name)()\". "
                        + "Actual: \(actual), expected: \(signature.expectedDescription).")
                return
            }
            if let actionNames, ["outputs", "body"].contains(name.lowercased()),
                case .literal(.string(let action)) = arguments.first, !actionNames.contains(action)
            {
                found.append("The action '\(action)' referenced by '\(name)()' is not defined in the workflow.")
            }
        }
    }
}
