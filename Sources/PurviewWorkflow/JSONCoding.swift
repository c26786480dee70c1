// Codable support: JSONValue nests in Codable models, and JSONValueEncoder / JSONValueDecoder convert
// between Codable types and JSONValue (and so JSON bytes) without Foundation.

/// A coding key for any string or index.
struct AnyCodingKey: CodingKey, Hashable, Sendable {
    let stringValue: String
    let intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        self.intValue = nil
    }

    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }

    init(_ string: String) { self.init(stringValue: string) }
}

extension JSONValue: Codable {
    /// Decodes any JSON value. With `JSONValueDecoder` the value is taken as is (key order kept); with
    /// other decoders, such as Foundation's `JSONDecoder`, object key order is the decoder's.
    public init(from decoder: any Decoder) throws {
        if let decoder = decoder as? JSONValueDecoding {
            self = decoder.value
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let flag = try? single.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? single.decode(Double.self) {
            self = .number(number)
        } else if let text = try? single.decode(String.self) {
            self = .string(text)
        } else if let elements = try? single.decode([JSONValue].self) {
            self = .array(elements)
        } else {
            let keyed = try decoder.container(keyedBy: AnyCodingKey.self)
            var object = JSONObject()
            for key in keyed.allKeys {
                object[key.stringValue] = try keyed.decode(JSONValue.self, forKey: key)
            }
            self = .object(object)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        if let encoder = encoder as? JSONValueEncoding {
            encoder.node.set(self)
            return
        }
        switch self {
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .bool(let flag):
            var single = encoder.singleValueContainer()
            try single.encode(flag)
        case .number(let number):
            var single = encoder.singleValueContainer()
            // Integral values as integers, so that encoders print `1` rather than `1.0`.
            if number.magnitude < 9_007_199_254_740_992, number == number.rounded(.towardZero) {
                try single.encode(Int64(number))
            } else {
                try single.encode(number)
            }
        case .string(let text):
            var single = encoder.singleValueContainer()
            try single.encode(text)
        case .array(let elements):
            var unkeyed = encoder.unkeyedContainer()
            for element in elements { try unkeyed.encode(element) }
        case .object(let object):
            var keyed = encoder.container(keyedBy: AnyCodingKey.self)
            for key in object.keys {
                try keyed.encode(object[key] ?? .null, forKey: AnyCodingKey(key))
            }
        }
    }
}

// MARK: - Decoding

/// Decodes `Decodable` values from a `JSONValue` or from JSON bytes (parsed with `JSONValue(parsing:)`).
///
/// Errors are the standard `DecodingError`s with a full coding path (`JSONPointer(codingPath:)` turns it
/// into a pointer), or `JSONParseError` for malformed text. Numbers decode into integer types only when
/// they are integral and in range.
public struct JSONValueDecoder: Sendable {
    public var parsingOptions: JSONParsingOptions
    public var userInfo: [CodingUserInfoKey: any Sendable]

    public init(
        parsingOptions: JSONParsingOptions = JSONParsingOptions(), userInfo: [CodingUserInfoKey: any Sendable] = [:]
    ) {
        self.parsingOptions = parsingOptions
        self.userInfo = userInfo
    }

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        let decoder = JSONValueDecoding(value: value, codingPath: [], userInfo: userInfo)
        return try T(from: decoder)
    }

    public func decode<T: Decodable>(_ type: T.Type, from bytes: some Sequence<UInt8>) throws -> T {
        try decode(type, from: try JSONValue(parsing: bytes, options: parsingOptions))
    }

    public func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try decode(type, from: try JSONValue(parsing: text, options: parsingOptions))
    }
}

extension JSONValue {
    /// Decodes a `Decodable` value from this JSON value.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONValueDecoder().decode(type, from: self)
    }
}

