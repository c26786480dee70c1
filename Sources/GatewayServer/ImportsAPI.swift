import FoundationEssentials
import GatewayCore
import HTTP
import Networking
import PurviewWorkflow

/// `POST /v1/imports`, `GET /v1/imports`, `GET /v1/imports/{id}`, `GET /v1/imports/{id}/rows`: batch imports
/// (docs/IMPORTS.md). Every import route needs the `imports:write` scope.
extension GatewayAPI {
    /// Largest import body, after gzip decoding.
    static let importBodyLimit = 100 << 20

    func addImportRoutes(to router: Router) {
        router.add(
            .post, "/v1/imports", bodyLimit: Self.importBodyLimit,
            handler("import", scope: .importsWrite) { request, client in
                try await self.createImport(request: request, client: client)
            })
        router.add(
            .get, "/v1/imports",
            handler("import_list", scope: .importsWrite) { request, client in
                try await self.listImports(request: request, client: client)
            })
        router.add(
            .get, "/v1/imports/{id}",
            handler("import_get", scope: .importsWrite) { request, client in
                try await self.getImport(request: request, client: client)
            })
        router.add(
            .get, "/v1/imports/{id}/rows",
            handler("import_rows", scope: .importsWrite) { request, client in
                try await self.importRows(request: request, client: client)
            })
    }

    private var imports: ImportService { ImportService(gateway: service) }

    private func importStore() throws -> any ImportStore {
        guard let store = imports.store else {
            throw Problem(
                .notImplemented, code: "imports_unavailable", title: "Imports are not available",
                detail: "this store does not keep imports")
        }
        return store
    }

    func createImport(request: ServerRequest, client: APIClient) async throws -> ServerResponse {
        _ = try importStore()
        let query = Self.queryItems(request.query)
        var kind: RequestKind?
        if let text = query["kind"] {
            guard let parsed = RequestKind(rawValue: text) else {
                var problem = Problem(
                    .badRequest, code: "invalid_query", title: "Invalid query parameters",
                    detail: "kind must be one of \(RequestKind.allCases.map(\.rawValue).joined(separator: ", "))")
                problem.violations = [
                    FieldViolation(pointer: "kind", code: "invalid_value", message: "unknown kind '\(text)'")
                ]
                throw problem
            }
            kind = parsed
        }
        guard let format = ImportFormat(contentType: request.headers["Content-Type"]) else {
            throw Problem(
                .badRequest, code: "unsupported_content_type", title: "The body must be CSV or NDJSON",
                detail:
                    "send 'Content-Type: text/csv' or 'Content-Type: application/x-ndjson'\(request.headers["Content-Type"].map { ", not '\($0)'" } ?? "")"
            )
        }
        let idempotencyKey = request.headers["Idempotency-Key"]?.trimmingWhitespace()
        if let idempotencyKey, idempotencyKey.isEmpty || idempotencyKey.utf8.count > 255 {
            throw Problem(
                .badRequest, code: "invalid_idempotency_key", title: "Invalid Idempotency-Key",
                detail: "the Idempotency-Key must be 1 to 255 characters")
        }
        let outcome: ImportService.BeginOutcome
        do {
            outcome = try await imports.begin(
                clientName: client.name, defaultKind: kind, format: format, idempotencyKey: idempotencyKey)
        } catch {
            logger.error("cannot store an import", metadata: ["error": .string("\(error)")])
            throw Problem(
                .serviceUnavailable, code: "store_unavailable", title: "The import could not be stored",
                detail: "try again shortly")
        }
        switch outcome {
        case .replayed(let existing):
            // The file was received completely before: read and drop the body, create nothing.
            for try await _ in request.body {}
            let (record, counts) = try await imports.current(existing)
            return importResponse(.ok, record, counts)
        case .receive(let record):
            let received: ImportRecord
            do {
                received = try await imports.receive(record, body: request.body)
            } catch let error as ImportFileError {
                var problem = Problem(
                    .badRequest, code: "malformed_file", title: "The file could not be read to its end",
                    detail: error.message)
                problem.extra["importId"] = .string(record.id)
                throw problem
            } catch let error as StoreError {
                logger.error(
                    "cannot store import rows",
                    metadata: ["import.id": .string(record.id), "error": .string(error.message)])
                throw Problem(
                    .serviceUnavailable, code: "store_unavailable", title: "The import rows could not be stored",
                    detail: "upload the file again with the same Idempotency-Key to resume")
            }
            let (current, counts) = try await imports.current(received)
            return importResponse(.accepted, current, counts)
        }
    }

    func getImport(request: ServerRequest, client: APIClient) async throws -> ServerResponse {
        let record = try await visibleImport(request.pathParameters["id"] ?? "", client: client)
        let (current, counts) = try await imports.current(record)
        return json(.ok, Self.renderImport(current, counts))
    }

