import GatewayCore
import GatewayServer
import GatewayStorage
import Networking
import Observability

/// The webhook dispatcher and its own HTTP client: a budget (connections, timeouts) apart from Purview's.
struct WebhookWiring {
    let dispatcher: WebhookDispatcher
    let http: HTTPClient

    static func start(
        store: any DurableRequestStore, api: GatewayAPI, environment: [String: String], metrics: MetricsRegistry,
        logger: Logger
    ) throws -> WebhookWiring {
        let configuration = WebhookDispatcherConfiguration()
        var clientConfiguration = HTTPClientConfiguration.fromEnvironment(environment)
        clientConfiguration.connectTimeout = .seconds(5)
        clientConfiguration.requestTimeout = configuration.requestTimeout
        clientConfiguration.maxConnectionsPerOrigin = 4
        clientConfiguration.maxResponseBodyBytes = 64 * 1024
        clientConfiguration.userAgent = "purview-gateway-webhooks"
        let http = try HTTPClient(
            configuration: clientConfiguration, logger: logger.with("component", "webhook-client"))
        let dispatcher = WebhookDispatcher(
            outbox: store, transport: http, callbacks: { [api] name in api.callbackSettings(for: name) },
            configuration: configuration, logger: logger.with("component", "webhooks"), metrics: metrics)
        return WebhookWiring(dispatcher: dispatcher, http: http)
    }
}
