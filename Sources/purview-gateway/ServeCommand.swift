import Crypto
import Dispatch
import Foundation
import GatewayCore
import GatewayServer
import GatewayStorage
import Networking
import Observability
import PurviewEmulator
import PurviewWorkflow

/// `purview-gateway serve`: wires the store, the Purview client (or the built-in emulator), the API and
/// the background loops, then serves until SIGTERM/SIGINT.
enum ServeCommand {
    static let help = """
        purview-gateway serve: run the gateway.

        Options (each overrides its environment variable):
          --listen HOST:PORT          GATEWAY_LISTEN
          --database-url URL          GATEWAY_DATABASE_URL
          --api-keys-file FILE        GATEWAY_API_KEYS_FILE
          --tls-cert FILE             GATEWAY_TLS_CERT
          --tls-key FILE              GATEWAY_TLS_KEY
          --log-level LEVEL           LOG_LEVEL
          --purview-endpoint URL      PURVIEW_ENDPOINT

        Environment:
        \(GatewaySettings.variables.map { "  \($0.name.padding(toLength: 30, withPad: " ", startingAt: 0))\($0.meaning)" }.joined(separator: "\n"))
        """

    static func run(arguments: [String]) async -> Int32 {
        let flags: ParsedFlags
        do {
            flags = try ParsedFlags.parse(
                arguments, valued: ["listen", "database-url", "api-keys-file", "tls-cert", "tls-key", "log-level", "purview-endpoint"],
                boolean: ["help"])
        } catch {
            printError("purview-gateway serve: \(error)\n\n\(help)")
            return 2
        }
        if flags.switches.contains("help") {
            printOut(help)
            return 0
        }
        let environment = ProcessInfo.processInfo.environment
        let settings: GatewaySettings
        let databaseURL: DatabaseURL
        do {
            settings = try GatewaySettings.load(environment: environment, flags: flags.values)
            databaseURL = try DatabaseURL.parse(settings.databaseURL)
        } catch {
            printError("purview-gateway: \(error)")
            return 2
        }
        let logger = Logger(label: "purview-gateway", level: settings.logLevel, sink: JSONLinesLogSink())
        do {
            return try await serve(settings, databaseURL: databaseURL, environment: environment, logger: logger)
        } catch let error as StartupError {
            printError("purview-gateway: \(error.message)")
            return 1
        } catch {
            printError("purview-gateway: \(error)")
            return 1
        }
    }

    struct StartupError: Error {
        var message: String
    }

