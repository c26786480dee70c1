import Crypto
import Foundation
import GatewayCore
import Glibc
import HTTP
import Networking
import PurviewEmulator
import PurviewWorkflow
import Synchronization
import Testing

@testable import GatewayStorage

/// The PostgreSQL database the replicas share: a fresh schema on `TEST_POSTGRES_URL`, or on a throwaway server
/// this test starts with `.ci/postgres` (and stops) when that variable is unset.
final class ReplicaDatabase: Sendable {
    let serverURL: String
    let schema: String
    /// Set when this test started the server itself.
    let ownServerDirectory: String?

    /// What the gateways get as `GATEWAY_DATABASE_URL`: every session uses only the test's schema.
    var url: String {
        serverURL + (serverURL.contains("?") ? "&" : "?") + "options=-c%20search_path%3D\(schema)"
    }

    private init(serverURL: String, schema: String, ownServerDirectory: String?) {
        self.serverURL = serverURL
        self.schema = schema
        self.ownServerDirectory = ownServerDirectory
    }

    static func create() async throws -> ReplicaDatabase {
        let environment = ProcessInfo.processInfo.environment
        var serverURL = environment["TEST_POSTGRES_URL"] ?? ""
        var ownServerDirectory: String?
        // CI starts one server for the whole run (.ci/test); a missing URL there is a broken setup, not a reason
        // to start another server or to skip.
        if serverURL.isEmpty, let ci = environment["CI"], !ci.isEmpty {
            throw HarnessFailure("TEST_POSTGRES_URL is not set in CI: .ci/test starts PostgreSQL and exports it")
        }
        if serverURL.isEmpty {
            // Under /tmp: as root the server runs as `postgres`, which cannot enter private temporary directories.
            let directory = "/tmp/pgw-replicas-\(getpid())-\(UUID().uuidString.prefix(6).lowercased())"
            let output = try await runPostgresScript(["start", directory, "--owner-pid", String(getpid())])
            guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("TEST_POSTGRES_URL=") }) else {
                throw HarnessFailure("`.ci/postgres start` printed no TEST_POSTGRES_URL: \(output)")
            }
            serverURL = String(line.dropFirst("TEST_POSTGRES_URL=".count))
            ownServerDirectory = directory
        }
        let schema = "replicas_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        do {
            try await admin(serverURL, "CREATE SCHEMA \(schema)")
        } catch {
            if let ownServerDirectory { _ = try? await runPostgresScript(["stop", ownServerDirectory]) }
            throw HarnessFailure("cannot create a schema on the test PostgreSQL server: \(error)")
        }
        return ReplicaDatabase(serverURL: serverURL, schema: schema, ownServerDirectory: ownServerDirectory)
    }

    /// Drops the schema, and stops the server if this test started it.
    func remove() async {
        try? await Self.admin(serverURL, "DROP SCHEMA \(schema) CASCADE")
        if let ownServerDirectory { _ = try? await Self.runPostgresScript(["stop", ownServerDirectory]) }
    }

    private static func admin(_ url: String, _ sql: String) async throws {
        let pool = PostgresPool(settings: try PostgresConnectionSettings(url), size: 1, waitTimeout: .seconds(30))
        do {
            try await pool.run(.always) { connection in _ = try connection.query(sql, []) }
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }

    private static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".ci/postgres").path

    /// Runs `.ci/postgres` with its output in files (the server outlives the script and must not hold a pipe of
    /// ours open), waiting without blocking a thread.
    private static func runPostgresScript(_ arguments: [String]) async throws -> String {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent(
            "pgw-replicas-script-" + UUID().uuidString
        ).path
        _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".err"))
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        let output = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        guard status == 0 else {
            let errors = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
            throw HarnessFailure(
                "`.ci/postgres \(arguments.joined(separator: " "))` failed (status \(status)): \(errors)\(output)"
                    + " — install PostgreSQL (bash .ci/setup --postgres) or set TEST_POSTGRES_URL")
        }
        return output
    }
}

/// One emulator (https, demo configuration) and several `purview-gateway serve` processes on one PostgreSQL
/// schema, with the same API keys.
final class ReplicaSystem: @unchecked Sendable {
    static let portalKey = "replica-portal-key"
    static let auditorKey = "replica-auditor-key"
    let directory: TemporaryDirectory
    let database: ReplicaDatabase
    let emulator: ChildProcess
    let emulatorURL: String
    let replicas: [ChildProcess]
    let replicaURLs: [String]
    let client: HTTPClient

