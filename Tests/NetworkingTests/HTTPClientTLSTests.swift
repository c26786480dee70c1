import Foundation
import HTTP
import Testing

@testable import Networking

#if canImport(Glibc)
    import Glibc
#endif

/// Certificates for the client's TLS tests, made once with the `openssl` CLI.
struct HTTPClientTestCertificates: Sendable {
    /// PURVIEW.md §9's command: self-signed RSA, CN=127.0.0.1, SAN IP:127.0.0.1 and DNS:localhost.
    let certificate: String
    let key: String
    /// Self-signed for DNS:wrong.example only.
    let wrongNameCertificate: String
    let wrongNameKey: String

    static let shared: Result<HTTPClientTestCertificates, any Error> = Result { try generate() }

    static func get() throws -> HTTPClientTestCertificates { try shared.get() }

    private static func generate() throws -> HTTPClientTestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "http-client-\(UUID().uuidString)"
        )
        .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func openssl(_ arguments: [String]) throws {
            let result = try tlsRunProcess("/usr/bin/env", ["openssl"] + arguments, timeout: 30)
            guard result.status == 0 else { throw TLSTestFailure("openssl failed: \(result.standardError)") }
        }
        try openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory + "/key.pem", "-out",
            directory + "/cert.pem", "-days", "365", "-subj", "/CN=127.0.0.1", "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            directory + "/wrong.key", "-out", directory + "/wrong.pem", "-days", "2", "-subj", "/CN=wrong.example",
            "-addext", "subjectAltName=DNS:wrong.example",
        ])
        return HTTPClientTestCertificates(
            certificate: directory + "/cert.pem", key: directory + "/key.pem",
            wrongNameCertificate: directory + "/wrong.pem", wrongNameKey: directory + "/wrong.key")
    }

    func serverContext(wrongName: Bool = false) throws -> TLSContext {
        try TLSContext(
            server: TLSServerConfiguration(
                certificateChain: .file(wrongName ? wrongNameCertificate : certificate),
                privateKey: .file(wrongName ? wrongNameKey : key)))
    }
}

/// https through the TLS engine, directly and through a CONNECT proxy.
@Suite(.serialized) struct HTTPClientTLSTests {
    private func configuration(trusting trustStore: TLSTrustStore, proxy: ProxySettings = .direct)
        -> HTTPClientConfiguration
    {
        var configuration = loopbackConfiguration()
        configuration.tls = TLSClientConfiguration(trustStore: trustStore)
        configuration.proxy = proxy
        return configuration
    }

    private func echoServer(
        _ certificates: HTTPClientTestCertificates, wrongName: Bool = false, ioTimeoutSeconds: Int = 2
    ) throws -> ScriptedServer {
        try ScriptedServer(tls: certificates.serverContext(wrongName: wrongName), ioTimeoutSeconds: ioTimeoutSeconds) {
            connection in
            try connection.serve { request in
                try connection.respond(body: "secure \(request.head.target) \(request.head.fields["Host"] ?? "")")
            }
        }
    }

    @Test func httpsWithATrustedCertificateReusesTheConnection() async throws {
        let certificates = try HTTPClientTestCertificates.get()
        // Reuse is what is asserted: under a full parallel test run the client can pause between two requests
        // longer than the server's usual 2 s wait, or a handshake outlast the usual 2 s connect timeout, and a
        // new connection would then be right.
        let server = try echoServer(certificates, ioTimeoutSeconds: 30)
        defer { server.stop() }
        var settings = configuration(trusting: .only(rootFile: certificates.certificate))
        settings.connectTimeout = .seconds(20)
        settings.requestTimeout = .seconds(30)
        try await withHTTPClient(settings) { client in
            for index in 0..<5 {
                let response = try await client.execute(
                    HTTPClientRequest(method: .get, url: server.url("/\(index)", scheme: "https")))
                #expect(response.body == Array("secure /\(index) 127.0.0.1:\(server.port)".utf8))
            }
        }
        #expect(server.snapshot.accepted == 1)
    }

