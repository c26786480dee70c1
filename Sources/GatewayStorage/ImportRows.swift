import FoundationEssentials
import GatewayCore
import PurviewWorkflow

/// Conversions shared by the SQLite and PostgreSQL import stores.
enum ImportColumns {
    /// `imports` columns in the order both stores select them.
    static let select =
        "id, client, kind, format, idempotency_key, status, row_count, accepted_count, rejected_count, created_at, updated_at"

    /// Decodes one `imports` row given as text (PostgreSQL's form; SQLite's values are converted first).
    static func record(_ row: [String?]) throws -> ImportRecord {
        guard row.count >= 11, let id = row[0], let client = row[1],
            let format = row[3].flatMap(ImportFormat.init(rawValue:)),
            let status = row[5].flatMap(ImportStatus.init(rawValue:))
        else { throw StoreError("a stored import is incomplete") }
        func number(_ index: Int) -> Int64 { row[index].flatMap { Int64($0) } ?? 0 }
        var record = ImportRecord(
            id: id, clientName: client, defaultKind: row[2].flatMap(RequestKind.init(rawValue:)), format: format,
            idempotencyKey: row[4], now: date(number(9)))
        record.status = status
        record.rows = Int(number(6))
        record.accepted = Int(number(7))
        record.rejected = Int(number(8))
        record.updatedAt = date(number(10))
        return record
    }

    static func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    static func errorsJSON(_ errors: [ImportRowError]) -> String {
        JSONValue.array(
            errors.map {
                .object(["field": .string($0.field), "code": .string($0.code), "message": .string($0.message)])
            }
        ).serializedString()
    }

    static func rejection(row: Int, errors text: String, raw: String) -> ImportRejection {
        let errors = ((try? JSONValue(parsing: text))?.arrayValue ?? []).map {
            ImportRowError(
                field: $0["field"]?.stringValue ?? "", code: $0["code"]?.stringValue ?? "",
                message: $0["message"]?.stringValue ?? "")
        }
        return ImportRejection(row: row, errors: errors, raw: raw)
    }
}

extension RequestRow {
    /// Rows for many requests, encoded in two halves concurrently (a batch of imported rows).
    static func encodeConcurrently(_ requests: [GatewayRequest]) async -> [RequestRow] {
        let middle = requests.count / 2
        async let first = requests[..<middle].map(RequestRow.init)
        let second = requests[middle...].map(RequestRow.init)
        return await first + second
    }
}
