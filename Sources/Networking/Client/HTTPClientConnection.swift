import CLinuxShim
import Glibc
import HTTP
import Observability

/// One client connection on one event loop: resolve, connect, tunnel, TLS, then request/response
/// exchanges one at a time until it closes.
///
/// Every method except `init` runs on `loop` (the pool hands work over with `loop.execute`); that is
/// what makes the unchecked Sendable sound. The pool is told exactly one of: established or failed
/// (once), then per lease released or closed; a close the pool itself ordered is not reported back.
final class HTTPClientConnection: EventLoopSelectable, TimerTarget, @unchecked Sendable {
    let id: ClientPoolStateMachine.ConnectionID
    let key: PoolKey
    let loop: EventLoop
    private let pool: HTTPClientPool

    private enum Phase {
        case created
        case resolving
        case connecting
        case proxyHandshake
        case tlsHandshake
        case idle
        case active
        case closed
    }

    /// The request in flight and what is known about how far it got.
    private struct Exchange {
        let task: HTTPClientRequestTask
        /// The connection had served a response before: the server may have closed it while it idled.
        let reused: Bool
        var collector: ResponseCollector
        var bytesWritten = 0
        var requestFullyWritten = false
        var responseStarted = false
    }

    // Loop-thread state.
    var timerHeapIndex = -1
    private var phase = Phase.created
    private var fd: Int32 = -1
    private var registered = false
    private var wantsWritable = false
    private var candidates: [SocketAddress] = []
    private var lastConnectError: IOError?
    private var tls: TLSConnection?
    private var parser = HTTPResponseParser()
    /// Plaintext waiting for the socket (unused with TLS, whose engine buffers ciphertext itself).
    private var outbound: [[UInt8]] = []
    private var outboundOffset = 0
    private var exchange: Exchange?
    private var responsesCompleted = 0

    init(id: ClientPoolStateMachine.ConnectionID, key: PoolKey, loop: EventLoop, pool: HTTPClientPool) {
        self.id = id
        self.key = key
        self.loop = loop
        self.pool = pool
    }

    private var configuration: HTTPClientConfiguration { pool.configuration }

    /// Safe to log: origin and proxy address, never credentials.
    var logMetadata: [String: LogValue] {
        var metadata: [String: LogValue] = [
            "origin": "\(key.scheme.rawValue)://\(key.authority)", "connection": "\(id)",
        ]
        if let proxy = key.proxy { metadata["proxy"] = "\(proxy.authority)" }
        return metadata
    }

    // MARK: - Establishing

    func start() {
        loop.assertInEventLoop()
        guard phase == .created else { return }
        loop.scheduleTimer(self, at: Self.deadline(after: configuration.connectTimeout))
        let host = key.proxy?.host ?? key.host
        let port = key.proxy?.port ?? key.port
        if let address = SocketAddress(host: host, port: port) {
            candidates = [address]
            connectNextCandidate()
            return
        }
        phase = .resolving
        DNSResolver.resolve(host: host, port: port) { [self] result in
            loop.execute { self.resolved(result) }
        }
    }

    private func resolved(_ result: Result<[SocketAddress], DNSResolver.Failure>) {
        guard phase == .resolving else { return }  // timed out or closed meanwhile
        switch result {
        case .success(let addresses):
            candidates = addresses
            connectNextCandidate()
        case .failure(let failure):
            failEstablishment(.dnsFailed, failure.message)
        }
    }

    /// Tries the remaining addresses in order until one connects or starts connecting.
    private func connectNextCandidate() {
        while !candidates.isEmpty {
            let address = candidates.removeFirst()
            do throws(IOError) {
                fd = try Syscall.socket(domain: address.family)
                try? Syscall.setOption(fd, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1)
                switch try ClientSocket.connect(fd, to: address) {
                case .processed:
                    try watch(writable: false)
                    connected()
                case .wouldBlock:
                    phase = .connecting
                    try watch(writable: true)
                }
                return
            } catch {
                lastConnectError = error
                closeSocket()
            }
        }
        let target = key.proxy.map { "proxy \($0.authority)" } ?? key.authority
        failEstablishment(
            .connectFailed,
            "cannot connect to \(target): \(lastConnectError.map(String.init(describing:)) ?? "no address")")
    }