    static func serve(_ settings: GatewaySettings, databaseURL: DatabaseURL, environment: [String: String], logger: Logger) async throws -> Int32 {
        let metrics = MetricsRegistry()
        let store: any DurableRequestStore
        do {
            store = try await RequestStores.open(databaseURL)
        } catch {
            throw StartupError(message: "GATEWAY_DATABASE_URL: cannot open the store: \(error)")
        }

        // Purview: the real service, or the built-in emulator on a loopback port.
        var clientConfiguration = HTTPClientConfiguration.fromEnvironment(environment)
        var emulator: EmbeddedEmulator?
        let purviewEndpoint: HTTPURL
        let tokenEndpoint: TokenEndpoint
        let credential: ClientCredential
        var apiVersion = "2023-10-01-preview"
        switch settings.purview {
        case .service(let endpoint, let tokens, let clientCredential, let version):
            purviewEndpoint = endpoint
            tokenEndpoint = tokens
            credential = clientCredential
            apiVersion = version
        case .embeddedEmulator:
            let statePath: String
            if case .sqlite(let path) = databaseURL {
                statePath = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("emulator.db")
            } else {
                statePath = "./.purview-gateway/emulator.db"
            }
            let preferredPort = settings.listen.port == 0 ? 0 : settings.listen.port + 1
            let started = try EmbeddedEmulator.start(preferredPort: preferredPort, statePath: statePath, logger: logger.with("component", "emulator"))
            emulator = started
            purviewEndpoint = started.baseURL
            tokenEndpoint = started.tokenEndpoint
            credential = .secret(started.gatewaySecret)
            clientConfiguration.proxy = .direct
        }
        // One outbound budget for every call to Purview. The client gets a connection for each of its slots (and
        // two for token fetches), so a call holding a slot never queues inside the client.
        let budgetConfiguration = OutboundBudgetConfiguration(
            requestsPerSecond: settings.purviewRequestsPerSecond, maxInFlight: settings.purviewMaxInFlight)
        clientConfiguration.maxConnectionsPerOrigin = budgetConfiguration.maxInFlight + 2
        let budget = OutboundBudget(
            configuration: budgetConfiguration,
            rate: OutboundBudgetSources.rate(for: store, configuration: budgetConfiguration, logger: logger))
        let http = try HTTPClient(configuration: clientConfiguration, logger: logger.with("component", "http-client"))
        let purviewHealth = UpstreamHealth()
        let tokenHealth = UpstreamHealth()
        let tokenCache = TokenCache(
            fetcher: ClientCredentialsFetcher(
                endpoint: tokenEndpoint, credential: credential,
                transport: BudgetedTransport(
                    InstrumentedTransport(http, metrics: metrics, peer: "token", health: tokenHealth), budget: budget, holdsSlot: false)),
            clock: ContinuousClock())
        var purviewConfiguration = PurviewClientConfiguration(endpoint: purviewEndpoint)
        purviewConfiguration.apiVersion = apiVersion
        let purview = PurviewClient(
            configuration: purviewConfiguration,
            transport: BudgetedTransport(InstrumentedTransport(http, metrics: metrics, peer: "purview", health: purviewHealth), budget: budget),
            tokens: tokenCache)

        // API keys: the keys file, or (embedded default only) a development key made now.
        let clients: APIClients
        var developmentKey: String?
        if let path = settings.apiKeysFile {
            do {
                clients = try APIClients.load(path: path)
            } catch {
                throw StartupError(message: "GATEWAY_API_KEYS_FILE: \(error)")
            }
        } else if emulator != nil {
            let key = "dev-" + Hex.encode(SecureRandom.bytes(count: 16))
            developmentKey = key
            clients = APIClients(clients: [
                APIClient(name: "development", keyDigests: [SHA256.hash(Array(key.utf8))], scopes: Set(Scope.allCases))
            ])
        } else {
            throw StartupError(message: "GATEWAY_API_KEYS_FILE: required when PURVIEW_ENDPOINT is set")
        }

        var forwarding = ForwarderConfiguration()
        forwarding.lease = settings.forwardLease
        // As many sends in hand as the budget lets go out at once: more would only wait `queued` for a slot.
        forwarding.concurrency = settings.purviewMaxInFlight
        forwarding.importRowsPerSecond = settings.importRowsPerSecond
        var polling = PollerConfiguration()
        polling.interval = settings.pollInterval
        let service = GatewayService(store: store, purview: purview, forwarder: forwarding, poller: polling, logger: logger, budget: budget)
        let embedded = emulator != nil
        let health = HealthDetails {
            var checks: JSONObject = [:]
            let expiry = tokenCache.tokenExpiry
            var token = tokenHealth.json
            token["status"] = .string(expiry == nil ? "none_yet" : "ok")
            token["fetches"] = .number(Double(tokenCache.fetchCount))
            token["expiresInSeconds"] = expiry.map { .number((ContinuousClock.now.duration(to: $0)).seconds.rounded()) } ?? .null
            checks["token"] = .object(token)
            var purview = purviewHealth.json
            purview["endpoint"] = .string(purviewEndpoint.origin)
            purview["embeddedEmulator"] = .bool(embedded)
            checks["purview"] = .object(purview)
            return checks
        }
        let api = GatewayAPI(
            service: service, clients: clients, logger: logger, metrics: metrics, health: health, defaultWait: settings.defaultWait,
            rateLimiter: ClientRateLimiter(defaultLimit: settings.defaultRateLimit))
        let keysReloader = settings.apiKeysFile.map { APIKeysReloader(path: $0, api: api, logger: logger) }
        ReloadSignal.onHangUp {
            if let keysReloader {
                keysReloader.reload(reason: "SIGHUP")
            } else {
                logger.notice("SIGHUP: no GATEWAY_API_KEYS_FILE to reload")
            }
        }
        var retentionPolicy = RetentionPolicy()
        retentionPolicy.requests = .seconds(settings.retentionDays * 24 * 3600)
        retentionPolicy.idempotencyKeys = service.idempotencyWindow
        let retention = (store as? any RetentionStore).map {
            RetentionSweeper(store: $0, policy: retentionPolicy, logger: logger.with("component", "retention"), metrics: metrics)
        }
        var serverConfiguration = HTTPServerConfiguration()
        serverConfiguration.host = settings.listen.host
        serverConfiguration.port = settings.listen.port
        serverConfiguration.requestIDHeader = "X-Request-Id"
        serverConfiguration.serverName = "purview-gateway"
        if let certificate = settings.tlsCertificate, let key = settings.tlsKey {
            do {
                serverConfiguration.tls = try TLSContext(server: TLSServerConfiguration(certificateChain: .file(certificate), privateKey: .file(key)))
            } catch {
                throw StartupError(message: "GATEWAY_TLS_CERT: \(error)")
            }
        }
        let server = HTTPServer(configuration: serverConfiguration, responder: api.makeRouter().freeze(), errorRenderer: GatewayAPI.errorRenderer)
        do {
            try server.start()
        } catch {
            throw StartupError(message: "GATEWAY_LISTEN: cannot listen on \(settings.listen): \(error)")
        }
        let scheme = serverConfiguration.tls == nil ? "http" : "https"
        let host = settings.listen.host == "0.0.0.0" ? "127.0.0.1" : settings.listen.host
        let url = "\(scheme)://\(host):\(server.port)"
        logger.notice("gateway listening", metadata: ["url": .string(url), "store": .string(databaseURL.description)])
        if let emulator, let developmentKey {
            printOut(EmbeddedEmulator.banner(gatewayURL: url, developmentKey: developmentKey, emulator: emulator))
        } else {
            printOut("purview-gateway listening on \(url)")
        }

        let sampler = MetricsSampler(service: service, metrics: metrics) {
            metrics.gauge("gateway_token_fetches", help: "Token requests made to the identity provider").set(tokenCache.fetchCount)
            metrics.gauge("gateway_purview_budget_in_flight", help: "Calls to Purview holding an outbound budget slot").set(budget.inFlight)
            metrics.gauge("gateway_purview_throttled_answers", help: "429 answers from Purview since start").set(budget.throttledAnswers)
        }
        let webhooks = try WebhookWiring.start(
            store: store, api: api, environment: environment, metrics: metrics, logger: logger)
        let background = Task {
            await withDiscardingTaskGroup { group in
                group.addTask { await service.run() }
                group.addTask { await sampler.run() }
                group.addTask { await webhooks.dispatcher.run() }
                if let keysReloader { group.addTask { await keysReloader.watch(every: settings.apiKeysPollInterval) } }
                if let retention { group.addTask { await retention.run() } }
            }
        }
        let signal = await TerminationSignal.wait()
        logger.notice("shutting down", metadata: ["signal": .string(signal)])
        api.beginShutdown()
        await server.shutdown()
        background.cancel()
        await background.value
        await http.shutdown()
        await webhooks.http.shutdown()
        await emulator?.shutdown()
        await store.close()
        logger.notice("stopped")
        return 0
    }
}

