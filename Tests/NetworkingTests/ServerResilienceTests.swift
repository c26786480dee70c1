import Foundation
import HTTP
import Networking
import Synchronization
import Testing

/// Timeouts, connection limits, backpressure and graceful shutdown, with short timeouts.
@Suite(.serialized) struct ServerResilienceTests {
    static func router() -> Router.Responder {
        let router = Router()
        router.add(.get, "/hello", HTTPHandler.immediate { _ in text(.ok, "hello") })
        router.add(.post, "/echo") { request in
            ServerResponse(status: .ok, contentType: "text/plain", body: try await request.body.collect(upTo: 1 << 20))
        }
        router.add(.get, "/sleep/{ms}") { request in
            let milliseconds = Int(request.pathParameters["ms"] ?? "0") ?? 0
            try await Task.sleep(for: .milliseconds(milliseconds))
            return text(.ok, "slept \(milliseconds)")
        }
        return router.freeze()
    }

    @Test func slowlorisIsCutAtTheHeadTimeoutWhileOthersAreServed() async throws {
        try await withServer(testConfiguration { $0.timeouts.head = .seconds(1) }, responder: Self.router()) { server in
            let slow = try TestClient(port: server.port)
            slow.setReceiveTimeout(.milliseconds(150))
            let request = Array("GET /hello HTTP/1.1\r\nHost: slow\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n".utf8)
            let start = ContinuousClock.now
            var cutAfter: Duration?
            var answer: [UInt8] = []
            var servedMeanwhile = false
            for byte in request {
                guard (try? slow.send([byte])) != nil else {
                    cutAfter = ContinuousClock.now - start
                    break
                }
                if let received = try? slow.receive() {
                    answer = received
                    cutAfter = ContinuousClock.now - start
                    break
                }
                if !servedMeanwhile, ContinuousClock.now - start > .milliseconds(300) {
                    // Another client is served while the slow one dribbles.
                    let other = try TestClient(port: server.port)
                    try other.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
                    servedMeanwhile = try other.readResponse().text == "hello"
                }
            }
            #expect(servedMeanwhile)
            let elapsed = try #require(cutAfter, "the slow client was never cut off")
            #expect(elapsed >= .milliseconds(900))
            #expect(elapsed < .seconds(3))
            #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 408 "))
            #expect(slow.waitForClose(timeout: .seconds(3)))
        }
    }

    @Test func idleKeepAliveConnectionIsClosed() async throws {
        try await withServer(
            testConfiguration { $0.timeouts.keepAliveIdle = .milliseconds(300) }, responder: Self.router()
        ) { server in
            let client = try TestClient(port: server.port)
            try client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            let start = ContinuousClock.now
            #expect(client.waitForClose(timeout: .seconds(3)))
            #expect(ContinuousClock.now - start >= .milliseconds(250))
        }
    }

    @Test func stalledBodyIsAnswered408() async throws {
        try await withServer(testConfiguration { $0.timeouts.bodyIdle = .milliseconds(300) }, responder: Self.router())
        { server in
            let client = try TestClient(port: server.port)
            try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
            let response = try client.readResponse()
            #expect(response.status == 408)
            #expect(client.waitForClose(timeout: .seconds(3)))
        }
    }

