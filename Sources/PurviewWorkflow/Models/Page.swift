/// One page of a list: `{"value":[…],"nextLink":…}`. `value` is required. A `nextLink` that is absent,
/// null or empty means this is the last page and decodes as nil; otherwise it is an opaque URL to GET
/// (emit it absolute: the SDKs resolve relative ones wrongly).
public struct Page<Element> {
    public var value: [Element]
    public var nextLink: String?

    public init(value: [Element], nextLink: String? = nil) {
        self.value = value
        self.nextLink = nextLink
    }

    /// Whether another page follows.
    public var hasNextPage: Bool { nextLink != nil }

    private enum CodingKeys: String, CodingKey { case value, nextLink }
}

extension Page: Sendable where Element: Sendable {}
extension Page: Equatable where Element: Equatable {}
extension Page: Hashable where Element: Hashable {}

extension Page: Decodable where Element: Decodable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        value = try container.decode([Element].self, forKey: .value)
        let link = try container.decodeIfPresent(String.self, forKey: .nextLink)
        nextLink = link?.isEmpty == false ? link : nil
    }
}

extension Page: Encodable where Element: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(value, forKey: .value)
        try container.encodeIfPresent(nextLink, forKey: .nextLink)
    }
}
