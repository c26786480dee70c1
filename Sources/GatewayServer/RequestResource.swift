import Crypto
import FoundationEssentials
public import GatewayCore
public import PurviewWorkflow

/// How a request looks on the API (`GET /v1/requests/{id}`): the stored request in the contract's spelling.
public enum RequestResource {
    public static func render(_ request: GatewayRequest, baseURL: String = "") -> JSONValue {
        let selfLink = "\(baseURL)/v1/requests/\(request.id)"
        var object: JSONObject = [
            "id": .string(request.id),
            "kind": .string(request.kind.rawValue),
            "status": .string(request.status.rawValue),
            "outcome": request.outcome.map { .string($0.rawValue) } ?? .null,
            "requestedBy": .string(request.requestedBy),
            "subject": .string(request.subject),
            "client": .string(request.clientName),
            "purviewRequestId": request.purviewRequestId.map(JSONValue.string) ?? .null,
            "workflowRunIds": .array(request.workflowRunIds.map(JSONValue.string)),
            "runs": .array(request.runs.map(render)),
            "error": request.error.map(render) ?? .null,
            "attempts": .number(Double(request.attempts)),
            "timeline": .array(request.timeline.map(render)),
            "createdAt": timestamp(request.createdAt),
            "updatedAt": timestamp(request.updatedAt),
        ]
        object["comment"] = request.comment.map(JSONValue.string)
        object["idempotencyKey"] = request.idempotencyKey.map(JSONValue.string)
        object["callbackUrl"] = request.callbackUrl.map(JSONValue.string)
        object["operations"] = .array(request.operations.map(\.json))
        var links: JSONObject = ["self": .string(selfLink)]
        if !request.status.isTerminal { links["cancel"] = .string(selfLink + "/cancel") }
        object["links"] = .object(links)
        return .object(object)
    }

    static func render(_ run: RunRecord) -> JSONValue {
        [
            "id": .string(run.runId),
            "status": .string(run.status.rawValue),
            "startTime": run.startTime.map(timestamp) ?? .null,
            "endTime": run.endTime.map(timestamp) ?? .null,
            "pendingApprovers": .array(run.pendingApprovers.map(JSONValue.string)),
        ]
    }

    static func render(_ error: RequestError) -> JSONValue {
        var object: JSONObject = ["code": .string(error.code), "message": .string(error.message)]
        object["httpStatus"] = error.httpStatus.map { .number(Double($0)) }
        object["purviewRequestId"] = error.purviewRequestId.map(JSONValue.string)
        return .object(object)
    }

    static func render(_ entry: TimelineEntry) -> JSONValue {
        var object: JSONObject = ["at": timestamp(entry.at), "status": .string(entry.status.rawValue)]
        object["outcome"] = entry.outcome.map { .string($0.rawValue) }
        object["note"] = entry.note.map(JSONValue.string)
        object["actor"] = entry.actor.map(JSONValue.string)
        return .object(object)
    }

    /// RFC 3339 UTC with milliseconds, the stores' precision.
    static func timestamp(_ date: Date) -> JSONValue {
        .string(PurviewTimestamp(date).formatted(fractionDigits: 3))
    }
}

/// Opaque list cursors: base64url of `<createdAt ms>:<id>`.
public enum CursorCoding {
    public static func encode(_ cursor: RequestCursor) -> String {
        let millis = Int64((cursor.createdAt.timeIntervalSince1970 * 1000).rounded())
        return Base64URL.encode(Array("\(millis):\(cursor.id)".utf8))
    }

    public static func decode(_ text: String) -> RequestCursor? {
        guard let bytes = Base64URL.decode(text), let plain = String(validating: bytes, as: UTF8.self), let colon = plain.firstIndex(of: ":"),
            let millis = Int64(plain[..<colon])
        else { return nil }
        let id = String(plain[plain.index(after: colon)...])
        guard !id.isEmpty else { return nil }
        return RequestCursor(createdAt: Date(timeIntervalSince1970: Double(millis) / 1000), id: id)
    }
}
