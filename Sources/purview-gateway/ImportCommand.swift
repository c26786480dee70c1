import Crypto
import Dispatch
import Foundation
import HTTP
import Networking
import PurviewWorkflow
import Synchronization

/// `purview-gateway import FILE`: uploads a CSV or NDJSON file to `POST /v1/imports`, then (with `--wait`)
/// follows the import until every row is settled, and writes the rejected rows to a file.
enum ImportCommand {
    static let help = """
        purview-gateway import FILE --url URL --key KEY [options]: upload a batch of access requests.

        FILE is CSV (header row = the kind's body fields, optional `kind` column) or NDJSON (`.ndjson`/`.jsonl`,
        one body per line); a `.gz` file is sent as is with Content-Encoding: gzip.

        Options:
          --url URL                the gateway, e.g. https://gateway.internal:8443
          --key KEY                an API key with the imports:write scope (or GATEWAY_API_KEY)
          --kind KIND              the rows' kind unless a row names its own (default data-access)
          --wait                   follow the import until every accepted row is forwarded or failed
          --idempotency-key KEY    default: derived from the file's contents, so re-running the same
                                   command creates nothing new (and resumes an interrupted upload)
          --rejected-file PATH     where rejected rows go (default FILE.rejected.csv)
          --interval SECONDS       how often progress is read from the gateway (default 1)

        A progress bar (rows/s, ETA) is drawn on a terminal; otherwise a plain line every few seconds.
        Ctrl-C stops the command only: the import keeps running on the gateway, and the command says how to
        follow it. Trusted CAs: the system's plus SSL_CERT_FILE.
        Exit status: 0 all rows accepted (and, with --wait, none failed), 1 some rows rejected or failed,
        2 usage, 3 the upload or the gateway failed, 130 interrupted.
        """

    static func run(arguments: [String]) async -> Int32 {
        let flags: ParsedFlags
        do {
            flags = try ParsedFlags.parse(
                arguments, valued: ["url", "key", "kind", "idempotency-key", "rejected-file", "interval"],
                boolean: ["help", "wait"])
        } catch {
            printError("purview-gateway import: \(error)\n\n\(help)")
            return 2
        }
        if flags.switches.contains("help") {
            printOut(help)
            return 0
        }
        let environment = ProcessInfo.processInfo.environment
        guard flags.positional.count == 1, let path = flags.positional.first else {
            printError("purview-gateway import: give exactly one FILE\n\n\(help)")
            return 2
        }
        guard let urlText = flags.values["url"],
            let base = HTTPURL(urlText.hasSuffix("/") ? String(urlText.dropLast()) : urlText)
        else {
            printError("purview-gateway import: --url must be an http(s) URL such as https://gateway:8443")
            return 2
        }
        guard let key = flags.values["key"] ?? environment["GATEWAY_API_KEY"], !key.isEmpty else {
            printError("purview-gateway import: --key (or GATEWAY_API_KEY) is required")
            return 2
        }
        let kind = flags.values["kind"] ?? "data-access"
        let interval = flags.values["interval"].flatMap(Double.init) ?? 1
        guard interval > 0 else {
            printError("purview-gateway import: --interval must be a positive number of seconds")
            return 2
        }
        let fingerprint: (size: Int, digest: String)
        do {
            fingerprint = try Self.fingerprint(path)
        } catch {
            printError("purview-gateway import: cannot read \(path): \(error.localizedDescription)")
            return 2
        }
        var configuration = HTTPClientConfiguration.fromEnvironment(environment)
        configuration.requestTimeout = .seconds(600)
        let client: HTTPClient
        do {
            client = try HTTPClient(configuration: configuration)
        } catch {
            printError("purview-gateway import: \(error)")
            return 3
        }
        let session = ImportSession(
            client: client, base: base, key: key, path: path, kind: kind,
            idempotencyKey: flags.values["idempotency-key"] ?? "import-" + fingerprint.digest.prefix(32),
            rejectedFile: flags.values["rejected-file"] ?? path + ".rejected.csv", interval: interval,
            terminal: isatty(STDOUT_FILENO) == 1)
        let code = await session.run(size: fingerprint.size, wait: flags.switches.contains("wait"))
        await client.shutdown()
        return code
    }

