public import HTTP

/// An absolute `http` or `https` URL split into what a client connection needs.
public struct HTTPURL: Hashable, Sendable, CustomStringConvertible {
    public var scheme: Scheme
    /// Host name or IP literal, without brackets for IPv6.
    public var host: String
    public var port: Int
    /// Path and query as sent in the request line (origin-form), percent-encoded; at least "/".
    public var pathAndQuery: String

    public enum Scheme: String, Hashable, Sendable {
        case http, https
        public var defaultPort: Int { self == .http ? 80 : 443 }
    }

    public init?(_ text: String) {
        let lowered = text.lowercased()
        let rest: Substring
        if lowered.hasPrefix("https://") {
            scheme = .https
            rest = text.dropFirst(8)
        } else if lowered.hasPrefix("http://") {
            scheme = .http
            rest = text.dropFirst(7)
        } else {
            return nil
        }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var target = String(rest[authorityEnd...])
        if let fragment = target.firstIndex(of: "#") { target = String(target[..<fragment]) }
        if target.isEmpty || target.hasPrefix("?") { target = "/" + target }
        guard target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        pathAndQuery = target
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let afterBracket = authority[authority.index(after: close)...]
            if afterBracket.isEmpty {
                port = scheme.defaultPort
            } else {
                guard afterBracket.hasPrefix(":"), let value = Int(afterBracket.dropFirst()) else { return nil }
                port = value
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let value = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = value
        } else {
            host = String(authority)
            port = scheme.defaultPort
        }
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
        host = host.lowercased()
    }

    /// `host[:port]` as the Host header spells it (port omitted when it is the scheme's default).
    public var hostHeader: String {
        let literal = host.contains(":") ? "[\(host)]" : host
        return port == scheme.defaultPort ? literal : "\(literal):\(port)"
    }

    /// Scheme, host and port: what a pooled connection can serve.
    public var origin: String { "\(scheme.rawValue)://\(hostHeader)" }

    public var description: String { origin + pathAndQuery }
}

/// A request for the HTTP client. The body is sent with Content-Length.
public struct HTTPClientRequest: Sendable {
    public var method: HTTPMethod
    public var url: HTTPURL
    public var headers: HTTPFields
    public var body: [UInt8]?
    /// Time allowed for the whole exchange after a connection is available; nil uses the client's default.
    public var timeout: Duration?

    public init(method: HTTPMethod, url: HTTPURL, headers: HTTPFields = HTTPFields(), body: [UInt8]? = nil, timeout: Duration? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// A complete response (bodies are read whole, up to the client's limit; gzip is decoded).
public struct HTTPClientResponse: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPFields
    public var body: [UInt8]

    public init(status: HTTPStatus, headers: HTTPFields = HTTPFields(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Why an exchange failed, and whether the server may have seen the request.
///
/// `requestMayHaveBeenProcessed` is what retry logic for non-idempotent calls needs: a connect
/// failure never reached the server, a timeout after the body was written might have.
public struct HTTPClientError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let connectFailed = Code("connect_failed")
        public static let connectTimeout = Code("connect_timeout")
        public static let dnsFailed = Code("dns_failed")
        public static let tlsFailed = Code("tls_failed")
        public static let proxyFailed = Code("proxy_failed")
        public static let requestTimeout = Code("request_timeout")
        public static let connectionClosed = Code("connection_closed")
        public static let malformedResponse = Code("malformed_response")
        public static let responseTooLarge = Code("response_too_large")
        public static let invalidRequest = Code("invalid_request")
        public static let shutdown = Code("client_shutdown")
    }

    public var code: Code
    /// Safe to log: never carries headers or bodies.
    public var message: String
    /// False only when the request certainly never reached the server.
    public var requestMayHaveBeenProcessed: Bool

    public init(code: Code, message: String, requestMayHaveBeenProcessed: Bool) {
        self.code = code
        self.message = message
        self.requestMayHaveBeenProcessed = requestMayHaveBeenProcessed
    }

    /// A bounded label for metrics.
    public var shortDescription: String { code.description }

    public var description: String { "\(code): \(message)" }
}

/// Sends requests and returns responses: the real client, or a fake in tests.
public protocol HTTPClientTransport: Sendable {
    func execute(_ request: HTTPClientRequest) async throws(HTTPClientError) -> HTTPClientResponse
}