    func listImports(request: ServerRequest, client: APIClient) async throws -> ServerResponse {
        let store = try importStore()
        let query = Self.queryItems(request.query)
        let clientName = client.allows(.requestsReadAll) ? nil : client.name
        if let key = query["idempotencyKey"] {
            let found = try await store.findImport(clientName: client.name, idempotencyKey: key)
            var items: [JSONValue] = []
            if let found {
                let (current, counts) = try await imports.current(found)
                items.append(Self.renderImport(current, counts))
            }
            return json(.ok, ["items": .array(items), "nextCursor": .null])
        }
        var limit = 50
        if let text = query["limit"] {
            guard let value = Int(text), (1...500).contains(value) else {
                throw Problem(
                    .badRequest, code: "invalid_query", title: "Invalid query parameters",
                    detail: "limit must be a number from 1 to 500")
            }
            limit = value
        }
        var cursor: ImportCursor?
        if let text = query["cursor"] {
            guard let decoded = CursorCoding.decode(text) else {
                throw Problem(
                    .badRequest, code: "invalid_query", title: "Invalid query parameters",
                    detail: "cursor is not a cursor this API returned")
            }
            cursor = ImportCursor(createdAt: decoded.createdAt, id: decoded.id)
        }
        let records = try await store.listImports(clientName: clientName, limit: limit + 1, after: cursor)
        let page = Array(records.prefix(limit))
        var items: [JSONValue] = []
        for record in page {
            let (current, counts) = try await imports.current(record)
            items.append(Self.renderImport(current, counts))
        }
        var document: JSONObject = ["items": .array(items), "nextCursor": .null]
        if records.count > limit, let last = page.last {
            document["nextCursor"] = .string(CursorCoding.encode(RequestCursor(createdAt: last.createdAt, id: last.id)))
        }
        return json(.ok, .object(document))
    }

    func importRows(request: ServerRequest, client: APIClient) async throws -> ServerResponse {
        let record = try await visibleImport(request.pathParameters["id"] ?? "", client: client)
        let query = Self.queryItems(request.query)
        guard (query["status"] ?? "rejected") == "rejected" else {
            throw Problem(
                .badRequest, code: "invalid_query", title: "Invalid query parameters",
                detail: "status must be 'rejected' (accepted rows are requests: GET /v1/requests)")
        }
        var limit = 100
        if let text = query["limit"] {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw Problem(
                    .badRequest, code: "invalid_query", title: "Invalid query parameters",
                    detail: "limit must be a number from 1 to 1000")
            }
            limit = value
        }
        var afterRow = 0
        if let text = query["cursor"] {
            guard let value = Int(text), value >= 0 else {
                throw Problem(
                    .badRequest, code: "invalid_query", title: "Invalid query parameters",
                    detail: "cursor is not a cursor this API returned")
            }
            afterRow = value
        }
        let rejections = try await importStore().importRejections(
            importId: record.id, afterRow: afterRow, limit: limit + 1)
        let page = rejections.prefix(limit)
        var items: [JSONValue] = []
        for rejection in page {
            for error in rejection.errors {
                items.append([
                    "row": .number(Double(rejection.row)), "field": .string(error.field), "code": .string(error.code),
                    "message": .string(error.message), "raw": .string(rejection.raw),
                ])
            }
        }
        let next: JSONValue = rejections.count > limit ? .string(String(page.last?.row ?? 0)) : .null
        return json(.ok, ["items": .array(items), "nextCursor": next])
    }

    private func visibleImport(_ id: String, client: APIClient) async throws -> ImportRecord {
        guard let record = try await importStore().getImport(id: id),
            client.allows(.requestsReadAll) || record.clientName == client.name
        else { throw Problem.notFound("no import \(id)") }
        return record
    }

    private func importResponse(_ status: HTTPStatus, _ record: ImportRecord, _ counts: ImportForwardingCounts)
        -> ServerResponse
    {
        var response = json(status, Self.renderImport(record, counts))
        response.headers.append("Location", "/v1/imports/\(record.id)")
        return response
    }

    static func renderImport(_ record: ImportRecord, _ counts: ImportForwardingCounts) -> JSONValue {
        var object: JSONObject = [
            "id": .string(record.id),
            "status": .string(record.status.rawValue),
            "format": .string(record.format.rawValue),
            "kind": record.defaultKind.map { .string($0.rawValue) } ?? .null,
            "counts": [
                "rows": .number(Double(record.rows)), "accepted": .number(Double(record.accepted)),
                "rejected": .number(Double(record.rejected)), "forwarded": .number(Double(counts.forwarded)),
                "completed": .number(Double(counts.completed)), "failed": .number(Double(counts.failed)),
            ],
            "createdAt": RequestResource.timestamp(record.createdAt),
            "updatedAt": RequestResource.timestamp(record.updatedAt),
            "links": [
                "self": .string("/v1/imports/\(record.id)"),
                "rejectedRows": .string("/v1/imports/\(record.id)/rows?status=rejected"),
            ],
        ]
        object["idempotencyKey"] = record.idempotencyKey.map(JSONValue.string)
        return .object(object)
    }
}