struct JSONValueDecoding: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    let sendableUserInfo: [CodingUserInfoKey: any Sendable]

    init(value: JSONValue, codingPath: [any CodingKey], userInfo: [CodingUserInfoKey: any Sendable]) {
        self.value = value
        self.codingPath = codingPath
        self.sendableUserInfo = userInfo
    }

    var userInfo: [CodingUserInfoKey: Any] { sendableUserInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else {
            throw DecodingError.typeMismatch(
                [String: JSONValue].self, mismatch(expected: "an object", found: value, path: codingPath))
        }
        return KeyedDecodingContainer(
            JSONKeyedDecodingContainer<Key>(object: object, codingPath: codingPath, userInfo: sendableUserInfo))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            throw DecodingError.typeMismatch(
                [JSONValue].self, mismatch(expected: "an array", found: value, path: codingPath))
        }
        return JSONUnkeyedDecodingContainer(elements: elements, codingPath: codingPath, userInfo: sendableUserInfo)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        JSONSingleValueDecodingContainer(value: value, codingPath: codingPath, userInfo: sendableUserInfo)
    }
}

private func kindName(_ value: JSONValue) -> String {
    switch value {
    case .null: return "null"
    case .bool: return "a boolean"
    case .number: return "a number"
    case .string: return "a string"
    case .array: return "an array"
    case .object: return "an object"
    }
}

private func mismatch(expected: String, found value: JSONValue, path: [any CodingKey]) -> DecodingError.Context {
    DecodingError.Context(codingPath: path, debugDescription: "expected \(expected) but found \(kindName(value))")
}

/// Converts one JSON value to a primitive, throwing the standard decoding errors.
private struct PrimitiveUnboxer {
    let codingPath: [any CodingKey]
    let userInfo: [CodingUserInfoKey: any Sendable]

    func nonNull<T>(_ value: JSONValue, _ type: T.Type) throws {
        if case .null = value {
            throw DecodingError.valueNotFound(
                type, DecodingError.Context(codingPath: codingPath, debugDescription: "expected \(type) but found null")
            )
        }
    }

    func bool(_ value: JSONValue) throws -> Bool {
        try nonNull(value, Bool.self)
        guard case .bool(let flag) = value else {
            throw DecodingError.typeMismatch(Bool.self, mismatch(expected: "a boolean", found: value, path: codingPath))
        }
        return flag
    }

    func string(_ value: JSONValue) throws -> String {
        try nonNull(value, String.self)
        guard case .string(let text) = value else {
            throw DecodingError.typeMismatch(
                String.self, mismatch(expected: "a string", found: value, path: codingPath))
        }
        return text
    }

    func double(_ value: JSONValue) throws -> Double {
        try nonNull(value, Double.self)
        guard case .number(let number) = value else {
            throw DecodingError.typeMismatch(
                Double.self, mismatch(expected: "a number", found: value, path: codingPath))
        }
        return number
    }

    func float(_ value: JSONValue) throws -> Float {
        let number = try double(value)
        let narrowed = Float(number)
        if narrowed.isInfinite && number.isFinite {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: codingPath, debugDescription: "number \(number) does not fit Float"))
        }
        return narrowed
    }

    func integer<T: FixedWidthInteger>(_ value: JSONValue, _ type: T.Type) throws -> T {
        let number = try double(value)
        guard number == number.rounded(.towardZero), let exact = T(exactly: number) else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: codingPath,
                    debugDescription: "number \(JSONNumberFormatter.string(number)) is not representable as \(T.self)"))
        }
        return exact
    }

    func decode<T: Decodable>(_ value: JSONValue, as type: T.Type) throws -> T {
        try T(from: JSONValueDecoding(value: value, codingPath: codingPath, userInfo: userInfo))
    }
}

