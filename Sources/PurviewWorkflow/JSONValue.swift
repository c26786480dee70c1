/// A JSON document as a value: the shape of free-form parts of the Purview API (actionDag, payloads,
/// runInput) and the common currency between the client, the emulator and the gateway.
///
/// Objects keep their keys in insertion order so that documents round-trip as written; equality
/// ignores key order, as JSON's does.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// An insertion-ordered JSON object with unique keys.
///
/// Small objects (the common case on the wire) are searched linearly, which is cheaper than hashing
/// their keys; an index by key is built once an object grows past `indexThreshold` keys.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var keys: [String] = []
    private var storedValues: [JSONValue] = []
    private var positions: [String: Int]?

    private static let indexThreshold = 16

    public init() {}

    /// Like a `Dictionary` literal, a literal must not repeat a key (checked in debug builds): members are
    /// appended without searching for an earlier one.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        keys.reserveCapacity(elements.count)
        storedValues.reserveCapacity(elements.count)
        for (key, value) in elements {
            assert(!keys.contains(key), "JSONObject literal repeats the key \(key)")
            keys.append(key)
            storedValues.append(value)
        }
        if keys.count > JSONObject.indexThreshold { rebuildPositions() }
    }

    public init(_ pairs: [(String, JSONValue)]) {
        for (key, value) in pairs { self[key] = value }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    public mutating func reserveCapacity(_ minimumCapacity: Int) {
        keys.reserveCapacity(minimumCapacity)
        storedValues.reserveCapacity(minimumCapacity)
    }

    /// The values in key order.
    public var values: [JSONValue] { storedValues }

    /// Removes a key, returning its value.
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        guard let position = position(of: key) else { return nil }
        keys.remove(at: position)
        let old = storedValues.remove(at: position)
        if positions != nil { rebuildPositions() }
        return old
    }

    private func position(of key: String) -> Int? {
        if let positions { return positions[key] }
        return keys.firstIndex(of: key)
    }

    private mutating func rebuildPositions() {
        guard keys.count > JSONObject.indexThreshold else {
            positions = nil
            return
        }
        var rebuilt: [String: Int] = [:]
        rebuilt.reserveCapacity(keys.count)
        for (position, key) in keys.enumerated() { rebuilt[key] = position }
        positions = rebuilt
    }

    public subscript(key: String) -> JSONValue? {
        get { position(of: key).map { storedValues[$0] } }
        set {
            if let newValue {
                if let position = position(of: key) {
                    storedValues[position] = newValue
                } else {
                    keys.append(key)
                    storedValues.append(newValue)
                    if positions != nil {
                        positions![key] = keys.count - 1
                    } else if keys.count > JSONObject.indexThreshold {
                        rebuildPositions()
                    }
                }
            } else {
                removeValue(forKey: key)
            }
        }
    }

    public func makeIterator() -> AnyIterator<(key: String, value: JSONValue)> {
        var iterator = zip(keys, storedValues).makeIterator()
        return AnyIterator { iterator.next().map { (key: $0.0, value: $0.1) } }
    }

    /// Equal when both have the same keys with equal values, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (key, value) in zip(lhs.keys, lhs.storedValues) {
            guard rhs[key] == value else { return false }
        }
        return true
    }

    /// Independent of key order, like `==`.
    public func hash(into hasher: inout Hasher) {
        var combined = 0
        for (key, value) in zip(keys, storedValues) {
            var member = Hasher()
            member.combine(key)
            member.combine(value)
            combined ^= member.finalize()
        }
        hasher.combine(keys.count)
        hasher.combine(combined)
    }
}

extension JSONValue {
    public subscript(key: String) -> JSONValue? {
        guard case .object(let object) = self else { return nil }
        return object[key]
    }

    public subscript(index: Int) -> JSONValue? {
        guard case .array(let array) = self, array.indices.contains(index) else { return nil }
        return array[index]
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var doubleValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    public var intValue: Int? {
        guard case .number(let value) = self, abs(value) < 9.0e15 else { return nil }
        return Int(exactly: value)
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}
