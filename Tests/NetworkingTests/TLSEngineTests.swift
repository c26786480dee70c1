import Networking
import Testing

/// A server and a client engine talking to each other through memory, no sockets.
@Suite struct TLSEngineTests {
    @Test(arguments: [TLSVersion.tls13, .tls12])
    func handshakeThenOneMebibyteEachWayThenCloseNotify(version: TLSVersion) throws {
        let certificates = try TLSTestCertificates.get()
        let server = try TLSConnection(serverContext: certificates.serverContext())
        let client = try TLSConnection(
            clientContext: certificates.clientContext(maximumVersion: version, alpn: ["h2", "http/1.1"]),
            serverName: "localhost")

        try tlsHandshake(client: client, server: server)
        #expect(client.isHandshakeComplete && server.isHandshakeComplete)
        #expect(client.protocolVersion == (version == .tls13 ? "TLSv1.3" : "TLSv1.2"))
        #expect(server.protocolVersion == client.protocolVersion)
        let cipher = try #require(client.cipherSuite)
        #expect(server.cipherSuite == cipher)
        if version == .tls12 {
            #expect(cipher.hasPrefix("ECDHE-ECDSA-"), "TLS 1.2 must be ECDHE: \(cipher)")
            #expect(cipher.contains("GCM") || cipher.contains("CHACHA20"), "TLS 1.2 must be AEAD: \(cipher)")
        } else {
            #expect(cipher.hasPrefix("TLS_"))
        }
        #expect(client.alpnProtocol == "http/1.1")
        #expect(server.alpnProtocol == "http/1.1")
        #expect(client.peerCertificateSubject == "CN=localhost")
        #expect(server.peerCertificateSubject == nil)

        var random = TLSTestRandom(state: UInt64(version.rawValue))
        let total = 1 << 20
        let toServer = randomBytes(total, using: &random)
        let toClient = randomBytes(total, using: &random)
        var sentToServer = 0
        var sentToClient = 0
        var serverReceived: [UInt8] = []
        var clientReceived: [UInt8] = []
        for _ in 0..<10_000 where serverReceived.count < total || clientReceived.count < total {
            // Mostly small writes (like HTTP heads), sometimes large ones spanning many records.
            func nextSize() -> Int {
                Bool.random(using: &random)
                    ? Int.random(in: 1...300, using: &random) : Int.random(in: 1...70_000, using: &random)
            }
            let clientChunk = min(nextSize(), total - sentToServer)
            try toServer[sentToServer..<(sentToServer + clientChunk)].withUnsafeBytes { try client.writePlaintext($0) }
            sentToServer += clientChunk
            let serverChunk = min(nextSize(), total - sentToClient)
            try toClient[sentToClient..<(sentToClient + serverChunk)].withUnsafeBytes { try server.writePlaintext($0) }
            sentToClient += serverChunk
            tlsShuttle(client, server)
            #expect(try tlsReadAvailable(server, into: &serverReceived) == .wantMore)
            #expect(try tlsReadAvailable(client, into: &clientReceived) == .wantMore)
        }
        #expect(serverReceived == toServer)
        #expect(clientReceived == toClient)

        client.shutdown()
        tlsShuttle(client, server)
        var trailing: [UInt8] = []
        #expect(try tlsReadAvailable(server, into: &trailing) == .closed)
        #expect(server.receivedCloseNotify)
        #expect(trailing.isEmpty)
        // Reads after close_notify keep saying so.
        #expect(try tlsReadAvailable(server, into: &trailing) == .closed)
        server.shutdown()
        tlsShuttle(client, server)
        #expect(try tlsReadAvailable(client, into: &trailing) == .closed)

        let error = try #require(throws: TLSError.self) { try tlsWrite(client, [1, 2, 3]) }
        #expect(error.code == .connectionClosed)
    }

    @Test func plaintextWrittenBeforeTheHandshakeIsSentAfterIt() throws {
        let certificates = try TLSTestCertificates.get()
        let server = try TLSConnection(serverContext: certificates.serverContext())
        let client = try TLSConnection(clientContext: certificates.clientContext(), serverName: "127.0.0.1")
        let request = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        try tlsWrite(client, request)
        #expect(client.pendingPlaintextCount == request.count)

        // The server never calls handshake(): reading drives it, as an event loop may do.
        #expect(try client.handshake() == .inProgress)
        var received: [UInt8] = []
        for _ in 0..<20 where received.count < request.count {
            tlsShuttle(client, server)
            _ = try tlsReadAvailable(server, into: &received)
            _ = try client.handshake()
        }
        #expect(received == request)
        #expect(client.pendingPlaintextCount == 0)
        #expect(server.isHandshakeComplete)
    }