    private func connectFinished() {
        let code = ClientSocket.pendingError(fd)
        guard code == 0 else {
            lastConnectError = IOError(errnoCode: code, call: "connect")
            closeSocket()
            connectNextCandidate()
            return
        }
        do throws(IOError) {
            try watch(writable: false)
        } catch {
            failEstablishment(.connectFailed, "cannot watch the socket: \(error)")
            return
        }
        connected()
    }

    private func connected() {
        candidates = []
        if let proxy = key.proxy, key.scheme == .https {
            sendConnect(through: proxy)
        } else if key.scheme == .https {
            startTLS()
        } else {
            established()
        }
    }

    private func sendConnect(through proxy: HTTPProxy) {
        phase = .proxyHandshake
        var fields = HTTPFields()
        fields.append("Host", key.authority)
        if let authorization = proxy.authorization { fields.append("Proxy-Authorization", authorization) }
        if let userAgent = configuration.userAgent { fields.append("User-Agent", userAgent) }
        var head: [UInt8] = []
        HTTPSerializer.write(HTTPRequestHead(method: .connect, target: key.authority, fields: fields), into: &head)
        parser = HTTPResponseParser()
        parser.expectResponse(to: .connect)
        outbound = [head]
        outboundOffset = 0
        flushOutbound()
    }

    private func proxyBytesArrived() {
        do throws(HTTPParseError) {
            while let part = try parser.next() {
                switch part {
                case .head(let head):
                    guard (200..<300).contains(head.status.code) else {
                        let hint = head.status.code == 407 ? " (proxy authentication required)" : ""
                        failEstablishment(
                            .proxyFailed, "the proxy refused CONNECT \(key.authority): \(head.status.code)\(hint)")
                        return
                    }
                case .body:
                    continue
                case .end:
                    guard parser.bufferedByteCount == 0 else {
                        failEstablishment(.proxyFailed, "the proxy sent data before the TLS handshake")
                        return
                    }
                    parser = HTTPResponseParser()
                    startTLS()
                    return
                }
            }
        } catch {
            failEstablishment(.proxyFailed, "malformed CONNECT response from the proxy: \(error.message)")
        }
    }

    private func startTLS() {
        phase = .tlsHandshake
        guard let contextResult = pool.existingTLSContext else {
            failEstablishment(.tlsFailed, "no TLS context was prepared")
            return
        }
        do throws(TLSError) {
            tls = try TLSConnection(clientContext: contextResult.get(), serverName: key.host)
        } catch {
            failEstablishment(.tlsFailed, "TLS setup failed: \(error.shortDescription): \(error.detail)")
            return
        }
        driveHandshake()
    }

    private func driveHandshake() {
        guard let tls else { return }
        let state: TLSHandshakeState
        do throws(TLSError) {
            state = try tls.handshake()
        } catch {
            _ = flushTLS()  // a fatal alert for the server may be queued
            failEstablishment(
                .tlsFailed, "TLS handshake with \(key.host) failed: \(error.shortDescription): \(error.detail)")
            return
        }
        guard flushTLS() else { return }
        if state == .complete { established() }
    }

    private func established() {
        loop.cancelTimer(self)
        phase = .idle
        pool.connectionEstablished(self)
    }

    private func failEstablishment(_ code: HTTPClientError.Code, _ message: String) {
        guard phase != .closed else { return }
        closeSocket()
        phase = .closed
        loop.cancelTimer(self)
        pool.connectionFailed(
            self, error: HTTPClientError(code: code, message: message, requestMayHaveBeenProcessed: false))
    }

    // MARK: - Exchanges

