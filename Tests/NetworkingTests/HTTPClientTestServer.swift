import Foundation
import HTTP
import Networking
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A scripted loopback server for client tests: blocking sockets, one thread per connection, a
/// handler per test. It counts connections (total, open now, most open at once) so tests can see
/// pooling from the outside. Optional TLS uses the engine's server side.
final class ScriptedServer: Sendable {
    typealias Handler = @Sendable (ScriptedConnection) throws -> Void

    let port: Int
    private let listenFD: Int32
    private let stopped = Atomic<Bool>(false)
    private let stats = Mutex(Stats())
    private let finished = DispatchSemaphore(value: 0)

    struct Stats: Sendable {
        var accepted = 0
        var open = 0
        var maxOpen = 0
    }

    /// Seconds each blocking call of a connection's handler waits.
    private let ioTimeoutSeconds: Int

    /// `ioTimeoutSeconds` bounds each blocking call of a handler: short, so a handler waiting for a client that
    /// never sends ends soon; longer where a test's client may pause under a loaded machine.
    init(tls: TLSContext? = nil, ioTimeoutSeconds: Int = 2, handler: @escaping Handler) throws {
        self.ioTimeoutSeconds = ioTimeoutSeconds
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TLSTestFailure("socket: \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard ok else {
            close(fd)
            throw TLSTestFailure("bind/listen: \(errno)")
        }
        listenFD = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let context = tls.map(UncheckedBox.init)
        Thread.detachNewThread { [self] in
            acceptLoop(tls: context, handler: handler)
            finished.signal()
        }
    }

    var snapshot: Stats { stats.withLock { $0 } }

    func url(_ path: String = "/", scheme: String = "http", host: String = "127.0.0.1") -> HTTPURL {
        HTTPURL("\(scheme)://\(host):\(port)\(path)")!
    }

    /// Stops accepting (open connections end when their handlers return).
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = finished.wait(timeout: .now() + 5)
        close(listenFD)
    }

    deinit { stop() }

    private func acceptLoop(tls: UncheckedBox<TLSContext>?, handler: @escaping Handler) {
        let giveUp = Date().addingTimeInterval(60)  // bound the thread even if a test forgets stop()
        while !stopped.load(ordering: .acquiring), Date() < giveUp {
            var poller = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 20) == 1 else { continue }
            let client = accept(listenFD, nil, nil)
            guard client >= 0 else { continue }
            stats.withLock { stats in
                stats.accepted += 1
                stats.open += 1
                stats.maxOpen = max(stats.maxOpen, stats.open)
            }
            let connection = ScriptedConnection(
                fd: client, tls: tls?.value, index: snapshot.accepted - 1, ioTimeoutSeconds: ioTimeoutSeconds)
            Thread.detachNewThread { [self] in
                do {
                    try handler(connection)
                } catch {
                    // A handler failing is a test-side event (client went away); the test asserts outcomes.
                }
                connection.close()
                stats.withLock { $0.open -= 1 }
            }
        }
    }
}

struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// A request as the scripted server parsed it.
struct ReceivedRequest: Sendable {
    var head: HTTPRequestHead
    var body: [UInt8]
}

/// One accepted connection, driven by one handler thread with blocking calls (2 s timeouts by default).
final class ScriptedConnection: @unchecked Sendable {
    let index: Int
    private var fd: Int32
    private let tls: TLSConnection?
    private var parser = HTTPRequestParser()

