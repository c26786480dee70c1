import Foundation
import HTTP
import Networking
import Testing

/// HTTPS: the same server with a TLS context, on loopback, with certificates made by `openssl req`.
@Suite(.serialized) struct ServerTLSTests {
    static func router() -> Router.Responder {
        let router = Router()
        router.add(.get, "/hello", HTTPHandler.immediate { _ in text(.ok, "hello over tls") })
        router.add(.post, "/echo") { request in
            ServerResponse(
                status: .ok, contentType: "application/octet-stream",
                body: try await request.body.collect(upTo: 4 << 20))
        }
        router.add(.get, "/stream") { _ in
            ServerResponse(
                status: .ok, headers: HTTPFields([("Content-Type", "application/octet-stream")]),
                body: .stream { writer in
                    for index in 0..<64 { try await writer.write([UInt8](repeating: UInt8(index), count: 16 * 1024)) }
                })
        }
        return router.freeze()
    }

    /// Which of the test certificates the server presents.
    enum Certificate {
        /// Signed by the test root CA.
        case leaf
        /// Self-signed (`openssl req -x509`).
        case selfSigned
    }

    private func withTLSServer(
        certificate: Certificate = .leaf,
        _ body: @escaping @Sendable (HTTPServer, TLSTestCertificates) throws -> Void
    ) async throws {
        // Generated once per process by running `openssl req`: wait for it on a thread of our own.
        let certificates = try await blocking { try TLSTestCertificates.get() }
        let (certificatePath, keyPath) =
            certificate == .leaf
            ? (certificates.leafCertificate, certificates.leafKey)
            : (certificates.selfSignedCertificate, certificates.selfSignedKey)
        let context = try certificates.serverContext(certificate: certificatePath, key: keyPath)
        try await withServer(testConfiguration { $0.tls = context }, responder: Self.router()) { server in
            try body(server, certificates)
        }
    }

    @Test func keepAlivePipeliningAndBodiesOverTLS() async throws {
        try await withTLSServer { server, certificates in
            let client = try TestClient(port: server.port, tls: try certificates.clientContext())
            try client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().text == "hello over tls")
            let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
            try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: \(payload.count)\r\n\r\n")
            try client.send(payload)
            #expect(try client.readResponse().body == payload)
            try client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\nGET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().text == "hello over tls")
            let streamed = try client.readResponse()
            #expect(streamed.body.count == 64 * 16 * 1024)
            #expect(streamed.body.last == 63)
        }
    }

    /// A client reset is seen on a read, which consumes the socket error; the close_notify sent after it then
    /// meets EPIPE. That must be an error, not a SIGPIPE killing the process.
    @Test func clientResetsDoNotKillTheServer() async throws {
        try await withTLSServer { server, certificates in
            for _ in 0..<3 {
                let client = try TestClient(port: server.port, tls: try certificates.clientContext())
                try client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(try client.readResponse().text == "hello over tls")
                client.resetOnClose()
            }
            // Time for the server to see the resets, then proof it is still there.
            Thread.sleep(forTimeInterval: 0.2)
            let client = try TestClient(port: server.port, tls: try certificates.clientContext())
            try client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().text == "hello over tls")
        }
    }

    @Test func plainHTTPOnTheTLSPortIsDropped() async throws {
        try await withTLSServer { server, _ in
            let client = try TestClient(port: server.port)
            try client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            var received: [UInt8] = []
            while let bytes = try? client.receive(), !bytes.isEmpty { received += bytes }
            // At most a TLS alert record (content type 21), never an HTTP response.
            #expect(!String(decoding: received, as: UTF8.self).contains("HTTP/1.1"))
            #expect(received.isEmpty || received.first == 21)
        }
    }

    @Test func curlTrustsTheSelfSignedCertificate() async throws {
        try await withTLSServer(certificate: .selfSigned) { server, certificates in
            let result = try tlsRunProcess(
                "/usr/bin/env",
                [
                    "curl", "--silent", "--show-error", "--max-time", "10", "--http1.1", "--cacert",
                    certificates.selfSignedCertificate, "https://127.0.0.1:\(server.port)/hello",
                    "https://127.0.0.1:\(server.port)/hello",
                ], timeout: 20)
            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardOutput == "hello over tlshello over tls")
        }
    }
}
