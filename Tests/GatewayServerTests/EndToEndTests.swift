import Crypto
import Foundation
import HTTP
import Networking
import PurviewEmulator
import PurviewWorkflow
import Synchronization
import Testing

/// The gateway and the emulator as separate processes over https, as they run in production: the
/// gateway trusts the emulator's self-signed CA through SSL_CERT_FILE and gets tokens from its
/// token endpoint (AZURE_AUTHORITY_HOST).
final class EndToEndSystem: @unchecked Sendable {
    typealias Demo = EmulatorConfig.Demo
    let directory: TemporaryDirectory
    let emulator: ChildProcess
    let emulatorURL: String
    var gateway: ChildProcess?
    var gatewayURL = ""
    let client: HTTPClient
    static let portalKey = "e2e-portal-key"
    static let auditorKey = "e2e-auditor-key"

    /// `portalCallbacks`: the portal client's `"callbacks"` keys-file entry (webhook tests).
    init(portalCallbacks: [String: Any]? = nil) async throws {
        directory = try TemporaryDirectory()
        let base = ProcessInfo.processInfo.environment.filter { $0.key == "PATH" || $0.key == "HOME" || $0.key == "E2E_BACKTRACE" }.reduce(into: [String: String]()) { result, entry in if entry.key == "E2E_BACKTRACE" { result["SWIFT_BACKTRACE"] = entry.value } else { result[entry.key] = entry.value } }
        emulator = try ChildProcess(
            ["emulator", "--listen", "127.0.0.1:0", "--self-signed", directory.path + "/tls"], environment: base,
            directory: directory.path)
        emulatorURL = try await emulator.waitForOutput(#"listening on (https://127\.0\.0\.1:\d+)"#)
        var portal: [String: Any] = [
            "name": "portal", "keySha256": Hex.encode(SHA256.hash(Array(Self.portalKey.utf8))),
            "scopes": ["requests:write", "requests:read", "requests:cancel"],
        ]
        portal["callbacks"] = portalCallbacks
        let keys: [String: Any] = [
            "clients": [
                portal,
                ["name": "auditor", "keySha256": Hex.encode(SHA256.hash(Array(Self.auditorKey.utf8))), "scopes": ["requests:read:all"]],
            ]
        ]
        try JSONSerialization.data(withJSONObject: keys).write(to: URL(fileURLWithPath: directory.path + "/keys.json"))
        client = try HTTPClient(
            configuration: HTTPClientConfiguration(
                requestTimeout: .seconds(60),
                tls: TLSClientConfiguration(trustStore: .only(rootFile: directory.path + "/tls/cert.pem"))))
        try await startGateway()
    }

    func startGateway() async throws {
        var environment = ProcessInfo.processInfo.environment.filter { $0.key == "PATH" || $0.key == "HOME" }
        environment["PURVIEW_ENDPOINT"] = emulatorURL
        environment["AZURE_AUTHORITY_HOST"] = emulatorURL
        environment["AZURE_TENANT_ID"] = Demo.tenantId
        environment["AZURE_CLIENT_ID"] = Demo.gatewayClientId
        environment["AZURE_CLIENT_SECRET"] = Demo.gatewayClientSecret
        environment["SSL_CERT_FILE"] = directory.path + "/tls/cert.pem"
        environment["GATEWAY_API_KEYS_FILE"] = directory.path + "/keys.json"
        environment["GATEWAY_DATABASE_URL"] = "sqlite://" + directory.path + "/gateway.db"
        environment["GATEWAY_LISTEN"] = "127.0.0.1:0"
        environment["GATEWAY_FORWARD_LEASE_SECONDS"] = "2"
        environment["GATEWAY_POLL_INTERVAL_SECONDS"] = "0.5"
        // The crash test submits hundreds at once from one client; quotas have their own tests.
        environment["GATEWAY_RATE_LIMIT_PER_SECOND"] = "0"
        environment["LOG_LEVEL"] = ProcessInfo.processInfo.environment["E2E_LOG_LEVEL"] ?? "warning"
        let process = try ChildProcess(["serve"], environment: environment, directory: directory.path)
        gateway = process
        gatewayURL = try await process.waitForOutput(#"listening on (http://127\.0\.0\.1:\d+)"#)
    }

    func stop() async {
        if let gateway { _ = await gateway.terminate() }
        _ = await emulator.terminate()
        await client.shutdown()
    }

    struct Reply {
        var status: Int
        var json: JSONValue
        var headers: HTTPFields
    }

    func call(_ method: HTTPMethod, _ url: String, headers: HTTPFields = [:], json body: JSONValue? = nil, form: [(String, String)]? = nil) async throws -> Reply {
        var fields = headers
        var bytes: [UInt8]?
        if let body {
            fields.append("Content-Type", "application/json")
            bytes = body.serialized()
        } else if let form {
            fields.append("Content-Type", "application/x-www-form-urlencoded")
            bytes = FormEncoding.encode(form)
        }
        let response = try await client.execute(HTTPClientRequest(method: method, url: HTTPURL(url)!, headers: fields, body: bytes))
        let json = response.body.isEmpty ? JSONValue.null : ((try? JSONValue(parsing: response.body)) ?? .string(String(decoding: response.body, as: UTF8.self)))
        return Reply(status: response.status.code, json: json, headers: response.headers)
    }

    func gatewayCall(_ method: HTTPMethod, _ path: String, key: String = EndToEndSystem.portalKey, json body: JSONValue? = nil, headers: HTTPFields = [:]) async throws -> Reply {
        var fields = headers
        fields.append("X-API-Key", key)
        return try await call(method, gatewayURL + path, headers: fields, json: body)
    }

    func token(clientId: String, secret: String) async throws -> String {
        let reply = try await call(.post, "\(emulatorURL)/\(Demo.tenantId)/oauth2/v2.0/token", form: [
            ("grant_type", "client_credentials"), ("client_id", clientId), ("client_secret", secret), ("scope", "https://purview.azure.net/.default"),
        ])
        return try #require(reply.json["access_token"]?.stringValue)
    }

    func admin(_ method: HTTPMethod, _ path: String, json body: JSONValue? = nil) async throws -> Reply {
        try await call(method, emulatorURL + path, headers: ["Authorization": "Bearer \(Demo.adminToken)"], json: body)
    }

    /// Approves or rejects, as Ada, the pending task of `runId`.
    func decide(run runId: String, approve: Bool) async throws {
        let token = try await token(clientId: Demo.approverClientId, secret: Demo.approverClientSecret)
        let auth: HTTPFields = ["Authorization": "Bearer \(token)"]
        let tasks = try await call(.get, "\(emulatorURL)/workflow/workflowtasks?api-version=2023-10-01-preview&viewMode=received", headers: auth)
        let task = try #require(tasks.json["value"]?.arrayValue?.first { $0["workflowRunId"]?.stringValue == runId })
        let id = try #require(task["id"]?.stringValue)
        let verb = approve ? "approve-approval" : "reject-approval"
        let reply = try await call(.post, "\(emulatorURL)/workflow/workflowtasks/\(id)/\(verb)?api-version=2023-10-01-preview", headers: auth, json: ["comment": "decided in the e2e test"])
        #expect(reply.status == 200)
    }

    /// Polls the gateway until `done` holds for the request (bounded).
    func waitFor(_ id: String, timeout: Duration = .seconds(60), _ done: (JSONValue) -> Bool) async throws -> JSONValue {
        let deadline = ContinuousClock.now + timeout
        var last = JSONValue.null
        while ContinuousClock.now < deadline {
            last = try await gatewayCall(.get, "/v1/requests/\(id)").json
            if done(last) { return last }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("request \(id) never reached the expected state; last: \(last)")
        return last
    }

    static let termBody: JSONValue = [
        "glossaryId": "20031e20-b4df-4a66-a61d-1b0716f3fa48", "name": "Revenue", "definition": "Money received.",
        "requestedBy": "ada@contoso.com",
    ]
}

@Suite(.serialized) struct EndToEndTests {
    @Test func approvedAndRejectedOverHTTPS() async throws {
        let system = try await EndToEndSystem()
        defer { Task { await system.stop() } }
        let created = try await system.gatewayCall(.post, "/v1/requests/term-creation", json: EndToEndSystem.termBody, headers: ["X-Request-Id": "e2e-trace-1"])
        #expect(created.status == 201)
        #expect(created.headers["X-Request-Id"] == "e2e-trace-1")
        let id = try #require(created.json["id"]?.stringValue)
        let runId = try #require(created.json["workflowRunIds"]?[0]?.stringValue)
        try await system.decide(run: runId, approve: true)
        let approved = try await system.waitFor(id) { $0["status"] == "completed" }
        #expect(approved["outcome"] == "approved")

        let second = try await system.gatewayCall(.post, "/v1/requests/data-access", json: ["assetId": "0f8b3b7e-2a51-4c1d-9f0e-1b2c3d4e5f61", "purpose": "audit", "requestedBy": "bob@contoso.com"])
        let secondId = try #require(second.json["id"]?.stringValue)
        try await system.decide(run: try #require(second.json["workflowRunIds"]?[0]?.stringValue), approve: false)
        let rejected = try await system.waitFor(secondId) { $0["status"] == "completed" }
        #expect(rejected["outcome"] == "rejected")

        // The emulator saw the gateway's request id as x-ms-client-request-id, and nothing twice.
        let stats = try await system.admin(.get, "/_emulator/stats")
        #expect(stats.json["calls"]?["POST /userrequests"]?.intValue == 2)
        #expect(stats.json["duplicateUserRequests"] == [])
        let health = try await system.gatewayCall(.get, "/healthz")
        #expect(health.json["checks"]?["token"]?["fetches"]?.intValue == 1)
        #expect(health.json["checks"]?["purview"]?["reachable"] == true)
        #expect(health.json["checks"]?["store"]?["status"] == "ok")
    }

    @Test func aSecondGatewayOnTheSameSQLiteFileIsRefused() async throws {
        let system = try await EndToEndSystem()
        defer { Task { await system.stop() } }
        let created = try await system.gatewayCall(.post, "/v1/requests/term-creation", json: EndToEndSystem.termBody, headers: ["Prefer": "wait=0"])
        let id = try #require(created.json["id"]?.stringValue)
        let first = try #require(system.gateway)
        // A second process writing the file would change requests behind the first one's back (its GET cache
        // trusts that every change goes through it): it must not start.
        await #expect(throws: HarnessFailure.self) { try await system.startGateway() }
        let second = try #require(system.gateway)
        second.process.waitUntilExit()
        #expect(second.process.terminationStatus != 0)
        #expect(second.standardError.contains("in use by another purview-gateway process (pid \(first.process.processIdentifier))"))
        system.gateway = first
        #expect(try await system.gatewayCall(.get, "/v1/requests/\(id)").status == 200)
        // Once the first is gone (even killed), the file is free again.
        first.kill()
        try await system.startGateway()
        #expect(try await system.gatewayCall(.get, "/v1/requests/\(id)").json["id"]?.stringValue == id)
    }

    @Test func purviewDownThenBackAndPurviewRefusing() async throws {
        let system = try await EndToEndSystem()
        defer { Task { await system.stop() } }
        #expect(try await system.admin(.post, "/_emulator/faults", json: ["match": "POST /userrequests", "status": 503, "retryAfter": 1, "count": 2]).status == 200)
        let queued = try await system.gatewayCall(.post, "/v1/requests/term-creation", json: EndToEndSystem.termBody, headers: ["Prefer": "wait=0"])
        #expect(queued.status == 202)
        let id = try #require(queued.json["id"]?.stringValue)
        _ = try await system.waitFor(id) { $0["status"] == "submitted" || $0["status"] == "in_progress" }
        // The client retried the 503s (honouring Retry-After) before the forwarder saw success.
        let calls = try await system.admin(.get, "/_emulator/stats").json["calls"]?["POST /userrequests"]?.intValue
        #expect(calls == 3)

        _ = try await system.admin(.delete, "/_emulator/faults")
        #expect(try await system.admin(.post, "/_emulator/faults", json: ["match": "POST /userrequests", "status": 400, "count": 1]).status == 200)
        let refused = try await system.gatewayCall(.post, "/v1/requests/term-creation", json: EndToEndSystem.termBody)
        #expect(refused.status == 201)
        #expect(refused.json["status"] == "refused")
        #expect(refused.json["error"]?["httpStatus"]?.intValue == 400)
    }

    @Test func killedWhileSubmittingLosesNothingAndSendsNothingTwice() async throws {
        let system = try await EndToEndSystem()
        defer { Task { await system.stop() } }
        // Slow Purview down so that many sends are in flight when the gateway dies.
        _ = try await system.admin(.post, "/_emulator/faults", json: ["match": "POST /userrequests", "latencyMs": 300])
        let progress = CrashProgress()
        let submitters = Task {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        var index = 0
                        while !progress.stop.load(ordering: .relaxed) && index < 60 {
                            index += 1
                            let body: JSONValue = ["qualifiedName": .string("db/w\(worker)/t\(index)"), "purpose": "crash test", "requestedBy": "ada@contoso.com"]
                            guard let reply = try? await system.gatewayCall(.post, "/v1/requests/data-access", json: body, headers: ["Prefer": "wait=0"]) else { continue }
                            if (200..<300).contains(reply.status), let id = reply.json["id"]?.stringValue {
                                progress.acknowledged.withLock { $0.append(id) }
                            }
                        }
                    }
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while progress.acknowledged.withLock({ $0.count }) < 60 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        system.gateway?.kill()
        progress.stop.store(true, ordering: .relaxed)
        await submitters.value
        let ids = progress.acknowledged.withLock { $0 }
        #expect(ids.count >= 60)

        try await system.startGateway()
        var settled: [String: String] = [:]
        let settleDeadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < settleDeadline {
            settled = [:]
            for id in ids {
                let reply = try await system.gatewayCall(.get, "/v1/requests/\(id)", key: EndToEndSystem.auditorKey)
                #expect(reply.status == 200, "acknowledged request \(id) is missing after the crash")
                settled[id] = reply.json["status"]?.stringValue
            }
            if !settled.values.contains(where: { $0 == "queued" || $0 == "submitting" }) { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        let statuses = Dictionary(grouping: settled.values, by: { $0 }).mapValues(\.count)
        if statuses.keys.contains(where: { $0 == "queued" || $0 == "submitting" }) {
            print("gateway stderr after restart:\n\(system.gateway?.standardError.suffix(3000) ?? "")")
            print("emulator running: \(system.emulator.process.isRunning) reason \(system.emulator.process.isRunning ? -1 : Int(system.emulator.process.terminationReason.rawValue)) status \(system.emulator.process.isRunning ? -1 : system.emulator.process.terminationStatus); stderr:\n\(system.emulator.standardError.suffix(6000))")
        }
        let allowed: Set<String> = ["submitted", "in_progress", "completed", "unknown"]
        #expect(Set(statuses.keys).isSubset(of: allowed), "statuses after recovery: \(statuses)")
        let stats = try await system.admin(.get, "/_emulator/stats")
        #expect(stats.json["duplicateUserRequests"] == [], "the emulator received a request twice: \(stats.json)")
        let received = stats.json["calls"]?["POST /userrequests"]?.intValue ?? 0
        #expect(received <= ids.count + 8)
        print("crash test: \(ids.count) acknowledged, statuses after restart \(statuses), Purview received \(received)")
    }
}

final class CrashProgress: Sendable {
    let acknowledged = Mutex<[String]>([])
    let stop = Atomic<Bool>(false)
}
