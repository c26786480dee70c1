import Foundation
import Networking
import Testing

/// Peer verification, trust stores and configuration errors, with certificates made by `openssl`.
@Suite struct TLSCertificateTests {
    /// Handshakes a fresh pair; returns the client's error (nil on success) after delivering any
    /// alert to the server.
    private func attempt(
        server serverContext: TLSContext, client clientContext: TLSContext, serverName: String
    ) throws -> (client: TLSError?, server: TLSConnection, clientConnection: TLSConnection) {
        let server = try TLSConnection(serverContext: serverContext)
        let client = try TLSConnection(clientContext: clientContext, serverName: serverName)
        do {
            try tlsHandshake(client: client, server: server)
            return (nil, server, client)
        } catch {
            tlsShuttle(client, server)  // deliver the client's alert
            return (error, server, client)
        }
    }

    @Test(arguments: ["localhost", "127.0.0.1", "::1", "[::1]", "LOCALHOST"])
    func trustedRootAcceptsTheLeafByNameAndAddress(serverName: String) throws {
        let certificates = try TLSTestCertificates.get()
        let outcome = try attempt(
            server: certificates.serverContext(), client: certificates.clientContext(), serverName: serverName)
        #expect(outcome.client == nil)
        #expect(outcome.clientConnection.isHandshakeComplete)
    }

    @Test(arguments: ["example.com", "127.0.0.2", "::2", "sub.localhost"])
    func wrongNameOrAddressIsAHostnameMismatch(serverName: String) throws {
        let certificates = try TLSTestCertificates.get()
        let outcome = try attempt(
            server: certificates.serverContext(), client: certificates.clientContext(), serverName: serverName)
        let error = try #require(outcome.client)
        #expect(error.code == .hostnameMismatch)
        #expect(error.shortDescription == "hostname_mismatch")
        #expect(error.detail.contains("mismatch"), "\(error)")
        // The server learns of it through the client's alert.
        let serverError = try #require(throws: TLSError.self) { try outcome.server.handshake() }
        #expect(serverError.code == .handshakeFailed)
        #expect(!outcome.clientConnection.isHandshakeComplete)
    }

    @Test func untrustedSelfSignedCertificateFailsVerification() throws {
        let certificates = try TLSTestCertificates.get()
        let server = try certificates.serverContext(
            certificate: certificates.selfSignedCertificate, key: certificates.selfSignedKey)
        let outcome = try attempt(server: server, client: certificates.clientContext(), serverName: "127.0.0.1")
        let error = try #require(outcome.client)
        #expect(error.code == .certificateVerifyFailed)
        #expect(error.shortDescription == "certificate_verify_failed")
        #expect(error.detail.contains("self-signed") || error.detail.contains("self signed"), "\(error)")
    }

    @Test func expiredCertificateFailsAsExpired() throws {
        let certificates = try TLSTestCertificates.get()
        let server = try certificates.serverContext(
            certificate: certificates.expiredCertificate, key: certificates.expiredKey)
        let outcome = try attempt(server: server, client: certificates.clientContext(), serverName: "localhost")
        let error = try #require(outcome.client)
        #expect(error.code == .certificateExpired)
        #expect(error.detail.contains("expired"), "\(error)")
    }

    @Test func unsafeSkipVerificationAcceptsAnything() throws {
        let certificates = try TLSTestCertificates.get()
        let server = try certificates.serverContext(
            certificate: certificates.selfSignedCertificate, key: certificates.selfSignedKey)
        let client = try TLSContext(
            client: TLSClientConfiguration(
                trustStore: TLSTrustStore(usesSystemDefaultPaths: false), unsafeSkipCertificateVerification: true))
        let outcome = try attempt(server: server, client: client, serverName: "not-the-name.example")
        #expect(outcome.client == nil)
        #expect(outcome.clientConnection.peerCertificateSubject == "CN=127.0.0.1")
    }

    @Test func intermediatesFromTheChainFileAreSent() throws {
        let certificates = try TLSTestCertificates.get()
        let withChain = try certificates.serverContext(
            certificate: certificates.chainedLeafChain, key: certificates.chainedLeafKey)
        let good = try attempt(server: withChain, client: certificates.clientContext(), serverName: "localhost")
        #expect(good.client == nil)
        #expect(good.clientConnection.peerCertificateSubject == "CN=chained.localhost")

        // Without the intermediate the client cannot build a path to the root it trusts.
        let leafOnly = try certificates.serverContext(
            certificate: certificates.chainedLeafAlone, key: certificates.chainedLeafKey)
        let bad = try attempt(server: leafOnly, client: certificates.clientContext(), serverName: "localhost")
        #expect(bad.client?.code == .certificateVerifyFailed)
    }

    @Test func serverAndTrustStoreAcceptPEMText() throws {
        let certificates = try TLSTestCertificates.get()
        let server = try TLSContext(
            server: TLSServerConfiguration(
                certificateChain: .string(String(contentsOfFile: certificates.chainedLeafChain, encoding: .utf8)),
                privateKey: .string(String(contentsOfFile: certificates.chainedLeafKey, encoding: .utf8))))
        let client = try TLSContext(
            client: TLSClientConfiguration(
                trustStore: TLSTrustStore(
                    usesSystemDefaultPaths: false,
                    additionalRootsPEM: [String(contentsOfFile: certificates.caCertificate, encoding: .utf8)])))
        let outcome = try attempt(server: server, client: client, serverName: "localhost")
        #expect(outcome.client == nil)
    }

