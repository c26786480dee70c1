/// One operation of a user request, e.g. `{"type":"CreateTerm","payload":{"glossaryTerm":{...}}}`.
/// In a response each operation also lists the runs it started.
public struct UserRequestOperation: Codable, Sendable, Hashable {
    public var type: OperationType
    public var payload: JSONValue?
    /// Response only: the runs this operation started (none when no workflow matched).
    public var workflowRunIds: [String]?

    public init(type: OperationType, payload: JSONValue? = nil, workflowRunIds: [String]? = nil) {
        self.type = type
        self.payload = payload
        self.workflowRunIds = workflowRunIds
    }
}

/// The body of `POST /userrequests`.
public struct UserRequestPayload: Codable, Sendable, Hashable {
    public var operations: [UserRequestOperation]
    public var comment: String?

    public init(operations: [UserRequestOperation], comment: String? = nil) {
        self.operations = operations
        self.comment = comment
    }
}

/// The answer to `POST /userrequests`. The service lists run ids per operation; the seed spec has a
/// top-level `workflowRunIds` instead. Both decode; `allWorkflowRunIds` combines them.
public struct UserRequestResponse: Codable, Sendable, Hashable {
    public var requestId: String
    public var requestor: String?
    public var operations: [UserRequestOperation]
    public var comment: String?
    /// `InProgress` on a fresh submit.
    public var status: UserRequestStatus?
    /// The seed's shape; encoded only when set.
    public var workflowRunIds: [String]?

    public init(
        requestId: String, requestor: String? = nil, operations: [UserRequestOperation] = [], comment: String? = nil,
        status: UserRequestStatus? = nil, workflowRunIds: [String]? = nil
    ) {
        self.requestId = requestId
        self.requestor = requestor
        self.operations = operations
        self.comment = comment
        self.status = status
        self.workflowRunIds = workflowRunIds
    }

    /// Every run id, operations first, without duplicates, in order of appearance.
    public var allWorkflowRunIds: [String] {
        var seen = Set<String>()
        var ids: [String] = []
        for id in operations.flatMap({ $0.workflowRunIds ?? [] }) + (workflowRunIds ?? [])
        where seen.insert(id).inserted {
            ids.append(id)
        }
        return ids
    }

    private enum CodingKeys: String, CodingKey {
        case requestId, requestor, operations, comment, status, workflowRunIds
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        requestId = try container.decode(String.self, forKey: .requestId)
        requestor = try container.decodeIfPresent(String.self, forKey: .requestor)
        operations = try container.decode(.operations, or: [])
        comment = try container.decodeIfPresent(String.self, forKey: .comment)
        status = try container.decodeIfPresent(UserRequestStatus.self, forKey: .status)
        workflowRunIds = try container.decodeIfPresent([String].self, forKey: .workflowRunIds)
    }
}