    @Test func sslCertFileFromTheEnvironmentIsTrusted() async throws {
        let certificates = try HTTPClientTestCertificates.get()
        let server = try echoServer(certificates)
        defer { server.stop() }
        let configuration = HTTPClientConfiguration.fromEnvironment(["SSL_CERT_FILE": certificates.certificate])
        let client = try HTTPClient(configuration: configuration)
        let response = try await client.execute(
            HTTPClientRequest(method: .get, url: server.url("/env", scheme: "https", host: "localhost")))
        await client.shutdown()
        #expect(response.body == Array("secure /env localhost:\(server.port)".utf8))
    }

    @Test func untrustedCertificateFailsBeforeSending() async throws {
        let certificates = try HTTPClientTestCertificates.get()
        let received = Shared(0)
        let server = try ScriptedServer(tls: certificates.serverContext()) { connection in
            try connection.serve { _ in received.update { $0 += 1 } }
        }
        defer { server.stop() }
        try await withHTTPClient(configuration(trusting: TLSTrustStore(usesSystemDefaultPaths: false))) { client in
            let error = await expectFailure(
                client, HTTPClientRequest(method: .post, url: server.url("/", scheme: "https"), body: [1]))
            #expect(error?.code == .tlsFailed)
            #expect(error?.requestMayHaveBeenProcessed == false)
            #expect(error?.message.contains("certificate_verify_failed") == true)
        }
        #expect(received.value == 0)
    }

    @Test func hostnameMismatchFails() async throws {
        let certificates = try HTTPClientTestCertificates.get()
        let server = try echoServer(certificates, wrongName: true)
        defer { server.stop() }
        try await withHTTPClient(configuration(trusting: .only(rootFile: certificates.wrongNameCertificate))) {
            client in
            let error = await expectFailure(
                client, HTTPClientRequest(method: .get, url: server.url("/", scheme: "https")))
            #expect(error?.code == .tlsFailed)
            #expect(error?.requestMayHaveBeenProcessed == false)
            #expect(error?.message.contains("hostname_mismatch") == true)
        }
    }

    @Test func serverThatIsNotTLSFailsTheHandshake() async throws {
        let server = try ScriptedServer { connection in
            _ = try connection.receive()
            try connection.send("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            connection.close()
        }
        defer { server.stop() }
        try await withHTTPClient(configuration(trusting: TLSTrustStore(usesSystemDefaultPaths: false))) { client in
            let error = await expectFailure(
                client, HTTPClientRequest(method: .get, url: server.url("/", scheme: "https")))
            #expect(error?.code == .tlsFailed)
            #expect(error?.requestMayHaveBeenProcessed == false)
        }
    }

    /// A CONNECT proxy: records the CONNECT request, then relays bytes to 127.0.0.1 at the requested port.
    private func connectProxy(seen: Shared<[ReceivedRequest]>, status: Int = 200) throws -> ScriptedServer {
        try ScriptedServer { connection in
            guard let request = try connection.readRequest() else { return }
            seen.update { $0.append(request) }
            guard status == 200 else {
                try connection.respond(status: status, headers: [("Proxy-Authenticate", "Basic")], body: "no")
                return
            }
            guard request.head.method == .connect, let colon = request.head.target.lastIndex(of: ":"),
                let port = UInt16(request.head.target[request.head.target.index(after: colon)...])
            else {
                try connection.respond(status: 400, body: "bad")
                return
            }
            let upstream = try TLSTestSocket.connect(port: port)
            try connection.send("HTTP/1.1 200 Connection Established\r\n\r\n")
            relay(connection.rawFD, upstream.fd, seconds: 3)
        }
    }

    @Test func httpsThroughAConnectProxy() async throws {
        let certificates = try HTTPClientTestCertificates.get()
        let server = try echoServer(certificates)
        defer { server.stop() }
        let seen = Shared<[ReceivedRequest]>([])
        let proxy = try connectProxy(seen: seen)
        defer { proxy.stop() }
        let settings = ProxySettings.fromEnvironment([
            "HTTPS_PROXY": "http://svc%2Dgateway:pa%20ss@127.0.0.1:\(proxy.port)", "NO_PROXY": "example.com",
        ])
        try await withHTTPClient(configuration(trusting: .only(rootFile: certificates.certificate), proxy: settings)) {
            client in
            for index in 0..<3 {
                let response = try await client.execute(
                    HTTPClientRequest(method: .get, url: server.url("/t\(index)", scheme: "https", host: "localhost")))
                #expect(response.body == Array("secure /t\(index) localhost:\(server.port)".utf8))
            }
        }
        let requests = seen.value
        #expect(requests.count == 1)  // one tunnel, kept alive for all three requests
        let connect = try #require(requests.first)
        #expect(connect.head.method == .connect)
        #expect(connect.head.target == "localhost:\(server.port)")
        #expect(connect.head.fields["Host"] == "localhost:\(server.port)")
        #expect(
            connect.head.fields["Proxy-Authorization"] == "Basic "
                + Data("svc-gateway:pa ss".utf8).base64EncodedString())
    }

