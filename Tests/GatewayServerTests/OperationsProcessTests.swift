import Crypto
import Foundation
import GatewayCore
import GatewayStorage
import HTTP
import Networking
import PurviewEmulator
import PurviewWorkflow
import Synchronization
import Testing

/// The gateway as a process on its embedded emulator, for the operations features: key reloads, backup,
/// re-drive of an `unknown` request, audit lines.
final class OperationsGateway: @unchecked Sendable {
    let directory: TemporaryDirectory
    let process: ChildProcess
    let url: String
    /// The development key (all scopes) when started without a keys file.
    let developmentKey: String?
    let emulatorURL: String?
    let client: HTTPClient

    init(keysFile: String? = nil, environment extra: [String: String] = [:], directory: TemporaryDirectory? = nil)
        async throws
    {
        let directory = try directory ?? TemporaryDirectory()
        self.directory = directory
        var environment = ProcessInfo.processInfo.environment.filter { $0.key == "PATH" || $0.key == "HOME" }
        environment["GATEWAY_DATABASE_URL"] = "sqlite://" + directory.path + "/gateway.db"
        environment["GATEWAY_LISTEN"] = "127.0.0.1:0"
        environment["GATEWAY_FORWARD_LEASE_SECONDS"] = "2"
        environment["LOG_LEVEL"] = "notice"
        if let keysFile { environment["GATEWAY_API_KEYS_FILE"] = keysFile }
        environment.merge(extra) { _, new in new }
        process = try ChildProcess(["serve"], environment: environment, directory: directory.path)
        if keysFile == nil {
            url = try await process.waitForOutput(#"Gateway API\s+(http://127\.0\.0\.1:\d+)"#)
            developmentKey = try await process.waitForOutput(#"API key\s+(dev-[0-9a-f]+)"#)
            emulatorURL = try await process.waitForOutput(#"Emulator\s+(http://127\.0\.0\.1:\d+)/workflow"#)
        } else {
            url = try await process.waitForOutput(#"listening on (http://127\.0\.0\.1:\d+)"#)
            developmentKey = nil
            emulatorURL = nil
        }
        client = try HTTPClient(configuration: HTTPClientConfiguration(requestTimeout: .seconds(30)))
    }

    func stop() async {
        _ = await process.terminate()
        await client.shutdown()
    }

    struct Reply {
        var status: Int
        var json: JSONValue
        var text: String
    }

    func call(
        _ method: HTTPMethod, _ target: String, key: String?, json body: JSONValue? = nil, headers: HTTPFields = [:]
    ) async throws -> Reply {
        var fields = headers
        if let key { fields.append("X-API-Key", key) }
        if body != nil { fields.append("Content-Type", "application/json") }
        let full = target.hasPrefix("http") ? target : url + target
        let response = try await client.execute(
            HTTPClientRequest(
                method: method, url: try #require(HTTPURL(full)), headers: fields, body: body?.serialized()))
        let text = String(decoding: response.body, as: UTF8.self)
        return Reply(status: response.status.code, json: (try? JSONValue(parsing: response.body)) ?? .null, text: text)
    }

    /// Polls `condition` every 50 ms until it holds or `timeout` passes.
    func eventually(_ timeout: Duration = .seconds(15), _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    static func keysDocument(_ clients: [(name: String, key: String)]) -> Data {
        let entries = clients.map {
            "{\"name\":\"\($0.name)\",\"keySha256\":\"\(Hex.encode(SHA256.hash(Array($0.key.utf8))))\",\"scopes\":[\"requests:read\"]}"
        }
        return Data("{\"clients\":[\(entries.joined(separator: ","))]}".utf8)
    }

    /// Replaces `path` atomically (a new inode), as a deployment tool would.
    static func replace(_ path: String, with data: Data) throws {
        let temporary = path + ".new"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else { throw HarnessFailure("rename failed") }
    }
}

@Suite(.serialized) struct OperationsProcessTests {
    @Test func sighupReloadsTheKeysAndAMalformedFileIsRefused() async throws {
        let directory = try TemporaryDirectory()
        let keys = directory.path + "/keys.json"
        try OperationsGateway.keysDocument([("one", "key-a")]).write(to: URL(fileURLWithPath: keys))
        // Polling is off in effect (an hour), so only SIGHUP can load the new file.
        let gateway = try await OperationsGateway(
            keysFile: keys, environment: ["GATEWAY_API_KEYS_POLL_SECONDS": "3600"], directory: directory)
        defer { Task { await gateway.stop() } }
        #expect(try await gateway.call(.get, "/v1/requests", key: "key-a").status == 200)
        #expect(try await gateway.call(.get, "/v1/requests", key: "key-b").status == 401)

        try OperationsGateway.replace(keys, with: OperationsGateway.keysDocument([("one", "key-b")]))
        try await Task.sleep(for: .milliseconds(200))
        #expect(
            try await gateway.call(.get, "/v1/requests", key: "key-a").status == 200, "nothing reloads without SIGHUP")
        kill(gateway.process.process.processIdentifier, SIGHUP)
        #expect(
            try await gateway.eventually { try await gateway.call(.get, "/v1/requests", key: "key-b").status == 200 })
        #expect(try await gateway.call(.get, "/v1/requests", key: "key-a").status == 401)

        try OperationsGateway.replace(keys, with: Data("{\"clients\":[{\"name\":\"one\"".utf8))
        kill(gateway.process.process.processIdentifier, SIGHUP)
        #expect(try await gateway.eventually { gateway.process.standardError.contains("API keys file refused") })
        #expect(try await gateway.call(.get, "/v1/requests", key: "key-b").status == 200)
        #expect(try await gateway.call(.get, "/v1/requests", key: "key-a").status == 401)
        let metrics = try await gateway.call(.get, "/metrics", key: nil).text
        #expect(metrics.contains(#"gateway_api_keys_reloads_total{result="ok"} 1"#))
        #expect(metrics.contains(#"gateway_api_keys_reloads_total{result="refused"} 1"#))
    }

    @Test func aSecretVolumeSymlinkSwapIsNoticedWithoutASignal() async throws {
        // The layout Kubernetes gives a Secret volume: keys.json -> ..data/keys.json, ..data -> a versioned directory.
        let directory = try TemporaryDirectory()
        let volume = directory.path + "/secret"
        try FileManager.default.createDirectory(atPath: volume + "/v1", withIntermediateDirectories: true)
        try OperationsGateway.keysDocument([("one", "key-a")]).write(to: URL(fileURLWithPath: volume + "/v1/keys.json"))
        try FileManager.default.createSymbolicLink(atPath: volume + "/..data", withDestinationPath: "v1")
        try FileManager.default.createSymbolicLink(
            atPath: volume + "/keys.json", withDestinationPath: "..data/keys.json")
        func swap(to version: String, _ data: Data) throws {
            try FileManager.default.createDirectory(atPath: volume + "/" + version, withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: volume + "/\(version)/keys.json"))
            try FileManager.default.createSymbolicLink(atPath: volume + "/..data_tmp", withDestinationPath: version)
            guard rename(volume + "/..data_tmp", volume + "/..data") == 0 else { throw HarnessFailure("rename failed") }
        }
        let gateway = try await OperationsGateway(
            keysFile: volume + "/keys.json", environment: ["GATEWAY_API_KEYS_POLL_SECONDS": "0.2"], directory: directory
        )
        defer { Task { await gateway.stop() } }
        #expect(try await gateway.call(.get, "/v1/requests", key: "key-a").status == 200)

        // Both keys valid during the rotation, then only the new one.
        try swap(to: "v2", OperationsGateway.keysDocument([("one", "key-a"), ("two", "key-c")]))
        #expect(
            try await gateway.eventually { try await gateway.call(.get, "/v1/requests", key: "key-c").status == 200 })
        #expect(try await gateway.call(.get, "/v1/requests", key: "key-a").status == 200)
        try swap(to: "v3", OperationsGateway.keysDocument([("two", "key-c")]))
        #expect(
            try await gateway.eventually { try await gateway.call(.get, "/v1/requests", key: "key-a").status == 401 })

        try swap(to: "v4", Data("not json".utf8))
        #expect(try await gateway.eventually { gateway.process.standardError.contains("API keys file refused") })
        #expect(try await gateway.call(.get, "/v1/requests", key: "key-c").status == 200)
        // Refused once per change, not at every poll.
        try await Task.sleep(for: .milliseconds(700))
        #expect(gateway.process.standardError.components(separatedBy: "API keys file refused").count == 2)
    }

    @Test func backupWhileServingIsConsistentAndRestorable() async throws {
        let gateway = try await OperationsGateway()
        defer { Task { await gateway.stop() } }
        let key = try #require(gateway.developmentKey)
        let body: JSONValue = [
            "glossaryId": "20031e20-b4df-4a66-a61d-1b0716f3fa48", "name": "Revenue", "definition": "Money received.",
            "requestedBy": "ada@contoso.com",
        ]
        var before: [String] = []
        for _ in 0..<10 {
            let reply = try await gateway.call(
                .post, "/v1/requests/term-creation", key: key, json: body, headers: ["Prefer": "wait=0"])
            before.append(try #require(reply.json["id"]?.stringValue))
        }
        let acknowledged = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let writer = Task {
            var count = 0
            while !stop.load(ordering: .relaxed) && count < 2_000 {
                count += 1
                let reply = try await gateway.call(
                    .post, "/v1/requests/term-creation", key: key, json: body, headers: ["Prefer": "wait=0"])
                if reply.status == 202 { acknowledged.add(1, ordering: .relaxed) }
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        let copy = gateway.directory.path + "/copy.db"
        var environment = ProcessInfo.processInfo.environment.filter { $0.key == "PATH" || $0.key == "HOME" }
        environment["GATEWAY_DATABASE_URL"] = "sqlite://" + gateway.directory.path + "/gateway.db"
        let backup = try ChildProcess(
            ["backup", copy, "--pages-per-step", "1"], environment: environment, directory: gateway.directory.path)
        _ = try await gateway.eventually(.seconds(60)) { !backup.process.isRunning }
        let duringBackup = acknowledged.load(ordering: .relaxed)
        #expect(backup.process.terminationStatus == 0, "\(backup.standardError)")
        #expect(backup.standardOutput.contains("integrity ok"))
        // Writes went on during and after the copy.
        #expect(try await gateway.eventually { acknowledged.load(ordering: .relaxed) >= duringBackup + 5 })
        stop.store(true, ordering: .relaxed)
        try await writer.value

        let restored = try await SQLiteRequestStore.open(path: copy)
        for id in before { #expect(try await restored.get(id: id)?.requestedBy == "ada@contoso.com") }
        let count = try await restored.countByStatus().values.reduce(0, +)
        #expect(count >= before.count)
        await restored.close()

        // A second copy replaces the first once complete; a PostgreSQL store is refused without its password.
        let again = try ChildProcess(["backup", copy], environment: environment, directory: gateway.directory.path)
        _ = try await gateway.eventually(.seconds(30)) { !again.process.isRunning }
        #expect(again.process.terminationStatus == 0, "\(again.standardError)")
        let second = try await SQLiteRequestStore.open(path: copy)
        #expect(try await second.countByStatus().values.reduce(0, +) > count)
        await second.close()
        environment["GATEWAY_DATABASE_URL"] = "postgres://gateway:hunter2@127.0.0.1:1/gateway"
        let postgres = try ChildProcess(
            ["backup", gateway.directory.path + "/pg.db"], environment: environment, directory: gateway.directory.path)
        _ = try await gateway.eventually(.seconds(30)) { !postgres.process.isRunning }
        #expect(postgres.process.terminationStatus == 2)
        #expect(postgres.standardError.contains("pg_dump") && !postgres.standardError.contains("hunter2"))
        let help = try ChildProcess(["backup", "--help"], environment: environment, directory: gateway.directory.path)
        _ = try await gateway.eventually(.seconds(30)) { !help.process.isRunning }
        #expect(help.process.terminationStatus == 0 && help.standardOutput.contains("Restore"))
    }

    @Test func anUnknownRequestIsFoundCountedAndRedriven() async throws {
        let gateway = try await OperationsGateway(environment: ["GATEWAY_FORWARD_LEASE_SECONDS": "1"])
        defer { Task { await gateway.stop() } }
        let key = try #require(gateway.developmentKey)
        let emulator = try #require(gateway.emulatorURL)
        let admin: HTTPFields = ["Authorization": "Bearer \(EmulatorConfig.Demo.adminToken)"]
        // The connection drops before Purview processes the send: the outcome is unknown and no run is found.
        let fault = try await gateway.call(
            .post, emulator + "/_emulator/faults", key: nil,
            json: ["match": "POST /userrequests", "drop": true, "count": 1], headers: admin)
        #expect(fault.status == 200)
        let body: JSONValue = [
            "glossaryId": "20031e20-b4df-4a66-a61d-1b0716f3fa48", "name": "Revenue", "definition": "Money received.",
            "requestedBy": "ada@contoso.com",
        ]
        let created = try await gateway.call(.post, "/v1/requests/term-creation", key: key, json: body)
        let id = try #require(created.json["id"]?.stringValue)
        #expect(
            try await gateway.eventually(.seconds(30)) {
                try await gateway.call(.get, "/v1/requests/\(id)", key: key).json["status"] == "unknown"
            })
        let unknown = try await gateway.call(.get, "/v1/requests?status=unknown", key: key)
        #expect(unknown.json["items"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [id])
        #expect(
            try await gateway.eventually(.seconds(15)) {
                try await gateway.call(.get, "/metrics", key: nil).text.contains("gateway_unknown_requests 1")
            })

        let redriven = try await gateway.call(
            .post, "/v1/requests/\(id)/redrive", key: key, json: ["comment": "no run in Purview"])
        #expect(redriven.status == 202)
        #expect(redriven.json["timeline"]?.arrayValue?.last?["actor"] == "development")
        #expect(
            try await gateway.eventually(.seconds(30)) {
                let status = try await gateway.call(.get, "/v1/requests/\(id)", key: key).json["status"]
                return status == "submitted" || status == "in_progress"
            })
        let stats = try await gateway.call(.get, emulator + "/_emulator/stats", key: nil, headers: admin)
        #expect(stats.json["duplicateUserRequests"] == [])
        // Audit lines on stderr: JSON, marked apart from access lines.
        let lines = gateway.process.standardError.split(separator: "\n").compactMap {
            try? JSONValue(parsing: Array($0.utf8))
        }
        let audit = lines.filter { $0["kind"] == "audit" && $0["request.id"] == .string(id) }
        #expect(audit.compactMap { $0["event"]?.stringValue } == ["accepted", "unknown", "redriven", "sent"])
        #expect(
            audit.filter { $0["client"] == "development" && $0["requestedBy"] == "ada@contoso.com" }.count
                == audit.count)
        #expect(audit.last?["workflowRunIds"]?.arrayValue?.count == 1)
    }
}
