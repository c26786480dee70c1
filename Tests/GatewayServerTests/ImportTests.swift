import Compression
import Crypto
import Foundation
import GatewayCore
import GatewayStorage
import HTTP
import Networking
import Observability
import PurviewEmulator
import PurviewWorkflow
import Testing

@testable import GatewayServer

/// The gateway's HTTP server on a loopback port with a SQLite store and the emulator in process: import
/// bodies travel over a real socket, so they stream (and gzip is decoded) as in production.
final class ImportServerHarness: @unchecked Sendable {
    typealias Demo = EmulatorConfig.Demo
    let directory: TemporaryDirectory
    let store: SQLiteRequestStore
    let service: GatewayService
    let server: HTTPServer
    let client: HTTPClient
    let background: Task<Void, Never>
    var baseURL: String { "http://127.0.0.1:\(server.port)" }
    static let importerKey = "importer-key-1"
    static let otherKey = "other-importer-key"

    init(importRate: Double = 10_000, forward: Bool = true) async throws {
        directory = try TemporaryDirectory()
        store = try await SQLiteRequestStore.open(path: directory.path + "/gateway.db")
        let emulator = EmulatorService(config: .demo())
        let purview = EmulatorPurviewAPI(service: emulator, clientId: Demo.gatewayClientId)!
        var forwarder = ForwarderConfiguration()
        forwarder.idlePollInterval = .milliseconds(20)
        forwarder.importRowsPerSecond = importRate
        service = GatewayService(store: store, purview: purview, forwarder: forwarder, logger: .disabled())
        let digest = { (key: String) in SHA256.hash(Array(key.utf8)) }
        let clients = APIClients(clients: [
            APIClient(
                name: "importer", keyDigests: [digest(Self.importerKey)],
                scopes: [.importsWrite, .requestsRead, .requestsWrite]),
            APIClient(name: "other", keyDigests: [digest(Self.otherKey)], scopes: [.importsWrite]),
        ])
        let api = GatewayAPI(service: service, clients: clients, logger: .disabled())
        var configuration = HTTPServerConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        server = HTTPServer(
            configuration: configuration, responder: api.makeRouter().freeze(), errorRenderer: GatewayAPI.errorRenderer)
        try server.start()
        client = try HTTPClient(configuration: HTTPClientConfiguration(requestTimeout: .seconds(120)))
        let service = self.service
        background = Task { if forward { await service.run() } }
    }

    func stop() async {
        background.cancel()
        await background.value
        await server.shutdown()
        await client.shutdown()
        await store.close()
    }

    struct Reply {
        var status: Int
        var json: JSONValue
        var headers: HTTPFields
    }

    func call(
        _ method: HTTPMethod, _ path: String, key: String = ImportServerHarness.importerKey, body: [UInt8]? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers: HTTPFields = ["X-API-Key": key]
        for field in extra { headers.append(field.name, field.value) }
        let response = try await client.execute(
            HTTPClientRequest(method: method, url: HTTPURL(baseURL + path)!, headers: headers, body: body))
        let json =
            response.body.isEmpty
            ? JSONValue.null
            : ((try? JSONValue(parsing: response.body)) ?? .string(String(decoding: response.body, as: UTF8.self)))
        return Reply(status: response.status.code, json: json, headers: response.headers)
    }

    func upload(
        _ text: String, kind: String? = "data-access", contentType: String = "text/csv", gzip: Bool = false,
        idempotencyKey: String? = nil
    ) async throws -> Reply {
        try await upload(
            bytes: Array(text.utf8), kind: kind, contentType: contentType, gzip: gzip, idempotencyKey: idempotencyKey)
    }

    func upload(
        bytes: [UInt8], kind: String? = "data-access", contentType: String = "text/csv", gzip: Bool = false,
        idempotencyKey: String? = nil
    ) async throws -> Reply {
        var headers: HTTPFields = ["Content-Type": contentType]
        if gzip { headers.append("Content-Encoding", "gzip") }
        if let idempotencyKey { headers.append("Idempotency-Key", idempotencyKey) }
        return try await call(
            .post, "/v1/imports" + (kind.map { "?kind=\($0)" } ?? ""), body: gzip ? Gzip.compress(bytes) : bytes,
            headers: headers)
    }