    @Test func connectionsOverTheLimitWaitUntilOneCloses() async throws {
        try await withServer(testConfiguration { $0.maxConnections = 4 }, responder: Self.router()) { server in
            var clients: [TestClient] = []
            for _ in 0..<4 {
                let client = try TestClient(port: server.port)
                try client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(try client.readResponse().status == 200)
                clients.append(client)
            }
            // The kernel completes the handshake (backlog), but the server does not accept it yet.
            let fifth = try TestClient(port: server.port, receiveTimeout: .milliseconds(400))
            try fifth.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(throws: TestClient.Failure.self) { try fifth.receive() }
            // Existing connections keep working meanwhile.
            try clients[1].send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try clients[1].readResponse().status == 200)

            clients.removeFirst()  // closes one connection
            fifth.setReceiveTimeout(.seconds(3))
            #expect(try fifth.readResponse().text == "hello")
        }
    }

    @Test func clientThatDoesNotReadIsBoundedAndCutByTheWriteStall() async throws {
        let produced = Atomic<Int>(0)
        let producerStopped = Atomic<Bool>(false)
        let router = Router()
        router.add(.get, "/firehose") { _ in
            ServerResponse(
                status: .ok,
                body: .stream { writer in
                    defer { producerStopped.store(true, ordering: .releasing) }
                    let chunk = [UInt8](repeating: 0x61, count: 256 * 1024)
                    // Bounded: 1 GiB would be written if backpressure did not hold the producer back.
                    for _ in 0..<4096 {
                        try await writer.write(chunk)
                        produced.add(chunk.count, ordering: .relaxed)
                    }
                })
        }
        try await withServer(
            testConfiguration { $0.timeouts.writeStall = .milliseconds(500) }, responder: router.freeze()
        ) { server in
            let client = try TestClient(port: server.port)
            try client.send("GET /firehose HTTP/1.1\r\nHost: t\r\n\r\n")
            // Read nothing; wait for the stall timeout to end the producer.
            let start = ContinuousClock.now
            while !producerStopped.load(ordering: .acquiring), ContinuousClock.now - start < .seconds(5) {
                Thread.sleep(forTimeInterval: 0.05)
            }
            let stopped = producerStopped.load(ordering: .acquiring)
            #expect(stopped)
            // Kernel socket buffers plus the server's 64 KiB high-water mark: far below 1 GiB.
            #expect(produced.load(ordering: .relaxed) < 32 << 20)
            #expect(client.waitForClose(timeout: .seconds(3)))
        }
    }

    @Test func gracefulShutdownFinishesInFlightClosesIdleAndRefusesNew() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.loopCount = 2
        let server = HTTPServer(configuration: configuration, responder: Self.router())
        try server.start()
        let port = server.port
        let idle = try TestClient(port: port)
        let busy = try TestClient(port: port)
        try await blocking {
            try idle.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            _ = try idle.readResponse()
            try busy.send("GET /sleep/600 HTTP/1.1\r\nHost: t\r\n\r\n")
            Thread.sleep(forTimeInterval: 0.1)
        }
        async let stopped: Void = server.shutdown(deadline: .seconds(5))
        let (idleClosed, refused, inFlight, busyClosed) = try await blocking {
            let idleClosed = idle.waitForClose(timeout: .seconds(2))
            var refused = false
            for _ in 0..<50 where !refused {
                refused = (try? TestClient(port: port)) == nil
                if !refused { Thread.sleep(forTimeInterval: 0.02) }
            }
            let inFlight = try busy.readResponse()
            return (idleClosed, refused, inFlight, busy.waitForClose(timeout: .seconds(2)))
        }
        await stopped
        #expect(idleClosed)
        #expect(refused)
        #expect(inFlight.text == "slept 600")
        #expect(inFlight.headers["Connection"] == "close")
        #expect(busyClosed)
    }

    @Test func shutdownDeadlineForcesStuckRequestsClosed() async throws {
        let cancelled = Atomic<Bool>(false)
        let router = Router()
        router.add(.get, "/stuck") { _ in
            do {
                try await Task.sleep(for: .seconds(30))
            } catch {
                cancelled.store(true, ordering: .releasing)
                throw error
            }
            return text(.ok, "never")
        }
        var configuration = HTTPServerConfiguration()
        configuration.loopCount = 1
        let server = HTTPServer(configuration: configuration, responder: router.freeze())
        try server.start()
        let client = try TestClient(port: server.port)
        try await blocking {
            try client.send("GET /stuck HTTP/1.1\r\nHost: t\r\n\r\n")
            Thread.sleep(forTimeInterval: 0.05)
        }
        let start = ContinuousClock.now
        await server.shutdown(deadline: .milliseconds(300))
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(250))
        #expect(elapsed < .seconds(3))
        #expect(try await blocking { client.waitForClose(timeout: .seconds(1)) })
        // The stuck handler's task was cancelled.
        for _ in 0..<100 where !cancelled.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(10)) }
        let wasCancelled = cancelled.load(ordering: .acquiring)
        #expect(wasCancelled)
    }

    @Test func aPortInUseIsAnErrorNotASharedPort() async throws {
        let first = HTTPServer(configuration: testConfiguration(), responder: Self.router())
        try first.start()
        let second = HTTPServer(configuration: testConfiguration { $0.port = first.port }, responder: Self.router())
        #expect(throws: IOError(errnoCode: EADDRINUSE, call: "bind")) { try second.start() }
        await first.shutdown(deadline: .seconds(1))
    }

    @Test func terminationSignalShutsTheServerDown() async throws {
        // Ignored up front, so a signal arriving before the server's handler is installed cannot end the tests.
        signal(SIGTERM, SIG_IGN)
        let server = HTTPServer(configuration: testConfiguration(), responder: Self.router())
        try server.start()
        let port = server.port
        let stopped = Task { await server.runUntilTerminationSignal() }
        let refused = try await blocking {
            let client = try TestClient(port: port)
            try client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            _ = try client.readResponse()
            // Bounded: the signal is re-sent until the listener is gone (the handler may not be installed yet).
            for _ in 0..<100 {
                kill(getpid(), SIGTERM)
                Thread.sleep(forTimeInterval: 0.02)
                if (try? TestClient(port: port)) == nil { return client.waitForClose(timeout: .seconds(2)) }
            }
            return false
        }
        await stopped.value
        #expect(refused)
    }
}
