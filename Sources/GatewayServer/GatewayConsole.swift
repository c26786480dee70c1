import FoundationEssentials
import GatewayCore
import HTTP
import Networking
import PurviewWorkflow

// The console at `/console`: a static page, script and style served from memory, which sign in with an
// API key kept in the tab's session storage and call the JSON API with it (no cookies, so no CSRF).
// `GET /v1/admin/status` feeds its operator panel.

extension GatewayAPI {
    /// The console's Content-Security-Policy: its own script and style only, no inline code, no frames.
    public static let consoleContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    static let consolePageHeaders: HTTPFields = [
        "Content-Security-Policy": consoleContentSecurityPolicy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    ]

    func addConsoleRoutes(to router: Router) {
        let page = HTTPHandler.immediate { _ in
            ServerResponse(
                status: .ok, contentType: "text/html; charset=utf-8", body: GatewayConsoleAssets.html,
                headers: Self.consolePageHeaders)
        }
        router.add(.get, "/console", page)
        router.add(.get, "/console/", page)
        // The request page is the same document: its script reads the id from the path.
        router.add(.get, "/console/requests/{id}", page)
        router.add(
            .get, "/console/console.js",
            .immediate { _ in
                ServerResponse(
                    status: .ok, contentType: "text/javascript; charset=utf-8", body: GatewayConsoleAssets.script,
                    headers: Self.consolePageHeaders)
            })
        router.add(
            .get, "/console/console.css",
            .immediate { _ in
                ServerResponse(
                    status: .ok, contentType: "text/css; charset=utf-8", body: GatewayConsoleAssets.style,
                    headers: Self.consolePageHeaders)
            })
        router.add(
            .get, "/v1/admin/status",
            handler("admin_status", scope: .requestsAdmin) { _, _ in try await self.operatorStatus() })
    }

    /// `{"forwardQueueDepth","unknown","counts":{status:n},"forwarderInFlight","pollerLagSeconds","token","purview"}`.
    func operatorStatus() async throws -> ServerResponse {
        let counts: [RequestStatus: Int]
        do {
            counts = try await service.store.countByStatus()
        } catch {
            throw Problem(
                .serviceUnavailable, code: "store_unavailable", title: "The store is unavailable", detail: "\(error)")
        }
        var byStatus = JSONObject()
        for status in RequestStatus.allCases { byStatus[status.rawValue] = .number(Double(counts[status] ?? 0)) }
        let checks = await health.checks()
        let document: JSONObject = [
            "forwardQueueDepth": .number(Double((counts[.queued] ?? 0) + (counts[.submitting] ?? 0))),
            "unknown": .number(Double(counts[.unknown] ?? 0)),
            "counts": .object(byStatus),
            "forwarderInFlight": .number(Double(service.forwarder.sendsInFlight)),
            "pollerLagSeconds": .number(service.poller.lag.seconds),
            "token": checks["token"] ?? .null,
            "purview": checks["purview"] ?? .null,
        ]
        return json(.ok, .object(document))
    }
}