    /// Polls the import until `condition` holds (bounded).
    func waitForImport(_ id: String, timeout: Duration = .seconds(30), until condition: (JSONValue) -> Bool)
        async throws -> JSONValue
    {
        let deadline = ContinuousClock.now + timeout
        var last = JSONValue.null
        while ContinuousClock.now < deadline {
            last = try await call(.get, "/v1/imports/\(id)").json
            if condition(last) { return last }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessFailure("import \(id) never reached the condition; last: \(last.serializedString())")
    }
}

func count(_ value: JSONValue, _ name: String) -> Int { value["counts"]?[name]?.intValue ?? -1 }

@Suite(.serialized) struct ImportTests {
    static let header = "qualifiedName,purpose,requestedBy,duration"

    @Test func mixedGoodAndBadRowsAreImportedAndForwardedRowErrorsListed() async throws {
        let harness = try await ImportServerHarness()
        let csv = """
            \(Self.header)
            mssql://db/sales,reporting,ada@contoso.com,P30D
            mssql://db/hr,,bob@contoso.com,
            mssql://db/finance,audit,not-an-email,P1D
            mssql://db/ops,ops review,cy@contoso.com,
            only,two
            """
        let reply = try await harness.upload(csv)
        #expect(reply.status == 202)
        let id = try #require(reply.json["id"]?.stringValue)
        #expect(reply.json["status"]?.stringValue == "processing")
        #expect(reply.json["links"]?["self"]?.stringValue == "/v1/imports/\(id)")
        #expect(reply.headers["Location"] == "/v1/imports/\(id)")
        #expect(count(reply.json, "rows") == 5)
        #expect(count(reply.json, "accepted") == 2)
        #expect(count(reply.json, "rejected") == 3)

        let done = try await harness.waitForImport(id) { $0["status"]?.stringValue == "done" }
        #expect(count(done, "forwarded") == 2)
        #expect(count(done, "failed") == 0)

        let rows = try await harness.call(.get, "/v1/imports/\(id)/rows?status=rejected").json
        let items = rows["items"]?.arrayValue ?? []
        let summary = items.map {
            "\($0["row"]?.intValue ?? 0):\($0["field"]?.stringValue ?? "?"):\($0["code"]?.stringValue ?? "")"
        }
        #expect(summary == ["2:purpose:required", "3:requestedBy:invalid_format", "5::malformed_row"])
        #expect(items.first?["raw"]?.stringValue == "mssql://db/hr,,bob@contoso.com,")

        // The accepted rows are ordinary requests, mapped as the single endpoint maps them.
        let requests = try await harness.call(.get, "/v1/requests?kind=data-access").json["items"]?.arrayValue ?? []
        #expect(requests.count == 2)
        let single = RequestMapper.validate(
            kind: .dataAccess,
            body: [
                "qualifiedName": "mssql://db/sales", "purpose": "reporting", "requestedBy": "ada@contoso.com",
                "duration": "P30D",
            ])
        let stored = try #require(try await harness.store.get(id: ImportService.requestId(importId: id, row: 1)))
        #expect(stored.operations == (try single.get()).operations)
        #expect(stored.importId == id && stored.importRow == 1)

        let list = try await harness.call(.get, "/v1/imports").json["items"]?.arrayValue ?? []
        #expect(list.map { $0["id"]?.stringValue } == [id])
        // Another client does not see it.
        #expect(try await harness.call(.get, "/v1/imports/\(id)", key: ImportServerHarness.otherKey).status == 404)
        #expect(
            try await harness.call(.get, "/v1/imports", key: ImportServerHarness.otherKey).json["items"]?.arrayValue?
                .count == 0)
        let openapi = try await harness.call(.get, "/openapi.json").json
        for path in ["/v1/imports", "/v1/imports/{id}", "/v1/imports/{id}/rows"] {
            #expect(openapi["paths"]?[path] != nil)
        }
        #expect(openapi["components"]?["schemas"]?["Import"]?["properties"]?["counts"] != nil)
        await harness.stop()
    }

