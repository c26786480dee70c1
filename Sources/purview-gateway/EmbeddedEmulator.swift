import Foundation
import Networking
import Observability
import PurviewEmulator
import PurviewWorkflow

/// The embedded default: the Purview emulator with its demo principals and workflows, served on a
/// loopback port next to the gateway, which reaches it exactly as it would reach Purview (HTTP client,
/// token endpoint, client credentials).
struct EmbeddedEmulator: Sendable {
    let service: EmulatorService
    let baseURL: HTTPURL

    typealias Demo = EmulatorConfig.Demo

    var tokenEndpoint: TokenEndpoint {
        TokenEndpoint(authorityHost: baseURL, tenantId: Demo.tenantId, clientId: Demo.gatewayClientId)
    }

    var gatewaySecret: String { Demo.gatewayClientSecret }

    /// Starts on `preferredPort` when it is free, else on any free port. State is kept in `statePath`
    /// so runs the gateway tracks survive a restart of both.
    static func start(preferredPort: Int, statePath: String, logger: Logger) throws -> EmbeddedEmulator {
        let directory = (statePath as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let service = try EmulatorService(config: .demo(), statePath: statePath, logger: logger)
        var port: Int
        do {
            port = try service.start(listen: "127.0.0.1", port: preferredPort)
        } catch {
            port = try service.start(listen: "127.0.0.1", port: 0)
        }
        guard let url = HTTPURL("http://127.0.0.1:\(port)") else {
            throw ServeCommand.StartupError(message: "the embedded emulator did not start")
        }
        return EmbeddedEmulator(service: service, baseURL: url)
    }

    func shutdown() async { await service.shutdown() }

    /// What `serve` prints on the embedded default: where things are and how to try the whole flow.
    static func banner(gatewayURL: String, developmentKey key: String, emulator: EmbeddedEmulator) -> String {
        let emulatorURL = emulator.baseURL.origin
        let version = "api-version=2023-10-01-preview"
        return """

            purview-gateway is running on its embedded default: the built-in Purview emulator and a SQLite store.

              Gateway API   \(gatewayURL)   (contract: \(gatewayURL)/openapi.json)
              API key       \(key)   (development only; set GATEWAY_API_KEYS_FILE for real keys)
              Emulator      \(emulatorURL)/workflow   (tenant \(Demo.tenantId), admin token \(Demo.adminToken))
              Approver      Ada, client id \(Demo.approverClientId), secret \(Demo.approverClientSecret)
              Console       \(gatewayURL)/console   (sign in with the API key above)
              Inbox         \(emulatorURL)/_emulator/ui   (sign in with the admin token, act as Ada to approve)

            Try it (in another terminal):

              # 1. Ask for a new glossary term on someone's behalf (201: stored and sent to Purview).
              ID=$(curl -s -X POST \(gatewayURL)/v1/requests/term-creation -H 'X-API-Key: \(key)' \\
                -H 'Content-Type: application/json' \\
                -d '{"glossaryId":"\(Self.demoGlossaryId)","name":"Revenue","definition":"Money received.","requestedBy":"you@contoso.com"}' \\
                | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["id"], r["status"], file=sys.stderr); print(r["id"])')

              # 2. Approve it as Ada, the demo approver.
              TOKEN=$(curl -s \(emulatorURL)/\(Demo.tenantId)/oauth2/v2.0/token -d grant_type=client_credentials \\
                -d client_id=\(Demo.approverClientId) -d client_secret=\(Demo.approverClientSecret) \\
                -d scope=https://purview.azure.net/.default | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
              TASK=$(curl -s "\(emulatorURL)/workflow/workflowtasks?\(version)&viewMode=received&taskStatuses=Pending" \\
                -H "Authorization: Bearer $TOKEN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"][0]["id"])')
              curl -s -X POST "\(emulatorURL)/workflow/workflowtasks/$TASK/approve-approval?\(version)" \\
                -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"comment":"Looks good"}'

              # 3. See it complete: status "completed", outcome "approved" (refresh=true asks Purview now;
              #    without it the poller brings the news within about 15 seconds).
              curl -s "\(gatewayURL)/v1/requests/$ID?refresh=true" -H 'X-API-Key: \(key)'

            Or in a browser: open \(gatewayURL)/console, sign in with the API key, submit with step 1, approve
            in \(emulatorURL)/_emulator/ui as Ada, and watch the request turn completed / approved.

            Stop with Ctrl-C.
            """
    }

    static let demoGlossaryId = "20031e20-b4df-4a66-a61d-1b0716f3fa48"
}