    @Test func proxyThatNeverAnswersConnectTimesOut() async throws {
        let proxy = try ScriptedServer { connection in
            guard try connection.readRequest() != nil else { return }
            _ = connection.waitForClientClose(timeout: 2)
        }
        defer { proxy.stop() }
        var configuration = configuration(
            trusting: TLSTrustStore(usesSystemDefaultPaths: false),
            proxy: ProxySettings(httpsProxy: HTTPProxy(host: "127.0.0.1", port: proxy.port)))
        configuration.connectTimeout = .milliseconds(200)
        try await withHTTPClient(configuration) { client in
            let error = await expectFailure(
                client, HTTPClientRequest(method: .post, url: HTTPURL("https://purview.example.invalid/x")!, body: [1]))
            #expect(error?.code == .connectTimeout)
            #expect(error?.requestMayHaveBeenProcessed == false)
        }
    }

    @Test func proxyRefusingConnectFailsBeforeSending() async throws {
        let seen = Shared<[ReceivedRequest]>([])
        let proxy = try connectProxy(seen: seen, status: 407)
        defer { proxy.stop() }
        let settings = ProxySettings(httpsProxy: HTTPProxy(host: "127.0.0.1", port: proxy.port))
        try await withHTTPClient(configuration(trusting: TLSTrustStore(usesSystemDefaultPaths: false), proxy: settings))
        {
            client in
            let error = await expectFailure(
                client, HTTPClientRequest(method: .post, url: HTTPURL("https://purview.example.invalid/x")!, body: [1]))
            #expect(error?.code == .proxyFailed)
            #expect(error?.requestMayHaveBeenProcessed == false)
            #expect(error?.message.contains("407") == true)
        }
        #expect(seen.value.first?.head.target == "purview.example.invalid:443")
        #expect(seen.value.first?.head.fields["Proxy-Authorization"] == nil)
    }
}

/// Copies bytes both ways between two sockets until either side closes (bounded in time).
func relay(_ a: Int32, _ b: Int32, seconds: TimeInterval) {
    let deadline = Date().addingTimeInterval(seconds)
    var buffer = [UInt8](repeating: 0, count: 16 * 1024)
    while Date() < deadline {
        var pollers = [
            pollfd(fd: a, events: Int16(POLLIN), revents: 0), pollfd(fd: b, events: Int16(POLLIN), revents: 0),
        ]
        guard poll(&pollers, 2, 50) > 0 else { continue }
        for (index, poller) in pollers.enumerated() where poller.revents != 0 {
            let from = index == 0 ? a : b
            let to = index == 0 ? b : a
            let count = recv(from, &buffer, buffer.count, 0)
            guard count > 0 else { return }
            var offset = 0
            while offset < count {
                let sent = buffer[offset..<count].withUnsafeBytes {
                    send(to, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                guard sent > 0 else { return }
                offset += sent
            }
        }
    }
}
