import Networking
import PurviewWorkflow
import Testing

@testable import GatewayServer

@Suite struct GatewaySettingsTests {
    let service: [String: String] = [
        "PURVIEW_ENDPOINT": "https://acct.purview.azure.com", "AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c",
        "AZURE_CLIENT_SECRET": "s",
    ]

    func failure(_ environment: [String: String], flags: [String: String] = [:]) -> SettingsError? {
        do {
            _ = try GatewaySettings.load(environment: environment, flags: flags)
            return nil
        } catch {
            return error
        }
    }

    @Test func defaultsAreTheEmbeddedEmulatorOnLoopback() throws {
        let settings = try GatewaySettings.load(environment: [:])
        #expect(settings.listen == ListenAddress(host: "127.0.0.1", port: 8080))
        #expect(settings.databaseURL == "sqlite://./.purview-gateway/gateway.db")
        guard case .embeddedEmulator = settings.purview else {
            Issue.record("expected the embedded emulator")
            return
        }
    }

    @Test func flagsOverrideTheEnvironment() throws {
        let settings = try GatewaySettings.load(environment: ["GATEWAY_LISTEN": "0.0.0.0:9000"], flags: ["listen": "127.0.0.1:7000", "log-level": "debug"])
        #expect(settings.listen.port == 7000)
        #expect(settings.logLevel == .debug)
    }

    @Test func theRealServiceNeedsCredentials() throws {
        let settings = try GatewaySettings.load(environment: service)
        guard case .service(let endpoint, let tokens, _, let version) = settings.purview else {
            Issue.record("expected the real service")
            return
        }
        #expect(endpoint.host == "acct.purview.azure.com")
        #expect(tokens.tokenURL.description == "https://login.microsoftonline.com/t/oauth2/v2.0/token")
        #expect(tokens.scope == "https://purview.azure.net/.default")
        #expect(version == "2023-10-01-preview")
        var missing = service
        missing["AZURE_CLIENT_SECRET"] = nil
        #expect(failure(missing)?.setting == "AZURE_CLIENT_SECRET")
        missing["AZURE_TENANT_ID"] = nil
        #expect(failure(missing)?.setting == "AZURE_TENANT_ID")
    }

    @Test(arguments: [
        (["GATEWAY_LISTEN": "nonsense"], "GATEWAY_LISTEN"),
        (["GATEWAY_LISTEN": "127.0.0.1:99999"], "GATEWAY_LISTEN"),
        (["GATEWAY_DATABASE_URL": "mysql://x"], "GATEWAY_DATABASE_URL"),
        (["LOG_LEVEL": "loud"], "LOG_LEVEL"),
        (["GATEWAY_TLS_CERT": "/x.pem"], "GATEWAY_TLS_KEY"),
        (["GATEWAY_WAIT_BUDGET_SECONDS": "31"], "GATEWAY_WAIT_BUDGET_SECONDS"),
        (["GATEWAY_FORWARD_LEASE_SECONDS": "0"], "GATEWAY_FORWARD_LEASE_SECONDS"),
        (["GATEWAY_PURVIEW_REQUESTS_PER_SECOND": "0"], "GATEWAY_PURVIEW_REQUESTS_PER_SECOND"),
        (["GATEWAY_PURVIEW_MAX_IN_FLIGHT": "many"], "GATEWAY_PURVIEW_MAX_IN_FLIGHT"),
        (["PURVIEW_ENDPOINT": "not a url"], "PURVIEW_ENDPOINT"),
    ])
    func badSettingsNameThemselves(environment: [String: String], setting: String) {
        let error = failure(environment)
        #expect(error?.setting == setting)
        #expect(error.map { "\($0)".hasPrefix(setting + ": ") } == true)
    }

    @Test func outboundBudgetSettings() throws {
        let defaults = try GatewaySettings.load(environment: [:])
        #expect(defaults.purviewRequestsPerSecond == 100)
        #expect(defaults.purviewMaxInFlight == 32)
        let set = try GatewaySettings.load(environment: [
            "GATEWAY_PURVIEW_REQUESTS_PER_SECOND": "2.5", "GATEWAY_PURVIEW_MAX_IN_FLIGHT": "4",
        ])
        #expect(set.purviewRequestsPerSecond == 2.5)
        #expect(set.purviewMaxInFlight == 4)
    }

    @Test func badFlagsNameTheFlag() {
        #expect(failure([:], flags: ["listen": "x"])?.setting == "--listen")
    }

    @Test func sovereignCloudsAndVersions() throws {
        var environment = service
        environment["AZURE_AUTHORITY_HOST"] = "https://login.microsoftonline.us"
        environment["PURVIEW_SCOPE"] = "https://purview.azure.us/.default"
        environment["PURVIEW_API_VERSION"] = "2022-05-01-preview"
        guard case .service(_, let tokens, _, let version) = try GatewaySettings.load(environment: environment).purview else { return }
        #expect(tokens.tokenURL.description == "https://login.microsoftonline.us/t/oauth2/v2.0/token")
        #expect(tokens.scope == "https://purview.azure.us/.default")
        #expect(version == "2022-05-01-preview")
        environment["PURVIEW_API_VERSION"] = "2099-01-01"
        #expect(failure(environment)?.setting == "PURVIEW_API_VERSION")
        environment["PURVIEW_API_VERSION"] = nil
        environment["AZURE_AUTHORITY_HOST"] = "http://insecure"
        #expect(failure(environment)?.setting == "AZURE_AUTHORITY_HOST")
    }
}