/// Waits for SIGTERM or SIGINT (Kubernetes sends SIGTERM, a terminal SIGINT).
enum TerminationSignal {
    static func wait() async -> String {
        await withCheckedContinuation { continuation in
            let queue = DispatchQueue(label: "signals")
            let resumed = ManagedAtomicFlag()
            var sources: [any DispatchSourceSignal] = []
            for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler {
                    if resumed.set() { continuation.resume(returning: name) }
                }
                source.resume()
                sources.append(source)
            }
            // The sources must outlive this scope: keep them for the process's life.
            SignalSources.keep(sources)
        }
    }
}

import Synchronization

final class ManagedAtomicFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    /// True the first time only.
    func set() -> Bool { flag.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged }
}

enum SignalSources {
    nonisolated(unsafe) private static var kept: [any DispatchSourceSignal] = []
    private static let lock = Mutex(())
    static func keep(_ sources: [any DispatchSourceSignal]) { lock.withLock { _ in kept += sources } }
}

/// SIGHUP: reload the keys file (the conventional "re-read your configuration" signal).
enum ReloadSignal {
    static func onHangUp(_ action: @escaping @Sendable () -> Void) {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "sighup"))
        source.setEventHandler(handler: action)
        source.resume()
        SignalSources.keep([source])
    }
}
