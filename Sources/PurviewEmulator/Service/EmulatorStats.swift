import Crypto
import PurviewWorkflow

/// Calls per operation and user requests that were carried out more than once, for tests that must
/// prove nothing was sent twice.
struct CallStats: Sendable {
    /// Identical bodies from one principal this close together count as a duplicate.
    static let identicalBodyWindow: Duration = .seconds(10)

    private var calls: [String: Int] = [:]
    /// Per `x-ms-client-request-id` of a processed user request: the request ids issued for it.
    private var byClientRequestId: [String: [String]] = [:]
    private var clientRequestIdOrder: [String] = []
    /// Per principal and body digest: when it was last processed, and every request id it produced.
    private var byBody: [String: (last: ContinuousClock.Instant, requestIds: [String], duplicates: Int)] = [:]
    private var bodyOrder: [String] = []

    mutating func count(_ operation: String) { calls[operation, default: 0] += 1 }

    /// What identifies a principal's body among others: compute it before taking the stats' lock.
    static func bodyKey(principal: String, body: JSONValue) -> String {
        principal.lowercased() + ":" + Hex.encode(SHA256.hash(body.canonicalBytes))
    }

    /// Records a user request the engine carried out; `bodyKey` is `CallStats.bodyKey` of its principal and body.
    mutating func recordSubmission(
        clientRequestId: String?, bodyKey key: String, requestId: String, now: ContinuousClock.Instant
    ) {
        if let clientRequestId, !clientRequestId.isEmpty {
            let key = clientRequestId.lowercased()
            if byClientRequestId[key] == nil { clientRequestIdOrder.append(key) }
            byClientRequestId[key, default: []].append(requestId)
        }
        if var entry = byBody[key] {
            if entry.last.duration(to: now) <= Self.identicalBodyWindow { entry.duplicates += 1 }
            entry.last = now
            entry.requestIds.append(requestId)
            byBody[key] = entry
        } else {
            byBody[key] = (now, [requestId], 0)
            bodyOrder.append(key)
        }
    }

    /// `{"calls":{...},"duplicateUserRequests":[{clientRequestId,count,requestIds}],
    /// "identicalUserRequests":[{requestor,count,requestIds}]}`.
    var json: JSONValue {
        var callObject = JSONObject()
        for key in calls.keys.sorted() { callObject[key] = .number(Double(calls[key] ?? 0)) }
        let duplicates: [JSONValue] = clientRequestIdOrder.compactMap { key in
            guard let ids = byClientRequestId[key], ids.count > 1 else { return nil }
            return [
                "clientRequestId": .string(key), "count": .number(Double(ids.count)),
                "requestIds": .array(ids.map { .string($0) }),
            ]
        }
        let identical: [JSONValue] = bodyOrder.compactMap { key in
            guard let entry = byBody[key], entry.duplicates > 0 else { return nil }
            return [
                "requestor": .string(String(key.prefix { $0 != ":" })), "count": .number(Double(entry.duplicates + 1)),
                "requestIds": .array(entry.requestIds.map { .string($0) }),
            ]
        }
        return [
            "calls": .object(callObject), "duplicateUserRequests": .array(duplicates),
            "identicalUserRequests": .array(identical),
        ]
    }
}