    /// Runs `task` (leased by the pool) on this connection.
    func execute(_ task: HTTPClientRequestTask) {
        guard phase == .idle else {
            // Closed between the lease and now (the pool already knows): nothing was sent, start over.
            pool.submit(task)
            return
        }
        loop.cancelTimer(self)
        guard task.attach(to: self) else {
            // Cancelled (or completed) while the lease was on its way: nothing was sent.
            task.finish(.failure(HTTPClientRequestTask.cancellationError(processed: false)))
            pool.connectionReleased(self)
            return
        }
        guard Syscall.monotonicNanoseconds() < task.deadline else {
            task.detach()
            task.finish(
                .failure(
                    HTTPClientError(
                        code: .requestTimeout, message: "timed out waiting for a connection",
                        requestMayHaveBeenProcessed: false)))
            pool.connectionReleased(self)
            return
        }
        let prepared = task.prepared
        phase = .active
        exchange = Exchange(
            task: task, reused: responsesCompleted > 0,
            collector: ResponseCollector(maxBodyBytes: prepared.maxResponseBodyBytes, decompress: prepared.decompress))
        parser.expectResponse(to: prepared.method)
        parser.setBodyLimit(prepared.maxResponseBodyBytes)
        loop.scheduleTimer(self, at: task.deadline)
        if let tls {
            do throws(TLSError) {
                try Self.writePlaintext(prepared.head, to: tls)
                try Self.writePlaintext(prepared.body, to: tls)
            } catch {
                _ = flushTLS()
                failExchange(.tlsFailed, "TLS write failed: \(error.shortDescription)", staleRetry: false)
                return
            }
            if flushTLS() { requestWritten() }
        } else {
            outbound = prepared.body.isEmpty ? [prepared.head] : [prepared.head, prepared.body]
            outboundOffset = 0
            flushOutbound()
        }
    }

    private func requestWritten() {
        guard phase == .active else { return }
        exchange?.requestFullyWritten = true
    }

    private func responseBytesArrived() {
        guard var current = exchange else { return }
        current.responseStarted = true
        exchange = current
        let method = current.task.prepared.method
        do throws(HTTPParseError) {
            while phase == .active, let part = try parser.next() {
                switch part {
                case .head(let head):
                    collect { collector throws(ResponseCollector.Failure) in
                        try collector.receive(head: head, method: method)
                    }
                case .body(let bytes):
                    collect { collector throws(ResponseCollector.Failure) in try collector.receive(body: bytes) }
                case .end:
                    completeExchange()
                    return
                }
            }
        } catch {
            if error.status == .contentTooLarge {
                failExchange(
                    .responseTooLarge, "the response body passed the limit of \(current.collector.maxBodyBytes) bytes",
                    staleRetry: false)
            } else {
                failExchange(.malformedResponse, "malformed response: \(error.message)", staleRetry: false)
            }
        }
    }

    /// Applies `body` to the collector; a collector failure ends the exchange (then `phase` is closed).
    private func collect(_ body: (inout ResponseCollector) throws(ResponseCollector.Failure) -> Void) {
        guard var current = exchange else { return }
        do throws(ResponseCollector.Failure) {
            try body(&current.collector)
            exchange = current
        } catch {
            exchange = current
            switch error {
            case .tooLarge(let message): failExchange(.responseTooLarge, message, staleRetry: false)
            case .malformed(let message): failExchange(.malformedResponse, message, staleRetry: false)
            }
        }
    }

    private func completeExchange() {
        guard var current = exchange else { return }
        exchange = nil
        let response: HTTPClientResponse
        do throws(ResponseCollector.Failure) {
            response = try current.collector.finish()
        } catch {
            exchange = current
            if case .malformed(let message) = error { failExchange(.malformedResponse, message, staleRetry: false) }
            return
        }
        loop.cancelTimer(self)
        responsesCompleted += 1
        let task = current.task
        task.detach()
        let keepAlive =
            current.requestFullyWritten && !task.prepared.closesConnection
            && Self.keepsAlive(current.collector.head) && parser.bufferedByteCount == 0
            && !(tls?.receivedCloseNotify ?? false)
        // The pool hears first, so a caller that sends its next request at once finds this connection idle.
        if keepAlive {
            phase = .idle
            pool.connectionReleased(self)
        } else {
            closeAndReport()
        }
        task.finish(.success(response))
    }