    /// The file's size and the SHA-256 of all of it, read a MiB at a time: the same file gives the same
    /// Idempotency-Key, and any edit (even one keeping the size) gives a new one.
    static func fingerprint(_ path: String) throws -> (size: Int, digest: String) {
        guard let file = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? file.close() }
        let hasher = SHA256.Hasher()
        var size = 0
        while let chunk = try file.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(chunk)
            size += chunk.count
        }
        return (size, Hex.encode(hasher.finalize()))
    }
}

/// One run of `import`: upload, follow, summarize; Ctrl-C ends it without touching the import.
struct ImportSession: Sendable {
    let client: HTTPClient
    let base: HTTPURL
    let key: String
    let path: String
    let kind: String
    let idempotencyKey: String
    let rejectedFile: String
    let interval: Double
    let terminal: Bool

    struct Failure: Error {
        var message: String
    }

    func run(size: Int, wait: Bool) async -> Int32 {
        let interrupted = Interruption()
        let work = Task { () -> Int32 in
            do {
                return try await upload(size: size, wait: wait, interrupted: interrupted)
            } catch let failure as Failure {
                printError("purview-gateway import: \(failure.message)")
                return 3
            } catch is CancellationError {
                return 130
            } catch {
                printError("purview-gateway import: \(error)")
                return 3
            }
        }
        interrupted.onSignal {
            work.cancel()
        }
        return await work.value
    }

    /// The gateway's URL without a trailing slash (a path prefix, as behind a reverse proxy, is kept).
    private var root: String {
        var text = base.description
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    private func url(_ path: String) -> HTTPURL { HTTPURL(root + path)! }

    private func call(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, headers extra: HTTPFields = [:])
        async throws -> (Int, JSONValue)
    {
        var headers: HTTPFields = ["Authorization": "Bearer \(key)", "Accept": "application/json"]
        for field in extra { headers.append(field.name, field.value) }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(
                HTTPClientRequest(method: method, url: url(path), headers: headers, body: body))
        } catch {
            throw Failure(message: "\(base.origin) could not be reached: \(error)")
        }
        let json = (try? JSONValue(parsing: response.body)) ?? .null
        return (response.status.code, json)
    }

    private func upload(size: Int, wait: Bool, interrupted: Interruption) async throws -> Int32 {
        let lower = path.lowercased()
        let gzip = lower.hasSuffix(".gz")
        let plain = gzip ? String(lower.dropLast(3)) : lower
        let contentType = plain.hasSuffix(".ndjson") || plain.hasSuffix(".jsonl") ? "application/x-ndjson" : "text/csv"
        var headers: HTTPFields = ["Content-Type": contentType, "Idempotency-Key": idempotencyKey]
        if gzip { headers.append("Content-Encoding", "gzip") }
        printOut("Uploading \(path) (\(Self.bytes(size))) to \(base.origin) ...")
        interrupted.message.withLock {
            $0 =
                "Upload interrupted. Rows the gateway received are kept; run the same command again to resume "
                + "(Idempotency-Key \(idempotencyKey)), or find the import with GET /v1/imports?idempotencyKey=\(idempotencyKey)."
        }
        let started = ContinuousClock.now
        let (status, document) = try await send(headers: headers, size: size)
        try Task.checkCancellation()
        guard status == 202 || status == 200, let id = document["id"]?.stringValue else {
            let detail = document["detail"]?.stringValue ?? document["title"]?.stringValue ?? "HTTP \(status)"
            throw Failure(message: "the gateway refused the import (\(status)): \(detail)")
        }
        let elapsed = max(started.duration(to: .now).seconds, 0.001)
        let rows = Self.count(document, "rows")
        printOut(
            status == 200
                ? "Import \(id) was uploaded before (same Idempotency-Key): nothing new was created."
                : "Uploaded: import \(id), \(rows) rows in \(String(format: "%.1f", elapsed)) s (\(Int(Double(rows) / elapsed)) rows/s)."
        )
        let followCommand = "purview-gateway import \(path) --url \(root) --key \"$KEY\" --wait"
        interrupted.message.withLock {
            $0 =
                "Stopped following. Import \(id) keeps running on the gateway; follow it with:\n  \(followCommand)\n"
                + "or: curl -H \"Authorization: Bearer $KEY\" \(root)/v1/imports/\(id)"
        }
        var final = document
        if wait { final = try await follow(id, initial: document) }
        try await summarize(id, final)
        let failed = Self.count(final, "rejected") > 0 || (wait && Self.count(final, "failed") > 0)
        return failed ? 1 : 0
    }

