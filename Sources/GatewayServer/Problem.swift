public import GatewayCore
public import HTTP
public import PurviewWorkflow

/// An RFC 9457 problem: what went wrong, machine-readable `code`, and for validation every field.
public struct Problem: Error, Sendable {
    public var status: HTTPStatus
    /// Stable, machine-readable: `validation_failed`, `malformed_json`, `unauthorized`, ...
    public var code: String
    public var title: String
    public var detail: String?
    public var violations: [FieldViolation] = []
    public var headers: HTTPFields = HTTPFields()
    /// Extra members (e.g. `existingRequestId`).
    public var extra: JSONObject = JSONObject()

    public init(_ status: HTTPStatus, code: String, title: String, detail: String? = nil) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
    }

    /// The problem document; `requestId` ties it to logs.
    public func document(requestId: String?, instance: String?) -> JSONValue {
        var object: JSONObject = [
            "type": .string("https://purview-gateway.dev/problems/\(code.replacingUnderscores())"),
            "title": .string(title), "status": .number(Double(status.code)), "code": .string(code),
        ]
        object["detail"] = detail.map(JSONValue.string)
        object["instance"] = instance.map(JSONValue.string)
        object["requestId"] = requestId.map(JSONValue.string)
        if !violations.isEmpty {
            object["errors"] = .array(
                violations.map { ["pointer": .string($0.pointer), "code": .string($0.code), "detail": .string($0.message)] })
        }
        for (key, value) in extra { object[key] = value }
        return .object(object)
    }

    public static func validation(_ failure: ValidationFailure) -> Problem {
        var problem = Problem(.unprocessableContent, code: "validation_failed", title: "The request body is not valid",
            detail: failure.violations.map { "\($0.pointer.isEmpty ? "body" : $0.pointer) \($0.message)" }.joined(separator: "; "))
        problem.violations = failure.violations
        return problem
    }

    public static func malformedJSON(_ error: any Error) -> Problem {
        Problem(.badRequest, code: "malformed_json", title: "The request body is not valid JSON", detail: "\(error)")
    }

    public static let unauthorized: Problem = {
        var problem = Problem(.unauthorized, code: "unauthorized", title: "A valid API key is required",
            detail: "send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
        problem.headers = ["WWW-Authenticate": "Bearer"]
        return problem
    }()

    public static func forbidden(_ scope: String) -> Problem {
        Problem(.forbidden, code: "forbidden", title: "This API key lacks a required scope", detail: "needs the scope \(scope)")
    }

    public static func notFound(_ what: String) -> Problem {
        Problem(.notFound, code: "not_found", title: "Not found", detail: what)
    }
}

extension String {
    func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}
