import Dispatch
import HTTP
public import Observability
import Synchronization

/// An HTTP/1.1 client with a keep-alive pool per origin, TLS, proxies and timeouts.
///
/// Connections live on event loops: either a group the client creates (and shuts down) or one it is
/// given. Requests beyond `maxConnectionsPerOrigin` queue; the queue wait counts against the request's
/// timeout. Errors say whether the server may have seen the request (`requestMayHaveBeenProcessed`).
/// Call `shutdown()` when done; it lets requests in flight finish.
public final class HTTPClient: HTTPClientTransport, Sendable {
    public let configuration: HTTPClientConfiguration
    private let pool: HTTPClientPool
    private let ownedGroup: EventLoopGroup?
    private let shutDown = Atomic<Bool>(false)

    /// A client on a caller-provided group (not shut down by the client).
    ///
    /// `logger` gets debug records about connections (opened, failed, stale ones retried); errors
    /// themselves go to the caller.
    public init(
        configuration: HTTPClientConfiguration = HTTPClientConfiguration(), eventLoopGroup: EventLoopGroup,
        logger: Logger? = nil
    ) {
        self.configuration = configuration
        pool = HTTPClientPool(configuration: configuration, loops: eventLoopGroup.loops, logger: logger)
        ownedGroup = nil
    }

    /// A client with its own single event loop, stopped by `shutdown()`.
    public init(configuration: HTTPClientConfiguration = HTTPClientConfiguration(), logger: Logger? = nil)
        throws(IOError)
    {
        let group = try EventLoopGroup(loopCount: 1)
        self.configuration = configuration
        pool = HTTPClientPool(configuration: configuration, loops: group.loops, logger: logger)
        ownedGroup = group
    }

    deinit {
        guard !shutDown.load(ordering: .acquiring) else { return }
        pool.beginShutdown()
        if let group = ownedGroup {
            // Joining the loop threads blocks, and this deinit might run anywhere.
            DispatchQueue.global().async { group.shutdown() }
        }
    }

    /// Sends `request` and returns the whole response (gzip decoded), or why it failed.
    public func execute(_ request: HTTPClientRequest) async throws(HTTPClientError) -> HTTPClientResponse {
        let prepared = try prepare(request)
        if prepared.key.scheme == .https { pool.prepareTLSContext() }
        let timeout = request.timeout ?? configuration.requestTimeout
        let task = HTTPClientRequestTask(
            id: pool.makeRequestID(), prepared: prepared,
            deadline: HTTPClientConnection.deadline(after: timeout), timerLoop: pool.nextLoop(), pool: pool)
        let pool = self.pool
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<HTTPClientRequestTask.Outcome, Never>) in
                if task.setContinuation(continuation) { pool.submit(task) }
            }
        } onCancel: {
            pool.cancel(task)
        }
        return try outcome.get()
    }

    /// Fails queued requests, waits for requests in flight, closes every connection, and stops the
    /// client's own event loop if it has one. Later requests fail with `client_shutdown`.
    public func shutdown() async {
        guard !shutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        await pool.shutdown()
        if let group = ownedGroup {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async {
                    group.shutdown()
                    continuation.resume()
                }
            }
        }
    }

    // MARK: - Preparing requests

    private func prepare(_ request: HTTPClientRequest) throws(HTTPClientError) -> PreparedRequest {
        let url = request.url
        let proxy = configuration.proxy.proxy(for: url)
        let key = PoolKey(scheme: url.scheme, host: url.host, port: url.port, proxy: proxy)
        let absoluteForm = proxy != nil && url.scheme == .http

        var fields = HTTPFields()
        fields.append("Host", url.hostHeader)
        for field in request.headers {
            guard HTTPSerializer.isValid(field) else {
                throw HTTPClientError(
                    code: .invalidRequest,
                    message: "invalid header field \(String(field.name.prefix(64)).debugDescription)",
                    requestMayHaveBeenProcessed: false)
            }
            switch field.name.lowercased() {
            case "host", "content-length", "transfer-encoding":
                continue  // the client frames the request itself
            case "proxy-authorization" where !absoluteForm:
                continue  // never leak proxy credentials to an origin
            default:
                fields.append(field.name, field.value)
            }
        }
        if let userAgent = configuration.userAgent, !fields.contains("User-Agent") {
            fields.append("User-Agent", userAgent)
        }
        if configuration.decompressResponses, !fields.contains("Accept-Encoding") {
            fields.append("Accept-Encoding", "gzip")
        }
        let body = request.body ?? []
        if request.body != nil || [.post, .put, .patch].contains(request.method) {
            fields.append("Content-Length", String(body.count))
        }
        if absoluteForm, let authorization = proxy?.authorization, !fields.contains("Proxy-Authorization") {
            fields.append("Proxy-Authorization", authorization)
        }

        let target = absoluteForm ? url.origin + url.pathAndQuery : url.pathAndQuery
        var head: [UInt8] = []
        head.reserveCapacity(256)
        HTTPSerializer.write(HTTPRequestHead(method: request.method, target: target, fields: fields), into: &head)
        return PreparedRequest(
            method: request.method, key: key, head: head, body: body,
            closesConnection: fields.containsToken("close", in: "Connection"),
            isIdempotent: PreparedRequest.isIdempotent(request.method),
            decompress: configuration.decompressResponses,
            maxResponseBodyBytes: configuration.maxResponseBodyBytes)
    }
}
