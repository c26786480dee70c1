import FoundationEssentials
public import PurviewWorkflow

/// The stored form of a request: one JSON document (both stores keep it beside indexed columns).
///
/// Times are Unix milliseconds, so documents sort and compare without parsing.
public enum RequestDocument {
    public static let formatVersion = 1

    public static func encode(_ request: GatewayRequest) -> JSONValue {
        var object: JSONObject = [
            "v": .number(Double(formatVersion)),
            "id": .string(request.id),
            "client": .string(request.clientName),
            "kind": .string(request.kind.rawValue),
            "requestedBy": .string(request.requestedBy),
            "subject": .string(request.subject),
            "body": request.body,
            "operations": .array(request.operations.map(\.json)),
            "status": .string(request.status.rawValue),
            "runs": .array(request.runs.map(encode)),
            "attempts": .number(Double(request.attempts)),
            "createdAt": millis(request.createdAt),
            "updatedAt": millis(request.updatedAt),
            "timeline": .array(request.timeline.map(encode)),
            "bodyDigest": .string(request.bodyDigest),
        ]
        object["comment"] = request.comment.map(JSONValue.string)
        object["idempotencyKey"] = request.idempotencyKey.map(JSONValue.string)
        object["outcome"] = request.outcome.map { .string($0.rawValue) }
        object["purviewRequestId"] = request.purviewRequestId.map(JSONValue.string)
        object["error"] = request.error.map(encode)
        object["nextAttemptAt"] = request.nextAttemptAt.map(millis)
        object["submittingSince"] = request.submittingSince.map(millis)
        object["polledAt"] = request.polledAt.map(millis)
        object["traceId"] = request.traceId.map(JSONValue.string)
        object["callbackUrl"] = request.callbackUrl.map(JSONValue.string)
        object["importId"] = request.importId.map(JSONValue.string)
        object["importRow"] = request.importRow.map { .number(Double($0)) }
        return .object(object)
    }

    /// Reads a stored document; `version` comes from the store's column.
    public static func decode(_ document: JSONValue, version: Int) throws -> GatewayRequest {
        guard case .object(let object) = document else { throw StoreError("stored request is not an object") }
        func string(_ key: String) throws -> String {
            guard let value = object[key]?.stringValue else { throw StoreError("stored request lacks \(key)") }
            return value
        }
        guard let kind = RequestKind(rawValue: try string("kind")),
            let status = RequestStatus(rawValue: try string("status"))
        else { throw StoreError("stored request has an unknown kind or status") }
        let operations = (object["operations"]?.arrayValue ?? []).map {
            PurviewOperation(type: $0["type"]?.stringValue ?? "", payload: $0["payload"] ?? .null)
        }
        var request = GatewayRequest(
            id: try string("id"), clientName: try string("client"),
            validated: ValidatedRequest(
                kind: kind, requestedBy: try string("requestedBy"), comment: object["comment"]?.stringValue,
                operations: operations, subject: object["subject"]?.stringValue ?? "", body: object["body"] ?? .null),
            idempotencyKey: object["idempotencyKey"]?.stringValue,
            now: date(object["createdAt"]) ?? Date(timeIntervalSince1970: 0))
        request.status = status
        request.outcome = object["outcome"]?.stringValue.flatMap(RequestOutcome.init(rawValue:))
        request.purviewRequestId = object["purviewRequestId"]?.stringValue
        request.runs = (object["runs"]?.arrayValue ?? []).map(decodeRun)
        request.error = object["error"].flatMap(decodeError)
        request.attempts = object["attempts"]?.intValue ?? 0
        request.nextAttemptAt = date(object["nextAttemptAt"])
        request.submittingSince = date(object["submittingSince"])
        request.polledAt = date(object["polledAt"])
        request.traceId = object["traceId"]?.stringValue
        request.importId = object["importId"]?.stringValue
        request.importRow = object["importRow"]?.intValue
        request.updatedAt = date(object["updatedAt"]) ?? request.createdAt
        request.timeline = (object["timeline"]?.arrayValue ?? []).map(decodeEntry)
        request.bodyDigest = object["bodyDigest"]?.stringValue ?? ""
        request.callbackUrl = object["callbackUrl"]?.stringValue
        request.version = version
        return request
    }

    static func millis(_ date: Date) -> JSONValue { .number((date.timeIntervalSince1970 * 1000).rounded()) }

    static func date(_ value: JSONValue?) -> Date? {
        guard let milliseconds = value?.doubleValue else { return nil }
        return Date(timeIntervalSince1970: milliseconds / 1000)
    }

    static func encode(_ run: RunRecord) -> JSONValue {
        var object: JSONObject = [
            "runId": .string(run.runId), "status": .string(run.status.rawValue),
            "pendingApprovers": .array(run.pendingApprovers.map(JSONValue.string)),
            "approvals": .array(run.approvals.map { .string($0.rawValue) }),
        ]
        object["startTime"] = run.startTime.map(millis)
        object["endTime"] = run.endTime.map(millis)
        object["polledAt"] = run.polledAt.map(millis)
        if !run.approvalTaskIds.isEmpty {
            object["approvalTaskIds"] = .array(run.approvalTaskIds.map(JSONValue.string))
        }
        return .object(object)
    }

    static func decodeRun(_ value: JSONValue) -> RunRecord {
        RunRecord(
            runId: value["runId"]?.stringValue ?? "",
            status: PurviewRunStatus(purview: value["status"]?.stringValue ?? "InProgress"),
            startTime: date(value["startTime"]), endTime: date(value["endTime"]),
            pendingApprovers: (value["pendingApprovers"]?.arrayValue ?? []).compactMap(\.stringValue),
            approvals: (value["approvals"]?.arrayValue ?? []).compactMap {
                $0.stringValue.flatMap(ApprovalDecision.init(rawValue:))
            },
            approvalTaskIds: (value["approvalTaskIds"]?.arrayValue ?? []).compactMap(\.stringValue),
            polledAt: date(value["polledAt"]))
    }

    static func encode(_ error: RequestError) -> JSONValue {
        var object: JSONObject = ["code": .string(error.code), "message": .string(error.message)]
        object["httpStatus"] = error.httpStatus.map { .number(Double($0)) }
        object["purviewRequestId"] = error.purviewRequestId.map(JSONValue.string)
        return .object(object)
    }

    static func decodeError(_ value: JSONValue) -> RequestError? {
        guard let code = value["code"]?.stringValue else { return nil }
        return RequestError(
            code: code, message: value["message"]?.stringValue ?? "", httpStatus: value["httpStatus"]?.intValue,
            purviewRequestId: value["purviewRequestId"]?.stringValue)
    }

    static func encode(_ entry: TimelineEntry) -> JSONValue {
        var object: JSONObject = ["at": millis(entry.at), "status": .string(entry.status.rawValue)]
        object["outcome"] = entry.outcome.map { .string($0.rawValue) }
        object["note"] = entry.note.map(JSONValue.string)
        object["actor"] = entry.actor.map(JSONValue.string)
        return .object(object)
    }

    static func decodeEntry(_ value: JSONValue) -> TimelineEntry {
        TimelineEntry(
            at: date(value["at"]) ?? Date(timeIntervalSince1970: 0),
            status: value["status"]?.stringValue.flatMap(RequestStatus.init(rawValue:)) ?? .queued,
            outcome: value["outcome"]?.stringValue.flatMap(RequestOutcome.init(rawValue:)),
            note: value["note"]?.stringValue, actor: value["actor"]?.stringValue)
    }
}