    private static func keepsAlive(_ head: HTTPResponseHead?) -> Bool {
        guard let head else { return false }
        if head.fields.containsToken("close", in: "Connection") { return false }
        if head.version == .http1_1 { return true }
        return head.fields.containsToken("keep-alive", in: "Connection")
    }

    /// Ends the exchange with an error and closes the connection.
    ///
    /// With `staleRetry`, a reused connection that died before any response byte is treated as one
    /// the server closed while it idled: the request goes back to the pool for a new connection when
    /// nothing was sent, or once for idempotent methods when it was.
    private func failExchange(_ code: HTTPClientError.Code, _ message: String, staleRetry: Bool) {
        guard let current = exchange else { return }
        exchange = nil
        closeAndReport()
        let task = current.task
        task.detach()
        let sent = current.bytesWritten > 0
        if staleRetry, current.reused, !current.responseStarted, !task.isCancelled,
            !sent || task.prepared.isIdempotent, task.recordStaleRetry(bytesWereSent: sent)
        {
            pool.submit(task, requiresNewConnection: true)
            return
        }
        task.finish(.failure(HTTPClientError(code: code, message: message, requestMayHaveBeenProcessed: sent)))
    }

    /// The caller's task was cancelled while it ran here.
    func cancel(_ task: HTTPClientRequestTask) {
        guard phase == .active, let current = exchange, current.task === task else { return }
        exchange = nil
        closeAndReport()
        task.detach()
        task.finish(.failure(HTTPClientRequestTask.cancellationError(processed: current.bytesWritten > 0)))
    }

    // MARK: - Idle

    func armIdleTimer() {
        guard phase == .idle else { return }
        loop.scheduleTimer(self, at: Self.deadline(after: configuration.idleTimeout))
    }

    /// The pool closes a connection it has forgotten (idle timeout, shutdown, making room).
    func closeForPool() {
        guard phase != .closed else { return }
        if phase == .idle, let tls {
            tls.shutdown()
            _ = flushTLS()
        }
        closeSocket()
        phase = .closed
        loop.cancelTimer(self)
    }

    // MARK: - Events