    private init(
        directory: TemporaryDirectory, database: ReplicaDatabase, emulator: ChildProcess, emulatorURL: String,
        replicas: [ChildProcess], replicaURLs: [String], client: HTTPClient
    ) {
        self.directory = directory
        self.database = database
        self.emulator = emulator
        self.emulatorURL = emulatorURL
        self.replicas = replicas
        self.replicaURLs = replicaURLs
        self.client = client
    }

    static func start(replicaCount: Int, environment extra: [String: String]) async throws -> ReplicaSystem {
        let directory = try TemporaryDirectory()
        let database = try await ReplicaDatabase.create()
        var processes: [ChildProcess] = []
        do {
            let base = ProcessInfo.processInfo.environment.filter { $0.key == "PATH" || $0.key == "HOME" }
            let emulator = try ChildProcess(
                ["emulator", "--listen", "127.0.0.1:0", "--self-signed", directory.path + "/tls"], environment: base,
                directory: directory.path)
            processes.append(emulator)
            let emulatorURL = try await emulator.waitForOutput(#"listening on (https://127\.0\.0\.1:\d+)"#)
            let keys: [String: Any] = [
                "clients": [
                    [
                        "name": "portal", "keySha256": Hex.encode(SHA256.hash(Array(portalKey.utf8))),
                        "scopes": ["requests:write", "requests:read"],
                    ],
                    [
                        "name": "auditor", "keySha256": Hex.encode(SHA256.hash(Array(auditorKey.utf8))),
                        "scopes": ["requests:read:all"],
                    ],
                ]
            ]
            try JSONSerialization.data(withJSONObject: keys).write(
                to: URL(fileURLWithPath: directory.path + "/keys.json"))

            var environment = base
            environment["PURVIEW_ENDPOINT"] = emulatorURL
            environment["AZURE_AUTHORITY_HOST"] = emulatorURL
            environment["AZURE_TENANT_ID"] = EmulatorConfig.Demo.tenantId
            environment["AZURE_CLIENT_ID"] = EmulatorConfig.Demo.gatewayClientId
            environment["AZURE_CLIENT_SECRET"] = EmulatorConfig.Demo.gatewayClientSecret
            environment["SSL_CERT_FILE"] = directory.path + "/tls/cert.pem"
            environment["GATEWAY_API_KEYS_FILE"] = directory.path + "/keys.json"
            environment["GATEWAY_DATABASE_URL"] = database.url
            environment["GATEWAY_LISTEN"] = "127.0.0.1:0"
            // Warnings name the sends a dead replica left behind; the test counts them.
            environment["LOG_LEVEL"] = "warning"
            environment.merge(extra) { $1 }
            // Started together: their migrations meet on the advisory lock.
            var replicas: [ChildProcess] = []
            for _ in 0..<replicaCount {
                let replica = try ChildProcess(["serve"], environment: environment, directory: directory.path)
                replicas.append(replica)
                processes.append(replica)
            }
            var urls: [String] = []
            for replica in replicas {
                urls.append(try await replica.waitForOutput(#"listening on (http://127\.0\.0\.1:\d+)"#))
            }
            let client = try HTTPClient(
                configuration: HTTPClientConfiguration(
                    requestTimeout: .seconds(60),
                    tls: TLSClientConfiguration(trustStore: .only(rootFile: directory.path + "/tls/cert.pem"))))
            let system = ReplicaSystem(
                directory: directory, database: database, emulator: emulator, emulatorURL: emulatorURL,
                replicas: replicas, replicaURLs: urls, client: client)
            try await system.grantDataAccessWithoutApproval()
            return system
        } catch {
            for process in processes { process.kill() }
            await database.remove()
            throw error
        }
    }

    /// Replaces the demo's data-access workflow (an approval by Ada) with one that grants at once, through the
    /// Workflow API as the demo administrator. Pending approvals would make every status poll list thousands of
    /// tasks (the API cannot filter tasks by run), which is not what this test measures.
    func grantDataAccessWithoutApproval() async throws {
        let tokenReply = try await call(
            .post, "\(emulatorURL)/\(EmulatorConfig.Demo.tenantId)/oauth2/v2.0/token",
            headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: FormEncoding.encode([
                ("grant_type", "client_credentials"), ("client_id", EmulatorConfig.Demo.adminClientId),
                ("client_secret", EmulatorConfig.Demo.adminClientSecret),
                ("scope", "https://purview.azure.net/.default"),
            ]), json: false)
        guard let token = tokenReply.json["access_token"]?.stringValue else {
            throw HarnessFailure("no admin token from the emulator: \(tokenReply.status) \(tokenReply.json)")
        }
        let workflow: JSONValue = [
            "name": "Grant data access", "description": "Granted without approval (replica test).", "isEnabled": true,
            "triggers": [["type": "when_data_access_grant_is_requested"]],
            "actionDag": ["actions": ["Grant data access": ["type": "GrantDataAccess", "runAfter": [:]]]],
        ]
        let reply = try await call(
            .put,
            "\(emulatorURL)/workflow/workflows/\(EmulatorConfig.Demo.dataAccessWorkflowId)?api-version=2023-10-01-preview",
            headers: ["Authorization": "Bearer \(token)"], body: workflow.serialized())
        guard reply.status == 200 else {
            throw HarnessFailure("replacing the data-access workflow: \(reply.status) \(reply.json)")
        }
    }

    func stop() async {
        for replica in replicas { _ = await replica.terminate() }
        _ = await emulator.terminate()
        await client.shutdown()
        await database.remove()
    }

    struct Reply {
        var status: Int
        var json: JSONValue
    }

    func call(
        _ method: HTTPMethod, _ url: String, headers: HTTPFields = [:], body: [UInt8]? = nil, json isJSON: Bool = true
    ) async throws -> Reply {
        var fields = headers
        if body != nil && isJSON { fields.append("Content-Type", "application/json") }
        guard let target = HTTPURL(url) else { throw HarnessFailure("not a URL: \(url)") }
        let response = try await client.execute(
            HTTPClientRequest(method: method, url: target, headers: fields, body: body))
        let json = response.body.isEmpty ? JSONValue.null : ((try? JSONValue(parsing: response.body)) ?? .null)
        return Reply(status: response.status.code, json: json)
    }

    /// Every request the auditor sees that matches `query` (e.g. `status=queued,submitting`), page by page.
    func listAll(_ query: String, on replica: Int) async throws -> [JSONValue] {
        var items: [JSONValue] = []
        var cursor: String?
        for _ in 0..<1_000 {
            var path = "/v1/requests?limit=500" + (query.isEmpty ? "" : "&" + query)
            if let cursor { path += "&cursor=" + cursor }
            let reply = try await call(.get, replicaURLs[replica] + path, headers: ["X-API-Key": Self.auditorKey])
            guard reply.status == 200, let page = reply.json["items"]?.arrayValue else {
                throw HarnessFailure("listing \(path) answered \(reply.status): \(reply.json)")
            }
            items += page
            guard let next = reply.json["nextCursor"]?.stringValue else { return items }
            cursor = next
        }
        throw HarnessFailure("listing \(query) did not end after 1,000 pages")
    }

    func emulatorStats() async throws -> JSONValue {
        try await call(
            .get, emulatorURL + "/_emulator/stats",
            headers: ["Authorization": "Bearer \(EmulatorConfig.Demo.adminToken)"]
        )
        .json
    }
}

/// What the submitting clients share: the next submission to make, who acknowledged what, which replica is dead.
final class ReplicaLoad: Sendable {
    let total: Int
    let replicaCount: Int
    private let next = Atomic<Int>(0)
    let acknowledgedCount = Atomic<Int>(0)
    /// Submission index → the request id the gateway acknowledged for it.
    let acknowledged: Mutex<[Int: String]>
    let unacknowledged = Mutex<[Int]>([])
    let failedAttempts = Atomic<Int>(0)
    let deadReplica = Atomic<Int>(-1)
    private let inFlight: Mutex<[Int]>

    init(total: Int, replicaCount: Int) {
        self.total = total
        self.replicaCount = replicaCount
        acknowledged = Mutex(Dictionary(minimumCapacity: total))
        inFlight = Mutex(Array(repeating: 0, count: replicaCount))
    }

    func take() -> Int? {
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return index < total ? index : nil
    }

    func inFlight(on replica: Int) -> Int { inFlight.withLock { $0[replica] } }

    /// Submits one request like a careful client: round-robin over the replicas, the same Idempotency-Key on every
    /// retry, the next live replica after a failure (bounded).
    func submit(_ index: Int, system: ReplicaSystem) async {
        var replica = index % replicaCount
        let body = Array(
            #"{"qualifiedName":"mssql://db.contoso.com/sales/t\#(index)","purpose":"replica test","requestedBy":"ada@contoso.com"}"#
                .utf8)
        let headers: HTTPFields = [
            "X-API-Key": ReplicaSystem.portalKey, "Prefer": "wait=0", "Idempotency-Key": "replica-test-\(index)",
        ]
        for attempt in 0..<20 {
            if replica == deadReplica.load(ordering: .relaxed) { replica = (replica + 1) % replicaCount }
            inFlight.withLock { $0[replica] += 1 }
            let reply = try? await system.call(
                .post, system.replicaURLs[replica] + "/v1/requests/data-access", headers: headers, body: body)
            inFlight.withLock { $0[replica] -= 1 }
            if let reply, (200..<300).contains(reply.status), let id = reply.json["id"]?.stringValue {
                acknowledged.withLock { $0[index] = id }
                acknowledgedCount.add(1, ordering: .relaxed)
                return
            }
            failedAttempts.add(1, ordering: .relaxed)
            replica = (replica + 1) % replicaCount
            if attempt >= replicaCount { try? await Task.sleep(for: .milliseconds(100)) }
        }
        unacknowledged.withLock { $0.append(index) }
    }
}

@Suite(.serialized) struct ReplicaTests {
    /// The issue's acceptance test for several replicas: three gateways on one PostgreSQL and one emulator,
    /// 10,000 submissions spread over them, one replica killed (-9) halfway.
    @Test func threeReplicasOneKilledHalfwayLoseNothingAndSendNothingTwice() async throws {
        let started = ContinuousClock.now
        let system = try await ReplicaSystem.start(
            replicaCount: 3,
            environment: [
                "GATEWAY_FORWARD_LEASE_SECONDS": "2", "GATEWAY_POLL_INTERVAL_SECONDS": "60",
                // The outbound budget is not what this test measures: high enough never to hold the forwarders back.
                "GATEWAY_PURVIEW_REQUESTS_PER_SECOND": "20000",
                // Nor is the intake quota: one client sends all 10,000.
                "GATEWAY_RATE_LIMIT_PER_SECOND": "0",
            ])
        do {
            try await loadKillAndCheck(system, started: started)
        } catch {
            await system.stop()
            throw error
        }
        await system.stop()
    }

    func loadKillAndCheck(_ system: ReplicaSystem, started: ContinuousClock.Instant) async throws {
        let total = 10_000
        let victim = 1
        let load = ReplicaLoad(total: total, replicaCount: system.replicas.count)
        let submitters = Task {
            await withDiscardingTaskGroup { group in
                for _ in 0..<24 {
                    group.addTask {
                        while let index = load.take() { await load.submit(index, system: system) }
                    }
                }
            }
        }
        // Kill one replica once half the submissions are acknowledged.
        let killDeadline = ContinuousClock.now + .seconds(300)
        while load.acknowledgedCount.load(ordering: .relaxed) < total / 2 && ContinuousClock.now < killDeadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        // For one second Purview holds each submission for a second, so that the replica dies with sends in flight.
        let slow = try await system.call(
            .post, system.emulatorURL + "/_emulator/faults",
            headers: ["Authorization": "Bearer \(EmulatorConfig.Demo.adminToken)"],
            body: (["match": "POST /userrequests", "latencyMs": 1000, "seconds": 1] as JSONValue).serialized())
        #expect(slow.status == 200)
        try await Task.sleep(for: .milliseconds(300))
        let acknowledgedAtKill = load.acknowledgedCount.load(ordering: .relaxed)
        system.replicas[victim].kill()
        let inFlightAtKill = load.inFlight(on: victim)
        load.deadReplica.store(victim, ordering: .relaxed)
        await submitters.value
        let submitted = ContinuousClock.now

        let ids = load.acknowledged.withLock { $0 }
        #expect(acknowledgedAtKill >= total / 2, "the kill came before half the submissions were acknowledged")
        #expect(
            load.unacknowledged.withLock { $0 }.isEmpty,
            "never acknowledged: \(load.unacknowledged.withLock { $0.prefix(20) })")
        #expect(ids.count == total)
        #expect(Set(ids.values).count == ids.count, "two submissions were acknowledged with the same request id")

        // Wait (bounded) until the survivors have settled everything, the dead replica's leases included.
        let live = (0..<system.replicas.count).first { $0 != victim } ?? 0
        let settleDeadline = ContinuousClock.now + .seconds(180)
        while ContinuousClock.now < settleDeadline {
            let probe = try await system.call(
                .get, system.replicaURLs[live] + "/v1/requests?status=queued,submitting&limit=1",
                headers: ["X-API-Key": ReplicaSystem.auditorKey])
            if probe.status == 200 && probe.json["items"] == [] { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        let unsettled = try await system.listAll("status=queued,submitting", on: live)
        if !unsettled.isEmpty {
            let stuck = Dictionary(grouping: unsettled, by: { $0["status"]?.stringValue ?? "?" }).mapValues(\.count)
            Issue.record("requests still unsettled after 180 s: \(stuck)")
            for (index, replica) in system.replicas.enumerated() {
                print("replica \(index) stderr (end):\n\(replica.standardError.suffix(3000))")
            }
        }
        let settled = ContinuousClock.now

        // Every acknowledged request is stored once, and is forwarded or `unknown`.
        let stored = try await system.listAll("", on: live)
        var statusById: [String: String] = [:]
        var runOwners: [String: String] = [:]
        var runsClaimedTwice = 0
        for item in stored {
            guard let id = item["id"]?.stringValue else { continue }
            statusById[id] = item["status"]?.stringValue ?? "?"
            for run in item["workflowRunIds"]?.arrayValue ?? [] {
                guard let runId = run.stringValue else { continue }
                if runOwners.updateValue(id, forKey: runId) != nil { runsClaimedTwice += 1 }
            }
        }
        #expect(stored.count == total, "stored \(stored.count) requests for \(total) submissions")
        let missing = ids.values.filter { statusById[$0] == nil }
        #expect(missing.isEmpty, "\(missing.count) acknowledged requests are missing, e.g. \(missing.prefix(5))")
        let statuses = Dictionary(grouping: statusById.values, by: { $0 }).mapValues(\.count)
        let forwardedStatuses: Set<String> = ["submitted", "in_progress", "completed", "no_workflow"]
        #expect(
            Set(statuses.keys).isSubset(of: forwardedStatuses.union(["unknown"])),
            "statuses after the kill: \(statuses)")
        let unknown = statuses["unknown"] ?? 0
        let forwarded = statuses.filter { forwardedStatuses.contains($0.key) }.values.reduce(0, +)
        // In doubt after the crash: the dead replica's sends marked `submitting`, which are only those holding one of
        // its outbound budget's slots, i.e. on the wire. Those Purview received are found by reconciliation; only a
        // send cut before Purview took it ends `unknown` (never resent): "a handful at most".
        let handful = 8
        #expect(unknown <= handful, "\(unknown) requests ended unknown; a handful (\(handful)) at most")
        #expect(runsClaimedTwice == 0, "\(runsClaimedTwice) workflow runs are recorded on two requests")

        // Purview (the emulator) received nothing twice, and no more than the gateways could have sent.
        let stats = try await system.emulatorStats()
        #expect(
            stats["duplicateUserRequests"] == [],
            "the emulator received a request twice: \(stats["duplicateUserRequests"] ?? .null)")
        #expect(
            stats["identicalUserRequests"] == [],
            "the emulator received one body twice: \(stats["identicalUserRequests"] ?? .null)")
        let received = stats["calls"]?["POST /userrequests"]?.intValue ?? -1
        #expect(received <= ids.count + inFlightAtKill, "Purview received \(received) submissions")
        #expect(
            received >= forwarded, "Purview received \(received) submissions but \(forwarded) are recorded as forwarded"
        )

        // The survivors' logs name each send they found `submitting` after its lease (the dead replica's among them).
        let interrupted = system.replicas.enumerated().filter { $0.offset != victim }
            .map { $0.element.standardError.components(separatedBy: "interrupted by a crash").count - 1 }.reduce(0, +)
        #expect(interrupted > 0, "the killed replica left no send in flight: the crash path was not exercised")
        let seconds = { (from: ContinuousClock.Instant, to: ContinuousClock.Instant) in
            String(
                format: "%.1f s",
                Double(from.duration(to: to).components.seconds) + Double(from.duration(to: to).components.attoseconds)
                    / 1e18)
        }
        print(
            "replica test: \(ids.count) acknowledged (\(acknowledgedAtKill) before the kill, \(inFlightAtKill) in flight"
                + " to the killed replica, \(load.failedAttempts.load(ordering: .relaxed)) failed attempts retried),"
                + " \(interrupted) stale sends reconciled by the survivors, \(unknown) unknown, statuses \(statuses),"
                + " Purview received \(received) POST /userrequests (\(received - forwarded) of them recorded unknown);"
                + " submitting \(seconds(started, submitted)), settling \(seconds(submitted, settled)),"
                + " total \(seconds(started, ContinuousClock.now))")
    }
}
