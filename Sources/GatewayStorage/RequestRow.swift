import FoundationEssentials
import GatewayCore
import PurviewWorkflow
import SQLite

/// A request flattened into the `requests` columns: the indexed fields beside the JSON document.
///
/// Built on the caller's task, so the writer thread spends its time on SQL, not on JSON.
struct RequestRow: Sendable {
    var id: String
    var client: String
    var kind: String
    var status: String
    var requestedBy: String
    var idempotencyKey: String?
    var createdAt: Int64
    var updatedAt: Int64
    var nextAttemptAt: Int64?
    var polledAt: Int64?
    var document: String
    /// The webhook events this write adds to the outbox, in the same transaction.
    var webhookEvents: [OutboxEvent]

    init(_ request: GatewayRequest) {
        id = request.id
        client = request.clientName
        kind = request.kind.rawValue
        status = request.status.rawValue
        requestedBy = request.requestedBy
        idempotencyKey = request.idempotencyKey
        createdAt = Self.milliseconds(request.createdAt)
        updatedAt = Self.milliseconds(request.updatedAt)
        nextAttemptAt = request.nextAttemptAt.map(Self.milliseconds)
        polledAt = request.polledAt.map(Self.milliseconds)
        document = RequestDocument.encode(request).serializedString()
        webhookEvents = OutboxEvent.new(for: request)
    }

    /// Unix milliseconds, rounded as the document rounds them.
    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// A stored document with the version from its column, not yet decoded.
struct StoredDocument: Sendable {
    var document: String
    var version: Int

    func decoded() throws -> GatewayRequest {
        let json: JSONValue
        do {
            json = try JSONValue(parsing: document)
        } catch {
            throw StoreError("a stored request is not valid JSON: \(error)")
        }
        return try RequestDocument.decode(json, version: version)
    }
}

extension SQLiteStatement {
    /// Reads `doc, version` from columns `at` and `at + 1` of the current row.
    func storedDocument(at column: Int) -> StoredDocument {
        StoredDocument(document: string(at: column) ?? "", version: int(at: column + 1))
    }
}