    // MARK: Trust store from the environment

    @Test func sslCertFileInTheEnvironmentIsTrusted() throws {
        let certificates = try TLSTestCertificates.get()
        let trusting = try TLSContext(
            client: TLSClientConfiguration(
                trustStore: .default(environment: ["SSL_CERT_FILE": certificates.caCertificate])))
        #expect(
            try attempt(server: certificates.serverContext(), client: trusting, serverName: "localhost").client == nil)

        // The same defaults without the variable: the system roots do not know our private CA.
        let plain = try TLSContext(client: TLSClientConfiguration(trustStore: .default(environment: [:])))
        let failed = try attempt(server: certificates.serverContext(), client: plain, serverName: "localhost")
        #expect(failed.client?.code == .certificateVerifyFailed)
    }

    @Test func sslCertDirInTheEnvironmentIsTrusted() throws {
        let certificates = try TLSTestCertificates.get()
        let directory = certificates.directory + "/hashed-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: certificates.caCertificate, toPath: directory + "/root.pem")
        let rehash = try tlsRunProcess("/usr/bin/env", ["openssl", "rehash", directory], timeout: 30)
        #expect(rehash.status == 0, "\(rehash.standardError)")

        let context = try TLSContext(
            client: TLSClientConfiguration(
                trustStore: .default(environment: ["SSL_CERT_DIR": "/nonexistent-dir:" + directory])))
        #expect(
            try attempt(server: certificates.serverContext(), client: context, serverName: "localhost").client == nil)
    }

    @Test func unreadableSSLCertFileIsAConfigurationError() throws {
        let error = try #require(throws: TLSError.self) {
            try TLSContext(
                client: TLSClientConfiguration(
                    trustStore: .default(environment: ["SSL_CERT_FILE": "/nonexistent/roots.pem"])))
        }
        #expect(error.code == .invalidConfiguration)
        #expect(error.detail.contains("/nonexistent/roots.pem"))
    }

    // MARK: Configuration errors

    @Test func badServerConfigurationsAreRejectedWithReasons() throws {
        let certificates = try TLSTestCertificates.get()
        let cases: [(TLSServerConfiguration, String)] = [
            (
                TLSServerConfiguration(
                    certificateChain: .file(certificates.leafCertificate), privateKey: .file(certificates.selfSignedKey)
                ),
                "does not match"
            ),
            (
                TLSServerConfiguration(
                    certificateChain: .file(certificates.directory + "/missing.pem"),
                    privateKey: .file(certificates.leafKey)),
                "missing.pem"
            ),
            (
                TLSServerConfiguration(
                    certificateChain: .string("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"),
                    privateKey: .file(certificates.leafKey)),
                "no valid PEM certificate"
            ),
            (
                TLSServerConfiguration(
                    certificateChain: .file(certificates.leafCertificate), privateKey: .string("secret-not-a-key")),
                "PEM text"
            ),
            (
                TLSServerConfiguration(
                    certificateChain: .file(certificates.leafCertificate), privateKey: .file(certificates.leafKey),
                    minimumVersion: .tls13, maximumVersion: .tls12),
                "minimum TLS version"
            ),
            (
                TLSServerConfiguration(
                    certificateChain: .file(certificates.leafCertificate), privateKey: .file(certificates.leafKey),
                    alpnProtocols: [String(repeating: "x", count: 256)]),
                "ALPN"
            ),
        ]
        for (configuration, expected) in cases {
            let error = try #require(throws: TLSError.self) { try TLSContext(server: configuration) }
            #expect(error.code == .invalidConfiguration)
            #expect(error.detail.contains(expected), "\(error)")
            #expect(!error.detail.contains("secret-not-a-key"), "PEM text must never be echoed")
        }
    }

    @Test func clientCertificateNeedsBothHalves() throws {
        let certificates = try TLSTestCertificates.get()
        let error = try #require(throws: TLSError.self) {
            try TLSContext(client: TLSClientConfiguration(certificateChain: .file(certificates.clientCertificate)))
        }
        #expect(error.code == .invalidConfiguration)
        let nameError = try #require(throws: TLSError.self) {
            try TLSConnection(clientContext: certificates.clientContext(), serverName: "")
        }
        #expect(nameError.code == .invalidConfiguration)
    }

    @Test func aFailureDoesNotLeakIntoTheNextConnectionOnTheSameThread() throws {
        let certificates = try TLSTestCertificates.get()
        let client = try certificates.clientContext()
        let bad = try attempt(server: certificates.serverContext(), client: client, serverName: "wrong.example")
        #expect(bad.client?.code == .hostnameMismatch)
        let good = try attempt(server: certificates.serverContext(), client: client, serverName: "localhost")
        #expect(good.client == nil)
        try tlsWrite(good.clientConnection, [42])
        tlsShuttle(good.clientConnection, good.server)
        var received: [UInt8] = []
        #expect(try tlsReadAvailable(good.server, into: &received) == .wantMore)
        #expect(received == [42])
    }
}
