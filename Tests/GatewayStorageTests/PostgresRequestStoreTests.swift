import Foundation
import GatewayCore
import Glibc
import Synchronization
import Testing

@testable import GatewayStorage

/// What only the PostgreSQL store promises: several replicas (here: several stores, each with its own pool) on
/// one database, migrations under concurrency, its connection pool.
@Suite struct PostgresRequestStoreTests {
    let t0 = Fixtures.t0
    let day = Fixtures.day

    /// Opens `count` stores on one schema at once, like replicas starting together.
    private func openReplicas(_ count: Int, on schema: PostgresTestSchema, poolSize: Int = 4) async throws
        -> [PostgresRequestStore]
    {
        try await withThrowingTaskGroup(of: PostgresRequestStore.self) { group in
            for _ in 0..<count {
                group.addTask { try await PostgresRequestStore.open(url: schema.url, poolSize: poolSize) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    private func closeAll(_ stores: [PostgresRequestStore]) async {
        for store in stores { await store.close() }
    }

    @Test func claimersOnThreeReplicasNeverShareARequest() async throws {
        try await withPostgresStore { first, schema in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<10 {
                    group.addTask {
                        for index in 0..<50 {
                            var request = Fixtures.request("r-\(writer)-\(index)")
                            request.nextAttemptAt = Fixtures.time(Int64(index))
                            _ = try await first.insert(request, idempotencyWindow: day, now: t0)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let replicas = try await openReplicas(3, on: schema)
            let ids = try await withThrowingTaskGroup(of: [String].self) { group in
                for (replica, store) in replicas.enumerated() {
                    for claimer in 0..<4 {
                        group.addTask {
                            // Each round takes a few; a claimer stops when the queue looks empty to it.
                            var claimed: [String] = []
                            for _ in 0..<500 {
                                let batch = try await store.claimForwardable(
                                    now: Fixtures.time(1_000), limit: 3, owner: "replica-\(replica)-\(claimer)",
                                    lease: .seconds(600))
                                if batch.isEmpty { break }
                                claimed += batch.map(\.id)
                            }
                            return claimed
                        }
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            await closeAll(replicas)
            #expect(ids.count == 500)
            #expect(Set(ids).count == 500)
            let owners = try await PostgresTestSchema.admin(
                schema.url, "SELECT COUNT(DISTINCT lease_owner), COUNT(*) FROM requests WHERE lease_owner IS NOT NULL")
            // Work was spread over the replicas' claimers, and every request carries exactly one lease.
            #expect((owners.first?[0] ?? nil).flatMap { Int($0) } ?? 0 > 1)
            #expect((owners.first?[1] ?? nil).flatMap { Int($0) } == 500)
        }
    }

    @Test func oneIdempotencyKeyRacedFromThreeReplicasStoresOneRequest() async throws {
        try await withPostgresStore { _, schema in
            let replicas = try await openReplicas(3, on: schema)
            for round in 0..<5 {
                let outcomes = try await withThrowingTaskGroup(of: InsertOutcome.self) { group in
                    for (replica, store) in replicas.enumerated() {
                        for index in 0..<10 {
                            group.addTask {
                                try await store.insert(
                                    Fixtures.request("k\(round)-\(replica)-\(index)", key: "key-\(round)"),
                                    idempotencyWindow: day, now: t0)
                            }
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                let winners = outcomes.filter(\.wasInserted).map(\.request.id)
                #expect(winners.count == 1)
                #expect(Set(outcomes.map(\.request.id)).count == 1)
            }
            #expect(try await replicas[0].countByStatus() == [.queued: 5])
            await closeAll(replicas)
        }
    }

    @Test func replicasOpeningTogetherMigrateOnce() async throws {
        let schema = try await PostgresTestSchema.create(on: try await TestPostgres.sharedURL())
        do {
            let replicas = try await openReplicas(3, on: schema, poolSize: 2)
            _ = try await replicas[0].insert(Fixtures.request("r1"), idempotencyWindow: day, now: t0)
            #expect(try await replicas[2].get(id: "r1")?.id == "r1")
            await closeAll(replicas)
            let versions = try await PostgresTestSchema.admin(
                schema.url, "SELECT version FROM schema_migrations ORDER BY version")
            #expect(versions.map { $0[0] } == (1...PostgresMigrations.latestVersion).map { String($0) })
        } catch {
            try? await schema.drop()
            throw error
        }
        try await schema.drop()
    }

    @Test func aSchemaFromANewerVersionIsRefused() async throws {
        try await withPostgresStore { _, schema in
            try await PostgresTestSchema.admin(
                schema.url, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)",
                [String(PostgresMigrations.latestVersion + 1)])
            let error = await #expect(throws: StoreError.self) {
                try await PostgresRequestStore.open(url: schema.url)
            }
            #expect(error?.message.contains("newer than this gateway knows") == true)
        }
    }

    @Test func idsListAndClaimInByteOrderWhateverTheLocale() async throws {
        try await withPostgresStore { store, _ in
            // Byte order puts upper case before lower case and "_" (0x5F) between them; many locales do not.
            let ids = ["a", "B", "_", "b", "A"]
            for id in ids { _ = try await store.insert(Fixtures.request(id), idempotencyWindow: day, now: t0) }
            let listed = try await store.list(RequestFilter(), limit: 10, after: nil).map(\.id)
            #expect(listed == ids.sorted(by: >))
            let page = try await store.list(RequestFilter(), limit: 10, after: RequestCursor(createdAt: t0, id: "_"))
            #expect(page.map(\.id) == ["B", "A"])
        }
    }

    @Test func purgeDeletesOnlyExpiredKeys() async throws {
        try await withPostgresStore { store, _ in
            _ = try await store.insert(Fixtures.request("old", key: "k1"), idempotencyWindow: day, now: t0)
            let later = Fixtures.time(10_000)
            _ = try await store.insert(
                Fixtures.request("new", key: "k2", createdAt: later), idempotencyWindow: day, now: later)
            #expect(try await store.purgeExpiredIdempotencyKeys(before: Fixtures.time(5_000)) == 1)
            // The purged key is free again; the other still holds.
            let reused = try await store.insert(
                Fixtures.request("again", key: "k1", createdAt: later), idempotencyWindow: day, now: later)
            #expect(reused.wasInserted)
            let held = try await store.insert(
                Fixtures.request("dup", key: "k2", createdAt: later), idempotencyWindow: day, now: later)
            #expect(held == .existing(try #require(try await store.get(id: "new"))))
        }
    }

    @Test func aDuplicateIdIsAStoreError() async throws {
        try await withPostgresStore { store, _ in
            _ = try await store.insert(Fixtures.request("r1"), idempotencyWindow: day, now: t0)
            await #expect(throws: StoreError.self) {
                try await store.insert(Fixtures.request("r1"), idempotencyWindow: day, now: t0)
            }
            // With a key, the failed insert must not keep the key: it is still free.
            await #expect(throws: StoreError.self) {
                try await store.insert(Fixtures.request("r1", key: "k"), idempotencyWindow: day, now: t0)
            }
            #expect(
                try await store.insert(Fixtures.request("r2", key: "k"), idempotencyWindow: day, now: t0).wasInserted)
        }
    }

    // MARK: Pool

    @Test func thePoolNeverOpensMoreConnectionsThanItsSize() async throws {
        try await withPostgresStore(poolSize: 2) { store, schema in
            let application = "pool-test-" + schema.name
            let limited = try await PostgresRequestStore.open(
                url: schema.url + "&application_name=\(application)", poolSize: 3)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<30 {
                    group.addTask {
                        _ = try await limited.insert(Fixtures.request("r\(index)"), idempotencyWindow: day, now: t0)
                        try await limited.read { connection in try connection.query("SELECT pg_sleep(0.01)") }
                    }
                }
                try await group.waitForAll()
            }
            let sessions = try await PostgresTestSchema.admin(
                schema.url, "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1", [application])
            let count = Int(sessions.first?[0] ?? "") ?? -1
            #expect(count >= 1 && count <= 3)
            #expect(limited.pool.workerCount <= 3)
            #expect(try await store.countByStatus() == [.queued: 30])
            await limited.close()
        }
    }

    /// Polls the store's pool every millisecond (up to 10 s) until `condition` holds for its load.
    private func waitForPool(
        _ store: PostgresRequestStore, _ condition: ((running: Int, queued: Int)) -> Bool
    ) async throws {
        for _ in 0..<10_000 {
            if condition(store.pool.load) { return }
            try await Task.sleep(for: .milliseconds(1))
        }
        Issue.record("the pool never reached the expected load: \(store.pool.load)")
    }

    @Test func aCallerWaitingTooLongForAConnectionGetsAStoreError() async throws {
        try await withPostgresStore { _, schema in
            let store = try await PostgresRequestStore.open(
                url: schema.url, poolSize: 1, connectionWaitTimeout: .milliseconds(200))
            let gate = PoolGate()
            let busy = Task { try await store.read { _ in gate.hold() } }
            try await gate.waitUntilHeld()
            let error = await #expect(throws: StoreError.self) { try await store.ping() }
            #expect(error?.message.contains("no PostgreSQL connection became free") == true)
            gate.open()
            try await busy.value
            try await store.ping()
            await store.close()
        }
    }

    @Test func aCancelledCallerLeavesTheQueueAtOnce() async throws {
        try await withPostgresStore(poolSize: 1) { store, _ in
            let gate = PoolGate()
            let busy = Task { try await store.read { _ in gate.hold() } }
            try await gate.waitUntilHeld()
            let waiter = Task { try await store.ping() }
            try await waitForPool(store) { $0.queued == 1 }
            waiter.cancel()
            // The waiter leaves while the only connection is still held, instead of waiting its turn.
            await #expect(throws: CancellationError.self) { try await waiter.value }
            #expect(store.pool.load == (running: 1, queued: 0))
            gate.open()
            try await busy.value
        }
    }

    @Test func aClosedStoreRefusesWork() async throws {
        try await withPostgresStore { _, schema in
            let store = try await PostgresRequestStore.open(url: schema.url, poolSize: 2)
            try await store.ping()
            await store.close()
            await store.close()
            let error = await #expect(throws: StoreError.self) { try await store.get(id: "r1") }
            #expect(error?.message.contains("closed") == true)
        }
    }

    // MARK: Broken connections

    /// Terminates the server session running `application`'s statement once it is running.
    private func terminateActiveSession(of application: String, on url: String) async throws {
        for _ in 0..<500 {
            let rows = try await PostgresTestSchema.admin(
                url,
                """
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE application_name = $1 AND state = 'active' AND query LIKE '%pg_sleep%'
                """, [application])
            if !rows.isEmpty { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the statement to interrupt never ran")
    }

    @Test func aReadCutOffMidStatementIsRetriedOnANewConnection() async throws {
        try await withPostgresStore { _, schema in
            let application = "cut-read-" + schema.name
            let store = try await PostgresRequestStore.open(
                url: schema.url + "&application_name=\(application)", poolSize: 1)
            let attempts = Atomic<Int>(0)
            async let result = store.read { connection in
                // The first attempt sleeps until it is cut off (30 s at most); the retry answers at once.
                let first = attempts.add(1, ordering: .relaxed).newValue == 1
                return try connection.query("SELECT pg_sleep($1::float8), 42", [first ? "30" : "0"]).rows
            }
            try await terminateActiveSession(of: application, on: schema.baseURL)
            #expect(try await result.first?[1] == "42")
            #expect(attempts.load(ordering: .relaxed) == 2)
            await store.close()
        }
    }

    @Test func aWriteCutOffMidStatementIsReportedNotRepeated() async throws {
        try await withPostgresStore { _, schema in
            let application = "cut-write-" + schema.name
            let store = try await PostgresRequestStore.open(
                url: schema.url + "&application_name=\(application)", poolSize: 1)
            let attempts = Atomic<Int>(0)
            let result = Task {
                try await store.write { connection in
                    attempts.add(1, ordering: .relaxed)
                    try connection.query("SELECT pg_sleep(30)")
                }
            }
            try await terminateActiveSession(of: application, on: schema.baseURL)
            let error = await #expect(throws: StoreError.self) { try await result.value }
            #expect(error?.message.contains("may or may not have been applied") == true)
            #expect(attempts.load(ordering: .relaxed) == 1)
            // The store itself carries on.
            #expect(try await store.insert(Fixtures.request("r1"), idempotencyWindow: day, now: t0).wasInserted)
            await store.close()
        }
    }
}

/// Needs a server of its own: restarts it, and uses its certificate and password.
@Suite(.serialized) struct PostgresServerTests {
    let t0 = Fixtures.t0
    let day = Fixtures.day

    @Test func theStoreWorksAgainAfterTheServerRestarts() async throws {
        let server = try await PostgresTestServer.start()
        do {
            let store = try await PostgresRequestStore.open(url: server.url, poolSize: 3)
            // Open several pooled connections, so the restart has several to break.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<9 {
                    group.addTask {
                        _ = try await store.insert(Fixtures.request("r\(index)"), idempotencyWindow: day, now: t0)
                    }
                }
                try await group.waitForAll()
            }
            try await server.restart()
            // Without reopening: reads and writes on every pooled connection.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<9 {
                    group.addTask {
                        #expect(try await store.get(id: "r\(index)")?.id == "r\(index)")
                        _ = try await store.insert(Fixtures.request("s\(index)"), idempotencyWindow: day, now: t0)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.countByStatus() == [.queued: 18])

            // While the server is down calls fail fast with a clear error; afterwards the store works again.
            try await server.pause()
            let error = await #expect(throws: StoreError.self) {
                try await store.insert(Fixtures.request("down"), idempotencyWindow: day, now: t0)
            }
            #expect(error?.message.contains("could not connect to PostgreSQL") == true)
            #expect(error.map { Self.leaksPassword($0.message, of: server.url) } == false)
            try await server.resume()
            #expect(try await store.insert(Fixtures.request("up"), idempotencyWindow: day, now: t0).wasInserted)
            #expect(try await store.get(id: "down") == nil)
            await store.close()
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// Opens a store on a fresh schema of this process's own server with `parameters` added to the URL.
    private func withOwnServerStore(
        _ parameters: String, _ body: (PostgresRequestStore, PostgresTestServer) async throws -> Void
    ) async throws {
        let server = try await TestPostgres.ownServer()
        let schema = try await PostgresTestSchema.create(on: server.url)
        do {
            let store = try await PostgresRequestStore.open(url: schema.url + "&" + parameters, poolSize: 1)
            do {
                try await body(store, server)
            } catch {
                await store.close()
                throw error
            }
            await store.close()
        } catch {
            try? await schema.drop()
            throw error
        }
        try await schema.drop()
    }

    private func sessionUsesTLS(_ store: PostgresRequestStore) async throws -> Bool {
        let rows = try await store.read { connection in
            try connection.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").rows
        }
        return rows.first?[0] == "t"
    }

    @Test func tlsIsUsedWhenRequired() async throws {
        try await withOwnServerStore("sslmode=require") { store, _ in
            let usesTLS = try await sessionUsesTLS(store)
            #expect(usesTLS)
            #expect(try await store.insert(Fixtures.request("r1"), idempotencyWindow: day, now: t0).wasInserted)
        }
        // The contrast: the same server without TLS.
        try await withOwnServerStore("sslmode=disable") { store, _ in
            let usesTLS = try await sessionUsesTLS(store)
            #expect(!usesTLS)
        }
    }

    @Test func verifyFullAcceptsTheServerWithItsCertificateAuthority() async throws {
        let server = try await TestPostgres.ownServer()
        try await withOwnServerStore("sslmode=verify-full&sslrootcert=\(server.caFile)") { store, _ in
            let usesTLS = try await sessionUsesTLS(store)
            #expect(usesTLS)
            #expect(try await store.insert(Fixtures.request("r1"), idempotencyWindow: day, now: t0).wasInserted)
            #expect(try await store.get(id: "r1")?.id == "r1")
        }
    }

    @Test func verifyFullRefusesAServerItCannotVerify() async throws {
        let server = try await TestPostgres.ownServer()
        try await withTemporaryDirectory { directory in
            // A certificate authority that did not sign the server's certificate.
            let otherCA = directory + "/other-ca.crt"
            let openssl = Process()
            openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            openssl.arguments = [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                "-keyout", directory + "/other.key", "-out", otherCA,
            ]
            openssl.standardOutput = FileHandle.nullDevice
            openssl.standardError = FileHandle.nullDevice
            try openssl.run()
            openssl.waitUntilExit()
            #expect(openssl.terminationStatus == 0)
            let error = await #expect(throws: StoreError.self) {
                try await PostgresRequestStore.open(
                    url: server.url("sslmode=verify-full&sslrootcert=\(otherCA)"), poolSize: 1)
            }
            #expect(error?.message.contains("certificate verify failed") == true)
            #expect(error.map { Self.leaksPassword($0.message, of: server.url) } == false)
        }
    }

    @Test func aWrongPasswordIsAClearErrorWithoutThePassword() async throws {
        let server = try await TestPostgres.ownServer()
        let wrong = "Wr0ng-Pa55word!"
        let url = server.url.replacingOccurrences(
            of: "gateway:\(Self.password(in: server.url))@", with: "gateway:\(wrong)@")
        let error = await #expect(throws: StoreError.self) {
            try await PostgresRequestStore.open(url: url, poolSize: 1)
        }
        let message = error?.message ?? ""
        #expect(message.contains("password authentication failed for user \"gateway\""))
        #expect(message.contains("gateway:***@127.0.0.1"))
        #expect(!message.contains(wrong))
        // The same password in the query string instead.
        let inQuery = server.url("password=\(wrong)").replacingOccurrences(
            of: "gateway:\(Self.password(in: server.url))@", with: "gateway@")
        let second = await #expect(throws: StoreError.self) {
            try await PostgresRequestStore.open(url: inQuery, poolSize: 1)
        }
        #expect(second?.message.contains("password authentication failed") == true)
        #expect(second?.message.contains(wrong) == false)
    }

    @Test func errorsAfterLoggingInNeverShowThePassword() async throws {
        let server = try await TestPostgres.ownServer()
        let missingDatabase = server.url.replacingOccurrences(of: "/postgres", with: "/no_such_database")
        let error = await #expect(throws: StoreError.self) {
            try await PostgresRequestStore.open(url: missingDatabase, poolSize: 1)
        }
        #expect(error?.message.contains("no_such_database") == true)
        #expect(error.map { Self.leaksPassword($0.message, of: server.url) } == false)
        let malformed = server.url + "?sslmode=sideways"
        let invalid = await #expect(throws: StoreError.self) {
            try await PostgresRequestStore.open(url: malformed, poolSize: 1)
        }
        #expect(invalid?.message.contains("sslmode") == true)
        #expect(invalid.map { Self.leaksPassword($0.message, of: server.url) } == false)
    }

    static func password(in url: String) -> String {
        let afterScheme = url.components(separatedBy: "://")[1]
        let credentials = afterScheme.components(separatedBy: "@")[0]
        return credentials.components(separatedBy: ":")[1]
    }

    static func leaksPassword(_ message: String, of url: String) -> Bool {
        message.contains(password(in: url))
    }
}

/// Masking passwords in connection strings (for messages and logs).
@Suite struct PostgresConnectionStringTests {
    @Test(arguments: [
        ("postgres://gw:s3cret@db:5432/gateway", "postgres://gw:***@db:5432/gateway"),
        ("postgres://gw:p%40ss@db/gateway?sslmode=verify-full", "postgres://gw:***@db/gateway?sslmode=verify-full"),
        (
            "postgresql://gw@db/gateway?password=s3cret&sslmode=require",
            "postgresql://gw@db/gateway?password=***&sslmode=require"
        ),
        ("postgres://db/gateway?sslmode=require&PassWord=s3cret", "postgres://db/gateway?sslmode=require&PassWord=***"),
        ("postgres://db/gateway", "postgres://db/gateway"),
        ("host=db user=gw password=s3cret dbname=gateway", "host=db user=gw password=*** dbname=gateway"),
        ("host=db password = 'two words' dbname=gateway", "host=db password = *** dbname=gateway"),
        ("host=db password='it\\'s' sslmode=require", "host=db password=*** sslmode=require"),
    ])
    func passwordsAreMasked(_ text: String, _ expected: String) {
        #expect(PostgresConnectionSettings.maskingPassword(text) == expected)
    }

    @Test func databaseURLDescriptionsMaskQueryPasswords() throws {
        let url = try DatabaseURL.parse("postgres://gw@db/gateway?password=hunter2&sslmode=verify-full")
        #expect(url.description == "postgres://gw@db/gateway?password=***&sslmode=verify-full")
    }

    @Test func aMalformedURLIsRefusedWithoutItsPassword() {
        // libpq quotes a malformed escape back, here the whole password.
        let error = #expect(throws: StoreError.self) {
            try PostgresConnectionSettings("postgres://gw:hunter2%zz@db/gateway")
        }
        #expect(error?.message.contains("percent-encoded") == true)
        #expect(error?.message.contains("hunter2") == false)
        #expect(error?.message.contains("gw:***@db") == true)
        let unknownOption = #expect(throws: StoreError.self) {
            try PostgresConnectionSettings("postgres://gw:hunter2@db/gateway?colour=blue")
        }
        #expect(unknownOption?.message.contains("colour") == true)
        #expect(unknownOption?.message.contains("hunter2") == false)
    }

    @Test func textArraysAreQuotedElementByElement() {
        var query = SQLBuilder()
        let placeholder = query.bind(textArray: ["queued", "a\"b", "c\\d", "e,f"])
        #expect(placeholder == "$1::text[]")
        #expect(query.parameters == [#"{"queued","a\"b","c\\d","e,f"}"#])
    }
}

/// Holds a pool thread (polling, bounded to 10 s) until opened, so a test controls how long a connection is busy.
private final class PoolGate: Sendable {
    private let entered = Atomic<Bool>(false)
    private let released = Atomic<Bool>(false)

    func open() { released.store(true, ordering: .releasing) }

    func hold() {
        entered.store(true, ordering: .releasing)
        for _ in 0..<100_000 where !released.load(ordering: .acquiring) { usleep(100) }
    }

    /// Returns once `hold()` runs, that is once the job holding the gate owns its connection (polls up to 10 s).
    ///
    /// The pool's load cannot tell this: a job counts as running until its connection is settled, after its
    /// caller resumed, so `running == 1` may still be the job that opened the store.
    func waitUntilHeld() async throws {
        for _ in 0..<10_000 {
            if entered.load(ordering: .acquiring) { return }
            try await Task.sleep(for: .milliseconds(1))
        }
        Issue.record("the job holding the gate never started")
    }
}
