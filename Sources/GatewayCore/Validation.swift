import PurviewWorkflow

/// One thing wrong with a request body, located by JSON pointer (RFC 6901).
public struct FieldViolation: Sendable, Hashable, Codable {
    /// JSON pointer to the offending member, e.g. `/experts/2`; "" for the whole body.
    public var pointer: String
    /// Machine-readable: `required`, `unknown_field`, `invalid_type`, `too_long`, `too_short`,
    /// `invalid_format`, `invalid_value`, `conflict`.
    public var code: String
    public var message: String

    public init(pointer: String, code: String, message: String) {
        self.pointer = pointer
        self.code = code
        self.message = message
    }
}

/// A body that is well-formed JSON but not a valid request: every violation is listed.
public struct ValidationFailure: Error, Sendable, Hashable {
    public var violations: [FieldViolation]
    public init(_ violations: [FieldViolation]) { self.violations = violations }
}

/// Reads the members of one JSON object, collecting violations instead of stopping at the first,
/// and reporting members nobody asked for (unknown fields are rejected, not ignored).
struct ObjectReader {
    let object: JSONObject
    let pointer: String
    private(set) var violations: [FieldViolation] = []
    /// The object's members asked for so far (a few, so a list beats a set).
    private var readMembers: [String] = []

    init(_ value: JSONValue, pointer: String = "", violations: inout [FieldViolation]) {
        if case .object(let object) = value {
            self.object = object
        } else {
            self.object = JSONObject()
            violations.append(FieldViolation(pointer: pointer, code: "invalid_type", message: "must be a JSON object"))
        }
        self.pointer = pointer
    }

    func path(_ key: String) -> String { pointer + "/" + JSONPointer.escape(key) }

    mutating func fail(_ key: String, _ code: String, _ message: String) {
        violations.append(FieldViolation(pointer: path(key), code: code, message: message))
    }

    mutating func raw(_ key: String) -> JSONValue? {
        guard let value = object[key] else { return nil }
        if !readMembers.contains(key) { readMembers.append(key) }
        return value.isNull ? nil : value
    }

    /// A string member, trimmed of surrounding whitespace; `maxLength` counts Unicode scalars.
    mutating func string(_ key: String, required: Bool, maxLength: Int, minLength: Int = 1) -> String? {
        guard let value = raw(key) else {
            if required { fail(key, "required", "is required") }
            return nil
        }
        guard case .string(let text) = value else {
            fail(key, "invalid_type", "must be a string")
            return nil
        }
        let trimmed = text.trimmingWhitespace()
        if trimmed.unicodeScalars.count < minLength {
            fail(key, required ? "required" : "too_short", minLength == 1 ? "must not be empty" : "must have at least \(minLength) characters")
            return nil
        }
        if trimmed.unicodeScalars.count > maxLength {
            fail(key, "too_long", "must be at most \(maxLength) characters")
            return nil
        }
        return trimmed
    }

    mutating func uuid(_ key: String, required: Bool) -> String? {
        guard let text = string(key, required: required, maxLength: 64) else { return nil }
        guard Identifiers.isUUID(text) else {
            fail(key, "invalid_format", "must be a UUID such as 3fa85f64-5717-4562-b3fc-2c963f66afa6")
            return nil
        }
        return text.lowercased()
    }

    mutating func stringArray(_ key: String, maxCount: Int, element: (String) -> String?) -> [String]? {
        guard let value = raw(key) else { return nil }
        guard case .array(let items) = value else {
            fail(key, "invalid_type", "must be an array of strings")
            return nil
        }
        if items.count > maxCount {
            fail(key, "too_long", "must have at most \(maxCount) items")
            return nil
        }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            let itemPointer = path(key) + "/\(index)"
            guard case .string(let text) = item, let accepted = element(text) else {
                violations.append(
                    FieldViolation(pointer: itemPointer, code: "invalid_format", message: "must be an email address or an Entra object id (UUID)"))
                continue
            }
            result.append(accepted)
        }
        return result
    }

    mutating func object(_ key: String) -> JSONObject? {
        guard let value = raw(key) else { return nil }
        guard case .object(let object) = value else {
            fail(key, "invalid_type", "must be a JSON object")
            return nil
        }
        return object
    }

    /// Adds an `unknown_field` violation for every member that was never read.
    mutating func rejectUnknown() {
        guard readMembers.count < object.count else { return }
        for key in object.keys where !readMembers.contains(key) {
            fail(key, "unknown_field", "is not a field of this request")
        }
    }
}

/// Identifier formats callers give us.
public enum Identifiers {
    /// 8-4-4-4-12 hexadecimal digits.
    public static func isUUID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard isHexDigit(byte) else { return false }
            }
        }
        return true
    }

    /// A pragmatic address check: one `@`, a non-empty local part, a dotted domain, no spaces or controls.
    public static func isEmail(_ text: String) -> Bool {
        guard text.utf8.count <= 254, !containsSpaceOrControl(text) else { return false }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64 else { return false }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { !$0.isEmpty && !$0.hasPrefix("-") && !$0.hasSuffix("-") }
    }

    /// `requestedBy` and people lists: an email address (kept as given, lowercased) or an Entra object id.
    public static func person(_ text: String) -> String? {
        let trimmed = text.trimmingWhitespace()
        if isUUID(trimmed) { return trimmed.lowercased() }
        if isEmail(trimmed) { return trimmed.lowercased() }
        return nil
    }

    /// Whitespace or an ASCII control character anywhere; bytes are checked directly when all are ASCII (the
    /// usual address), characters only otherwise.
    private static func containsSpaceOrControl(_ text: String) -> Bool {
        var allASCII = true
        for byte in text.utf8 {
            if byte >= 0x80 {
                allASCII = false
                break
            }
            if byte <= 0x20 || byte == 0x7F { return true }
        }
        if allASCII { return false }
        return text.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } ?? false })
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
    }
}
