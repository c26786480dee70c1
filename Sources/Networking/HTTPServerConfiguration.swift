public import HTTP

/// Everything an `HTTPServer` can be told; the defaults are the production ones.
public struct HTTPServerConfiguration: Sendable {
    /// Numeric address to listen on ("127.0.0.1", "0.0.0.0", "::").
    public var host: String = "127.0.0.1"
    /// 0 picks a free port; read it from `HTTPServer.port` after `start()`.
    public var port: Int = 0
    /// Event loops (threads), one per core by default. Each has its own `SO_REUSEPORT` listener.
    public var loopCount: Int = EventLoopGroup.coreCount
    /// Request size limits: request line (414), fields (431), default body (413).
    public var limits = HTTPParserLimits()
    public var timeouts = Timeouts()
    /// Open connections across all loops. At the limit the server stops accepting and new clients
    /// wait in the kernel's backlog until a connection closes.
    public var maxConnections: Int = 16_384
    /// The listen(2) backlog.
    public var backlog: Int32 = 1024
    /// The `Server` header value; nil sends none.
    public var serverName: String? = nil
    public var compression = Compression()
    /// When set, every request gets an id: the value of this request header when it is sane, else a
    /// generated one; it is echoed in the response and passed to handlers and the error renderer.
    public var requestIDHeader: String? = nil
    /// TLS for every connection when set (HTTPS): a server context, built once from the certificate
    /// chain and key (`TLSContext(server:)`).
    public var tls: TLSContext? = nil

    public init() {}

    public struct Timeouts: Sendable, Hashable {
        /// From a request's first byte (or the accept) until its head is complete.
        public var head: Duration = .seconds(10)
        /// Between body bytes while waiting for the client.
        public var bodyIdle: Duration = .seconds(30)
        /// A kept-alive connection with no request.
        public var keepAliveIdle: Duration = .seconds(75)
        /// Response bytes that cannot be written (client not reading).
        public var writeStall: Duration = .seconds(30)
        /// After a response that left request bytes unread: how long to drain them before closing, so
        /// the client reads the response rather than a reset.
        public var linger: Duration = .seconds(2)
        /// `shutdown()`'s default: in-flight requests get this long before connections are forced closed.
        public var shutdownDeadline: Duration = .seconds(25)

        public init() {}
    }

    /// Response compression.
    public struct Compression: Sendable, Hashable {
        /// Compress when the client accepts gzip and the response qualifies.
        public var enabled = true
        /// Bodies smaller than this are sent as they are.
        public var minimumBytes = 1024
        /// zlib level 1 (fastest) to 9 (smallest).
        public var level: Int32 = 5

        public init() {}
    }
}
