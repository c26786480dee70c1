public import PurviewWorkflow

/// A failure of an emulator operation, in the terms the service uses on the wire: an HTTP status, a
/// dotted error code such as `Workflow.WorkflowNotFound`, a message and an optional target.
///
/// The HTTP layer renders it with ``envelope`` as `{"error":{"code","message","target","details"}}`.
/// Error codes other than the ones seen live are our own spellings.
public struct EmulatorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The class of failure, which fixes the HTTP status.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Base: Sendable, Hashable {
            case badRequest, forbidden, notFound, conflict
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// 400: the request is malformed or names something invalid.
        public static let badRequest = Kind(.badRequest)
        /// 403: the caller may not do this (not an approver, not the run's requestor).
        public static let forbidden = Kind(.forbidden)
        /// 404: no workflow, run or task with that id.
        public static let notFound = Kind(.notFound)
        /// 409: the resource is not in a state that allows it (task decided, run finished).
        public static let conflict = Kind(.conflict)

        public var statusCode: Int {
            switch base {
            case .badRequest: 400
            case .forbidden: 403
            case .notFound: 404
            case .conflict: 409
            }
        }

        public var description: String {
            switch base {
            case .badRequest: "badRequest"
            case .forbidden: "forbidden"
            case .notFound: "notFound"
            case .conflict: "conflict"
            }
        }
    }

    public var kind: Kind
    /// Service-style dotted code, e.g. `Workflow.TaskNotFound`.
    public var code: String
    public var message: String
    /// What the error is about: a field name, a parameter or an id.
    public var target: String?
    /// Further errors, e.g. one per validation violation.
    public var details: [EmulatorError]

    public init(_ kind: Kind, code: String, message: String, target: String? = nil, details: [EmulatorError] = []) {
        self.kind = kind
        self.code = code
        self.message = message
        self.target = target
        self.details = details
    }

    public var statusCode: Int { kind.statusCode }

    public var description: String { "\(statusCode) \(code): \(message)" }

    /// The body the service sends for this failure: `{"error":{...}}`.
    public var envelope: JSONValue { ["error": .object(body)] }

    private var body: JSONObject {
        var object: JSONObject = ["code": .string(code), "message": .string(message)]
        if let target { object["target"] = .string(target) }
        if !details.isEmpty { object["details"] = .array(details.map { .object($0.body) }) }
        return object
    }
}

extension EmulatorError {
    static func invalidRequest(_ message: String, target: String? = nil) -> EmulatorError {
        EmulatorError(.badRequest, code: "Workflow.InvalidRequest", message: message, target: target)
    }

    static func invalidParameter(_ name: String, _ message: String) -> EmulatorError {
        EmulatorError(.badRequest, code: "Workflow.InvalidParameter", message: message, target: name)
    }

    static func workflowNotFound(_ id: String) -> EmulatorError {
        EmulatorError(
            .notFound, code: "Workflow.WorkflowNotFound", message: "The workflow '\(id)' was not found.", target: id)
    }

    static func runNotFound(_ id: String) -> EmulatorError {
        EmulatorError(
            .notFound, code: "Workflow.WorkflowRunNotFound", message: "The workflow run '\(id)' was not found.",
            target: id)
    }

    static func taskNotFound(_ id: String) -> EmulatorError {
        EmulatorError(
            .notFound, code: "Workflow.TaskNotFound", message: "The workflow task '\(id)' was not found.", target: id)
    }

    static func forbidden(_ message: String, target: String? = nil) -> EmulatorError {
        EmulatorError(.forbidden, code: "Workflow.Forbidden", message: message, target: target)
    }

    static func conflict(_ code: String, _ message: String, target: String? = nil) -> EmulatorError {
        EmulatorError(.conflict, code: code, message: message, target: target)
    }
}
