/// The service's error envelope, `{"error":{"code","message","target"?,"details"?}}`, sent with every
/// failure status.
public struct PurviewErrorResponse: Codable, Sendable, Hashable {
    public var error: PurviewError

    public init(error: PurviewError) { self.error = error }
}

/// An error: a code (dotted, e.g. `Workflow.UserDataClient.CanNotFindEmailForUsers`), a message, and
/// optionally a target and nested details of the same shape.
public struct PurviewError: Codable, Sendable, Hashable {
    public var code: String
    public var message: String
    public var target: String?
    public var details: [PurviewError]?
    /// Azure's optional `innererror`, kept as JSON.
    public var innerError: JSONValue?

    public init(
        code: String, message: String, target: String? = nil, details: [PurviewError]? = nil,
        innerError: JSONValue? = nil
    ) {
        self.code = code
        self.message = message
        self.target = target
        self.details = details
        self.innerError = innerError
    }

    private enum CodingKeys: String, CodingKey {
        case code, message, target, details
        case innerError = "innererror"
    }

    /// Missing `code` or `message` decode as empty strings, so that any envelope-shaped body is readable.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        code = try container.decode(.code, or: "")
        message = try container.decode(.message, or: "")
        target = try container.decodeIfPresent(String.self, forKey: .target)
        details = try container.decodeIfPresent([PurviewError].self, forKey: .details)
        innerError = try container.decodeIfPresent(JSONValue.self, forKey: .innerError)
    }
}
