import Crypto
import Foundation
import HTTP
import Networking
import PurviewWorkflow
import Testing

/// The gateway binary (embedded emulator, SQLite) and the `import` command as processes: an import survives a
/// kill -9 of the gateway while its rows are being forwarded, and the CLI resumes following it.
@Suite(.serialized) struct ImportEndToEndTests {
    static let key = "e2e-importer-key"

    final class Gateway: @unchecked Sendable {
        let directory: TemporaryDirectory
        var process: ChildProcess?
        var url = ""

        init() throws {
            directory = try TemporaryDirectory()
            let keys: [String: Any] = [
                "clients": [
                    [
                        "name": "importer", "keySha256": Hex.encode(SHA256.hash(Array(ImportEndToEndTests.key.utf8))),
                        "scopes": ["imports:write", "requests:read"],
                    ]
                ]
            ]
            try JSONSerialization.data(withJSONObject: keys).write(
                to: URL(fileURLWithPath: directory.path + "/keys.json"))
        }

        func start(importRate: String) async throws {
            var environment = ProcessInfo.processInfo.environment.filter { $0.key == "PATH" || $0.key == "HOME" }
            environment["GATEWAY_API_KEYS_FILE"] = directory.path + "/keys.json"
            environment["GATEWAY_DATABASE_URL"] = "sqlite://" + directory.path + "/state/gateway.db"
            environment["GATEWAY_LISTEN"] = "127.0.0.1:0"
            environment["GATEWAY_FORWARD_LEASE_SECONDS"] = "2"
            environment["GATEWAY_IMPORT_RATE"] = importRate
            environment["LOG_LEVEL"] = "warning"
            let process = try ChildProcess(["serve"], environment: environment, directory: directory.path)
            self.process = process
            url = try await process.waitForOutput(#"purview-gateway listening on (http://127\.0\.0\.1:\d+)"#)
        }

        /// Runs `purview-gateway import ...` to its end; returns its exit status and output.
        func importCommand(_ arguments: [String]) async throws -> (status: Int32, output: String) {
            let environment = ProcessInfo.processInfo.environment.filter { $0.key == "PATH" || $0.key == "HOME" }
            let cli = try ChildProcess(
                ["import"] + arguments + ["--url", url, "--key", ImportEndToEndTests.key, "--interval", "0.2"],
                environment: environment, directory: directory.path)
            let deadline = ContinuousClock.now + .seconds(120)
            while cli.process.isRunning && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            if cli.process.isRunning { cli.kill() }
            return (cli.process.terminationStatus, cli.standardOutput + cli.standardError)
        }
    }

    @Test func importSurvivesAGatewayCrashAndTheCLIFollowsItToTheEnd() async throws {
        let gateway = try Gateway()
        try await gateway.start(importRate: "20")
        var csv = "qualifiedName,purpose,requestedBy,duration\n"
        let rows = 200
        for row in 1...rows { csv += "mssql://db/t\(row),\"review, Q\(row % 4 + 1)\",u\(row)@contoso.com,P30D\n" }
        csv +=
            "mssql://db/bad1,,x@contoso.com,\nmssql://db/bad2,p,not-an-email,\nmssql://db/bad3,p,y@contoso.com,30 days\n"
        let file = gateway.directory.path + "/access.csv"
        try Data(csv.utf8).write(to: URL(fileURLWithPath: file))

        let upload = try await gateway.importCommand([file])
        #expect(upload.status == 1, "\(upload.output)")  // some rows were rejected
        #expect(upload.output.contains("rejected 3"), "\(upload.output)")
        let id = try #require(
            upload.output.firstMatch(of: /import ([0-9a-f-]{36})/).map { String($0.1) }, "\(upload.output)")
        let rejected = try String(contentsOfFile: file + ".rejected.csv", encoding: .utf8)
        #expect(
            rejected.split(separator: "\n").map { $0.split(separator: ",").prefix(2).joined(separator: ",") } == [
                "row,field", "201,purpose", "202,requestedBy", "203,duration",
            ])

        // Kill -9 while the rows are being forwarded (20 per second).
        let client = try HTTPClient()
        func status() async throws -> JSONValue {
            let response = try await client.execute(
                HTTPClientRequest(
                    method: .get, url: HTTPURL(gateway.url + "/v1/imports/\(id)")!, headers: ["X-API-Key": Self.key]))
            return try JSONValue(parsing: response.body)
        }
        let deadline = ContinuousClock.now + .seconds(30)
        var before = try await status()
        while (before["counts"]?["forwarded"]?.intValue ?? 0) < 5 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            before = try await status()
        }
        let forwardedBefore = before["counts"]?["forwarded"]?.intValue ?? 0
        #expect(forwardedBefore >= 5 && forwardedBefore < rows, "\(before.serializedString())")
        gateway.process?.kill()
        await client.shutdown()

        // Restarted, the gateway goes on; the same command finds the same import and follows it to the end.
        try await gateway.start(importRate: "1000")
        let follow = try await gateway.importCommand([file, "--wait"])
        #expect(follow.status == 1, "\(follow.output)")
        #expect(follow.output.contains("Import \(id) was uploaded before"), "\(follow.output)")
        let summary = try #require(
            follow.output.split(separator: "\n").last(where: { $0.hasPrefix("Import \(id): done") }), "\(follow.output)"
        )
        #expect(summary.contains("rows 203, accepted 200, rejected 3"), "\(summary)")
        let forwarded = Int(summary.firstMatch(of: /forwarded (\d+)/)?.1 ?? "") ?? -1
        let failed = Int(summary.firstMatch(of: /failed (\d+)/)?.1 ?? "") ?? -1
        #expect(forwarded + failed == rows && forwarded >= forwardedBefore, "\(summary)")

        // Nothing lost, nothing duplicated: exactly one request per accepted row.
        let listing = try HTTPClient()
        let page = try await listing.execute(
            HTTPClientRequest(
                method: .get, url: HTTPURL(gateway.url + "/v1/requests?limit=500")!, headers: ["X-API-Key": Self.key]))
        let items = (try JSONValue(parsing: page.body))["items"]?.arrayValue ?? []
        #expect(items.count == rows)
        #expect(Set(items.compactMap { $0["id"]?.stringValue }).count == rows)
        await listing.shutdown()
        _ = await gateway.process?.terminate()
    }

    @Test func importHelpIsTrue() async throws {
        let gateway = try Gateway()
        let environment = ProcessInfo.processInfo.environment.filter { $0.key == "PATH" }
        let help = try ChildProcess(["import", "--help"], environment: environment, directory: gateway.directory.path)
        _ = try await help.waitForOutput(#"(Exit status)"#)
        for flag in ["--url", "--key", "--kind", "--wait", "--idempotency-key", "--rejected-file", "--interval"] {
            #expect(help.standardOutput.contains(flag))
        }
        let usage = try ChildProcess(
            ["import", "missing.csv", "--url", "http://127.0.0.1:9", "--key", "k"], environment: environment,
            directory: gateway.directory.path)
        _ = try await usage.waitForOutput(#"(cannot read missing\.csv)"#)
    }
}
