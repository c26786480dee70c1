import FoundationEssentials
import HTTP
import Networking
import PurviewWorkflow

// The emulator's inbox, a page at `/_emulator/ui`, and the admin routes it calls:
// `GET /_emulator/principals`, `GET /_emulator/runs`, and every Workflow API operation acted as a
// configured principal under `/_emulator/as/{principalObjectId}/...` (no token endpoint round trip, no
// api-version, no injected faults). The page is static; the data routes need the admin token.

extension EmulatorService {
    /// Headers of the inbox's page and assets: nothing but this origin's own script and style.
    static let inboxPageHeaders: HTTPFields = [
        "Content-Security-Policy":
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    ]

    /// Runs listed by `GET /_emulator/runs`, newest first.
    static let inboxRunLimit = 200

    func addInboxRoutes(_ router: Router) {
        let assets: [(String, String, [UInt8])] = [
            ("/_emulator/ui", "text/html; charset=utf-8", EmulatorInboxAssets.html),
            ("/_emulator/ui/inbox.js", "text/javascript; charset=utf-8", EmulatorInboxAssets.script),
            ("/_emulator/ui/inbox.css", "text/css; charset=utf-8", EmulatorInboxAssets.style),
        ]
        for (path, contentType, body) in assets {
            router.add(
                .get, path,
                .immediate { _ in
                    ServerResponse(status: .ok, contentType: contentType, body: body, headers: Self.inboxPageHeaders)
                })
        }
        router.add(.get, "/_emulator/principals") { [self] request in
            inboxCall(request, route: "GET /_emulator/principals") { _ throws(EmulatorError) in
                .json(["value": .array(config.principals.map(Self.publicForm))])
            }
        }
        router.add(.get, "/_emulator/runs") { [self] request in
            inboxCall(request, route: "GET /_emulator/runs") { _ throws(EmulatorError) in
                let runs = withEngine { engine in
                    engine.tick()
                    let newest = engine.state.runs.values.sorted { left, right in
                        left.startTime == right.startTime ? left.id < right.id : left.startTime > right.startTime
                    }
                    return newest.prefix(Self.inboxRunLimit).map { engine.render($0, full: true) }
                }
                return .json(["value": .array(runs)])
            }
        }
        for operation in APIOperation.all {
            let route = "/_emulator/as/{principal}" + operation.pattern
            router.add(operation.method, route, bodyLimit: config.maxRequestBodyBytes) { [self] request in
                await actAs(operation, request, route: "\(operation.method.rawValue) \(route)")
            }
        }
    }

    /// A principal as the inbox shows it: never its secret or certificate.
    static func publicForm(_ principal: EmulatorConfig.Principal) -> JSONValue {
        [
            "objectId": .string(principal.objectId), "clientId": .string(principal.clientId),
            "name": .string(principal.name), "email": principal.email.map(JSONValue.string) ?? .null,
            "isAdministrator": .bool(principal.isAdministrator),
        ]
    }

    /// One API operation performed by a configured principal on the admin's behalf.
    private func actAs(_ operation: APIOperation, _ request: ServerRequest, route: String) async -> ServerResponse {
        let objectId = (request.pathParameters["principal"] ?? "").lowercased()
        var body: JSONValue?
        if operation.body != .none, isAdmin(request.headers["Authorization"]) {
            guard let bytes = try? await request.body.collect(upTo: config.maxRequestBodyBytes) else {
                return inboxError(EmulatorError.invalidRequest("The request body could not be read.", target: "body"))
            }
            if !bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
                do {
                    body = try JSONValue(parsing: bytes)
                } catch {
                    return inboxError(.invalidRequest("The request body is not valid JSON: \(error).", target: "body"))
                }
            }
        }
        let parsed = body
        return inboxCall(request, route: route) { _ throws(EmulatorError) in
            guard config.principals.contains(where: { $0.objectId == objectId }) else {
                throw .invalidRequest(
                    "No configured principal has the object id '\(objectId)'.", target: "principal")
            }
            if operation.body == .required && parsed == nil {
                throw .invalidRequest("The request body is required.", target: "body")
            }
            var parameters = request.pathParameters
            parameters["principal"] = nil
            let call = APICall(
                principal: objectId, parameters: parameters,
                queryItems: FormEncoding.decode(request.query ?? "").map { (name: $0.0, value: $0.1) }, body: parsed)
            return try engineCall { engine throws(EmulatorError) in try operation.perform(&engine, call) }
        }
    }

    /// Checks the admin token, runs `body`, renders its outcome or error in the service's envelope.
    private func inboxCall(
        _ request: ServerRequest, route: String, _ body: (ServerRequest) throws(EmulatorError) -> APIOutcome
    ) -> ServerResponse {
        let started = ContinuousClock.now
        let response: ServerResponse
        if !isAdmin(request.headers["Authorization"]) {
            response = apiError(
                status: 401, code: "Unauthorized",
                message: "The admin routes need 'Authorization: Bearer <adminToken>'.",
                headers: ["x-ms-request-id": Self.newRequestId()])
        } else {
            do throws(EmulatorError) {
                response = Self.inboxResponse(try body(request))
            } catch {
                response = inboxError(error)
            }
        }
        logCall(route, request, status: response.status.code, started: started, principal: nil)
        return response
    }

    private func inboxError(_ error: EmulatorError) -> ServerResponse {
        var response = ServerResponse(
            status: HTTPStatus(code: error.statusCode), contentType: "application/json",
            body: error.envelope.serialized())
        response.headers.set("x-ms-request-id", Self.newRequestId())
        response.headers.set("Cache-Control", "no-store")
        return response
    }

    private static func inboxResponse(_ outcome: APIOutcome) -> ServerResponse {
        let headers: HTTPFields = ["x-ms-request-id": newRequestId(), "Cache-Control": "no-store"]
        switch outcome {
        case .json(let value):
            return ServerResponse(
                status: .ok, contentType: "application/json", body: value.serialized(), headers: headers)
        case .page(let page):
            var object: JSONObject = ["value": .array(page.value)]
            if let token = page.continuationToken { object["continuationToken"] = .string(token) }
            return ServerResponse(
                status: .ok, contentType: "application/json", body: JSONValue.object(object).serialized(),
                headers: headers)
        case .empty:
            return ServerResponse(status: .ok, headers: headers, body: .empty)
        case .noContent:
            return ServerResponse(status: .noContent, headers: headers, body: .empty)
        }
    }
}