private struct JSONKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: JSONObject
    let codingPath: [any CodingKey]
    let userInfo: [CodingUserInfoKey: any Sendable]

    var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

    private func value(for key: Key) throws -> JSONValue {
        guard let value = object[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key,
                DecodingError.Context(codingPath: codingPath, debugDescription: "missing key '\(key.stringValue)'"))
        }
        return value
    }

    private func unboxer(_ key: Key) -> PrimitiveUnboxer {
        PrimitiveUnboxer(codingPath: codingPath + [key], userInfo: userInfo)
    }

    func decodeNil(forKey key: Key) throws -> Bool { try value(for: key).isNull }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try unboxer(key).bool(value(for: key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try unboxer(key).string(value(for: key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try unboxer(key).double(value(for: key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try unboxer(key).float(value(for: key)) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try unboxer(key).integer(value(for: key), type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try unboxer(key).integer(value(for: key), type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try unboxer(key).integer(value(for: key), type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try unboxer(key).integer(value(for: key), type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try unboxer(key).integer(value(for: key), type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try unboxer(key).integer(value(for: key), type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try unboxer(key).integer(value(for: key), type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        try unboxer(key).integer(value(for: key), type)
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        try unboxer(key).integer(value(for: key), type)
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        try unboxer(key).integer(value(for: key), type)
    }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try unboxer(key).decode(value(for: key), as: type)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try JSONValueDecoding(value: value(for: key), codingPath: codingPath + [key], userInfo: userInfo)
            .container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try JSONValueDecoding(value: value(for: key), codingPath: codingPath + [key], userInfo: userInfo)
            .unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        let key = AnyCodingKey("super")
        return JSONValueDecoding(value: object["super"] ?? .null, codingPath: codingPath + [key], userInfo: userInfo)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        JSONValueDecoding(value: object[key.stringValue] ?? .null, codingPath: codingPath + [key], userInfo: userInfo)
    }
}

private struct JSONUnkeyedDecodingContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    let userInfo: [CodingUserInfoKey: any Sendable]
    private(set) var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey], userInfo: [CodingUserInfoKey: any Sendable]) {
        self.elements = elements
        self.codingPath = codingPath
        self.userInfo = userInfo
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next<T>(_ type: T.Type) throws -> (JSONValue, PrimitiveUnboxer) {
        let key = AnyCodingKey(intValue: currentIndex)
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type,
                DecodingError.Context(codingPath: codingPath + [key], debugDescription: "unkeyed container is at end"))
        }
        let value = elements[currentIndex]
        currentIndex += 1
        return (value, PrimitiveUnboxer(codingPath: codingPath + [key], userInfo: userInfo))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                JSONValue.self,
                DecodingError.Context(
                    codingPath: codingPath + [AnyCodingKey(intValue: currentIndex)],
                    debugDescription: "unkeyed container is at end"))
        }
        if elements[currentIndex].isNull {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool {
        let (v, u) = try next(type)
        return try u.bool(v)
    }
    mutating func decode(_ type: String.Type) throws -> String {
        let (v, u) = try next(type)
        return try u.string(v)
    }
    mutating func decode(_ type: Double.Type) throws -> Double {
        let (v, u) = try next(type)
        return try u.double(v)
    }
    mutating func decode(_ type: Float.Type) throws -> Float {
        let (v, u) = try next(type)
        return try u.float(v)
    }
    mutating func decode(_ type: Int.Type) throws -> Int {
        let (v, u) = try next(type)
        return try u.integer(v, type)
    }
    mutating func decode(_ type: Int8.Type) throws -> Int8 {
        let (v, u) = try next(type)
        return try u.integer(v, type)
    }
    mutating func decode(_ type: Int16.Type) throws -> Int16 {
        let (v, u) = try next(type)
        return try u.integer(v, type)
    }
    mutating func decode(_ type: Int32.Type) throws -> Int32 {
        let (v, u) = try next(type)
        return try u.integer(v, type)
    }
    mutating func decode(_ type: Int64.Type) throws -> Int64 {
        let (v, u) = try next(type)
        return try u.integer(v, type)
    }
    mutating func decode(_ type: UInt.Type) throws -> UInt {
        let (v, u) = try next(type)
        return try u.integer(v, type)
    }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 {
        let (v, u) = try next(type)
        return try u.integer(v, type)
    }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 {
        let (v, u) = try next(type)
        return try u.integer(v, type)
    }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 {
        let (v, u) = try next(type)
        return try u.integer(v, type)
    }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 {
        let (v, u) = try next(type)
        return try u.integer(v, type)
    }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (v, u) = try next(type)
        return try u.decode(v, as: type)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let (v, u) = try next(JSONObject.self)
        return try JSONValueDecoding(value: v, codingPath: u.codingPath, userInfo: userInfo).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (v, u) = try next([JSONValue].self)
        return try JSONValueDecoding(value: v, codingPath: u.codingPath, userInfo: userInfo).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (v, u) = try next(JSONValue.self)
        return JSONValueDecoding(value: v, codingPath: u.codingPath, userInfo: userInfo)
    }
}

private struct JSONSingleValueDecodingContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]
    let userInfo: [CodingUserInfoKey: any Sendable]

    private var unboxer: PrimitiveUnboxer { PrimitiveUnboxer(codingPath: codingPath, userInfo: userInfo) }

    func decodeNil() -> Bool { value.isNull }
    func decode(_ type: Bool.Type) throws -> Bool { try unboxer.bool(value) }
    func decode(_ type: String.Type) throws -> String { try unboxer.string(value) }
    func decode(_ type: Double.Type) throws -> Double { try unboxer.double(value) }
    func decode(_ type: Float.Type) throws -> Float { try unboxer.float(value) }
    func decode(_ type: Int.Type) throws -> Int { try unboxer.integer(value, type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try unboxer.integer(value, type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try unboxer.integer(value, type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try unboxer.integer(value, type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try unboxer.integer(value, type) }
    func decode(_ type: UInt.Type) throws -> UInt { try unboxer.integer(value, type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try unboxer.integer(value, type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try unboxer.integer(value, type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try unboxer.integer(value, type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try unboxer.integer(value, type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try unboxer.decode(value, as: type) }
}

// MARK: - Encoding

/// Encodes `Encodable` values into a `JSONValue` or JSON bytes.
///
/// Object keys keep the order in which the type encodes them (declaration order for synthesized
/// conformances); `outputFormatting` can sort them. Non-finite floating-point values are an
/// `EncodingError.invalidValue`, as JSON cannot express them.
public struct JSONValueEncoder: Sendable {
    public var outputFormatting: JSONWritingOptions
    public var userInfo: [CodingUserInfoKey: any Sendable]

    public init(outputFormatting: JSONWritingOptions = [], userInfo: [CodingUserInfoKey: any Sendable] = [:]) {
        self.outputFormatting = outputFormatting
        self.userInfo = userInfo
    }

    public func encodeToJSONValue<T: Encodable>(_ value: T) throws -> JSONValue {
        let root = JSONEncodingNode()
        try value.encode(to: JSONValueEncoding(node: root, codingPath: [], userInfo: userInfo))
        return root.finish()
    }

    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        try encodeToJSONValue(value).serialized(options: outputFormatting)
    }
}

extension JSONValue {
    /// Encodes an `Encodable` value as a JSON value.
    public init<T: Encodable>(encoding value: T) throws {
        self = try JSONValueEncoder().encodeToJSONValue(value)
    }
}

/// One value under construction. Containers hand out child nodes so that nested containers can keep
/// writing after their parent container has been dropped, as Codable allows.
final class JSONEncodingNode {
    private enum Content {
        case unset
        case value(JSONValue)
        case object
        case array
    }

    private var content: Content = .unset
    private var objectKeys: [String] = []
    private var objectChildren: [String: JSONEncodingNode] = [:]
    private var arrayChildren: [JSONEncodingNode] = []

    init() {}

    init(_ value: JSONValue) { content = .value(value) }

    func set(_ value: JSONValue) { content = .value(value) }

    func becomeObject() {
        switch content {
        case .object: return
        case .unset: content = .object
        case .value(.object(let existing)):
            // A value set earlier (e.g. an encoded JSONValue) merged with more keys.
            content = .object
            for key in existing.keys {
                objectKeys.append(key)
                objectChildren[key] = JSONEncodingNode(existing[key]!)
            }
        default:
            preconditionFailure("Encodable asked for a keyed container where it already encoded another kind of value")
        }
    }

    func becomeArray() {
        switch content {
        case .array: return
        case .unset: content = .array
        default:
            preconditionFailure(
                "Encodable asked for an unkeyed container where it already encoded another kind of value")
        }
    }

    func child(forKey key: String) -> JSONEncodingNode {
        if let existing = objectChildren[key] { return existing }
        let node = JSONEncodingNode()
        objectKeys.append(key)
        objectChildren[key] = node
        return node
    }

    func setChild(_ value: JSONValue, forKey key: String) {
        if let existing = objectChildren[key] {
            existing.set(value)
        } else {
            objectKeys.append(key)
            objectChildren[key] = JSONEncodingNode(value)
        }
    }

    func appendChild() -> JSONEncodingNode {
        let node = JSONEncodingNode()
        arrayChildren.append(node)
        return node
    }

    func appendChild(_ value: JSONValue) { arrayChildren.append(JSONEncodingNode(value)) }

    var arrayCount: Int { arrayChildren.count }

    func finish() -> JSONValue {
        switch content {
        case .unset: return .object(JSONObject())
        case .value(let value): return value
        case .array: return .array(arrayChildren.map { $0.finish() })
        case .object:
            var object = JSONObject()
            object.reserveCapacity(objectKeys.count)
            for key in objectKeys { object[key] = objectChildren[key]!.finish() }
            return .object(object)
        }
    }
}

struct JSONValueEncoding: Encoder {
    let node: JSONEncodingNode
    let codingPath: [any CodingKey]
    let sendableUserInfo: [CodingUserInfoKey: any Sendable]

    init(node: JSONEncodingNode, codingPath: [any CodingKey], userInfo: [CodingUserInfoKey: any Sendable]) {
        self.node = node
        self.codingPath = codingPath
        self.sendableUserInfo = userInfo
    }

    var userInfo: [CodingUserInfoKey: Any] { sendableUserInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.becomeObject()
        return KeyedEncodingContainer(
            JSONKeyedEncodingContainer<Key>(node: node, codingPath: codingPath, userInfo: sendableUserInfo))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.becomeArray()
        return JSONUnkeyedEncodingContainer(node: node, codingPath: codingPath, userInfo: sendableUserInfo)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        JSONSingleValueEncodingContainer(node: node, codingPath: codingPath, userInfo: sendableUserInfo)
    }
}

private func checkedNumber<T: BinaryFloatingPoint>(_ value: T, path: [any CodingKey]) throws -> JSONValue {
    guard value.isFinite else {
        throw EncodingError.invalidValue(
            value, EncodingError.Context(codingPath: path, debugDescription: "JSON cannot express \(value)"))
    }
    return .number(Double(value))
}

private func integerNumber<T: BinaryInteger>(_ value: T) -> JSONValue { .number(Double(value)) }

private func encodeNested<T: Encodable>(
    _ value: T, into node: JSONEncodingNode, path: [any CodingKey], userInfo: [CodingUserInfoKey: any Sendable]
) throws {
    if let json = value as? JSONValue {
        node.set(json)
        return
    }
    try value.encode(to: JSONValueEncoding(node: node, codingPath: path, userInfo: userInfo))
}

private struct JSONKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: JSONEncodingNode
    let codingPath: [any CodingKey]
    let userInfo: [CodingUserInfoKey: any Sendable]

    mutating func encodeNil(forKey key: Key) throws { node.setChild(.null, forKey: key.stringValue) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { node.setChild(.bool(value), forKey: key.stringValue) }
    mutating func encode(_ value: String, forKey key: Key) throws {
        node.setChild(.string(value), forKey: key.stringValue)
    }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        node.setChild(try checkedNumber(value, path: codingPath + [key]), forKey: key.stringValue)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        node.setChild(try checkedNumber(value, path: codingPath + [key]), forKey: key.stringValue)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws {
        node.setChild(integerNumber(value), forKey: key.stringValue)
    }
    mutating func encode(_ value: Int8, forKey key: Key) throws {
        node.setChild(integerNumber(value), forKey: key.stringValue)
    }
    mutating func encode(_ value: Int16, forKey key: Key) throws {
        node.setChild(integerNumber(value), forKey: key.stringValue)
    }
    mutating func encode(_ value: Int32, forKey key: Key) throws {
        node.setChild(integerNumber(value), forKey: key.stringValue)
    }
    mutating func encode(_ value: Int64, forKey key: Key) throws {
        node.setChild(integerNumber(value), forKey: key.stringValue)
    }
    mutating func encode(_ value: UInt, forKey key: Key) throws {
        node.setChild(integerNumber(value), forKey: key.stringValue)
    }
    mutating func encode(_ value: UInt8, forKey key: Key) throws {
        node.setChild(integerNumber(value), forKey: key.stringValue)
    }
    mutating func encode(_ value: UInt16, forKey key: Key) throws {
        node.setChild(integerNumber(value), forKey: key.stringValue)
    }
    mutating func encode(_ value: UInt32, forKey key: Key) throws {
        node.setChild(integerNumber(value), forKey: key.stringValue)
    }
    mutating func encode(_ value: UInt64, forKey key: Key) throws {
        node.setChild(integerNumber(value), forKey: key.stringValue)
    }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try encodeNested(value, into: node.child(forKey: key.stringValue), path: codingPath + [key], userInfo: userInfo)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        JSONValueEncoding(node: node.child(forKey: key.stringValue), codingPath: codingPath + [key], userInfo: userInfo)
            .container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        JSONValueEncoding(node: node.child(forKey: key.stringValue), codingPath: codingPath + [key], userInfo: userInfo)
            .unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        JSONValueEncoding(
            node: node.child(forKey: "super"), codingPath: codingPath + [AnyCodingKey("super")], userInfo: userInfo)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        JSONValueEncoding(node: node.child(forKey: key.stringValue), codingPath: codingPath + [key], userInfo: userInfo)
    }
}

private struct JSONUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let node: JSONEncodingNode
    let codingPath: [any CodingKey]
    let userInfo: [CodingUserInfoKey: any Sendable]

    var count: Int { node.arrayCount }
    private var nextPath: [any CodingKey] { codingPath + [AnyCodingKey(intValue: node.arrayCount)] }

    mutating func encodeNil() throws { node.appendChild(.null) }
    mutating func encode(_ value: Bool) throws { node.appendChild(.bool(value)) }
    mutating func encode(_ value: String) throws { node.appendChild(.string(value)) }
    mutating func encode(_ value: Double) throws { node.appendChild(try checkedNumber(value, path: nextPath)) }
    mutating func encode(_ value: Float) throws { node.appendChild(try checkedNumber(value, path: nextPath)) }
    mutating func encode(_ value: Int) throws { node.appendChild(integerNumber(value)) }
    mutating func encode(_ value: Int8) throws { node.appendChild(integerNumber(value)) }
    mutating func encode(_ value: Int16) throws { node.appendChild(integerNumber(value)) }
    mutating func encode(_ value: Int32) throws { node.appendChild(integerNumber(value)) }
    mutating func encode(_ value: Int64) throws { node.appendChild(integerNumber(value)) }
    mutating func encode(_ value: UInt) throws { node.appendChild(integerNumber(value)) }
    mutating func encode(_ value: UInt8) throws { node.appendChild(integerNumber(value)) }
    mutating func encode(_ value: UInt16) throws { node.appendChild(integerNumber(value)) }
    mutating func encode(_ value: UInt32) throws { node.appendChild(integerNumber(value)) }
    mutating func encode(_ value: UInt64) throws { node.appendChild(integerNumber(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = nextPath
        try encodeNested(value, into: node.appendChild(), path: path, userInfo: userInfo)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        let path = nextPath
        return JSONValueEncoding(node: node.appendChild(), codingPath: path, userInfo: userInfo)
            .container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = nextPath
        return JSONValueEncoding(node: node.appendChild(), codingPath: path, userInfo: userInfo).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let path = nextPath
        return JSONValueEncoding(node: node.appendChild(), codingPath: path, userInfo: userInfo)
    }
}

private struct JSONSingleValueEncodingContainer: SingleValueEncodingContainer {
    let node: JSONEncodingNode
    let codingPath: [any CodingKey]
    let userInfo: [CodingUserInfoKey: any Sendable]

    mutating func encodeNil() throws { node.set(.null) }
    mutating func encode(_ value: Bool) throws { node.set(.bool(value)) }
    mutating func encode(_ value: String) throws { node.set(.string(value)) }
    mutating func encode(_ value: Double) throws { node.set(try checkedNumber(value, path: codingPath)) }
    mutating func encode(_ value: Float) throws { node.set(try checkedNumber(value, path: codingPath)) }
    mutating func encode(_ value: Int) throws { node.set(integerNumber(value)) }
    mutating func encode(_ value: Int8) throws { node.set(integerNumber(value)) }
    mutating func encode(_ value: Int16) throws { node.set(integerNumber(value)) }
    mutating func encode(_ value: Int32) throws { node.set(integerNumber(value)) }
    mutating func encode(_ value: Int64) throws { node.set(integerNumber(value)) }
    mutating func encode(_ value: UInt) throws { node.set(integerNumber(value)) }
    mutating func encode(_ value: UInt8) throws { node.set(integerNumber(value)) }
    mutating func encode(_ value: UInt16) throws { node.set(integerNumber(value)) }
    mutating func encode(_ value: UInt32) throws { node.set(integerNumber(value)) }
    mutating func encode(_ value: UInt64) throws { node.set(integerNumber(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try encodeNested(value, into: node, path: codingPath, userInfo: userInfo)
    }
}