    init(fd: Int32, tls: TLSContext?, index: Int, ioTimeoutSeconds: Int = 2) {
        self.fd = fd
        self.index = index
        self.tls = tls.flatMap { try? TLSConnection(serverContext: $0) }
        var timeout = timeval(tv_sec: ioTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The next complete request, or nil if the client closed the connection first.
    func readRequest() throws -> ReceivedRequest? {
        var head: HTTPRequestHead?
        var body: [UInt8] = []
        for _ in 0..<10_000 {
            while let part = try parser.next() {
                switch part {
                case .head(let value): head = value
                case .body(let bytes): body += bytes
                case .end: return ReceivedRequest(head: head!, body: body)
                }
            }
            let bytes = try receive()
            if bytes.isEmpty {
                if head == nil && parser.isBetweenMessages { return nil }
                throw TLSTestFailure("client closed mid-request")
            }
            parser.append(bytes)
        }
        throw TLSTestFailure("request never completed")
    }

    /// Reads until `count` raw bytes arrived or the client closed (for proxies and odd peers).
    func receive() throws -> [UInt8] {
        guard let tls else { return try receiveRaw() }
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        for _ in 0..<1_000 {
            let result = try buffer.withUnsafeMutableBytes { try tls.readPlaintext(into: $0) }
            try sendRaw(tls.drainCiphertext())
            switch result {
            case .bytes(let count): return Array(buffer[..<count])
            case .closed: return []
            case .wantMore:
                let cipher = try receiveRaw()
                if cipher.isEmpty {
                    tls.feedEndOfInput()
                } else {
                    cipher.withUnsafeBytes { tls.feedCiphertext($0) }
                }
            }
        }
        throw TLSTestFailure("no plaintext")
    }

    func send(_ bytes: [UInt8]) throws {
        guard let tls else { return try sendRaw(bytes) }
        try bytes.withUnsafeBytes { try tls.writePlaintext($0) }
        try sendRaw(tls.drainCiphertext())
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// A complete response with Content-Length.
    func respond(
        status: Int = 200, headers: [(String, String)] = [], body: [UInt8] = [], reason: String = "OK"
    ) throws {
        var text = "HTTP/1.1 \(status) \(reason)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "Content-Length: \(body.count)\r\n\r\n"
        try send(Array(text.utf8) + body)
    }

    func respond(status: Int = 200, headers: [(String, String)] = [], body: String) throws {
        try respond(status: status, headers: headers, body: Array(body.utf8))
    }

    /// Serves requests with `reply` until the client closes (bounded).
    func serve(maxRequests: Int = 10_000, _ reply: (ReceivedRequest) throws -> Void) throws {
        for _ in 0..<maxRequests {
            guard let request = try readRequest() else { return }
            try reply(request)
        }
    }

    /// Waits (bounded) for the client to close; returns true if it did.
    func waitForClientClose(timeout: TimeInterval = 2) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) == 1 else { continue }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { return true }
        }
        return false
    }

    func receiveRaw() throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        let count = recv(fd, &buffer, buffer.count, 0)
        if count < 0 {
            if errno == ECONNRESET { return [] }
            throw TLSTestFailure("recv: \(errno)")
        }
        return Array(buffer[..<count])
    }

    func sendRaw(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { throw TLSTestFailure("send: \(errno)") }
            offset += sent
        }
    }

    /// Closes with an RST instead of a FIN (SO_LINGER 0).
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close()
    }

    func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    var rawFD: Int32 { fd }
}

/// A mutable value shared between a test and its server threads.
final class Shared<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value { storage.withLock { $0 } }
    func update<R: Sendable>(_ body: (inout Value) -> R) -> R { storage.withLock { body(&$0) } }
}

/// Runs `body` with a client that is shut down afterwards (even when the body throws).
func withHTTPClient<R>(
    _ configuration: HTTPClientConfiguration = HTTPClientConfiguration(), _ body: (HTTPClient) async throws -> R
) async throws -> R {
    let client = try HTTPClient(configuration: configuration)
    do {
        let result = try await body(client)
        await client.shutdown()
        return result
    } catch {
        await client.shutdown()
        throw error
    }
}

/// Expects `execute` to fail and returns the error.
func expectFailure(
    _ client: HTTPClient, _ request: HTTPClientRequest, sourceLocation: SourceLocation = #_sourceLocation
) async -> HTTPClientError? {
    do {
        let response = try await client.execute(request)
        Issue.record("expected a failure, got \(response.status)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// A quick configuration for loopback tests: short timeouts so failures stay fast.
func loopbackConfiguration(
    requestTimeout: Duration = .seconds(5), connectTimeout: Duration = .seconds(2), maxConnections: Int = 16,
    maxBody: Int = 1 << 20
) -> HTTPClientConfiguration {
    HTTPClientConfiguration(
        connectTimeout: connectTimeout, requestTimeout: requestTimeout, maxConnectionsPerOrigin: maxConnections,
        maxResponseBodyBytes: maxBody,
        tls: TLSClientConfiguration(trustStore: TLSTrustStore(usesSystemDefaultPaths: false)))
}
