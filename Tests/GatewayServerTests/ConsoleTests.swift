import Crypto
import FoundationEssentials
import GatewayCore
import HTTP
import Networking
import PurviewWorkflow
import Testing

@testable import GatewayServer

/// The console's page and assets (`/console`), their headers, and `GET /v1/admin/status`.
struct ConsoleTests {
    static let adminKey = "operator-key-1"

    /// The harness's store and service behind an API whose only client is an operator.
    static func operatorResponder(_ harness: GatewayHarness, health: HealthDetails) -> Router.Responder {
        let clients = APIClients(clients: [
            APIClient(name: "operator", keyDigests: [SHA256.hash(Array(adminKey.utf8))], scopes: [.requestsAdmin])
        ])
        return GatewayAPI(service: harness.service, clients: clients, logger: .disabled(), health: health)
            .makeRouter().freeze()
    }

    static func get(_ responder: Router.Responder, _ target: String, key: String?) async throws -> ServerResponse {
        var fields: HTTPFields = ["Host": "gateway.test"]
        if let key { fields.append("Authorization", "Bearer \(key)") }
        let head = HTTPRequestHead(method: .get, target: target, fields: fields)
        let route = responder.route(head)
        let request = ServerRequest(
            head: head, pathParameters: route.pathParameters,
            remoteAddress: SocketAddress(host: "127.0.0.1", port: 1)!, body: RequestBody(bytes: []), requestID: "t")
        return try await route.handler(request)
    }

    @Test(arguments: [
        ("/console", "text/html"), ("/console/", "text/html"), ("/console/requests/abc", "text/html"),
        ("/console/console.js", "text/javascript"), ("/console/console.css", "text/css"),
    ])
    func pagesCarryAStrictPolicy(path: String, type: String) async throws {
        let harness = GatewayHarness()
        let response = try await Self.get(harness.responder, path, key: nil)
        #expect(response.status.code == 200)
        #expect(response.headers["Content-Type"]?.hasPrefix(type) == true)
        #expect(
            response.headers["Content-Security-Policy"]
                == "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
                + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
        #expect(response.headers["X-Content-Type-Options"] == "nosniff")
        #expect(response.headers["Referrer-Policy"] == "no-referrer")
        #expect(response.headers["Set-Cookie"] == nil)
    }

    @Test func pageHasNoInlineCodeAndTheScriptNoMarkupSinks() async throws {
        let harness = GatewayHarness()
        let page = String(
            decoding: try await Self.get(harness.responder, "/console", key: nil).body.bytes ?? [], as: UTF8.self)
        #expect(page.contains("<script src=\"/console/console.js\" defer></script>"))
        #expect(!page.contains("<script>") && !page.contains("style="))
        #expect(!page.contains(try Regex(#"\son[a-z]+\s*="#)), "no inline event handler")
        #expect(!page.contains("http://") && !page.contains("https://"), "no external resource")
        let script = String(
            decoding: try await Self.get(harness.responder, "/console/console.js", key: nil).body.bytes ?? [],
            as: UTF8.self)
        for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"] {
            #expect(!script.contains(sink), "the console script uses \(sink)")
        }
        #expect(script.contains("sessionStorage") && !script.contains("document.cookie"))
    }

    @Test func adminStatusNeedsTheAdminScope() async throws {
        let harness = GatewayHarness()
        let anonymous = try await harness.send(.get, "/v1/admin/status", key: nil)
        #expect(anonymous.status == 401)
        let portal = try await harness.send(.get, "/v1/admin/status")
        #expect(portal.status == 403)
        #expect(portal.headers["Content-Type"] == "application/problem+json")
        #expect(portal.json["detail"]?.stringValue == "needs the scope requests:admin")
    }

    @Test func adminStatusCountsTheQueueAndReportsHealth() async throws {
        let harness = GatewayHarness()
        // Not running the forwarder: the submissions stay queued.
        for name in ["<img src=x onerror=alert(1)>", "Revenue"] {
            let reply = try await harness.send(
                .post, "/v1/requests/term-creation",
                body: [
                    "glossaryId": "20031e20-b4df-4a66-a61d-1b0716f3fa48", "name": .string(name), "definition": "d",
                    "requestedBy": "you@contoso.com",
                ], headers: ["Prefer": "wait=0"])
            #expect(reply.status == 202)
        }
        let health = HealthDetails {
            ["token": ["status": "ok"], "purview": ["reachable": true, "endpoint": "http://127.0.0.1:1"]]
        }
        let responder = Self.operatorResponder(harness, health: health)
        let response = try await Self.get(responder, "/v1/admin/status", key: Self.adminKey)
        #expect(response.status.code == 200)
        #expect(response.headers["Cache-Control"] == "no-store")
        let status = try JSONValue(parsing: response.body.bytes ?? [])
        #expect(status["forwardQueueDepth"]?.doubleValue == 2)
        #expect(status["unknown"]?.doubleValue == 0)
        #expect(status["counts"]?["queued"]?.doubleValue == 2)
        #expect(status["token"]?["status"]?.stringValue == "ok")
        #expect(status["purview"]?["reachable"] == .bool(true))
        let openapi = try await Self.get(responder, "/openapi.json", key: nil).body.bytes ?? []
        #expect(try JSONValue(parsing: openapi)["paths"]?["/v1/admin/status"]?["get"] != nil)
        // The operator key cannot read requests: the panel is all it gets.
        let list = try await Self.get(responder, "/v1/requests", key: Self.adminKey)
        #expect(list.status.code == 403)
    }

    @Test func markupInATermNameComesBackAsJSONData() async throws {
        let harness = GatewayHarness()
        let name = "<img src=x onerror=alert(1)>"
        let created = try await harness.send(
            .post, "/v1/requests/term-creation",
            body: [
                "glossaryId": "20031e20-b4df-4a66-a61d-1b0716f3fa48", "name": .string(name), "definition": "d",
                "requestedBy": "you@contoso.com", "comment": "</script><b>x</b>",
            ], headers: ["Prefer": "wait=0"])
        #expect(created.headers["Content-Type"] == "application/json")
        #expect(created.json["subject"]?.stringValue == name)
        let list = try await harness.send(.get, "/v1/requests?limit=5")
        #expect(list.headers["Content-Type"] == "application/json")
        #expect(list.json["items"]?[0]?["subject"]?.stringValue == name)
        #expect(list.json["items"]?[0]?["comment"]?.stringValue == "</script><b>x</b>")
    }
}
