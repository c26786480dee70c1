import Foundation
import GatewayCore
import Glibc
import SQLite
import Synchronization
import Testing

@testable import GatewayStorage

/// What only the SQLite store promises: durability, group commit, migrations, backups.
@Suite struct SQLiteRequestStoreTests {
    let t0 = Fixtures.t0
    let day = Fixtures.day

    @Test func committedRequestsSurviveCloseAndReopen() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/nested/deeper/gateway.db"
            let store = try await SQLiteRequestStore.open(path: path)
            var written: [GatewayRequest] = []
            for index in 0..<20 {
                written.append(
                    try await store.insert(
                        Fixtures.request("r\(index)", key: "k\(index)"), idempotencyWindow: day, now: t0
                    ).request)
            }
            var changed = written[3]
            changed.attempts = 9
            written[3] = try await store.update(changed)
            _ = try await store.claimForwardable(now: t0, limit: 1, owner: "a", lease: .seconds(60))
            await store.close()
            await #expect(throws: StoreError.self) { try await store.get(id: "r1") }
            await #expect(throws: StoreError.self) {
                try await store.insert(Fixtures.request("late"), idempotencyWindow: day, now: t0)
            }

            let reopened = try await SQLiteRequestStore.open(path: path)
            for request in written { #expect(try await reopened.get(id: request.id) == request) }
            #expect(try await reopened.get(id: "r3")?.version == 2)
            // The idempotency keys are durable; leases are not (they live in memory, so a crash frees them at once).
            let claimed = try await reopened.claimForwardable(now: t0, limit: 100, owner: "b", lease: .seconds(60))
            #expect(claimed.count == 20)
            let retry = try await reopened.insert(Fixtures.request("again", key: "k5"), idempotencyWindow: day, now: t0)
            #expect(retry == .existing(written[5]))
            await reopened.close()
        }
    }

    @Test func claimsAndReleasesWriteNothing() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await SQLiteRequestStore.open(path: directory + "/gateway.db")
            for index in 0..<6 {
                _ = try await store.insert(Fixtures.request("r\(index)"), idempotencyWindow: day, now: t0)
            }
            let before = store.transactionCount
            let first = try await store.claimForwardable(now: t0, limit: 4, owner: "a", lease: .seconds(60))
            #expect(first.map(\.id) == ["r0", "r1", "r2", "r3"])
            // The leased rows come first in the index; the next claim looks past them.
            let second = try await store.claimForwardable(now: t0, limit: 4, owner: "b", lease: .seconds(60))
            #expect(second.map(\.id) == ["r4", "r5"])
            try await store.release(id: "r1", owner: "b")  // not b's: kept
            try await store.release(id: "r2", owner: "a")
            let third = try await store.claimForwardable(now: t0, limit: 4, owner: "c", lease: .seconds(60))
            #expect(third.map(\.id) == ["r2"])
            #expect(store.transactionCount == before)

            // A transition that releases the lease is one write; the row then answers the claim with what it wrote.
            var sending = first[0]
            sending.status = .submitting
            let stored = try await store.update(sending, releasingLeaseOf: "a")
            #expect(store.transactionCount == before + 1)
            let stale = try await store.claimStaleSubmitting(now: t0, limit: 4, owner: "d", lease: .seconds(60))
            #expect(stale == [stored])
            #expect(try await store.claimForwardable(now: t0, limit: 10, owner: "e", lease: .seconds(60)).isEmpty)
            await store.close()
            await #expect(throws: StoreError.self) { try await store.release(id: "r3", owner: "a") }
        }
    }

    @Test func concurrentInsertsShareTransactions() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await SQLiteRequestStore.open(path: directory + "/gateway.db")
            let before = store.transactionCount
            let count = 1_000
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    group.addTask {
                        let outcome = try await store.insert(
                            Fixtures.request("r\(index)", key: "k\(index)"), idempotencyWindow: day, now: t0)
                        #expect(outcome.wasInserted)
                    }
                }
                try await group.waitForAll()
            }
            let transactions = store.transactionCount - before
            #expect(transactions >= 2 && transactions <= count / 4, "\(transactions) transactions for \(count) inserts")
            #expect(try await store.countByStatus() == [.queued: count])
            let listed = try await store.list(RequestFilter(), limit: count + 1, after: nil)
            #expect(Set(listed.map(\.id)).count == count)
            await store.close()
        }
    }

    @Test func aFailingWriteDoesNotFailItsGroup() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await SQLiteRequestStore.open(path: directory + "/gateway.db")
            let existing = try await store.insert(Fixtures.request("taken"), idempotencyWindow: day, now: t0).request
            let fresh = {
                var copy = existing
                copy.attempts = 1
                return copy
            }()
            let stale = {
                var copy = existing
                copy.version = 0
                return copy
            }()

            try await withWriterHeld(store) { release in
                async let first = store.insert(Fixtures.request("a"), idempotencyWindow: day, now: t0)
                async let duplicate = store.insert(Fixtures.request("taken"), idempotencyWindow: day, now: t0)
                async let conflicting = store.update(stale)
                async let updated = store.update(fresh)
                async let last = store.insert(Fixtures.request("b"), idempotencyWindow: day, now: t0)
                let transactionsBefore = store.transactionCount
                try await waitUntil { store.writer.pendingCount == 5 }
                release()

                #expect(try await first.wasInserted)
                do {
                    _ = try await duplicate
                    Issue.record("a duplicate id was inserted")
                } catch {
                    #expect(error is StoreError)
                }
                do {
                    _ = try await conflicting
                    Issue.record("a stale update succeeded")
                } catch {
                    #expect(error as? StoreConflict == StoreConflict(id: "taken"))
                }
                #expect(try await updated.version == 2)
                #expect(try await last.wasInserted)
                // All five went through one transaction.
                #expect(store.transactionCount - transactionsBefore == 1)
            }
            #expect(try await store.get(id: "a") != nil)
            #expect(try await store.get(id: "b") != nil)
            #expect(try await store.get(id: "taken")?.attempts == 1)
            await store.close()
        }
    }

    @Test func readsDoNotWaitForTheWriter() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await SQLiteRequestStore.open(path: directory + "/gateway.db")
            let stored = try await store.insert(Fixtures.request("r1"), idempotencyWindow: day, now: t0).request
            try await withWriterHeld(store) { release in
                async let pending = store.insert(Fixtures.request("r2"), idempotencyWindow: day, now: t0)
                try await waitUntil { store.writer.pendingCount == 1 }
                // The writer sits inside an open transaction; readers still answer from the last commit.
                #expect(try await store.get(id: "r1") == stored)
                #expect(try await store.get(id: "r2") == nil)
                #expect(try await store.countByStatus() == [.queued: 1])
                try await store.ping()
                release()
                #expect(try await pending.wasInserted)
            }
            // A caller resumes only after its commit, so the insert is visible to the readers right away.
            #expect(try await store.get(id: "r2") != nil)
            await store.close()
        }
    }

    @Test func duplicateIdsAreRefused() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await SQLiteRequestStore.open(path: directory + "/gateway.db")
            let first = try await store.insert(Fixtures.request("r1"), idempotencyWindow: day, now: t0).request
            var clash = Fixtures.request("r1", client: "chatbot", key: "k")
            clash.comment = "other"
            let error = await #expect(throws: StoreError.self) {
                try await store.insert(clash, idempotencyWindow: day, now: t0)
            }
            #expect(error?.message.contains("already exists") == true)
            #expect(try await store.get(id: "r1") == first)
            // The failed insert took its idempotency key with it.
            let retry = try await store.insert(
                Fixtures.request("r2", client: "chatbot", key: "k"), idempotencyWindow: day, now: t0)
            #expect(retry.wasInserted)
            await store.close()
        }
    }

    @Test func purgedKeysNoLongerMatch() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await SQLiteRequestStore.open(path: directory + "/gateway.db")
            _ = try await store.insert(Fixtures.request("old", key: "k1"), idempotencyWindow: day, now: t0)
            let later = Fixtures.time(10_000)
            _ = try await store.insert(
                Fixtures.request("new", key: "k2", createdAt: later), idempotencyWindow: day, now: later)
            #expect(try await store.purgeExpiredIdempotencyKeys(before: Fixtures.time(5_000)) == 1)
            #expect(try await store.purgeExpiredIdempotencyKeys(before: Fixtures.time(5_000)) == 0)
            let now = Fixtures.time(20_000)
            let reused = try await store.insert(
                Fixtures.request("r3", key: "k1", createdAt: now), idempotencyWindow: day, now: now)
            #expect(reused.wasInserted)
            let kept = try await store.insert(
                Fixtures.request("r4", key: "k2", createdAt: now), idempotencyWindow: day, now: now)
            #expect(kept.request.id == "new" && !kept.wasInserted)
            // Purging keys never removes requests.
            #expect(try await store.get(id: "old") != nil)
            await store.close()
        }
    }

    // MARK: Migrations

    @Test func migrationsApplyOnceAndReopeningIsHarmless() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/gateway.db"
            for round in 0..<3 {
                let store = try await SQLiteRequestStore.open(path: path)
                _ = try await store.insert(Fixtures.request("r\(round)"), idempotencyWindow: day, now: t0)
                #expect(try await store.countByStatus() == [.queued: round + 1])
                await store.close()
            }
            let connection = try SQLiteConnection(path: path, mode: .readOnly)
            let versions = try connection.query("SELECT version FROM schema_migrations ORDER BY version").map { $0[0] }
            #expect(versions == (1...Migrations.latestVersion).map { .int($0) })
            #expect(try connection.journalMode() == "wal")
        }
    }

    @Test func migrationsRunInOrderInOneTransaction() throws {
        let connection = try SQLiteConnection.inMemory()
        let scripts = ["CREATE TABLE a (x INTEGER)", "CREATE TABLE b (y INTEGER)"]
        #expect(try Migrations.apply(on: connection, scripts: scripts, now: 1) == [1, 2])
        #expect(try Migrations.apply(on: connection, scripts: scripts, now: 2).isEmpty)
        // A broken third script leaves the database at version 2, with nothing of the script applied.
        let broken = scripts + ["CREATE TABLE c (z INTEGER); CREATE TABLE a (again INTEGER)"]
        #expect(throws: SQLiteError.self) { try Migrations.apply(on: connection, scripts: broken, now: 3) }
        #expect(try connection.query("SELECT MAX(version) FROM schema_migrations").first?[0] == .int(2))
        #expect(try connection.query("SELECT name FROM sqlite_master WHERE name = 'c'").isEmpty)
    }

    @Test func aDatabaseFromANewerVersionIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/gateway.db"
            await (try await SQLiteRequestStore.open(path: path)).close()
            let connection = try SQLiteConnection(path: path, mode: .readWrite)
            try connection.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)",
                [.int(Migrations.latestVersion + 1)])
            let error = await #expect(throws: StoreError.self) { try await SQLiteRequestStore.open(path: path) }
            #expect(error?.message.contains("newer than this gateway knows") == true)
            #expect(error?.message.contains(path) == true)
        }
    }

    @Test func aFileThatIsNotADatabaseIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/gateway.db"
            try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
            await #expect(throws: StoreError.self) { try await SQLiteRequestStore.open(path: path) }
        }
    }

    // MARK: Crash safety and backups

    @Test func aCopyTakenWithoutClosingHoldsEveryCommit() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/gateway.db"
            let store = try await SQLiteRequestStore.open(path: path)
            var written: [GatewayRequest] = []
            for index in 0..<40 {
                var request = try await store.insert(Fixtures.request("r\(index)"), idempotencyWindow: day, now: t0)
                    .request
                if index % 3 == 0 {
                    request.attempts = index
                    request = try await store.update(request)
                }
                written.append(request)
            }
            // What a crash leaves behind: the database file and its log as they are now, never checkpointed.
            let walSize = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
            #expect(walSize > 0)
            let copy = directory + "/copy/gateway.db"
            try FileManager.default.createDirectory(atPath: directory + "/copy", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: path, toPath: copy)
            try FileManager.default.copyItem(atPath: path + "-wal", toPath: copy + "-wal")

            let recovered = try await SQLiteRequestStore.open(path: copy)
            for request in written { #expect(try await recovered.get(id: request.id) == request) }
            #expect(try await recovered.countByStatus() == [.queued: 40])
            await recovered.close()
            await store.close()
        }
    }

    @Test func backupWhileWritingIsConsistent() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await SQLiteRequestStore.open(path: directory + "/gateway.db")
            for index in 0..<100 {
                _ = try await store.insert(Fixtures.request("before-\(index)"), idempotencyWindow: day, now: t0)
            }
            let backupPath = directory + "/backup/gateway.db"
            try FileManager.default.createDirectory(atPath: directory + "/backup", withIntermediateDirectories: true)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        for index in 0..<75 {
                            _ = try await store.insert(
                                Fixtures.request("during-\(writer)-\(index)"), idempotencyWindow: day, now: t0)
                        }
                    }
                }
                group.addTask { try await store.backup(to: backupPath) }
                try await group.waitForAll()
            }
            #expect(try await store.countByStatus() == [.queued: 400])
            await store.close()

            let restored = try await SQLiteRequestStore.open(path: backupPath)
            let everything = try await restored.list(RequestFilter(), limit: 1_000, after: nil)
            let ids = Set(everything.map(\.id))
            #expect(ids.isSuperset(of: (0..<100).map { "before-\($0)" }))
            #expect(everything.count >= 100 && everything.count <= 400)
            #expect(try await restored.countByStatus() == [.queued: everything.count])
            await restored.close()
        }
    }
}

/// Holds the store's writer inside a group transaction until `body` calls `release` (or 5 s pass), so the
/// writes `body` submits meanwhile pile up and form the next group.
private func withWriterHeld(
    _ store: SQLiteRequestStore, _ body: (_ release: @escaping @Sendable () -> Void) async throws -> Void
) async throws {
    let gate = Gate()
    async let holding: Void = store.write { _ in gate.hold() }
    try await waitUntil { gate.started.load(ordering: .acquiring) }
    do {
        try await body { gate.open() }
    } catch {
        gate.open()
        try await holding
        throw error
    }
    gate.open()
    try await holding
}

/// Blocks the writer thread (polling, bounded to 5 s) until opened.
private final class Gate: Sendable {
    let started = Atomic<Bool>(false)
    private let released = Atomic<Bool>(false)

    func open() { released.store(true, ordering: .releasing) }

    func hold() {
        started.store(true, ordering: .releasing)
        for _ in 0..<50_000 where !released.load(ordering: .acquiring) { usleep(100) }
    }
}

/// Polls `condition` every millisecond for up to 5 s.
private func waitUntil(_ condition: () -> Bool) async throws {
    for _ in 0..<5_000 {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(1))
    }
    Issue.record("condition not met within 5 s")
}