    func handleEvents(_ events: UInt32) {
        let writable = events & (EPOLLOUT.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0
        let readable = events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0
        if phase == .connecting {
            if writable { connectFinished() }
            return
        }
        if writable, wantsWritable { flushPending() }
        if readable, phase != .closed { readFromSocket() }
    }

    func timerFired(now: UInt64) {
        switch phase {
        case .created, .resolving, .connecting, .proxyHandshake, .tlsHandshake:
            let target = key.proxy.map { "\(key.authority) via proxy \($0.authority)" } ?? key.authority
            failEstablishment(
                .connectTimeout, "connecting to \(target) took longer than \(configuration.connectTimeout)")
        case .active:
            failExchange(.requestTimeout, "no complete response within the request timeout", staleRetry: false)
        case .idle:
            pool.idleTimeoutFired(self)
        case .closed:
            break
        }
    }

    private func readFromSocket() {
        // Bounded so one busy connection cannot starve the loop; level-triggered epoll calls again.
        for _ in 0..<16 {
            guard phase != .closed, fd >= 0 else { return }
            let result: IOResult<Int>
            do throws(IOError) {
                result = try Syscall.read(fd, into: loop.readBuffer)
            } catch {
                endOfInput(reason: "connection reset: \(error)")
                return
            }
            switch result {
            case .wouldBlock:
                return
            case .processed(0):
                endOfInput(reason: "the server closed the connection")
                return
            case .processed(let count):
                bytesArrived(UnsafeRawBufferPointer(rebasing: loop.readBuffer[..<count]))
            }
        }
    }

    private func bytesArrived(_ bytes: UnsafeRawBufferPointer) {
        guard let tls else {
            switch phase {
            case .proxyHandshake:
                parser.append(bytes)
                proxyBytesArrived()
            case .active:
                parser.append(bytes)
                responseBytesArrived()
            case .idle:
                unexpectedIdleInput()
            case .created, .resolving, .connecting, .tlsHandshake, .closed:
                break
            }
            return
        }
        tls.feedCiphertext(bytes)
        switch phase {
        case .tlsHandshake:
            driveHandshake()
        case .active, .idle:
            decryptAvailable(tls)
        case .created, .resolving, .connecting, .proxyHandshake, .closed:
            break
        }
    }

    /// Moves decrypted bytes into the parser (active) or treats them as a server hang-up (idle).
    private func decryptAvailable(_ tls: TLSConnection) {
        withUnsafeTemporaryAllocation(byteCount: 16 * 1024, alignment: 1) { buffer in
            while phase == .active || phase == .idle {
                let result: TLSReadResult
                do throws(TLSError) {
                    result = try tls.readPlaintext(into: buffer)
                } catch {
                    _ = flushTLS()
                    if phase == .idle {
                        closeAndReport()
                    } else {
                        failExchange(
                            .connectionClosed, "TLS error while reading: \(error.shortDescription)", staleRetry: true)
                    }
                    return
                }
                _ = flushTLS()
                guard phase != .closed else { return }
                switch result {
                case .bytes(let count):
                    if phase == .idle {
                        unexpectedIdleInput()
                        return
                    }
                    parser.append(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                    responseBytesArrived()
                case .wantMore:
                    return
                case .closed:
                    endOfInput(reason: "the server closed the TLS session")
                    return
                }
            }
        }
    }

    /// Bytes while no request is in flight: the server is closing (or misbehaving). Either way the
    /// connection can no longer be trusted for the next response.
    private func unexpectedIdleInput() {
        closeAndReport()
    }

    private func endOfInput(reason: String) {
        switch phase {
        case .proxyHandshake:
            failEstablishment(.proxyFailed, "the proxy closed the connection during CONNECT")
        case .tlsHandshake:
            tls?.feedEndOfInput()
            driveHandshake()
            failEstablishment(.tlsFailed, "the server closed the connection during the TLS handshake")
        case .idle:
            closeAndReport()
        case .active:
            finishActiveAtEndOfInput(reason: reason)
        case .created, .resolving, .connecting, .closed:
            break
        }
    }

    private func finishActiveAtEndOfInput(reason: String) {
        if let tls, !tls.receivedCloseNotify {
            // Drain what the server sent before its FIN; a missing close_notify is tolerated (many
            // servers skip it), the HTTP framing decides whether the response is complete.
            tls.feedEndOfInput()
            withUnsafeTemporaryAllocation(byteCount: 16 * 1024, alignment: 1) { buffer in
                for _ in 0..<1024 {
                    guard phase == .active,
                        case .bytes(let count)? = try? tls.readPlaintext(into: buffer)
                    else { return }
                    parser.append(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                    responseBytesArrived()
                }
            }
        }
        guard phase == .active, let current = exchange else { return }
        do throws(HTTPParseError) {
            while phase == .active, let part = try parser.finish() {
                switch part {
                case .body(let bytes):
                    collect { collector throws(ResponseCollector.Failure) in try collector.receive(body: bytes) }
                case .end:
                    completeExchange()
                    return
                case .head:
                    break
                }
            }
        } catch {
            failExchange(.connectionClosed, "\(reason) in the middle of the response", staleRetry: false)
            return
        }
        guard phase == .active else { return }
        if current.responseStarted {
            failExchange(.connectionClosed, "\(reason) in the middle of the response", staleRetry: false)
        } else {
            failExchange(.connectionClosed, "\(reason) before responding", staleRetry: true)
        }
    }

    // MARK: - Writing

    private func flushPending() {
        if tls != nil {
            if flushTLS(), phase == .active { requestWritten() }
        } else {
            flushOutbound()
        }
    }

    /// Writes queued plaintext; on completion moves the phase on.
    private func flushOutbound() {
        while !outbound.isEmpty {
            let result: IOResult<Int>
            do throws(IOError) {
                result = try writeOutbound()
            } catch {
                writeFailed(error)
                return
            }
            switch result {
            case .wouldBlock:
                setWritableInterest(true)
                return
            case .processed(let count):
                consumeOutbound(count)
                if phase == .active { exchange?.bytesWritten += count }
            }
        }
        setWritableInterest(false)
        if phase == .active { requestWritten() }
    }

    /// One gathered write of the head's rest and the body (what `writev` does, via `sendmsg`).
    private func writeOutbound() throws(IOError) -> IOResult<Int> {
        let first = outbound[0]
        let offset = outboundOffset
        let fd = self.fd
        let result: Result<IOResult<Int>, IOError>
        if outbound.count >= 2 {
            let second = outbound[1]
            result = first.withUnsafeBytes { head in
                second.withUnsafeBytes { body in
                    Result { () throws(IOError) in
                        try ClientSocket.send(fd, [UnsafeRawBufferPointer(rebasing: head[offset...]), body])
                    }
                }
            }
        } else {
            result = first.withUnsafeBytes { bytes in
                Result { () throws(IOError) in
                    try ClientSocket.send(fd, UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                }
            }
        }
        return try result.get()
    }

    private static func writePlaintext(_ bytes: [UInt8], to tls: TLSConnection) throws(TLSError) {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(TLSError) in try tls.writePlaintext(raw) } }
        try result.get()
    }

    private func consumeOutbound(_ count: Int) {
        var remaining = count
        while remaining > 0, !outbound.isEmpty {
            let available = outbound[0].count - outboundOffset
            if remaining >= available {
                remaining -= available
                outbound.removeFirst()
                outboundOffset = 0
            } else {
                outboundOffset += remaining
                remaining = 0
            }
        }
    }

    /// Writes pending TLS ciphertext; returns true once none is left. A failure ends the connection.
    private func flushTLS() -> Bool {
        guard let tls, fd >= 0 else { return false }
        while tls.pendingCiphertextCount > 0 {
            var blocked = false
            do throws(IOError) {
                let written = try tls.withPendingCiphertext { bytes throws(IOError) -> Int in
                    switch try ClientSocket.send(fd, bytes) {
                    case .processed(let count): return count
                    case .wouldBlock:
                        blocked = true
                        return 0
                    }
                }
                if phase == .active { exchange?.bytesWritten += written }
            } catch {
                writeFailed(error)
                return false
            }
            if blocked {
                setWritableInterest(true)
                return false
            }
        }
        setWritableInterest(false)
        return true
    }

    private func writeFailed(_ error: IOError) {
        switch phase {
        case .proxyHandshake:
            failEstablishment(.proxyFailed, "cannot write to the proxy: \(error)")
        case .tlsHandshake:
            failEstablishment(.tlsFailed, "cannot write the TLS handshake: \(error)")
        case .active:
            failExchange(.connectionClosed, "cannot write the request: \(error)", staleRetry: true)
        case .idle:
            closeAndReport()
        case .created, .resolving, .connecting, .closed:
            closeSocket()
        }
    }

    // MARK: - Socket plumbing

    private func watch(writable: Bool) throws(IOError) {
        let events = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | (writable ? EPOLLOUT.rawValue : 0)
        if registered {
            try loop.modify(fd, events: events)
        } else {
            try loop.register(fd, events: events, handler: self)
            registered = true
        }
        wantsWritable = writable
    }

    private func setWritableInterest(_ writable: Bool) {
        guard fd >= 0, wantsWritable != writable else { return }
        do throws(IOError) {
            try watch(writable: writable)
        } catch {
            writeFailed(error)
        }
    }

    /// Closes the socket and tells the pool (for closes the pool did not order).
    private func closeAndReport() {
        guard phase != .closed else { return }
        closeSocket()
        phase = .closed
        loop.cancelTimer(self)
        pool.connectionClosed(self)
    }

    private func closeSocket() {
        guard fd >= 0 else { return }
        if registered { loop.deregister(fd) }
        registered = false
        wantsWritable = false
        Syscall.close(fd)
        fd = -1
    }

    static func deadline(after duration: Duration) -> UInt64 {
        Syscall.monotonicNanoseconds() &+ nanoseconds(duration)
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? UInt64.max / 2 : whole &+ UInt64(max(0, attoseconds / 1_000_000_000))
    }
}