    /// `POST /v1/imports`: streamed from disk over http (with upload progress); over https the file is sent from
    /// memory by the package's client, which has no streamed request bodies.
    private func send(headers: HTTPFields, size: Int) async throws -> (Int, JSONValue) {
        let target =
            (base.pathAndQuery.hasSuffix("/") ? String(base.pathAndQuery.dropLast()) : base.pathAndQuery)
            + "/v1/imports?kind=\(kind)"
        guard base.scheme == .http else {
            let contents: [UInt8]
            do {
                contents = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            } catch {
                throw Failure(message: "cannot read \(path): \(error.localizedDescription)")
            }
            return try await call(.post, "/v1/imports?kind=\(kind)", body: contents, headers: headers)
        }
        var fields: [(String, String)] = [("Authorization", "Bearer \(key)"), ("Accept", "application/json")]
        for field in headers { fields.append((field.name, field.value)) }
        let meter = UploadMeter(size: size, terminal: terminal)
        let response: StreamingUpload.Response
        do {
            response = try await StreamingUpload.post(
                host: base.host, port: base.port, target: target, headers: fields, path: path,
                progress: { meter.sent($0) })
        } catch {
            throw Failure(message: "\(base.origin): the upload failed: \(error)")
        }
        meter.finish()
        return (response.status, (try? JSONValue(parsing: response.body)) ?? .null)
    }

    /// Polls the import until it is done, drawing progress.
    private func follow(_ id: String, initial: JSONValue) async throws -> JSONValue {
        var document = initial
        let started = ContinuousClock.now
        var firstSettled: Int?
        var lastPlain = ContinuousClock.now - .seconds(60)
        while true {
            let accepted = Self.count(document, "accepted")
            let settled = Self.count(document, "forwarded") + Self.count(document, "failed")
            if firstSettled == nil { firstSettled = settled }
            let elapsed = max(started.duration(to: .now).seconds, 0.001)
            let rate = Double(settled - (firstSettled ?? 0)) / elapsed
            let eta = rate > 0 ? Double(accepted - settled) / rate : nil
            let line = Self.progressLine(
                settled: settled, total: accepted, rate: rate, eta: eta, width: terminal ? 30 : 0)
            if terminal {
                FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + line).utf8))
            } else if lastPlain.duration(to: .now) >= .seconds(max(5, interval))
                || document["status"]?.stringValue == "done"
            {
                printOut(line)
                lastPlain = .now
            }
            if document["status"]?.stringValue == "done" { break }
            try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
            let (status, next) = try await call(.get, "/v1/imports/\(id)")
            guard status == 200 else { throw Failure(message: "reading import \(id) failed with HTTP \(status)") }
            document = next
        }
        if terminal { printOut("") }
        return document
    }

    static func progressLine(settled: Int, total: Int, rate: Double, eta: Double?, width: Int) -> String {
        let fraction = total > 0 ? min(Double(settled) / Double(total), 1) : 1
        var line = ""
        if width > 0 {
            let filled = Int((fraction * Double(width)).rounded(.down))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
        }
        line += "\(settled)/\(total) forwarded (\(Int(fraction * 100))%), \(String(format: "%.1f", rate)) rows/s"
        if let eta, settled < total { line += ", ETA \(duration(eta))" }
        return line
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded(.up))
        if total >= 3600 { return "\(total / 3600)h\(String(format: "%02d", total % 3600 / 60))m" }
        if total >= 60 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
        return "\(total)s"
    }

    /// Prints the counts and writes the rejected rows (row, field, code, message, the row as sent) as CSV.
    private func summarize(_ id: String, _ document: JSONValue) async throws {
        let names = ["rows", "accepted", "rejected", "forwarded", "completed", "failed"]
        printOut(
            "Import \(id): \(document["status"]?.stringValue ?? "?"); "
                + names.map { "\($0) \(Self.count(document, $0))" }.joined(separator: ", "))
        guard Self.count(document, "rejected") > 0 else { return }
        var csv = "row,field,code,message,record\n"
        var cursor: String?
        var pages = 0
        repeat {
            let query = "/v1/imports/\(id)/rows?status=rejected&limit=1000" + (cursor.map { "&cursor=\($0)" } ?? "")
            let (status, page) = try await call(.get, query)
            guard status == 200 else { throw Failure(message: "reading the rejected rows failed with HTTP \(status)") }
            for item in page["items"]?.arrayValue ?? [] {
                let fields = [
                    String(item["row"]?.intValue ?? 0), item["field"]?.stringValue ?? "",
                    item["code"]?.stringValue ?? "",
                    item["message"]?.stringValue ?? "", item["raw"]?.stringValue ?? "",
                ]
                csv += fields.map(Self.csvField).joined(separator: ",") + "\n"
            }
            cursor = page["nextCursor"]?.stringValue
            pages += 1
        } while cursor != nil && pages < 10_000
        do {
            try Data(csv.utf8).write(to: URL(fileURLWithPath: rejectedFile))
            printOut("Rejected rows (row, field, code, message, record) written to \(rejectedFile)")
        } catch {
            throw Failure(message: "cannot write \(rejectedFile): \(error.localizedDescription)")
        }
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func count(_ document: JSONValue, _ name: String) -> Int { document["counts"]?[name]?.intValue ?? 0 }

    static func bytes(_ count: Int) -> String {
        count >= 1 << 20
            ? String(format: "%.1f MiB", Double(count) / Double(1 << 20))
            : String(format: "%.1f KiB", Double(count) / 1024)
    }
}

