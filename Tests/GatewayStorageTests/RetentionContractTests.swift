import Foundation
import GatewayCore
import GatewayStorage
import Testing

/// Retention's deletes, run against each store: old finished requests go (whole rows, keys with them), live
/// ones and recent ones stay, in bounded batches.
@Suite struct RetentionContractTests {
    let day = Fixtures.day
    static let terminal = RequestStatus.allCases.filter(\.isTerminal)
    static let live = RequestStatus.allCases.filter { !$0.isTerminal }

    private func insert(_ store: any RequestStore, _ id: String, status: RequestStatus, updatedAt: Date, key: String?)
        async throws
    {
        var request = Fixtures.request(id, status: status, key: key, createdAt: Fixtures.t0)
        request.comment = "personal: \(id)"
        request.updatedAt = updatedAt
        #expect(try await store.insert(request, idempotencyWindow: day, now: Fixtures.t0).wasInserted)
    }

    @Test(arguments: StoreKind.allCases)
    func oldTerminalRequestsGoInBatchesAndLiveOnesStay(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let retention = try #require(store as? any RetentionStore)
            let old = Fixtures.time(1_000)
            let recent = Fixtures.time(90 * 24 * 3_600_000)
            let cutoff = Fixtures.time(30 * 24 * 3_600_000)
            for status in Self.terminal {
                try await insert(
                    store, "old-\(status.rawValue)", status: status, updatedAt: old, key: "key-\(status.rawValue)")
                try await insert(store, "recent-\(status.rawValue)", status: status, updatedAt: recent, key: nil)
            }
            for status in Self.live {
                try await insert(store, "live-\(status.rawValue)", status: status, updatedAt: old, key: nil)
            }
            var purged = 0
            var batches = 0
            while batches < 20 {
                let deleted = try await retention.purgeTerminalRequests(updatedBefore: cutoff, limit: 2)
                #expect(deleted <= 2)
                purged += deleted
                batches += 1
                if deleted == 0 { break }
            }
            #expect(purged == Self.terminal.count)
            #expect(batches == (Self.terminal.count + 1) / 2 + 1)
            for status in Self.terminal {
                #expect(try await store.get(id: "old-\(status.rawValue)") == nil)
                #expect(try await store.get(id: "recent-\(status.rawValue)") != nil)
            }
            for status in Self.live { #expect(try await store.get(id: "live-\(status.rawValue)") != nil) }
            // Nothing of the purged requests is left to find, by listing or by person.
            var filter = RequestFilter()
            filter.requestedBy = "ada@contoso.com"
            let remaining = try await store.list(filter, limit: 100, after: nil)
            #expect(remaining.count == Self.terminal.count + Self.live.count)
            #expect(!remaining.contains { $0.id.hasPrefix("old-") })
            // Their Idempotency-Keys went with them: the key names a new request now, even inside the window.
            let reused = Fixtures.request("reuse", key: "key-completed", createdAt: Fixtures.time(2_000))
            #expect(try await store.insert(reused, idempotencyWindow: day, now: Fixtures.time(2_000)).wasInserted)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func purgedRequestsTakeTheirWebhookEventsWithThem(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let retention = try #require(store as? any RetentionStore)
            let outbox = try #require(store as? any WebhookOutbox)
            for id in ["gone", "kept"] {
                var request = Fixtures.request(id, createdAt: Fixtures.t0)
                request.callbackUrl = "https://hooks.contoso.com/purview"
                request.comment = "personal: \(id)"
                var stored = try await store.insert(request, idempotencyWindow: day, now: Fixtures.t0).request
                // "kept" finished recently, "gone" long before the cut-off.
                let finished = Fixtures.time(id == "kept" ? 90 * 24 * 3_600_000 : 1_000)
                try stored.apply(.sendStarted, now: finished, actor: "test")
                stored = try await store.update(stored)
                try stored.apply(.refused(RequestError(code: "x", message: "y")), now: finished, actor: "test")
                _ = try await store.update(stored)
                #expect(try await outbox.webhookEvents(requestId: id).count == 2)
            }
            #expect(try await retention.purgeTerminalRequests(updatedBefore: Fixtures.time(3_600_000), limit: 10) == 1)
            // The events held the request as it was (requestedBy, comment): nothing of it may stay behind.
            #expect(try await outbox.webhookEvents(requestId: "gone").isEmpty)
            #expect(try await outbox.webhookEvent(id: OutboxEvent.eventId(requestId: "gone", sequence: 0)) == nil)
            #expect(try await outbox.webhookEvents(requestId: "kept").count == 2)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func expiredIdempotencyKeysGoInBatches(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let retention = try #require(store as? any RetentionStore)
            for index in 0..<5 {
                let request = Fixtures.request(
                    "k\(index)", key: "key-\(index)", createdAt: Fixtures.time(Int64(index) * 1_000))
                _ = try await store.insert(request, idempotencyWindow: day, now: Fixtures.time(Int64(index) * 1_000))
            }
            // Keys recorded before 3 s: three of them, two per batch.
            #expect(try await retention.purgeIdempotencyKeys(createdBefore: Fixtures.time(3_000), limit: 2) == 2)
            #expect(try await retention.purgeIdempotencyKeys(createdBefore: Fixtures.time(3_000), limit: 2) == 1)
            #expect(try await retention.purgeIdempotencyKeys(createdBefore: Fixtures.time(3_000), limit: 2) == 0)
            // The requests themselves stay; a forgotten key no longer matches, a kept one still does.
            for index in 0..<5 { #expect(try await store.get(id: "k\(index)") != nil) }
            let later = Fixtures.time(10_000)
            let reuseForgotten = try await store.insert(
                Fixtures.request("again-0", key: "key-0", createdAt: later), idempotencyWindow: day, now: later)
            #expect(reuseForgotten.wasInserted)
            let reuseKept = try await store.insert(
                Fixtures.request("again-4", key: "key-4", createdAt: later), idempotencyWindow: day, now: later)
            #expect(!reuseKept.wasInserted && reuseKept.request.id == "k4")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func oldFinishedImportsGoWithTheirRejectionsAndOthersStay(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let retention = try #require(store as? any RetentionStore)
            let imports = try #require(store as? any ImportStore)
            let old = Fixtures.time(1_000)
            let recent = Fixtures.time(90 * 24 * 3_600_000)
            let cutoff = Fixtures.time(30 * 24 * 3_600_000)
            // Two old finished imports (to see the batch limit), one recent, and two old ones still going.
            let cases: [(id: String, status: ImportStatus, updatedAt: Date)] = [
                ("old-done-1", .done, old), ("old-done-2", .done, Fixtures.time(2_000)), ("recent-done", .done, recent),
                ("old-processing", .processing, old), ("old-receiving", .receiving, old),
            ]
            for (index, item) in cases.enumerated() {
                let record = ImportRecord(
                    id: item.id, clientName: "batch", defaultKind: .termCreation, format: .csv,
                    idempotencyKey: "import-\(index)", now: Fixtures.t0)
                #expect(try await imports.createImport(record) == .created(record))
                var request = Fixtures.request("\(item.id)-row-1", client: "batch", createdAt: Fixtures.t0)
                request.importId = item.id
                request.importRow = 1
                let rejections = [2, 3].map { row in
                    ImportRejection(
                        row: row, errors: [ImportRowError(field: "name", code: "required", message: "is required")],
                        raw: "ada@contoso.com,,\"personal comment \(item.id)\"")
                }
                _ = try await imports.storeImportRows(
                    importId: item.id, requests: [request], rejections: rejections, now: Fixtures.t0)
                if item.status != .receiving {
                    try await imports.setImportStatus(id: item.id, status: .processing, now: item.updatedAt)
                }
                if item.status == .done {
                    try await imports.setImportStatus(id: item.id, status: .done, now: item.updatedAt)
                }
                #expect(try await imports.getImport(id: item.id)?.status == item.status)
            }
            #expect(try await retention.purgeImports(updatedBefore: cutoff, limit: 1) == 1)
            #expect(try await retention.purgeImports(updatedBefore: cutoff, limit: 1) == 1)
            #expect(try await retention.purgeImports(updatedBefore: cutoff, limit: 1) == 0)
            for id in ["old-done-1", "old-done-2"] {
                #expect(try await imports.getImport(id: id) == nil)
                // The raw rows held personal data: nothing of them may stay behind.
                #expect(try await imports.importRejections(importId: id, afterRow: 0, limit: 10).isEmpty)
            }
            for id in ["recent-done", "old-processing", "old-receiving"] {
                #expect(try await imports.getImport(id: id) != nil)
                #expect(try await imports.importRejections(importId: id, afterRow: 0, limit: 10).map(\.row) == [2, 3])
            }
            #expect(
                try await imports.listImports(clientName: nil, limit: 10, after: nil).map(\.id).sorted() == [
                    "old-processing", "old-receiving", "recent-done",
                ])
            // The imported requests are ordinary requests: they follow their own retention, not the import's.
            #expect(try await store.get(id: "old-done-1-row-1") != nil)
        }
    }
}
