extension KeyedDecodingContainer {
    /// The value for `key`, or `fallback` when the key is missing or null.
    func decode<T: Decodable>(_ key: Key, or fallback: @autoclosure () -> T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback()
    }
}

extension KeyedEncodingContainer {
    /// Encodes a string-keyed dictionary as an object with its keys sorted, so output is deterministic.
    mutating func encodeSorted<Value: Encodable>(_ dictionary: [String: Value], forKey key: Key) throws {
        var nested = nestedContainer(keyedBy: AnyCodingKey.self, forKey: key)
        for name in dictionary.keys.sorted() {
            try nested.encode(dictionary[name]!, forKey: AnyCodingKey(name))
        }
    }
}
