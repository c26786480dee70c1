/// A JSON Pointer (RFC 6901): a path of reference tokens into a JSON document, written `/a/0/b~1c`.
///
/// Tokens are kept unescaped; `description` escapes `~` as `~0` and `/` as `~1`. The empty pointer
/// (`""`) is the whole document.
public struct JSONPointer: Hashable, Sendable, LosslessStringConvertible, ExpressibleByArrayLiteral {
    /// The unescaped reference tokens, outermost first.
    public var tokens: [String]

    public init(tokens: [String]) { self.tokens = tokens }

    public init(arrayLiteral elements: String...) { self.tokens = elements }

    /// The pointer to the whole document.
    public static let root = JSONPointer(tokens: [])

    /// Parses the string form, e.g. `/actionDag/actions/Approve~1Reject`. Returns nil unless the text is
    /// empty or starts with `/`, or if a `~` is not followed by `0` or `1`.
    public init?(_ description: String) {
        if description.isEmpty {
            tokens = []
            return
        }
        guard description.utf8.first == UInt8(ascii: "/") else { return nil }
        var tokens: [String] = []
        for rawToken in description.utf8.dropFirst().split(
            separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        {
            guard let token = JSONPointer.unescape(rawToken) else { return nil }
            tokens.append(token)
        }
        self.tokens = tokens
    }

    /// The pointer for a `Codable` coding path, e.g. from a `DecodingError` context. Keys with an integer
    /// value (array positions) become that integer.
    public init(codingPath: [any CodingKey]) {
        tokens = codingPath.map { key in key.intValue.map(String.init) ?? key.stringValue }
    }

    public var description: String {
        var text = ""
        for token in tokens {
            text.append("/")
            text.append(JSONPointer.escape(token))
        }
        return text
    }

    public func appending(_ token: String) -> JSONPointer { JSONPointer(tokens: tokens + [token]) }

    public func appending(index: Int) -> JSONPointer { appending(String(index)) }

    /// The pointer one level up, or nil for the root.
    public var parent: JSONPointer? { tokens.isEmpty ? nil : JSONPointer(tokens: Array(tokens.dropLast())) }

    /// Escapes one reference token: `~` → `~0`, `/` → `~1`.
    public static func escape(_ token: String) -> String {
        guard token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else { return token }
        var escaped = ""
        for character in token.unicodeScalars {
            switch character {
            case "~": escaped.append("~0")
            case "/": escaped.append("~1")
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    private static func unescape(_ raw: Substring.UTF8View.SubSequence) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.count)
        var iterator = raw.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "~") else {
                bytes.append(byte)
                continue
            }
            switch iterator.next() {
            case UInt8(ascii: "0"): bytes.append(UInt8(ascii: "~"))
            case UInt8(ascii: "1"): bytes.append(UInt8(ascii: "/"))
            default: return nil
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension JSONValue {
    /// The value a pointer refers to, or nil if there is none. Array tokens must be decimal indices without
    /// leading zeros; `-` (one past the end) refers to nothing.
    public subscript(pointer pointer: JSONPointer) -> JSONValue? {
        var current = self
        for token in pointer.tokens {
            switch current {
            case .object(let object):
                guard let next = object[token] else { return nil }
                current = next
            case .array(let elements):
                guard let index = JSONPointer.arrayIndex(token), index < elements.count else { return nil }
                current = elements[index]
            default:
                return nil
            }
        }
        return current
    }
}

extension JSONPointer {
    static func arrayIndex(_ token: String) -> Int? {
        let utf8 = token.utf8
        guard let first = utf8.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { return nil }
        if first == UInt8(ascii: "0") { return utf8.count == 1 ? 0 : nil }
        guard utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int(token)
    }
}
