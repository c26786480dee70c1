/// How an `HTTPClient` connects, pools and limits.
public struct HTTPClientConfiguration: Sendable {
    /// DNS, TCP connect, proxy CONNECT and TLS handshake together, per connection.
    public var connectTimeout: Duration
    /// Default for requests without their own `timeout`: waiting for a connection, writing and reading.
    public var requestTimeout: Duration
    /// Open connections per origin (scheme, host, port and proxy); more requests queue.
    public var maxConnectionsPerOrigin: Int
    /// A pooled connection unused this long is closed.
    public var idleTimeout: Duration
    /// Largest response body accepted, before and after gzip decoding; larger fails with `response_too_large`.
    public var maxResponseBodyBytes: Int
    /// Trust store and TLS versions for https.
    public var tls: TLSClientConfiguration
    /// Proxies; `ProxySettings.fromEnvironment(_:)` reads the usual variables.
    public var proxy: ProxySettings
    /// Sent as `User-Agent` unless the request has one; nil sends none.
    public var userAgent: String?
    /// Send `Accept-Encoding: gzip` (unless the request sets the field) and decode gzip responses.
    public var decompressResponses: Bool

    public init(
        connectTimeout: Duration = .seconds(10),
        requestTimeout: Duration = .seconds(60),
        maxConnectionsPerOrigin: Int = 16,
        idleTimeout: Duration = .seconds(60),
        maxResponseBodyBytes: Int = 64 * 1024 * 1024,
        tls: TLSClientConfiguration = TLSClientConfiguration(),
        proxy: ProxySettings = .direct,
        userAgent: String? = "purview-gateway",
        decompressResponses: Bool = true
    ) {
        precondition(maxConnectionsPerOrigin > 0, "maxConnectionsPerOrigin must be at least 1")
        precondition(maxResponseBodyBytes >= 0, "maxResponseBodyBytes must not be negative")
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.maxConnectionsPerOrigin = maxConnectionsPerOrigin
        self.idleTimeout = idleTimeout
        self.maxResponseBodyBytes = maxResponseBodyBytes
        self.tls = tls
        self.proxy = proxy
        self.userAgent = userAgent
        self.decompressResponses = decompressResponses
    }

    /// Defaults with proxies and extra trusted roots (`SSL_CERT_FILE`, `SSL_CERT_DIR`) from `environment`.
    public static func fromEnvironment(_ environment: [String: String]) -> HTTPClientConfiguration {
        HTTPClientConfiguration(
            tls: TLSClientConfiguration(trustStore: .default(environment: environment)),
            proxy: .fromEnvironment(environment))
    }
}
