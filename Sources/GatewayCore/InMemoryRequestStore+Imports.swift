public import FoundationEssentials

/// The imports of an `InMemoryRequestStore`.
struct InMemoryImportState: Sendable {
    var imports: [String: ImportRecord] = [:]
    var rejections: [String: [Int: ImportRejection]] = [:]
}

extension InMemoryRequestStore: ImportStore {
    public func createImport(_ record: ImportRecord) async throws -> ImportCreateOutcome {
        importState.withLock { state in
            if let key = record.idempotencyKey,
                let existing = state.imports.values.first(where: {
                    $0.clientName == record.clientName && $0.idempotencyKey == key
                })
            {
                return .existing(existing)
            }
            state.imports[record.id] = record
            return .created(record)
        }
    }

    public func storeImportRows(
        importId: String, requests: [GatewayRequest], rejections: [ImportRejection], now: Date
    ) async throws -> ImportRecord {
        // Requests first (the same lock order everywhere: requests, then imports).
        let newRequests = state.withLock { state -> Int in
            var added = 0
            for request in requests where state.requests[request.id] == nil {
                var stored = request
                stored.version = 1
                state.requests[request.id] = stored
                added += 1
            }
            return added
        }
        return try importState.withLock { state in
            guard var record = state.imports[importId] else { throw StoreError("no import \(importId)") }
            var newRejections = 0
            for rejection in rejections where state.rejections[importId]?[rejection.row] == nil {
                state.rejections[importId, default: [:]][rejection.row] = rejection
                newRejections += 1
            }
            record.accepted += newRequests
            record.rejected += newRejections
            record.rows += newRequests + newRejections
            record.updatedAt = now
            state.imports[importId] = record
            return record
        }
    }

    public func setImportStatus(id: String, status: ImportStatus, now: Date) async throws {
        importState.withLock { state in
            state.imports[id]?.status = status
            state.imports[id]?.updatedAt = now
        }
    }

    public func getImport(id: String) async throws -> ImportRecord? { importState.withLock { $0.imports[id] } }

    public func findImport(clientName: String, idempotencyKey: String) async throws -> ImportRecord? {
        importState.withLock { state in
            state.imports.values.first { $0.clientName == clientName && $0.idempotencyKey == idempotencyKey }
        }
    }

    public func listImports(clientName: String?, limit: Int, after cursor: ImportCursor?) async throws -> [ImportRecord]
    {
        importState.withLock { state in
            let matching = state.imports.values.filter { record in
                if let clientName, record.clientName != clientName { return false }
                if let cursor, !((record.createdAt, record.id) < (cursor.createdAt, cursor.id)) { return false }
                return true
            }
            return Array(matching.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.prefix(limit))
        }
    }

    public func importRejections(importId: String, afterRow: Int, limit: Int) async throws -> [ImportRejection] {
        importState.withLock { state in
            let rows = (state.rejections[importId] ?? [:]).values.filter { $0.row > afterRow }
            return Array(rows.sorted { $0.row < $1.row }.prefix(limit))
        }
    }

    public func importRequestCounts(importId: String) async throws -> [RequestStatus: Int] {
        state.withLock { state in
            state.requests.values.reduce(into: [RequestStatus: Int]()) { counts, request in
                if request.importId == importId { counts[request.status, default: 0] += 1 }
            }
        }
    }

    public func claimImportedForwardable(now: Date, limit: Int, owner: String, lease: Duration) async throws
        -> [GatewayRequest]
    {
        claim(now: now, limit: limit, owner: owner, lease: lease) {
            $0.status == .queued && ($0.nextAttemptAt ?? .distantPast) <= now && $0.importId != nil
        }
    }
}
