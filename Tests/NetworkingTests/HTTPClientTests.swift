import Compression
import Foundation
import HTTP
import Synchronization
import Testing

@testable import Networking

#if canImport(Glibc)
    import Glibc
#endif

/// The client against scripted servers on 127.0.0.1 (real sockets, real event loops).
@Suite(.serialized) struct HTTPClientTests {
    @Test func getWithContentLength() async throws {
        let seen = Shared<ReceivedRequest?>(nil)
        let server = try ScriptedServer { connection in
            try connection.serve { request in
                seen.update { $0 = request }
                try connection.respond(headers: [("X-Reply", "yes")], body: "hello")
            }
        }
        defer { server.stop() }
        let response = try await withHTTPClient(loopbackConfiguration()) { client in
            try await client.execute(HTTPClientRequest(method: .get, url: server.url("/items?x=1")))
        }
        #expect(response.status.code == 200)
        #expect(response.body == Array("hello".utf8))
        #expect(response.headers["X-Reply"] == "yes")
        let request = try #require(seen.value)
        #expect(request.head.method == .get)
        #expect(request.head.target == "/items?x=1")
        #expect(request.head.fields["Host"] == "127.0.0.1:\(server.port)")
        #expect(request.head.fields["User-Agent"] == "purview-gateway")
        #expect(request.head.fields["Accept-Encoding"] == "gzip")
        #expect(request.head.fields["Content-Length"] == nil)
        #expect(request.body.isEmpty)
    }

