import Foundation
import Networking
import Testing

/// Our engine against OpenSSL's own `s_server` / `s_client` over loopback TCP.
@Suite(.serialized) struct TLSInteropTests {
    @Test(arguments: [TLSVersion.tls13, .tls12])
    func ourClientTalksToOpenSSLServerWithAClientCertificate(version: TLSVersion) throws {
        let certificates = try TLSTestCertificates.get()
        // -Verify 1 makes s_server demand a client certificate; -rev echoes each line reversed.
        let peer = try OpenSSLPeer([
            "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-rev",
            "-cert", certificates.leafCertificate, "-key", certificates.leafKey,
            "-Verify", "1", "-CAfile", certificates.caCertificate, "-verify_return_error",
            "-alpn", "http/1.1", version == .tls12 ? "-tls1_2" : "-tls1_3",
        ])
        let banner = try peer.waitForOutput(containing: "ACCEPT")
        let portText = try #require(
            banner.split(separator: "\n").first { $0.hasPrefix("ACCEPT") }?.split(separator: ":").last)
        let port = try #require(UInt16(portText.trimmingCharacters(in: .whitespaces)))

        let context = try TLSContext(
            client: TLSClientConfiguration(
                trustStore: .only(rootFile: certificates.caCertificate),
                certificateChain: .file(certificates.clientCertificate), privateKey: .file(certificates.clientKey),
                alpnProtocols: ["http/1.1"]))
        let connection = try TLSConnection(clientContext: context, serverName: "localhost")
        let socket = try TLSTestSocket.connect(port: port)
        try tlsHandshake(connection, over: socket)
        #expect(connection.protocolVersion == (version == .tls13 ? "TLSv1.3" : "TLSv1.2"))
        #expect(connection.alpnProtocol == "http/1.1")
        #expect(connection.peerCertificateSubject == "CN=localhost")

        try tlsWrite(connection, Array("hello purview\n".utf8))
        try socket.sendAll(connection.drainCiphertext())
        let reply = try tlsReadPlaintext(connection, over: socket) { $0.contains(UInt8(ascii: "\n")) }
        #expect(String(decoding: reply.bytes, as: UTF8.self).contains("weivrup olleh"))

        connection.shutdown()
        try socket.sendAll(connection.drainCiphertext())
        _ = consume socket
        #expect(peer.waitForExit() == 0)
    }

    @Test(arguments: [TLSVersion.tls13, .tls12])
    func ourServerServesOpenSSLClient(version: TLSVersion) throws {
        let certificates = try TLSTestCertificates.get()
        let listener = try TLSTestListener()
        let peer = try OpenSSLPeer([
            "s_client", "-connect", "127.0.0.1:\(listener.port)", "-servername", "localhost",
            "-CAfile", certificates.caCertificate, "-verify_return_error", "-verify_hostname", "localhost",
            "-alpn", "http/1.1", "-quiet", version == .tls12 ? "-tls1_2" : "-tls1_3",
        ])
        let socket = try listener.accept()
        let connection = try TLSConnection(serverContext: certificates.serverContext())
        try tlsHandshake(connection, over: socket)
        #expect(connection.protocolVersion == (version == .tls13 ? "TLSv1.3" : "TLSv1.2"))
        #expect(connection.alpnProtocol == "http/1.1")
        #expect(connection.peerCertificateSubject == nil)
        if version == .tls12 { #expect(connection.cipherSuite?.hasPrefix("ECDHE-") == true) }

        peer.input.fileHandleForWriting.write(Data("ping\n".utf8))
        let request = try tlsReadPlaintext(connection, over: socket) { $0.contains(UInt8(ascii: "\n")) }
        #expect(request.bytes == Array("ping\n".utf8))

        try tlsWrite(connection, Array("pong\n".utf8))
        connection.shutdown()
        try socket.sendAll(connection.drainCiphertext())
        let output = try peer.waitForOutput(containing: "pong")
        #expect(output.contains("pong"))
        // s_client answers our close_notify with its own, then exits.
        let closing = try tlsReadPlaintext(connection, over: socket) { _ in false }
        #expect(closing.closed)
        _ = consume socket
        try? peer.input.fileHandleForWriting.close()
        #expect(peer.waitForExit() == 0)
    }

    /// TLS 1.1 is refused by our server itself: the client is forced to security level 0 so that
    /// it really sends a TLS 1.1 ClientHello instead of refusing locally.
    @Test func ourServerRejectsTLS11Clients() throws {
        let certificates = try TLSTestCertificates.get()
        let listener = try TLSTestListener()
        let peer = try OpenSSLPeer([
            "s_client", "-connect", "127.0.0.1:\(listener.port)", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0",
        ])
        let socket = try listener.accept()
        let connection = try TLSConnection(serverContext: certificates.serverContext())
        let error = try #require(throws: TLSError.self) {
            do {
                try tlsHandshake(connection, over: socket)
            } catch let error as TLSError {
                try? socket.sendAll(connection.drainCiphertext())  // the protocol_version alert
                throw error
            }
        }
        #expect(error.code == .unsupportedProtocol)
        #expect(error.shortDescription == "unsupported_protocol")
        #expect(!connection.isHandshakeComplete)
        _ = consume socket
        try? peer.input.fileHandleForWriting.close()
        #expect(peer.waitForExit() != 0)
    }

    /// The claim `TLSTrustStore` documents: OpenSSL's default verify paths (what `s_client` uses
    /// without `-CAfile`, and what `usesSystemDefaultPaths` loads) honour `SSL_CERT_FILE`.
    @Test func opensslDefaultVerifyPathsHonourSSLCertFile() throws {
        let certificates = try TLSTestCertificates.get()
        let server = try OpenSSLPeer([
            "s_server", "-accept", "127.0.0.1:0", "-naccept", "2", "-rev",
            "-cert", certificates.leafCertificate, "-key", certificates.leafKey,
        ])
        let banner = try server.waitForOutput(containing: "ACCEPT")
        let port = try #require(
            banner.split(separator: "\n").first { $0.hasPrefix("ACCEPT") }?.split(separator: ":").last)
        func connect(certFile: String) throws -> TLSProcessResult {
            var environment = ProcessInfo.processInfo.environment
            environment["SSL_CERT_FILE"] = certFile
            environment["SSL_CERT_DIR"] = "/nonexistent"
            return try tlsRunProcess(
                "/usr/bin/env",
                [
                    "openssl", "s_client", "-connect", "127.0.0.1:\(port)", "-verify_return_error",
                    "-verify_hostname", "localhost", "-brief",
                ],
                environment: environment, timeout: 10)
        }
        let trusted = try connect(certFile: certificates.caCertificate)
        #expect(trusted.status == 0, "\(trusted.standardError)")
        #expect(trusted.standardError.contains("Verification: OK"))
        let untrusted = try connect(certFile: certificates.selfSignedCertificate)
        #expect(untrusted.status != 0)
        #expect(untrusted.standardError.contains("certificate verify failed"))
        #expect(server.waitForExit() == 0)
    }
}