    @Test func gzipNDJSONWithPerRowKinds() async throws {
        let harness = try await ImportServerHarness()
        let lines = [
            #"{"kind":"term-creation","glossaryId":"20031e20-b4df-4a66-a61d-1b0716f3fa48","name":"Revenue","definition":"Money received.","requestedBy":"ada@contoso.com"}"#,
            #"{"qualifiedName":"mssql://db/sales","purpose":"reporting","requestedBy":"ada@contoso.com"}"#,
            "",
            #"{"kind":"nope","requestedBy":"ada@contoso.com"}"#,
            #"{not json"#,
            #"{"qualifiedName":"mssql://db/x","purpose":"p","requestedBy":"ada@contoso.com","extra":1}"#,
        ]
        let reply = try await harness.upload(
            lines.joined(separator: "\r\n") + "\r\n", contentType: "application/x-ndjson", gzip: true)
        #expect(reply.status == 202)
        #expect(count(reply.json, "rows") == 5)
        #expect(count(reply.json, "accepted") == 2)
        let id = try #require(reply.json["id"]?.stringValue)
        let errors =
            try await harness.call(.get, "/v1/imports/\(id)/rows?status=rejected").json["items"]?.arrayValue ?? []
        #expect(
            errors.map { "\($0["row"]?.intValue ?? 0):\($0["field"]?.stringValue ?? "")" } == [
                "3:kind", "4:", "5:extra",
            ])
        let kinds = try await harness.call(.get, "/v1/requests").json["items"]?.arrayValue?.compactMap {
            $0["kind"]?.stringValue
        }.sorted()
        #expect(kinds == ["data-access", "term-creation"])

