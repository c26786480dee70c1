/// The answer to `POST /workflows/{id}/validate`. The service sends `{"value":[…]}`, the seed spec
/// `{"errors":[…]}`; both decode, and encoding writes `value`.
public struct ValidationResult: Codable, Sendable, Hashable {
    public var violations: [WorkflowValidationViolation]

    public init(violations: [WorkflowValidationViolation] = []) { self.violations = violations }

    /// Whether any violation is an error (warnings alone leave a workflow valid).
    public var hasErrors: Bool { violations.contains { $0.severity == .error } }

    private enum CodingKeys: String, CodingKey { case value, errors }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        violations =
            try container.decodeIfPresent([WorkflowValidationViolation].self, forKey: .value)
            ?? container.decode(.errors, or: [])
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(violations, forKey: .value)
    }
}

/// One validation finding, e.g. a bad expression in an action parameter.
public struct WorkflowValidationViolation: Codable, Sendable, Hashable {
    public var severity: ValidationSeverity
    /// Absent in the seed's shape.
    public var location: ValidationLocation?
    public var message: String

    public init(severity: ValidationSeverity, location: ValidationLocation? = nil, message: String) {
        self.severity = severity
        self.location = location
        self.message = message
    }
}

/// Where a validation finding is.
public struct ValidationLocation: Codable, Sendable, Hashable {
    public var type: ValidationLocationType
    public var actionName: String?
    public var parameterKey: String?

    public init(type: ValidationLocationType, actionName: String? = nil, parameterKey: String? = nil) {
        self.type = type
        self.actionName = actionName
        self.parameterKey = parameterKey
    }
}
