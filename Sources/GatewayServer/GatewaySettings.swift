public import Networking
public import Observability
public import PurviewWorkflow

/// A missing or malformed setting: start-up stops with this one line.
public struct SettingsError: Error, Sendable, CustomStringConvertible {
    /// The variable or flag at fault, e.g. `GATEWAY_LISTEN`.
    public var setting: String
    public var problem: String

    public init(_ setting: String, _ problem: String) {
        self.setting = setting
        self.problem = problem
    }

    public var description: String { "\(setting): \(problem)" }
}

/// `host:port` to listen on.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[v6]:port` or `:port` (all interfaces).
    public static func parse(_ text: String, setting: String) throws(SettingsError) -> ListenAddress {
        let trimmed = text.trimmingWhitespace()
        let host: String
        let portText: Substring
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]"), trimmed[trimmed.index(after: close)...].hasPrefix(":") else {
                throw SettingsError(setting, "expected [ipv6]:port, got '\(text)'")
            }
            host = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
            portText = trimmed[trimmed.index(close, offsetBy: 2)...]
        } else {
            guard let colon = trimmed.lastIndex(of: ":") else { throw SettingsError(setting, "expected host:port, got '\(text)'") }
            let name = String(trimmed[..<colon])
            host = name.isEmpty ? "0.0.0.0" : name
            portText = trimmed[trimmed.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw SettingsError(setting, "port must be a number from 0 to 65535, got '\(portText)'")
        }
        return ListenAddress(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// How the gateway reaches Purview: the real service with Azure credentials, or the embedded emulator.
public enum PurviewTarget: Sendable {
    case embeddedEmulator
    case service(endpoint: HTTPURL, tokenEndpoint: TokenEndpoint, credential: ClientCredential, apiVersion: String)
}

/// Everything `serve` needs, read from the environment with flags taking precedence (ARCHITECTURE.md §6).
public struct GatewaySettings: Sendable {
    public var listen = ListenAddress(host: "127.0.0.1", port: 8080)
    public var databaseURL = "sqlite://./.purview-gateway/gateway.db"
    public var apiKeysFile: String?
    public var tlsCertificate: String?
    public var tlsKey: String?
    public var logLevel: LogLevel = .info
    public var purview: PurviewTarget = .embeddedEmulator
    /// `GATEWAY_WAIT_BUDGET_SECONDS`: how long a submission waits for forwarding by default.
    public var defaultWait: Duration = .seconds(5)
    /// `GATEWAY_FORWARD_LEASE_SECONDS`: how long a send is reserved for one replica; a request left
    /// `submitting` longer than this by a replica that died is reconciled by another (or after restart).
    public var forwardLease: Duration = .seconds(120)
    /// `GATEWAY_POLL_INTERVAL_SECONDS`: how often a non-terminal request's runs are refreshed.
    public var pollInterval: Duration = .seconds(15)
    /// `GATEWAY_RETENTION_DAYS`: finished requests are deleted this many days after their last change.
    public var retentionDays = 90
    /// `GATEWAY_RATE_LIMIT_PER_SECOND` / `GATEWAY_RATE_LIMIT_BURST`: the quota of clients whose keys-file entry
    /// has no `"rateLimit"`; nil (per second 0) means no default quota.
    public var defaultRateLimit: RateLimit? = .standard
    /// `GATEWAY_API_KEYS_POLL_SECONDS`: how often the keys file is checked for a change on disk.
    public var apiKeysPollInterval: Duration = .seconds(5)
    /// `GATEWAY_PURVIEW_REQUESTS_PER_SECOND`: the outbound budget's rate for every call to Purview (for the whole
    /// deployment when the store is PostgreSQL), cut while Purview answers 429.
    public var purviewRequestsPerSecond = 100.0
    /// `GATEWAY_PURVIEW_MAX_IN_FLIGHT`: calls to Purview in flight at once, per replica.
    public var purviewMaxInFlight = 32
    /// `GATEWAY_IMPORT_RATE`: imported rows forwarded per second at most (halved on each 429 from Purview).
    public var importRowsPerSecond: Double = 20

    public init() {}

    /// The names `serve` reads; `--help` prints them.
    public static let variables: [(name: String, meaning: String)] = [
        ("PURVIEW_ENDPOINT", "Purview account endpoint, e.g. https://acct.purview.azure.com (unset: built-in emulator)"),
        ("AZURE_TENANT_ID", "Entra tenant of the gateway's identity"),
        ("AZURE_CLIENT_ID", "client id of the gateway's identity"),
        ("AZURE_CLIENT_SECRET", "client secret (or AZURE_CLIENT_CERTIFICATE_PATH, or AZURE_FEDERATED_TOKEN_FILE)"),
        ("AZURE_CLIENT_CERTIFICATE_PATH", "PEM with the certificate and its private key"),
        ("AZURE_FEDERATED_TOKEN_FILE", "workload identity token file (re-read at every refresh)"),
        ("AZURE_AUTHORITY_HOST", "token authority (default https://login.microsoftonline.com)"),
        ("PURVIEW_SCOPE", "token scope (default https://purview.azure.net/.default)"),
        ("PURVIEW_API_VERSION", "Workflow API version (default 2023-10-01-preview)"),
        ("GATEWAY_LISTEN", "host:port to listen on (default 127.0.0.1:8080)"),
        ("GATEWAY_DATABASE_URL", "sqlite:///path or postgres://... (default sqlite://./.purview-gateway/gateway.db)"),
        ("GATEWAY_API_KEYS_FILE", "JSON file of API clients and their key hashes"),
        ("GATEWAY_TLS_CERT", "PEM certificate chain to serve https (with GATEWAY_TLS_KEY)"),
        ("GATEWAY_TLS_KEY", "PEM private key of GATEWAY_TLS_CERT"),
        ("GATEWAY_WAIT_BUDGET_SECONDS", "default wait for forwarding before answering 202 (default 5, max 30)"),
        ("GATEWAY_FORWARD_LEASE_SECONDS", "how long a send is reserved before another replica may reconcile it (default 120)"),
        ("GATEWAY_POLL_INTERVAL_SECONDS", "how often unfinished requests are refreshed from Purview (default 15)"),
        ("GATEWAY_RETENTION_DAYS", "days finished requests are kept after their last change (default 90)"),
        ("GATEWAY_RATE_LIMIT_PER_SECOND", "default client quota, calls per second (default 50; 0: no default quota)"),
        ("GATEWAY_RATE_LIMIT_BURST", "default client quota, burst (default 100)"),
        ("GATEWAY_API_KEYS_POLL_SECONDS", "how often the keys file is checked for changes (default 5; SIGHUP reloads at once)"),
        ("GATEWAY_IMPORT_RATE", "imported rows forwarded to Purview per second at most (default 20; halved on 429)"),
        ("LOG_LEVEL", "trace, debug, info, notice, warning, error or critical (default info)"),
        ("SSL_CERT_FILE", "extra CA bundle to trust (private CAs, TLS-inspecting proxies)"),
        ("HTTPS_PROXY / NO_PROXY", "proxy for outbound https, and hosts that bypass it"),
        ("GATEWAY_PURVIEW_REQUESTS_PER_SECOND", "outbound budget: calls to Purview per second, whole deployment (default 100)"),
        ("GATEWAY_PURVIEW_MAX_IN_FLIGHT", "outbound budget: calls to Purview at once, per replica (default 32)"),
    ]

    /// Reads `environment`, then applies `flags` (`--listen`, `--database-url`, ...), which win.
    public static func load(environment: [String: String], flags: [String: String] = [:]) throws(SettingsError) -> GatewaySettings {
        var settings = GatewaySettings()
        func value(_ variable: String, flag: String? = nil) -> (String, String)? {
            if let flag, let flagged = flags[flag] { return (flagged, "--\(flag)") }
            guard let text = environment[variable], !text.trimmingWhitespace().isEmpty else { return nil }
            return (text.trimmingWhitespace(), variable)
        }
        if let (text, name) = value("GATEWAY_LISTEN", flag: "listen") {
            settings.listen = try ListenAddress.parse(text, setting: name)
        }
        if let (text, name) = value("GATEWAY_DATABASE_URL", flag: "database-url") {
            guard text.hasPrefix("sqlite:") || text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") else {
                throw SettingsError(name, "expected sqlite:///path or postgres://user@host/db, got '\(text)'")
            }
            settings.databaseURL = text
        }
        settings.apiKeysFile = value("GATEWAY_API_KEYS_FILE", flag: "api-keys-file")?.0
        settings.tlsCertificate = value("GATEWAY_TLS_CERT", flag: "tls-cert")?.0
        settings.tlsKey = value("GATEWAY_TLS_KEY", flag: "tls-key")?.0
        if (settings.tlsCertificate == nil) != (settings.tlsKey == nil) {
            throw SettingsError(settings.tlsCertificate == nil ? "GATEWAY_TLS_CERT" : "GATEWAY_TLS_KEY", "set both GATEWAY_TLS_CERT and GATEWAY_TLS_KEY, or neither")
        }
        if let (text, name) = value("LOG_LEVEL", flag: "log-level") {
            guard let level = LogLevel(parsing: text) else {
                throw SettingsError(name, "expected trace, debug, info, notice, warning, error or critical, got '\(text)'")
            }
            settings.logLevel = level
        }
        if let (text, name) = value("GATEWAY_WAIT_BUDGET_SECONDS") {
            guard let seconds = Double(text), seconds >= 0, seconds <= 30 else {
                throw SettingsError(name, "expected seconds from 0 to 30, got '\(text)'")
            }
            settings.defaultWait = .milliseconds(Int64(seconds * 1000))
        }
        if let (text, name) = value("GATEWAY_FORWARD_LEASE_SECONDS") {
            guard let seconds = Int(text), (1...3600).contains(seconds) else {
                throw SettingsError(name, "expected whole seconds from 1 to 3600, got '\(text)'")
            }
            settings.forwardLease = .seconds(seconds)
        }
        if let (text, name) = value("GATEWAY_POLL_INTERVAL_SECONDS") {
            guard let seconds = Double(text), seconds >= 0.1, seconds <= 3600 else {
                throw SettingsError(name, "expected seconds from 0.1 to 3600, got '\(text)'")
            }
            settings.pollInterval = .milliseconds(Int64(seconds * 1000))
        }
        try loadOperations(into: &settings, value)
        if let (text, name) = value("GATEWAY_PURVIEW_REQUESTS_PER_SECOND") {
            guard let rate = Double(text), rate >= 0.1, rate <= 100_000 else {
                throw SettingsError(name, "expected calls per second from 0.1 to 100000, got '\(text)'")
            }
            settings.purviewRequestsPerSecond = rate
        }
        if let (text, name) = value("GATEWAY_PURVIEW_MAX_IN_FLIGHT") {
            guard let count = Int(text), (1...1024).contains(count) else {
                throw SettingsError(name, "expected a whole number from 1 to 1024, got '\(text)'")
            }
            settings.purviewMaxInFlight = count
        }
        if let (text, name) = value("GATEWAY_IMPORT_RATE") {
            guard let rate = Double(text), rate >= 0.1, rate <= 10_000 else {
                throw SettingsError(name, "expected rows per second from 0.1 to 10000, got '\(text)'")
            }
            settings.importRowsPerSecond = rate
        }
        if let (text, name) = value("PURVIEW_ENDPOINT", flag: "purview-endpoint") {
            guard let endpoint = HTTPURL(text) else { throw SettingsError(name, "expected an https URL such as https://acct.purview.azure.com, got '\(text)'") }
            settings.purview = try service(endpoint: endpoint, environment: environment)
        }
        return settings
    }

    private static func service(endpoint: HTTPURL, environment: [String: String]) throws(SettingsError) -> PurviewTarget {
        func required(_ name: String) throws(SettingsError) -> String {
            guard let text = environment[name]?.trimmingWhitespace(), !text.isEmpty else {
                throw SettingsError(name, "required when PURVIEW_ENDPOINT is set")
            }
            return text
        }
        let tenant = try required("AZURE_TENANT_ID")
        let client = try required("AZURE_CLIENT_ID")
        var authority = TokenEndpoint.publicCloudAuthority
        if let text = environment["AZURE_AUTHORITY_HOST"], !text.isEmpty {
            guard let url = HTTPURL(text), url.scheme == .https else {
                throw SettingsError("AZURE_AUTHORITY_HOST", "expected an https URL, got '\(text)'")
            }
            authority = url
        }
        let scope = environment["PURVIEW_SCOPE"].flatMap { $0.isEmpty ? nil : $0 } ?? TokenEndpoint.purviewScope
        let credential: ClientCredential
        if let secret = environment["AZURE_CLIENT_SECRET"], !secret.isEmpty {
            credential = .secret(secret)
        } else if let path = environment["AZURE_CLIENT_CERTIFICATE_PATH"], !path.isEmpty {
            do {
                credential = try ClientCredential.certificate(pemFile: path)
            } catch {
                throw SettingsError("AZURE_CLIENT_CERTIFICATE_PATH", "\(error)")
            }
        } else if let path = environment["AZURE_FEDERATED_TOKEN_FILE"], !path.isEmpty {
            credential = .federatedTokenFile(path)
        } else {
            throw SettingsError("AZURE_CLIENT_SECRET", "set AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE")
        }
        let apiVersion = environment["PURVIEW_API_VERSION"].flatMap { $0.isEmpty ? nil : $0 } ?? "2023-10-01-preview"
        guard ["2022-05-01-preview", "2023-10-01-preview"].contains(apiVersion) else {
            throw SettingsError("PURVIEW_API_VERSION", "expected 2022-05-01-preview or 2023-10-01-preview, got '\(apiVersion)'")
        }
        return .service(
            endpoint: endpoint, tokenEndpoint: TokenEndpoint(authorityHost: authority, tenantId: tenant, clientId: client, scope: scope),
            credential: credential, apiVersion: apiVersion)
    }
}

extension GatewaySettings {
    /// Retention, quotas and key reloading.
    fileprivate static func loadOperations(
        into settings: inout GatewaySettings, _ value: (String, String?) -> (String, String)?
    ) throws(SettingsError) {
        if let (text, name) = value("GATEWAY_RETENTION_DAYS", nil) {
            guard let days = Int(text), (1...36500).contains(days) else {
                throw SettingsError(name, "expected whole days from 1 to 36500, got '\(text)'")
            }
            settings.retentionDays = days
        }
        var perSecond = RateLimit.standard.perSecond
        var burst = RateLimit.standard.burst
        if let (text, name) = value("GATEWAY_RATE_LIMIT_PER_SECOND", nil) {
            guard let rate = Double(text), rate >= 0, rate <= 1_000_000 else {
                throw SettingsError(name, "expected calls per second from 0 (no default quota) to 1000000, got '\(text)'")
            }
            perSecond = rate
        }
        if let (text, name) = value("GATEWAY_RATE_LIMIT_BURST", nil) {
            guard let calls = Int(text), (1...1_000_000).contains(calls) else {
                throw SettingsError(name, "expected a whole number of calls from 1 to 1000000, got '\(text)'")
            }
            burst = calls
        }
        settings.defaultRateLimit = perSecond == 0 ? nil : RateLimit(perSecond: perSecond, burst: burst)
        if let (text, name) = value("GATEWAY_API_KEYS_POLL_SECONDS", nil) {
            guard let seconds = Double(text), seconds >= 0.1, seconds <= 3600 else {
                throw SettingsError(name, "expected seconds from 0.1 to 3600, got '\(text)'")
            }
            settings.apiKeysPollInterval = .milliseconds(Int64(seconds * 1000))
        }
    }
}