        // A corrupt gzip body is refused.
        let corrupt = try await harness.call(
            .post, "/v1/imports?kind=data-access", body: [0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7],
            headers: ["Content-Type": "text/csv", "Content-Encoding": "gzip"])
        #expect(corrupt.status == 400)
        await harness.stop()
    }

    /// Webhook URLs are checked against the client's allowlist at the single endpoints; an imported row must not
    /// bring one in unchecked (the gateway would POST to any host it names).
    @Test func importedRowsCannotCarryACallbackUrl() async throws {
        let harness = try await ImportServerHarness(forward: false)
        let lines = [
            #"{"qualifiedName":"mssql://db/sales","purpose":"reporting","requestedBy":"ada@contoso.com"}"#,
            #"{"qualifiedName":"mssql://db/x","purpose":"p","requestedBy":"ada@contoso.com","callbackUrl":"https://10.0.0.1/steal"}"#,
        ]
        let reply = try await harness.upload(lines.joined(separator: "\n") + "\n", contentType: "application/x-ndjson")
        #expect(reply.status == 202)
        #expect(count(reply.json, "accepted") == 1)
        #expect(count(reply.json, "rejected") == 1)
        let id = try #require(reply.json["id"]?.stringValue)
        let errors =
            try await harness.call(.get, "/v1/imports/\(id)/rows?status=rejected").json["items"]?.arrayValue ?? []
        #expect(errors.map { "\($0["row"]?.intValue ?? 0):\($0["field"]?.stringValue ?? "")" } == ["2:callbackUrl"])
        let stored = try await harness.call(.get, "/v1/requests").json["items"]?.arrayValue ?? []
        #expect(stored.count == 1)
        #expect(stored.allSatisfy { $0["callbackUrl"] == nil || $0["callbackUrl"] == .null })
        await harness.stop()
    }

    @Test func csvQuotingEdgeCases() async throws {
        let harness = try await ImportServerHarness(forward: false)
        // BOM, CRLF, a quoted comma, an escaped quote, an embedded CRLF and LF, a blank line, an unquoted
        // last line without a line end, a `kind` column, a JSON cell.
        let csv =
            "\u{FEFF}kind,qualifiedName,purpose,requestedBy\r\n"
            + "data-access,\"mssql://db/a,b\",\"the \"\"quarterly\"\" report\",ada@contoso.com\r\n"
            + "\r\n"
            + "data-access,mssql://db/c,\"line one\r\nline two\nline three\",bob@contoso.com\r\n"
            + "asset-update,mssql://db/d,,cy@contoso.com\r\n"
            + "data-access,mssql://db/e,last,dee@contoso.com"
        let reply = try await harness.upload(csv, kind: nil)
        #expect(reply.status == 202)
        #expect(count(reply.json, "rows") == 4)
        #expect(count(reply.json, "accepted") == 3)
        let id = try #require(reply.json["id"]?.stringValue)
        let first = try #require(try await harness.store.get(id: ImportService.requestId(importId: id, row: 1)))
        #expect(first.body["qualifiedName"]?.stringValue == "mssql://db/a,b")
        #expect(first.body["purpose"]?.stringValue == "the \"quarterly\" report")
        let second = try #require(try await harness.store.get(id: ImportService.requestId(importId: id, row: 2)))
        #expect(second.body["purpose"]?.stringValue == "line one\r\nline two\nline three")
        let fourth = try #require(try await harness.store.get(id: ImportService.requestId(importId: id, row: 4)))
        #expect(fourth.body["requestedBy"]?.stringValue == "dee@contoso.com")
        // Row 3 is an asset update without `changes` (and `purpose` is not one of its fields: the cell is empty).
        let errors = try await harness.call(.get, "/v1/imports/\(id)/rows").json["items"]?.arrayValue ?? []
        #expect(errors.map { "\($0["row"]?.intValue ?? 0):\($0["field"]?.stringValue ?? "")" } == ["3:changes"])

        // A quote left open is a malformed file; the rows before it are kept.
        let open = try await harness.upload(
            "\(Self.header)\nmssql://db/z,ok,ada@contoso.com,\nmssql://db/y,\"never closed,ada@contoso.com,\n")
        #expect(open.status == 400)
        #expect(open.json["code"]?.stringValue == "malformed_file")
        let openId = try #require(open.json["importId"]?.stringValue)
        let kept = try await harness.call(.get, "/v1/imports/\(openId)").json
        #expect(count(kept, "accepted") == 1)
        // Wrong content type, unknown kind.
        #expect(try await harness.upload("a,b\n1,2", contentType: "application/json").status == 400)
        #expect(try await harness.upload("a,b\n1,2", kind: "nope").status == 400)
        await harness.stop()
    }

    @Test func reuploadWithTheSameIdempotencyKeyCreatesNothingNew() async throws {
        let harness = try await ImportServerHarness(forward: false)
        var csv = Self.header + "\n"
        for row in 1...40 {
            csv += "mssql://db/t\(row),purpose \(row),user\(row)@contoso.com,\(row % 10 == 0 ? "bad" : "P1D")\n"
        }
        let first = try await harness.upload(csv, idempotencyKey: "file-1")
        #expect(first.status == 202)
        let id = try #require(first.json["id"]?.stringValue)
        #expect(count(first.json, "accepted") == 36)
        #expect(count(first.json, "rejected") == 4)
        let again = try await harness.upload(csv, idempotencyKey: "file-1")
        #expect(again.status == 200)
        #expect(again.json["id"]?.stringValue == id)
        #expect(count(again.json, "rows") == 40)
        #expect(try await harness.store.countByStatus()[.queued] == 36)
        #expect(try await harness.store.listImports(clientName: nil, limit: 10, after: nil).count == 1)

        // An upload cut short (status still receiving) resumes: rows already stored are skipped.
        let partial = try await harness.store.createImport(
            ImportRecord(
                id: "partial-import", clientName: "importer", defaultKind: .dataAccess, format: .csv,
                idempotencyKey: "file-2", now: Date()))
        guard case .created = partial else { throw HarnessFailure("not created") }
        let firstRows = ImportService(gateway: harness.service)
        _ = try await firstRows.receive(
            ImportRecord(
                id: "partial-import", clientName: "importer", defaultKind: .dataAccess, format: .csv,
                idempotencyKey: "file-2", now: Date()),
            body: AsyncStream { continuation in
                continuation.yield(Array(csv.split(separator: "\n").prefix(11).joined(separator: "\n").utf8))
                continuation.finish()
            })
        try await harness.store.setImportStatus(id: "partial-import", status: .receiving, now: Date())
        // Three of the stored rows finished and retention purged them before the resume: they must not be
        // created (and sent) again.
        for row in 1...3 {
            var finished = try #require(
                try await harness.store.get(id: ImportService.requestId(importId: "partial-import", row: row)))
            finished.status = .cancelled
            _ = try await harness.store.update(finished)
        }
        #expect(try await harness.store.purgeTerminalRequests(updatedBefore: Date().addingTimeInterval(3600), limit: 10) == 3)
        let resumed = try await harness.upload(csv, idempotencyKey: "file-2")
        #expect(resumed.status == 202)
        #expect(resumed.json["id"]?.stringValue == "partial-import")
        #expect(count(resumed.json, "rows") == 40)
        #expect(count(resumed.json, "accepted") == 36)
        for row in 1...3 {
            #expect(try await harness.store.get(id: ImportService.requestId(importId: "partial-import", row: row)) == nil)
        }
        // 36 from the first import; 6 of the 9 stored before the cut, and 27 of the 30 rows after it.
        #expect(try await harness.store.countByStatus()[.queued] == 69)
        await harness.stop()
    }

    @Test func aHundredThousandRowsStreamIn() async throws {
        let harness = try await ImportServerHarness(forward: false)
        var csv: [UInt8] = []
        csv.reserveCapacity(8 << 20)
        csv += Array((Self.header + "\n").utf8)
        let rows = 100_000
        for row in 1...rows {
            let line =
                row % 1000 == 0
                ? "mssql://db/t\(row),,u\(row)@contoso.com,\n" : "mssql://db/t\(row),purpose,u\(row)@contoso.com,P7D\n"
            csv += Array(line.utf8)
        }
        let reply = try await harness.upload(bytes: csv, gzip: true)
        #expect(reply.status == 202)
        #expect(count(reply.json, "rows") == rows)
        #expect(count(reply.json, "rejected") == rows / 1000)
        #expect(count(reply.json, "accepted") == rows - rows / 1000)
        #expect(try await harness.store.countByStatus()[.queued] == rows - rows / 1000)
        let id = try #require(reply.json["id"]?.stringValue)
        let page = try await harness.call(.get, "/v1/imports/\(id)/rows?status=rejected&limit=60").json
        #expect(page["items"]?.arrayValue?.count == 60)
        #expect(page["nextCursor"]?.stringValue == "60000")
        await harness.stop()
    }

    @Test func importedRowsArePacedAndYieldToInteractiveRequests() async throws {
        var limiter = ImportRateLimiter(rowsPerSecond: 10)
        #expect(limiter.take(upTo: 100, now: 0) == 10)
        #expect(limiter.take(upTo: 100, now: 0.5) == 5)
        limiter.throttled(now: 0.5)
        #expect(limiter.rate == 5)
        #expect(limiter.take(upTo: 100, now: 0.6) == 0)
        #expect(limiter.take(upTo: 100, now: 1.6) == 6)  // 1.1 s at a rate climbing from 5 towards 10
        limiter.giveBack(3)
        #expect(limiter.take(upTo: 100, now: 1.6) == 3)

        // Over the real store: 2 rows/s, so an interactive request sent after a 30-row import is forwarded
        // long before the import is.
        let harness = try await ImportServerHarness(importRate: 2)
        var csv = Self.header + "\n"
        for row in 1...30 { csv += "mssql://db/t\(row),p,u\(row)@contoso.com,\n" }
        let reply = try await harness.upload(csv)
        let id = try #require(reply.json["id"]?.stringValue)
        let interactive = try await harness.call(
            .post, "/v1/requests/data-access",
            body: Array(#"{"qualifiedName":"mssql://db/now","purpose":"p","requestedBy":"ada@contoso.com"}"#.utf8),
            headers: ["Content-Type": "application/json", "Prefer": "wait=10"])
        #expect(interactive.status == 201)
        let status = try await harness.call(.get, "/v1/imports/\(id)").json
        #expect(count(status, "forwarded") < 15)
        #expect(status["status"]?.stringValue == "processing")
        let later = try await harness.waitForImport(id) { count($0, "forwarded") >= 4 }
        #expect(count(later, "forwarded") < 30)
        await harness.stop()
    }
}
