import Foundation
import GatewayCore
import Glibc
import Synchronization
import Testing

@testable import GatewayStorage

/// Why the tests could not get a PostgreSQL server. Tests fail with it; they never skip.
struct PostgresTestSetupError: Error, CustomStringConvertible {
    var description: String
}

/// A throwaway PostgreSQL server run by `.ci/postgres`: TLS on (its certificate in `caFile`), a password, fsync
/// off. It stops when `stop()` is called or, at the latest, about a second after this process ends.
final class PostgresTestServer: Sendable {
    let directory: String
    let url: String
    var caFile: String { directory + "/ca.crt" }

    private init(directory: String, url: String) {
        self.directory = directory
        self.url = url
    }

    static func start() async throws -> PostgresTestServer {
        // Under /tmp, not a private temporary directory: the server runs as the `postgres` user when we are root.
        let directory = "/tmp/gateway-pg-test-" + UUID().uuidString.lowercased().prefix(12)
        let output = try await runScript(["start", directory, "--owner-pid", String(getpid())])
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("TEST_POSTGRES_URL=") }) else {
            throw PostgresTestSetupError(description: "`.ci/postgres start` printed no URL: \(output)")
        }
        return PostgresTestServer(directory: directory, url: String(line.dropFirst("TEST_POSTGRES_URL=".count)))
    }

    /// Restarts the server: every open connection is cut.
    func restart() async throws { _ = try await Self.runScript(["restart", directory]) }
    func pause() async throws { _ = try await Self.runScript(["pause", directory]) }
    func resume() async throws { _ = try await Self.runScript(["resume", directory]) }
    func stop() async { _ = try? await Self.runScript(["stop", directory]) }

    /// The URL with `parameters` (already URL-encoded) added to its query.
    func url(_ parameters: String) -> String { url + (url.contains("?") ? "&" : "?") + parameters }

    private static let script: String = {
        let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        return tests.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".ci/postgres").path
    }()

    /// Runs `.ci/postgres` without blocking a thread; returns its standard output, throws with its errors.
    private static func runScript(_ arguments: [String]) async throws -> String {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("pg-script-" + UUID().uuidString)
        // Files, not pipes: the server and the watchdog outlive the script and must not hold our pipe open.
        _ = FileManager.default.createFile(atPath: logs.path + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: logs.path + ".err", contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: logs.path + ".out")
            try? FileManager.default.removeItem(atPath: logs.path + ".err")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: logs.path + ".out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logs.path + ".err"))
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { process in continuation.resume(returning: process.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        let output = (try? String(contentsOfFile: logs.path + ".out", encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOfFile: logs.path + ".err", encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw PostgresTestSetupError(
                description: "`.ci/postgres \(arguments.first ?? "")` failed (status \(status)): \(errors) \(output); "
                    + "install PostgreSQL (bash .ci/setup --postgres) or set TEST_POSTGRES_URL")
        }
        return output
    }
}

/// The PostgreSQL servers tests share, each started at most once per test process.
enum TestPostgres {
    private static let sharedServer = Mutex<Task<String, any Error>?>(nil)
    private static let ownServerTask = Mutex<Task<PostgresTestServer, any Error>?>(nil)

    /// What the contract tests run against: `TEST_POSTGRES_URL` if set (CI starts one server for the whole
    /// run), else this process's own server.
    static func sharedURL() async throws -> String {
        let task = sharedServer.withLock { task in
            if let task { return task }
            let started = Task { () throws -> String in
                if let url = ProcessInfo.processInfo.environment["TEST_POSTGRES_URL"], !url.isEmpty { return url }
                return try await ownServer().url
            }
            task = started
            return started
        }
        return try await task.value
    }

    /// A server this process started (TLS tests need its certificate and password).
    static func ownServer() async throws -> PostgresTestServer {
        let task = ownServerTask.withLock { task in
            if let task { return task }
            let started = Task { try await PostgresTestServer.start() }
            task = started
            return started
        }
        return try await task.value
    }
}

/// A schema of its own on the shared server for one test, so tests never see each other's rows.
struct PostgresTestSchema {
    let name: String
    let baseURL: String

    /// A libpq URL whose sessions use only this schema (`options=-c search_path=...`).
    var url: String {
        baseURL + (baseURL.contains("?") ? "&" : "?") + "options=-c%20search_path%3D\(name)"
    }

    static func create(on baseURL: String) async throws -> PostgresTestSchema {
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await admin(baseURL, "CREATE SCHEMA \(name)")
        return PostgresTestSchema(name: name, baseURL: baseURL)
    }

    func drop() async throws { try await Self.admin(baseURL, "DROP SCHEMA \(name) CASCADE") }

    /// Runs SQL on the server outside any test schema (through a pool, off the test's threads).
    @discardableResult
    static func admin(_ url: String, _ sql: String, _ parameters: [String?] = []) async throws -> [[String?]] {
        let pool = PostgresPool(settings: try PostgresConnectionSettings(url), size: 1, waitTimeout: .seconds(30))
        defer { Task { await pool.close() } }
        return try await pool.run(.always) { connection in try connection.query(sql, parameters).rows }
    }
}

/// Runs `body` with a PostgreSQL store on a fresh schema of the shared server; drops the schema afterwards.
func withPostgresStore(
    poolSize: Int = 4, _ body: (PostgresRequestStore, PostgresTestSchema) async throws -> Void
) async throws {
    let schema = try await PostgresTestSchema.create(on: try await TestPostgres.sharedURL())
    do {
        let store = try await PostgresRequestStore.open(url: schema.url, poolSize: poolSize)
        do {
            try await body(store, schema)
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
