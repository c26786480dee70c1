import FoundationEssentials
import PurviewWorkflow

/// Makes the ids of new workflows runs, tasks and requests. Inject a ``SequentialIDGenerator`` for
/// deterministic tests.
public protocol EmulatorIDGenerator: Sendable {
    mutating func next() -> String
}

/// Random lowercase UUIDs, as the service issues.
public struct RandomIDGenerator: EmulatorIDGenerator {
    public init() {}
    public mutating func next() -> String { UUIDText.random() }
}

/// UUID-shaped ids counting up from 1: `00000000-0000-4000-8000-000000000001`, ...
public struct SequentialIDGenerator: EmulatorIDGenerator {
    public var counter: UInt64
    public init(startingAt first: UInt64 = 1) { counter = first }
    public mutating func next() -> String {
        defer { counter += 1 }
        let hex = String(counter, radix: 16)
        return "00000000-0000-4000-8000-" + String(repeating: "0", count: max(0, 12 - hex.count)) + hex
    }
}

/// True for the 8-4-4-4-12 hexadecimal form.
func isUUID(_ text: String) -> Bool {
    let bytes = Array(text.utf8)
    guard bytes.count == 36 else { return false }
    for (index, byte) in bytes.enumerated() {
        if index == 8 || index == 13 || index == 18 || index == 23 {
            guard byte == UInt8(ascii: "-") else { return false }
        } else {
            let isHex =
                (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 70) || (byte >= 97 && byte <= 102)
            guard isHex else { return false }
        }
    }
    return true
}

/// Principal object ids are GUIDs compared without regard to case.
func normalizedPrincipal(_ id: String) -> String { id.lowercased() }

/// Compact JSON text, keys in insertion order; used where an expression turns a value into a string.
func jsonText(_ value: JSONValue) -> String { value.serializedString() }

/// A number as JSON writes it (`3`, not `3.0`).
func numberText(_ number: Double) -> String { JSONValue.number(number).serializedString() }

extension JSONObject {
    /// The object with `key` set, for building values inline.
    func setting(_ key: String, _ value: JSONValue?) -> JSONObject {
        var copy = self
        copy[key] = value
        return copy
    }
}

extension Array where Element == String {
    /// Appends unless already present (case-insensitively), keeping first-seen order.
    mutating func appendUnique(_ value: String) {
        if !contains(where: { $0.lowercased() == value.lowercased() }) { append(value) }
    }
}
