public import FoundationEssentials
import PurviewWorkflow

/// Where a batch import stands: rows arriving, rows stored and being forwarded, or every row settled.
public enum ImportStatus: String, Sendable, Hashable, CaseIterable {
    case receiving
    case processing
    case done
}

/// The file format of an import body.
public enum ImportFormat: String, Sendable, Hashable {
    case csv
    case ndjson

    /// `text/csv` or `application/x-ndjson` (parameters such as `charset` ignored).
    public init?(contentType: String?) {
        guard let type = contentType?.split(separator: ";").first.map({ String($0).trimmingWhitespace().lowercased() })
        else {
            return nil
        }
        switch type {
        case "text/csv": self = .csv
        case "application/x-ndjson", "application/ndjson": self = .ndjson
        default: return nil
        }
    }
}

/// A batch import as stored: who sent it, how far it got, and the row counts known at ingestion.
///
/// Forwarding counts (`forwarded`, `completed`, `failed`) are not kept here: they are read from the
/// import's requests (`ImportStore.importRequestCounts`), so they never drift from the requests themselves.
public struct ImportRecord: Sendable, Hashable {
    public var id: String
    public var clientName: String
    /// The `?kind=` of the upload; rows may set their own with a `kind` column or member.
    public var defaultKind: RequestKind?
    public var format: ImportFormat
    public var idempotencyKey: String?
    public var status: ImportStatus
    /// Rows read so far, accepted (stored as requests) and rejected (with their errors).
    public var rows: Int
    public var accepted: Int
    public var rejected: Int
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, clientName: String, defaultKind: RequestKind?, format: ImportFormat, idempotencyKey: String?,
        now: Date
    ) {
        self.id = id
        self.clientName = clientName
        self.defaultKind = defaultKind
        self.format = format
        self.idempotencyKey = idempotencyKey
        self.status = .receiving
        self.rows = 0
        self.accepted = 0
        self.rejected = 0
        self.createdAt = now
        self.updatedAt = now
    }
}

/// One problem with one row: the field (a JSON pointer without its leading `/`, "" for the whole row).
public struct ImportRowError: Sendable, Hashable {
    public var field: String
    public var code: String
    public var message: String

    public init(field: String, code: String, message: String) {
        self.field = field
        self.code = code
        self.message = message
    }
}

/// A rejected row: its number (1-based among data rows), every error, and the row as received (truncated).
public struct ImportRejection: Sendable, Hashable {
    public var row: Int
    public var errors: [ImportRowError]
    public var raw: String

    public init(row: Int, errors: [ImportRowError], raw: String) {
        self.row = row
        self.errors = errors
        self.raw = raw
    }

    /// Longest raw row text kept.
    public static let rawLimit = 4096
}

/// How the forwarding of an import's accepted rows stands, from its requests' statuses.
public struct ImportForwardingCounts: Sendable, Hashable {
    /// Accepted by Purview (sent and answered with runs, whatever happened to them later).
    public var forwarded = 0
    /// `completed` or `no_workflow`.
    public var completed = 0
    /// `failed`, `refused`, `unknown` or `cancelled`: ended without completing.
    public var failed = 0
    /// Still `queued` or `submitting`.
    public var pending = 0

    public init() {}

    public init(statusCounts: [RequestStatus: Int]) {
        for (status, count) in statusCounts {
            switch status {
            case .queued, .submitting: pending += count
            case .submitted, .inProgress: forwarded += count
            case .completed, .noWorkflow:
                forwarded += count
                completed += count
            case .failed, .cancelled:
                forwarded += count
                failed += count
            case .refused, .unknown: failed += count
            }
        }
    }
}

/// The result of creating an import under an Idempotency-Key.
public enum ImportCreateOutcome: Sendable, Hashable {
    case created(ImportRecord)
    /// The client already used this key: that import, untouched.
    case existing(ImportRecord)
}

/// A position in a listing of imports (newest first, by createdAt then id).
public struct ImportCursor: Sendable, Hashable {
    public var createdAt: Date
    public var id: String

    public init(createdAt: Date, id: String) {
        self.createdAt = createdAt
        self.id = id
    }
}

/// Durable storage of batch imports, beside the requests of a `RequestStore` (the same database): an
/// import's accepted rows are ordinary requests carrying `importId`, stored in the same transaction as the
/// import's counts.
public protocol ImportStore: Sendable {
    /// Stores a new import, unless this client already has one under `record.idempotencyKey`.
    func createImport(_ record: ImportRecord) async throws -> ImportCreateOutcome

    /// Stores one batch of rows in one transaction: accepted rows as requests (a row whose request id
    /// already exists is skipped), rejected rows with their errors (skipped when already stored); the
    /// import's counts grow by what was new. Returns the import as stored afterwards.
    func storeImportRows(
        importId: String, requests: [GatewayRequest], rejections: [ImportRejection], now: Date
    ) async throws -> ImportRecord

    /// Moves the import to `status` (receiving → processing → done).
    func setImportStatus(id: String, status: ImportStatus, now: Date) async throws

    func getImport(id: String) async throws -> ImportRecord?

    /// The client's import made under `idempotencyKey`, if any.
    func findImport(clientName: String, idempotencyKey: String) async throws -> ImportRecord?

    /// Newest first; only `clientName`'s unless nil.
    func listImports(clientName: String?, limit: Int, after cursor: ImportCursor?) async throws -> [ImportRecord]

    /// Rejected rows with a number above `afterRow`, in row order, at most `limit`.
    func importRejections(importId: String, afterRow: Int, limit: Int) async throws -> [ImportRejection]

    /// How many of the import's requests are in each status.
    func importRequestCounts(importId: String) async throws -> [RequestStatus: Int]

    /// Like `RequestStore.claimForwardable`, for imported requests only (interactive ones are claimed there).
    func claimImportedForwardable(now: Date, limit: Int, owner: String, lease: Duration) async throws
        -> [GatewayRequest]
}