    @Test func postWithBodyAndChunkedResponse() async throws {
        let seen = Shared<ReceivedRequest?>(nil)
        let server = try ScriptedServer { connection in
            try connection.serve { request in
                seen.update { $0 = request }
                var reply = Array("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
                HTTPSerializer.writeChunk(Array("echo:".utf8), into: &reply)
                HTTPSerializer.writeChunk(request.body, into: &reply)
                HTTPSerializer.writeLastChunk(into: &reply)
                try connection.send(reply)
            }
        }
        defer { server.stop() }
        let body = Array(#"{"name":"term"}"#.utf8)
        let response = try await withHTTPClient(loopbackConfiguration()) { client in
            try await client.execute(
                HTTPClientRequest(
                    method: .post, url: server.url("/terms"), headers: ["Content-Type": "application/json"],
                    body: body))
        }
        #expect(response.status.code == 201)
        #expect(response.body == Array("echo:".utf8) + body)
        let request = try #require(seen.value)
        #expect(request.head.fields["Content-Length"] == String(body.count))
        #expect(request.head.fields["Content-Type"] == "application/json")
        #expect(request.body == body)
    }

    @Test func postWithoutBodySendsZeroLengthAndUserHostIsReplaced() async throws {
        let seen = Shared<ReceivedRequest?>(nil)
        let server = try ScriptedServer { connection in
            try connection.serve { request in
                seen.update { $0 = request }
                try connection.respond(status: 204, body: [])
            }
        }
        defer { server.stop() }
        let response = try await withHTTPClient(loopbackConfiguration()) { client in
            try await client.execute(
                HTTPClientRequest(
                    method: .post, url: server.url("/cancel"),
                    headers: ["Host": "evil.example", "Transfer-Encoding": "chunked", "User-Agent": "mine"]))
        }
        #expect(response.status.code == 204)
        let request = try #require(seen.value)
        #expect(request.head.fields["Content-Length"] == "0")
        #expect(request.head.fields.values("Host") == ["127.0.0.1:\(server.port)"])
        #expect(request.head.fields["Transfer-Encoding"] == nil)
        #expect(request.head.fields.values("User-Agent") == ["mine"])
    }

    @Test func hundredSequentialRequestsShareOneConnection() async throws {
        let server = try ScriptedServer { connection in
            try connection.serve { request in try connection.respond(body: request.head.target) }
        }
        defer { server.stop() }
        try await withHTTPClient(loopbackConfiguration()) { client in
            for index in 0..<100 {
                let response = try await client.execute(HTTPClientRequest(method: .get, url: server.url("/\(index)")))
                #expect(response.body == Array("/\(index)".utf8))
            }
        }
        #expect(server.snapshot.accepted == 1)
    }

    @Test func concurrentRequestsRespectMaxConnectionsPerOrigin() async throws {
        let inFlight = Shared((now: 0, most: 0))
        let server = try ScriptedServer { connection in
            try connection.serve { request in
                inFlight.update {
                    $0.now += 1
                    $0.most = max($0.most, $0.now)
                }
                usleep(40_000)  // hold the connection so requests pile up
                inFlight.update { $0.now -= 1 }
                try connection.respond(body: request.head.target)
            }
        }
        defer { server.stop() }
        let bodies = try await withHTTPClient(loopbackConfiguration(maxConnections: 4)) { client in
            try await withThrowingTaskGroup(of: [UInt8].self) { group in
                for index in 0..<20 {
                    group.addTask {
                        try await client.execute(HTTPClientRequest(method: .get, url: server.url("/\(index)"))).body
                    }
                }
                var bodies: [[UInt8]] = []
                for try await body in group { bodies.append(body) }
                return bodies
            }
        }
        #expect(Set(bodies) == Set((0..<20).map { Array("/\($0)".utf8) }))
        #expect(server.snapshot.accepted <= 4)
        #expect(server.snapshot.maxOpen <= 4)
        #expect(inFlight.value.most <= 4)
        #expect(inFlight.value.most >= 2)  // the requests really ran side by side
    }

    @Test func queueWaitCountsAgainstTheRequestTimeout() async throws {
        let server = try ScriptedServer { connection in
            try connection.serve { _ in
                usleep(600_000)
                try connection.respond(body: "slow")
            }
        }
        defer { server.stop() }
        try await withHTTPClient(loopbackConfiguration(maxConnections: 1)) { client in
            async let first = client.execute(HTTPClientRequest(method: .get, url: server.url("/1")))
            try await Task.sleep(for: .milliseconds(50))
            let start = ContinuousClock.now
            let error = await expectFailure(
                client, HTTPClientRequest(method: .get, url: server.url("/2"), timeout: .milliseconds(200)))
            #expect(error?.code == .requestTimeout)
            #expect(error?.requestMayHaveBeenProcessed == false)
            #expect(ContinuousClock.now - start < .milliseconds(550))
            #expect(try await first.body == Array("slow".utf8))
        }
    }

    @Test func connectionRefused() async throws {
        let port = try unusedPort()
        try await withHTTPClient(loopbackConfiguration()) { client in
            let error = await expectFailure(
                client, HTTPClientRequest(method: .post, url: HTTPURL("http://127.0.0.1:\(port)/")!, body: [1]))
            #expect(error?.code == .connectFailed)
            #expect(error?.requestMayHaveBeenProcessed == false)
        }
    }

    @Test func connectTimeoutWhenTheBacklogIsFull() async throws {
        // A listener that never accepts, with its queue filled, leaves new SYNs unanswered.
        let listener = try TLSTestListener()
        var fillers: [Int32] = []
        defer { for fd in fillers { close(fd) } }
        for _ in 0..<16 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = listener.port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            fillers.append(fd)
        }
        usleep(20_000)
        let configuration = loopbackConfiguration(connectTimeout: .milliseconds(250))
        try await withHTTPClient(configuration) { client in
            let start = ContinuousClock.now
            let error = await expectFailure(
                client, HTTPClientRequest(method: .get, url: HTTPURL("http://127.0.0.1:\(listener.port)/")!))
            #expect(error?.code == .connectTimeout)
            #expect(error?.requestMayHaveBeenProcessed == false)
            #expect(ContinuousClock.now - start < .seconds(2))
        }
    }

    @Test func requestTimeoutWhenTheServerNeverAnswers() async throws {
        let received = Shared(0)
        let server = try ScriptedServer { connection in
            guard try connection.readRequest() != nil else { return }
            received.update { $0 += 1 }
            _ = connection.waitForClientClose(timeout: 2)
        }
        defer { server.stop() }
        try await withHTTPClient(loopbackConfiguration()) { client in
            let start = ContinuousClock.now
            let error = await expectFailure(
                client,
                HTTPClientRequest(method: .post, url: server.url("/"), body: [1, 2], timeout: .milliseconds(200)))
            #expect(error?.code == .requestTimeout)
            #expect(error?.requestMayHaveBeenProcessed == true)
            #expect(ContinuousClock.now - start < .seconds(1))
        }
        #expect(received.value == 1)
    }

    @Test func serverClosingMidResponseMayHaveProcessed() async throws {
        let server = try ScriptedServer { connection in
            guard try connection.readRequest() != nil else { return }
            try connection.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
            connection.close()
        }
        defer { server.stop() }
        try await withHTTPClient(loopbackConfiguration()) { client in
            let error = await expectFailure(client, HTTPClientRequest(method: .get, url: server.url("/")))
            #expect(error?.code == .connectionClosed)
            #expect(error?.requestMayHaveBeenProcessed == true)
        }
    }

    @Test func serverClosingBeforeAnsweringOnAFreshConnectionIsNotRetried() async throws {
        let server = try ScriptedServer { connection in
            guard try connection.readRequest() != nil else { return }
            connection.close()
        }
        defer { server.stop() }
        try await withHTTPClient(loopbackConfiguration()) { client in
            let error = await expectFailure(client, HTTPClientRequest(method: .get, url: server.url("/")))
            #expect(error?.code == .connectionClosed)
            #expect(error?.requestMayHaveBeenProcessed == true)
        }
        #expect(server.snapshot.accepted == 1)
    }

    @Test func responseReadUntilCloseIsComplete() async throws {
        let server = try ScriptedServer { connection in
            guard try connection.readRequest() != nil else { return }
            try connection.send("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody until close")
            connection.close()
        }
        defer { server.stop() }
        let response = try await withHTTPClient(loopbackConfiguration()) { client in
            try await client.execute(HTTPClientRequest(method: .get, url: server.url("/")))
        }
        #expect(response.body == Array("body until close".utf8))
    }

    /// The server answers the first request, then reads the second on the same connection and hangs
    /// up without answering: the race of a server closing an idle keep-alive connection.
    private func staleConnectionServer(requests: Shared<[String]>) throws -> ScriptedServer {
        try ScriptedServer { connection in
            if connection.index == 0 {
                guard let first = try connection.readRequest() else { return }
                requests.update { $0.append("0:\(first.head.method) \(first.head.target)") }
                try connection.respond(body: "first")
                guard let second = try connection.readRequest() else { return }
                requests.update { $0.append("0:\(second.head.method) \(second.head.target)") }
                connection.close()
                return
            }
            try connection.serve { request in
                requests.update { $0.append("\(connection.index):\(request.head.method) \(request.head.target)") }
                try connection.respond(body: "fresh")
            }
        }
    }

    @Test func staleIdleConnectionIsRetriedOnceForGET() async throws {
        let requests = Shared<[String]>([])
        let server = try staleConnectionServer(requests: requests)
        defer { server.stop() }
        try await withHTTPClient(loopbackConfiguration()) { client in
            _ = try await client.execute(HTTPClientRequest(method: .get, url: server.url("/a")))
            let response = try await client.execute(HTTPClientRequest(method: .get, url: server.url("/b")))
            #expect(response.body == Array("fresh".utf8))
        }
        #expect(requests.value == ["0:GET /a", "0:GET /b", "1:GET /b"])
        #expect(server.snapshot.accepted == 2)
    }

    @Test func staleIdleConnectionIsNotRetriedForPOST() async throws {
        let requests = Shared<[String]>([])
        let server = try staleConnectionServer(requests: requests)
        defer { server.stop() }
        try await withHTTPClient(loopbackConfiguration()) { client in
            _ = try await client.execute(HTTPClientRequest(method: .get, url: server.url("/a")))
            let error = await expectFailure(client, HTTPClientRequest(method: .post, url: server.url("/b"), body: [1]))
            #expect(error?.code == .connectionClosed)
            #expect(error?.requestMayHaveBeenProcessed == true)
        }
        #expect(requests.value == ["0:GET /a", "0:POST /b"])
        #expect(server.snapshot.accepted == 1)
    }

    @Test func idleConnectionClosedByTheServerIsNotReused() async throws {
        let server = try ScriptedServer { connection in
            guard try connection.readRequest() != nil else { return }
            try connection.respond(body: "\(connection.index)")
            connection.close()  // keep-alive was promised; the server hangs up anyway
        }
        defer { server.stop() }
        try await withHTTPClient(loopbackConfiguration()) { client in
            let first = try await client.execute(HTTPClientRequest(method: .post, url: server.url("/"), body: []))
            #expect(first.body == Array("0".utf8))
            // Give the loop a moment to see the FIN while the connection idles.
            try await Task.sleep(for: .milliseconds(50))
            let second = try await client.execute(HTTPClientRequest(method: .post, url: server.url("/"), body: []))
            #expect(second.body == Array("1".utf8))
        }
    }

    @Test func connectionCloseResponseIsNotReused() async throws {
        let server = try ScriptedServer { connection in
            try connection.serve { _ in
                try connection.respond(headers: [("Connection", "close")], body: "\(connection.index)")
            }
        }
        defer { server.stop() }
        try await withHTTPClient(loopbackConfiguration()) { client in
            for index in 0..<3 {
                let response = try await client.execute(HTTPClientRequest(method: .get, url: server.url("/")))
                #expect(response.body == Array("\(index)".utf8))
            }
        }
        #expect(server.snapshot.accepted == 3)
    }

    @Test func headResponseHasNoBodyAndKeepsTheConnection() async throws {
        let server = try ScriptedServer { connection in
            try connection.serve { request in
                if request.head.method == .head {
                    try connection.send("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
                } else {
                    try connection.respond(body: "after head")
                }
            }
        }
        defer { server.stop() }
        try await withHTTPClient(loopbackConfiguration()) { client in
            let head = try await client.execute(HTTPClientRequest(method: .head, url: server.url("/")))
            #expect(head.body.isEmpty)
            #expect(head.headers["Content-Length"] == "1234")
            let get = try await client.execute(HTTPClientRequest(method: .get, url: server.url("/")))
            #expect(get.body == Array("after head".utf8))
        }
        #expect(server.snapshot.accepted == 1)
    }

    @Test func gzipResponseIsDecoded() async throws {
        let original = Array(String(repeating: "purview workflow ", count: 500).utf8)
        let server = try ScriptedServer { connection in
            try connection.serve { request in
                let accepts = request.head.fields["Accept-Encoding"] ?? ""
                try connection.respond(
                    headers: [("Content-Encoding", "gzip"), ("X-Accepted", accepts)], body: Gzip.compress(original))
            }
        }
        defer { server.stop() }
        let response = try await withHTTPClient(loopbackConfiguration()) { client in
            try await client.execute(HTTPClientRequest(method: .get, url: server.url("/")))
        }
        #expect(response.body == original)
        #expect(response.headers["X-Accepted"] == "gzip")
        #expect(response.headers["Content-Encoding"] == nil)
        #expect(response.headers["Content-Length"] == nil)
    }

    @Test func corruptGzipIsMalformed() async throws {
        let server = try ScriptedServer { connection in
            try connection.serve { _ in
                try connection.respond(headers: [("Content-Encoding", "gzip")], body: Array("not gzip at all".utf8))
            }
        }
        defer { server.stop() }
        try await withHTTPClient(loopbackConfiguration()) { client in
            let error = await expectFailure(client, HTTPClientRequest(method: .get, url: server.url("/")))
            #expect(error?.code == .malformedResponse)
            #expect(error?.requestMayHaveBeenProcessed == true)
        }
    }

    @Test func responsesOverTheLimitFail() async throws {
        let bomb = Gzip.compress([UInt8](repeating: 0, count: 200_000))
        let server = try ScriptedServer { connection in
            try connection.serve { request in
                switch request.head.target {
                case "/declared":
                    try connection.respond(body: [UInt8](repeating: 7, count: 5_000))
                case "/chunked":
                    var reply = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
                    for _ in 0..<5 { HTTPSerializer.writeChunk([UInt8](repeating: 1, count: 1_000), into: &reply) }
                    HTTPSerializer.writeLastChunk(into: &reply)
                    try connection.send(reply)
                case "/bomb":
                    try connection.respond(headers: [("Content-Encoding", "gzip")], body: bomb)
                default:
                    try connection.respond(body: [UInt8](repeating: 2, count: 4_096))
                }
            }
        }
        defer { server.stop() }
        #expect(bomb.count < 4_096)
        try await withHTTPClient(loopbackConfiguration(maxBody: 4_096)) { client in
            for path in ["/declared", "/chunked", "/bomb"] {
                let error = await expectFailure(client, HTTPClientRequest(method: .get, url: server.url(path)))
                #expect(error?.code == .responseTooLarge, "\(path)")
                #expect(error?.requestMayHaveBeenProcessed == true)
            }
            let exact = try await client.execute(HTTPClientRequest(method: .get, url: server.url("/exact")))
            #expect(exact.body.count == 4_096)
        }
    }

    @Test func malformedResponse() async throws {
        let server = try ScriptedServer { connection in
            guard try connection.readRequest() != nil else { return }
            try connection.send("HELLO THERE\r\n\r\n")
            _ = connection.waitForClientClose()
        }
        defer { server.stop() }
        try await withHTTPClient(loopbackConfiguration()) { client in
            let error = await expectFailure(client, HTTPClientRequest(method: .get, url: server.url("/")))
            #expect(error?.code == .malformedResponse)
            #expect(error?.requestMayHaveBeenProcessed == true)
        }
    }

    @Test func invalidHeaderIsRefusedBeforeSending() async throws {
        try await withHTTPClient(loopbackConfiguration()) { client in
            let error = await expectFailure(
                client,
                HTTPClientRequest(
                    method: .get, url: HTTPURL("http://127.0.0.1:9/")!, headers: ["X-Bad": "a\r\nInjected: 1"]))
            #expect(error?.code == .invalidRequest)
            #expect(error?.requestMayHaveBeenProcessed == false)
        }
    }

    @Test func hostNamesAreResolvedOffTheLoop() async throws {
        // "localhost" may resolve to ::1 first, where nothing listens: the client moves on to 127.0.0.1.
        let server = try ScriptedServer { connection in
            try connection.serve { request in try connection.respond(body: request.head.fields["Host"] ?? "") }
        }
        defer { server.stop() }
        let response = try await withHTTPClient(loopbackConfiguration()) { client in
            try await client.execute(HTTPClientRequest(method: .get, url: server.url("/", host: "localhost")))
        }
        #expect(response.body == Array("localhost:\(server.port)".utf8))
    }

    @Test func plainHTTPThroughAProxyUsesAbsoluteForm() async throws {
        let seen = Shared<ReceivedRequest?>(nil)
        let proxy = try ScriptedServer { connection in
            try connection.serve { request in
                seen.update { $0 = request }
                try connection.respond(body: "via proxy")
            }
        }
        defer { proxy.stop() }
        var configuration = loopbackConfiguration()
        configuration.proxy = ProxySettings.fromEnvironment([
            "http_proxy": "http://alice:s3cret@127.0.0.1:\(proxy.port)", "no_proxy": "localhost",
        ])
        let response = try await withHTTPClient(configuration) { client in
            try await client.execute(
                HTTPClientRequest(method: .get, url: HTTPURL("http://purview.example.invalid:8080/runs?top=5")!))
        }
        #expect(response.body == Array("via proxy".utf8))
        let request = try #require(seen.value)
        #expect(request.head.target == "http://purview.example.invalid:8080/runs?top=5")
        #expect(request.head.fields["Host"] == "purview.example.invalid:8080")
        #expect(
            request.head.fields["Proxy-Authorization"] == "Basic " + Data("alice:s3cret".utf8).base64EncodedString())
    }

    @Test func noProxyGoesDirect() async throws {
        let server = try ScriptedServer { connection in
            try connection.serve { request in try connection.respond(body: request.head.target) }
        }
        defer { server.stop() }
        let deadProxy = try unusedPort()
        var configuration = loopbackConfiguration()
        configuration.proxy = ProxySettings.fromEnvironment([
            "HTTP_PROXY": "127.0.0.1:\(deadProxy)", "NO_PROXY": ".example.com, 127.0.0.1",
        ])
        try await withHTTPClient(configuration) { client in
            let response = try await client.execute(HTTPClientRequest(method: .get, url: server.url("/direct")))
            #expect(response.body == Array("/direct".utf8))
            // Not excluded: goes to the (dead) proxy and fails to connect.
            let error = await expectFailure(
                client, HTTPClientRequest(method: .get, url: HTTPURL("http://10.255.255.1:\(server.port)/")!))
            #expect(error?.code == .connectFailed)
            #expect(error?.message.contains("proxy") == true)
        }
    }

    @Test func shutdownFailsQueuedRequestsAndLaterOnes() async throws {
        let release = DispatchSemaphore(value: 0)
        let server = try ScriptedServer { connection in
            try connection.serve { _ in
                _ = release.wait(timeout: .now() + 2)
                try connection.respond(body: "done")
            }
        }
        defer { server.stop() }
        let client = try HTTPClient(configuration: loopbackConfiguration(maxConnections: 1))
        async let inFlight = client.execute(HTTPClientRequest(method: .get, url: server.url("/1")))
        try await Task.sleep(for: .milliseconds(50))
        async let queued = client.execute(HTTPClientRequest(method: .get, url: server.url("/2")))
        try await Task.sleep(for: .milliseconds(50))
        async let shutdown: Void = client.shutdown()
        try await Task.sleep(for: .milliseconds(50))
        release.signal()
        do {
            _ = try await queued
            Issue.record("the queued request should fail")
        } catch let error as HTTPClientError {
            #expect(error.code == .shutdown)
            #expect(!error.requestMayHaveBeenProcessed)
        }
        #expect(try await inFlight.body == Array("done".utf8))  // in flight requests finish
        await shutdown
        let late = await expectFailure(client, HTTPClientRequest(method: .get, url: server.url("/3")))
        #expect(late?.code == .shutdown)
        #expect(late?.requestMayHaveBeenProcessed == false)
    }

    @Test func cancellingAQueuedRequestNeverSendsIt() async throws {
        let targets = Shared<[String]>([])
        let server = try ScriptedServer { connection in
            try connection.serve { request in
                targets.update { $0.append(request.head.target) }
                usleep(300_000)
                try connection.respond(body: "ok")
            }
        }
        defer { server.stop() }
        try await withHTTPClient(loopbackConfiguration(maxConnections: 1)) { client in
            async let first = client.execute(HTTPClientRequest(method: .get, url: server.url("/first")))
            try await Task.sleep(for: .milliseconds(50))
            let queued = Task { try await client.execute(HTTPClientRequest(method: .post, url: server.url("/queued"))) }
            try await Task.sleep(for: .milliseconds(50))
            queued.cancel()
            do {
                _ = try await queued.value
                Issue.record("a cancelled request should fail")
            } catch let error as HTTPClientError {
                #expect(!error.requestMayHaveBeenProcessed)
            }
            #expect(try await first.body == Array("ok".utf8))
        }
        #expect(targets.value == ["/first"])
    }

    @Test func idleConnectionsAreClosedAfterTheIdleTimeout() async throws {
        let closedByClient = Shared<[Bool]>([])
        let server = try ScriptedServer { connection in
            guard try connection.readRequest() != nil else { return }
            try connection.respond(body: "\(connection.index)")
            let closed = connection.waitForClientClose(timeout: 1.5)
            closedByClient.update { $0.append(closed) }
        }
        defer { server.stop() }
        var configuration = loopbackConfiguration()
        configuration.idleTimeout = .milliseconds(100)
        try await withHTTPClient(configuration) { client in
            let first = try await client.execute(HTTPClientRequest(method: .get, url: server.url("/")))
            #expect(first.body == Array("0".utf8))
            for _ in 0..<100 where closedByClient.value.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            #expect(closedByClient.value == [true])
            let second = try await client.execute(HTTPClientRequest(method: .get, url: server.url("/")))
            #expect(second.body == Array("1".utf8))
        }
    }

    @Test func cancellingTheCallerEndsTheRequest() async throws {
        let server = try ScriptedServer { connection in
            guard try connection.readRequest() != nil else { return }
            _ = connection.waitForClientClose(timeout: 2)
        }
        defer { server.stop() }
        try await withHTTPClient(loopbackConfiguration()) { client in
            let task = Task { try await client.execute(HTTPClientRequest(method: .get, url: server.url("/"))) }
            try await Task.sleep(for: .milliseconds(100))
            let start = ContinuousClock.now
            task.cancel()
            do {
                _ = try await task.value
                Issue.record("a cancelled request should fail")
            } catch let error as HTTPClientError {
                #expect(error.requestMayHaveBeenProcessed)
                #expect(error.message.contains("cancelled"))
            }
            #expect(ContinuousClock.now - start < .seconds(1))
        }
    }
}

/// A loopback port with nothing listening (bound, then closed).
func unusedPort() throws -> Int {
    let listener = try TLSTestListener()
    return Int(listener.port)
}
