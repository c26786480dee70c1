import Dispatch
import Foundation
import HTTP
import Networking
import Testing

/// A blocking raw-socket HTTP client for loopback tests: every call has a timeout, so a server bug
/// fails the test instead of hanging it. Used by one thread at a time (hence the unchecked Sendable).
final class TestClient: @unchecked Sendable {
    let fd: Int32
    private var parser = HTTPResponseParser()
    /// When set, everything is sent and received through this client-side TLS session.
    private let tls: TLSConnection?

    struct Response {
        var status: Int
        var headers: HTTPFields
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The default timeout is long because other suites in this process may block Swift's cooperative
    /// pool for seconds (synchronous certificate generation), delaying the server's async handlers.
    init(port: Int, receiveTimeout: Duration = .seconds(15), tls tlsContext: TLSContext? = nil) throws {
        tls = try tlsContext.map { try TLSConnection(clientContext: $0, serverName: "127.0.0.1") }
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw Failure(description: "connect: errno \(code)")
        }
        setReceiveTimeout(receiveTimeout)
        if let tls {
            for _ in 0..<50 {
                let state = try tls.handshake()
                try sendRaw(tls.drainCiphertext())
                if state == .complete { return }
                let bytes = try receiveRaw()
                guard !bytes.isEmpty else { throw Failure(description: "closed during the TLS handshake") }
                bytes.withUnsafeBytes { tls.feedCiphertext($0) }
            }
            throw Failure(description: "TLS handshake did not finish")
        }
    }

    deinit { close(fd) }

    func setReceiveTimeout(_ timeout: Duration) {
        let (seconds, attoseconds) = timeout.components
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        guard let tls else { return try sendRaw(bytes) }
        try bytes.withUnsafeBytes { try tls.writePlaintext($0) }
        try sendRaw(tls.drainCiphertext())
    }

    private func sendRaw(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { throw Failure(description: "send: errno \(errno)") }
            offset += written
        }
    }

    /// Reads one response; `method` says how to frame it (HEAD has no body).
    func readResponse(to method: HTTPMethod = .get) throws -> Response {
        parser.expectResponse(to: method)
        var head: HTTPResponseHead?
        var body: [UInt8] = []
        var sawEOF = false
        // Bounded: each round either consumes a part or receives bytes (recv has a timeout).
        for _ in 0..<1_000_000 {
            let part: HTTPResponsePart?
            do {
                part = sawEOF ? try parser.finish() : try parser.next()
            } catch {
                throw Failure(description: "bad response: \(error)")
            }
            switch part {
            case .head(let parsed)?:
                head = parsed
            case .body(let bytes)?:
                body.append(contentsOf: bytes)
            case .end?:
                guard let head else { throw Failure(description: "end without head") }
                return Response(status: head.status.code, headers: head.fields, body: body)
            case nil:
                if sawEOF { throw Failure(description: "connection closed before a complete response") }
                let bytes = try receive()
                if bytes.isEmpty { sawEOF = true } else { parser.append(bytes) }
            }
        }
        throw Failure(description: "response never ended")
    }

    /// The next bytes (plaintext under TLS); empty at EOF. Throws on timeout or error.
    func receive(max: Int = 65536) throws -> [UInt8] {
        guard let tls else { return try receiveRaw(max: max) }
        var buffer = [UInt8](repeating: 0, count: max)
        var sawEOF = false
        for _ in 0..<10_000 {
            let result: TLSReadResult
            do {
                result = try buffer.withUnsafeMutableBytes { try tls.readPlaintext(into: $0) }
            } catch {
                // An EOF without close_notify still ends the stream for these tests.
                if sawEOF { return [] }
                throw error
            }
            try? sendRaw(tls.drainCiphertext())
            switch result {
            case .bytes(let count): return Array(buffer[0..<count])
            case .closed: return []
            case .wantMore: if sawEOF { return [] }
            }
            let raw = try receiveRaw(max: max)
            if raw.isEmpty {
                sawEOF = true
                tls.feedEndOfInput()
            } else {
                raw.withUnsafeBytes { tls.feedCiphertext($0) }
            }
        }
        throw Failure(description: "no plaintext arrived")
    }

    private func receiveRaw(max: Int = 65536) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count < 0 {
            let code = errno
            if code == ECONNRESET { return [] }
            throw Failure(description: code == EAGAIN ? "receive timed out" : "recv: errno \(code)")
        }
        return Array(buffer[0..<count])
    }

    /// True when the server closes the connection within `timeout` (bytes received meanwhile are dropped).
    func waitForClose(timeout: Duration) -> Bool {
        setReceiveTimeout(timeout)
        let start = ContinuousClock.now
        while ContinuousClock.now - start < timeout + .milliseconds(200) {
            guard let bytes = try? receive() else { return false }
            if bytes.isEmpty { return true }
        }
        return false
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Makes the close in `deinit` send a reset instead of a FIN.
    func resetOnClose() {
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
    }
}

/// Runs blocking client code on a thread of its own: not on Swift's cooperative pool, which the
/// server's async handlers need, and not on Dispatch's global queues, which that pool is built on here.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.start()
    }
}

/// The tests' server configuration: port 0, two loops, then whatever `configure` changes.
func testConfiguration(_ configure: (inout HTTPServerConfiguration) -> Void = { _ in }) -> HTTPServerConfiguration {
    var configuration = HTTPServerConfiguration()
    configuration.loopCount = 2
    configure(&configuration)
    return configuration
}

/// Starts a server on 127.0.0.1:0, runs `body` with its port off the cooperative pool, then shuts down.
func withServer(
    _ configuration: HTTPServerConfiguration = testConfiguration(),
    responder: some HTTPResponder,
    errorRenderer: @escaping HTTPErrorRenderer = plainTextErrorRenderer,
    _ body: @escaping @Sendable (HTTPServer) throws -> Void
) async throws {
    let server = HTTPServer(configuration: configuration, responder: responder, errorRenderer: errorRenderer)
    try server.start()
    do {
        try await blocking { try body(server) }
    } catch {
        await server.shutdown(deadline: .seconds(1))
        throw error
    }
    await server.shutdown(deadline: .seconds(1))
}

func text(_ status: HTTPStatus = .ok, _ body: String, contentType: String = "text/plain") -> ServerResponse {
    ServerResponse(status: status, contentType: contentType, body: Array(body.utf8))
}