/// SIGINT while the command runs: prints what happens to the import, then stops the command.
final class Interruption: Sendable {
    let message = Mutex("")

    func onSignal(_ stop: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: DispatchQueue(label: "import-signal"))
        source.setEventHandler { [self] in
            printOut("")
            printOut(message.withLock { $0 })
            stop()
            exit(130)
        }
        source.resume()
        SignalSources.keep([source])
    }
}

/// Upload progress from the sending thread: a bar on a terminal, a line every 5 s otherwise.
final class UploadMeter: Sendable {
    private struct State {
        var lastDrawn = ContinuousClock.now - .seconds(60)
        var drew = false
    }

    let size: Int
    let terminal: Bool
    private let started = ContinuousClock.now
    private let state = Mutex(State())

    init(size: Int, terminal: Bool) {
        self.size = size
        self.terminal = terminal
    }

    func sent(_ bytes: Int) {
        let now = ContinuousClock.now
        let due = state.withLock { state -> Bool in
            let every: Duration = terminal ? .milliseconds(100) : .seconds(5)
            guard state.lastDrawn.duration(to: now) >= every else { return false }
            state.lastDrawn = now
            state.drew = true
            return true
        }
        guard due else { return }
        let elapsed = max(started.duration(to: now).seconds, 0.001)
        let rate = Double(bytes) / elapsed
        let fraction = size > 0 ? min(Double(bytes) / Double(size), 1) : 1
        let eta = rate > 0 ? Double(size - bytes) / rate : 0
        var line =
            "uploaded \(ImportSession.bytes(bytes)) of \(ImportSession.bytes(size)) (\(Int(fraction * 100))%), "
            + "\(ImportSession.bytes(Int(rate)))/s, ETA \(ImportSession.duration(eta))"
        if terminal {
            let filled = Int(fraction * 30)
            line =
                "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: 30 - filled) + "] " + line
            FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + line).utf8))
        } else {
            printOut(line)
        }
    }

    func finish() {
        if terminal && state.withLock({ $0.drew }) { printOut("") }
    }
}
