import Foundation
import GatewayCore
import Testing

@testable import GatewayStorage

/// The `ImportStore` contract, run on the in-memory store, SQLite and PostgreSQL alike.
@Suite struct ImportStoreTests {
    static func exercise(_ store: any RequestStore & ImportStore) async throws {
        let t0 = Fixtures.t0
        let record = ImportRecord(
            id: "imp-1", clientName: "batch", defaultKind: .termCreation, format: .csv, idempotencyKey: "k1", now: t0)
        guard case .created = try await store.createImport(record) else {
            throw PostgresTestSetupError(description: "not created")
        }
        // The same client and key: the existing import; another client may use the same key.
        let again = ImportRecord(
            id: "imp-2", clientName: "batch", defaultKind: nil, format: .ndjson, idempotencyKey: "k1", now: t0)
        #expect(try await store.createImport(again) == .existing(record))
        let other = ImportRecord(
            id: "imp-3", clientName: "other", defaultKind: nil, format: .ndjson, idempotencyKey: "k1",
            now: Fixtures.time(5))
        #expect(try await store.createImport(other) == .created(other))

        func row(_ number: Int) -> GatewayRequest {
            var request = Fixtures.request(ImportService.requestId(importId: "imp-1", row: number), client: "batch")
            request.importId = "imp-1"
            request.importRow = number
            return request
        }
        let rejection = ImportRejection(
            row: 2, errors: [ImportRowError(field: "name", code: "required", message: "is required")], raw: "a,,\"b\"")
        var stored = try await store.storeImportRows(
            importId: "imp-1", requests: [row(1), row(3)], rejections: [rejection], now: Fixtures.time(10))
        #expect((stored.rows, stored.accepted, stored.rejected) == (3, 2, 1))
        // Storing the same rows again adds nothing.
        stored = try await store.storeImportRows(
            importId: "imp-1", requests: [row(1), row(3), row(4)], rejections: [rejection], now: Fixtures.time(20))
        #expect((stored.rows, stored.accepted, stored.rejected) == (4, 3, 1))
        #expect(try await store.get(id: row(4).id)?.importRow == 4)

        try await store.setImportStatus(id: "imp-1", status: .processing, now: Fixtures.time(30))
        let fetched = try #require(try await store.getImport(id: "imp-1"))
        #expect(
            fetched.status == .processing && fetched.updatedAt == Fixtures.time(30)
                && fetched.defaultKind == .termCreation)
        #expect(try await store.findImport(clientName: "batch", idempotencyKey: "k1")?.id == "imp-1")
        #expect(try await store.findImport(clientName: "batch", idempotencyKey: "nope") == nil)
        #expect(try await store.listImports(clientName: nil, limit: 10, after: nil).map(\.id) == ["imp-3", "imp-1"])
        #expect(try await store.listImports(clientName: "batch", limit: 10, after: nil).map(\.id) == ["imp-1"])
        #expect(
            try await store.listImports(
                clientName: nil, limit: 10, after: ImportCursor(createdAt: Fixtures.time(5), id: "imp-3")
            ).map(\.id) == ["imp-1"])
        #expect(try await store.importRejections(importId: "imp-1", afterRow: 0, limit: 10) == [rejection])
        #expect(try await store.importRejections(importId: "imp-1", afterRow: 2, limit: 10).isEmpty)

        // Imported requests are claimed only through the imported claim; interactive ones only through the usual one.
        _ = try await store.insert(Fixtures.request("interactive-1"), idempotencyWindow: Fixtures.day, now: t0)
        let interactive = try await store.claimForwardable(
            now: Fixtures.time(100), limit: 10, owner: "f", lease: .seconds(60))
        #expect(interactive.map(\.id) == ["interactive-1"])
        let imported = try await store.claimImportedForwardable(
            now: Fixtures.time(100), limit: 2, owner: "f", lease: .seconds(60))
        #expect(imported.count == 2 && imported.allSatisfy { $0.importId == "imp-1" })
        var sent = imported[0]
        sent.status = .completed
        _ = try await store.update(sent)
        #expect(try await store.importRequestCounts(importId: "imp-1") == [.queued: 2, .completed: 1])
    }

    @Test func inMemory() async throws {
        try await Self.exercise(InMemoryRequestStore())
    }

    @Test func sqlite() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "imports-\(UUID().uuidString.prefix(8))"
        ).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await SQLiteRequestStore.open(path: directory + "/gateway.db")
        try await Self.exercise(store)
        // The interactive claim uses its partial index, whatever the number of imported rows.
        let plan = try await store.read { connection in
            try connection.query(
                "EXPLAIN QUERY PLAN SELECT id FROM requests WHERE status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= 1) AND import_id IS NULL AND (lease_until IS NULL OR lease_until <= 1) ORDER BY next_attempt_at, id LIMIT 5"
            ).map { $0.values.map { "\($0)" }.joined(separator: " ") }.joined(separator: "\n")
        }
        #expect(plan.contains("requests_forwardable_interactive"), "\(plan)")
        await store.close()
    }

    @Test func postgres() async throws {
        try await withPostgresStore { store, _ in try await Self.exercise(store) }
    }
}