    @Test func ciphertextCanBeConsumedInPiecesInPlace() throws {
        let certificates = try TLSTestCertificates.get()
        let server = try TLSConnection(serverContext: certificates.serverContext())
        let client = try TLSConnection(clientContext: certificates.clientContext(), serverName: "localhost")
        // Move at most 97 bytes per call, as a socket accepting partial writes would.
        func move(_ from: TLSConnection, _ to: TLSConnection) -> Int {
            var moved = 0
            while from.pendingCiphertextCount > 0 {
                moved += from.withPendingCiphertext { bytes in
                    let taken = min(bytes.count, 97)
                    to.feedCiphertext(UnsafeRawBufferPointer(rebasing: bytes[..<taken]))
                    return taken
                }
            }
            return moved
        }
        var rounds = 0
        while !(client.isHandshakeComplete && server.isHandshakeComplete) && rounds < 20 {
            _ = try client.handshake()
            _ = move(client, server)
            _ = try server.handshake()
            _ = move(server, client)
            rounds += 1
        }
        #expect(client.isHandshakeComplete && server.isHandshakeComplete)

        try tlsWrite(server, Array("hello".utf8))
        // drainCiphertext(into:) with a tiny buffer also hands out everything, in order.
        var small = [UInt8](repeating: 0, count: 5)
        var total = 0
        while server.pendingCiphertextCount > 0 {
            let count = small.withUnsafeMutableBytes { server.drainCiphertext(into: $0) }
            small[..<count].withUnsafeBytes { client.feedCiphertext($0) }
            total += count
        }
        #expect(total > 5)
        var received: [UInt8] = []
        _ = try tlsReadAvailable(client, into: &received)
        #expect(received == Array("hello".utf8))
        #expect(client.withPendingCiphertext { _ in 0 } == 0)
    }

    @Test func endOfStreamWithoutCloseNotifyIsUnexpectedEOF() throws {
        let certificates = try TLSTestCertificates.get()
        let server = try TLSConnection(serverContext: certificates.serverContext())
        let client = try TLSConnection(clientContext: certificates.clientContext(), serverName: "localhost")
        try tlsHandshake(client: client, server: server)
        try tlsWrite(client, Array("partial".utf8))
        tlsShuttle(client, server)
        server.feedEndOfInput()
        var received: [UInt8] = []
        // Data that did arrive is delivered first; the truncation is reported after it.
        let error = try #require(throws: TLSError.self) { try tlsReadAvailable(server, into: &received) }
        #expect(received == Array("partial".utf8))
        #expect(error.code == .unexpectedEOF)
        #expect(error.shortDescription == "unexpected_eof")
    }

    @Test func corruptedRecordIsAProtocolErrorAndSticks() throws {
        let certificates = try TLSTestCertificates.get()
        let server = try TLSConnection(serverContext: certificates.serverContext())
        let client = try TLSConnection(clientContext: certificates.clientContext(), serverName: "localhost")
        try tlsHandshake(client: client, server: server)
        try tlsWrite(client, Array(repeating: 0x41, count: 100))
        var ciphertext = client.drainCiphertext()
        ciphertext[ciphertext.count - 3] ^= 0x01  // inside the AEAD tag
        ciphertext.withUnsafeBytes { server.feedCiphertext($0) }
        var received: [UInt8] = []
        let error = try #require(throws: TLSError.self) { try tlsReadAvailable(server, into: &received) }
        #expect(error.code == .protocolError)
        #expect(error.detail.contains("bad record mac") || error.detail.contains("decryption failed"), "\(error)")
        #expect(received.isEmpty)
        #expect(server.pendingCiphertextCount > 0, "a bad_record_mac alert should be queued for the peer")
        let again = try #require(throws: TLSError.self) { try tlsWrite(server, [1]) }
        #expect(again.code == .protocolError)
        let handshakeAgain = try #require(throws: TLSError.self) { try server.handshake() }
        #expect(handshakeAgain.code == .protocolError)
    }

    @Test func plainHTTPToATLSServerFailsTheHandshake() throws {
        let certificates = try TLSTestCertificates.get()
        let server = try TLSConnection(serverContext: certificates.serverContext())
        Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8).withUnsafeBytes { server.feedCiphertext($0) }
        let error = try #require(throws: TLSError.self) { try server.handshake() }
        #expect(error.code == .handshakeFailed)
        #expect(error.detail.contains("http request"), "\(error)")
    }

    @Test func alpnWithoutOverlapOrWithoutOfferNegotiatesNothing() throws {
        let certificates = try TLSTestCertificates.get()
        for offer in [["h2"], []] {
            let server = try TLSConnection(serverContext: certificates.serverContext())
            let client = try TLSConnection(
                clientContext: certificates.clientContext(alpn: offer), serverName: "localhost")
            try tlsHandshake(client: client, server: server)
            #expect(client.alpnProtocol == nil)
            #expect(server.alpnProtocol == nil)
        }
        // Server preference order wins.
        let server = try TLSConnection(serverContext: certificates.serverContext(alpn: ["h2", "http/1.1"]))
        let client = try TLSConnection(
            clientContext: certificates.clientContext(alpn: ["http/1.1", "h2"]), serverName: "localhost")
        try tlsHandshake(client: client, server: server)
        #expect(client.alpnProtocol == "h2")
    }

    @Test func oneContextServesManyConnectionsFromSeveralThreads() async throws {
        let certificates = try TLSTestCertificates.get()
        let serverContext = try certificates.serverContext()
        let clientContext = try certificates.clientContext()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<4 {
                group.addTask {
                    for _ in 0..<5 {
                        let server = try TLSConnection(serverContext: serverContext)
                        let client = try TLSConnection(clientContext: clientContext, serverName: "localhost")
                        try tlsHandshake(client: client, server: server)
                        try tlsWrite(client, [UInt8(task)])
                        tlsShuttle(client, server)
                        var received: [UInt8] = []
                        _ = try tlsReadAvailable(server, into: &received)
                        #expect(received == [UInt8(task)])
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    private func randomBytes(_ count: Int, using random: inout TLSTestRandom) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 8)
        while bytes.count < count {
            withUnsafeBytes(of: random.next()) { bytes += $0 }
        }
        return Array(bytes[..<count])
    }
}
