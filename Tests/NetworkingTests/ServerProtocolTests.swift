import Foundation
import HTTP
import Networking
import Observability
import Synchronization
import Testing

/// HTTP/1.1 behaviour over real sockets on 127.0.0.1.
@Suite(.serialized) struct ServerProtocolTests {
    /// Routes shared by these tests.
    static func router() -> Router.Responder {
        let router = Router()
        router.add(.get, "/hello", HTTPHandler.immediate { _ in text(.ok, "hello") })
        router.add(.get, "/sleep/{ms}") { request in
            let milliseconds = Int(request.pathParameters["ms"] ?? "0") ?? 0
            try await Task.sleep(for: .milliseconds(milliseconds))
            return text(.ok, "slept \(milliseconds)")
        }
        router.add(.post, "/echo") { request in
            let body = try await request.body.collect(upTo: 1 << 20)
            return ServerResponse(status: .ok, contentType: "application/octet-stream", body: body)
        }
        router.add(.get, "/requests/{id}") { request in
            text(.ok, "request \(request.pathParameters["id"] ?? "?") query \(request.query ?? "-")")
        }
        router.add(.delete, "/requests/{id}") { _ in ServerResponse(status: .noContent) }
        router.add(.get, "/closing") { _ in
            ServerResponse(status: .ok, headers: HTTPFields([("Connection", "close")]), body: .bytes(Array("bye".utf8)))
        }
        router.add(.get, "/fail") { _ in throw CancellationError() }
        router.add(.get, "/teapot") { _ in throw HTTPError(HTTPStatus(code: 418), "short and stout") }
        router.add(.get, "/large-head") { _ in
            // Larger than the loop's 4 KiB head buffer: encoded into an array instead.
            ServerResponse(
                status: .ok,
                headers: HTTPFields((0..<8).map { ("X-Large-\($0)", String(repeating: "v", count: 1000)) }),
                body: .bytes(Array("large".utf8)))
        }
        router.add(.get, "/inject") { _ in
            ServerResponse(
                status: .ok, headers: HTTPFields([("X-Good", "yes"), ("X-Bad", "a\r\nSet-Cookie: evil=1")]),
                body: .bytes(Array("ok".utf8)))
        }
        return router.freeze()
    }

    @Test func keepAliveServesManyRequestsOnOneConnection() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            for index in 0..<20 {
                let path = index.isMultiple(of: 2) ? "/hello" : "/requests/\(index)"
                try client.send("GET \(path) HTTP/1.1\r\nHost: test\r\n\r\n")
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.headers["Connection"] == nil)
                #expect(response.headers["Date"]?.hasSuffix(" GMT") == true)
            }
        }
    }

    @Test func http10ClosesUnlessAskedToKeepAlive() async throws {
        try await withServer(responder: Self.router()) { server in
            let plain = try TestClient(port: server.port)
            try plain.send("GET /hello HTTP/1.0\r\n\r\n")
            let first = try plain.readResponse()
            #expect(first.status == 200)
            #expect(first.headers["Connection"] == "close")
            #expect(plain.waitForClose(timeout: .seconds(2)))

            let kept = try TestClient(port: server.port)
            for _ in 0..<2 {
                try kept.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                let response = try kept.readResponse()
                #expect(response.status == 200)
                #expect(response.headers["Connection"] == "keep-alive")
                #expect(response.text == "hello")
            }
        }
    }

    @Test func connectionCloseFromClientOrHandlerCloses() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            try client.send("GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            #expect(try client.readResponse().headers["Connection"] == "close")
            #expect(client.waitForClose(timeout: .seconds(2)))

            let other = try TestClient(port: server.port)
            try other.send("GET /closing HTTP/1.1\r\nHost: t\r\n\r\n")
            let response = try other.readResponse()
            #expect(response.text == "bye")
            #expect(response.headers.values("Connection") == ["close"])
            #expect(other.waitForClose(timeout: .seconds(2)))
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            // The slowest first: answers must still come back in request order.
            try client.send(
                "GET /sleep/150 HTTP/1.1\r\nHost: t\r\n\r\n" + "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nabcde"
                    + "GET /sleep/20 HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().text == "slept 150")
            #expect(try client.readResponse().text == "hello")
            #expect(try client.readResponse().text == "abcde")
            #expect(try client.readResponse().text == "slept 20")
        }
    }

    @Test func pipelinedRequestsAfterAPartialWriteAreAnswered() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            let request = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
            let bytes = Array(String(repeating: request, count: 200).utf8)
            // Split mid-request so the parser holds partial heads between reads.
            try client.send(Array(bytes[..<1001]))
            try client.send(Array(bytes[1001...]))
            for _ in 0..<200 { #expect(try client.readResponse().text == "hello") }
        }
    }

    @Test func headResponsesHaveLengthButNoBody() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            try client.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            let response = try client.readResponse(to: .head)
            #expect(response.status == 200)
            #expect(response.headers["Content-Length"] == "5")
            #expect(response.body.isEmpty)
            // The connection is still in sync: the next response is read correctly.
            try client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().text == "hello")
        }
    }

    @Test func noContentHasNoLength() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            try client.send("DELETE /requests/7 HTTP/1.1\r\nHost: t\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 204)
            #expect(response.headers["Content-Length"] == nil)
            #expect(response.headers["Transfer-Encoding"] == nil)
        }
    }

    @Test func routerAnswers404And405WithAllow() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            try client.send("GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().status == 404)
            try client.send("PUT /requests/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 405)
            #expect(response.headers["Allow"] == "DELETE, GET, HEAD")
            // Handler errors do not cost the connection.
            try client.send("GET /requests/abc%20d?x=1 HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().text == "request abc d query x=1")
        }
    }

    @Test func handlerErrorsAreRenderedByTheErrorRenderer() async throws {
        let renderer: HTTPErrorRenderer = { status, message, requestID in
            let json =
                "{\"error\":{\"code\":\"\(status.code)\",\"message\":\"\(message)\",\"id\":\"\(requestID ?? "")\"}}"
            return ServerResponse(status: status, contentType: "application/json", body: Array(json.utf8))
        }
        try await withServer(
            testConfiguration { $0.requestIDHeader = "X-Request-ID" }, responder: Self.router(), errorRenderer: renderer
        ) {
            server in
            let client = try TestClient(port: server.port)
            try client.send("GET /teapot HTTP/1.1\r\nHost: t\r\nX-Request-ID: abc-123\r\n\r\n")
            let teapot = try client.readResponse()
            #expect(teapot.status == 418)
            #expect(teapot.text == "{\"error\":{\"code\":\"418\",\"message\":\"short and stout\",\"id\":\"abc-123\"}}")
            #expect(teapot.headers["X-Request-ID"] == "abc-123")

            // Unknown errors become a bare 500 without details; a generated id is echoed.
            try client.send("GET /fail HTTP/1.1\r\nHost: t\r\n\r\n")
            let failed = try client.readResponse()
            #expect(failed.status == 500)
            let generated = try #require(failed.headers["X-Request-ID"])
            #expect(!generated.isEmpty)
            #expect(failed.text.contains(generated))
            #expect(!failed.text.contains("Cancellation"))

            // Protocol errors use the same renderer.
            let bad = try TestClient(port: server.port)
            try bad.send("GET /hello HTTP/1.1\r\nHost : t\r\n\r\n")
            let rejected = try bad.readResponse()
            #expect(rejected.status == 400)
            #expect(rejected.headers["Content-Type"] == "application/json")
            #expect(rejected.text.hasPrefix("{\"error\":{\"code\":\"400\""))
        }
    }

    @Test func unexpectedHandlerErrorsAreLoggedWithoutDetailsOnTheWire() async throws {
        let sink = InMemoryLogSink()
        var configuration = testConfiguration()
        configuration.requestIDHeader = "X-Request-ID"
        let server = HTTPServer(
            configuration: configuration, responder: Self.router(), logger: Logger(label: "http", sink: sink))
        try server.start()
        let response = try await blocking {
            let client = try TestClient(port: server.port)
            try client.send("GET /fail HTTP/1.1\r\nHost: t\r\nX-Request-ID: trace-1\r\n\r\n")
            return try client.readResponse()
        }
        await server.shutdown(deadline: .seconds(1))
        #expect(response.status == 500)
        #expect(!response.text.contains("CancellationError"))
        let record = try #require(sink.records.first { $0.message == "handler failed" })
        #expect(record.level == .error)
        #expect(record.metadata["request.id"] == "trace-1")
        #expect(record.metadata["error.type"] == "CancellationError")
    }

    @Test func serverHeaderAndInjectedHeaderValues() async throws {
        try await withServer(testConfiguration { $0.serverName = "purview-gateway" }, responder: Self.router()) {
            server in
            let client = try TestClient(port: server.port)
            try client.send("GET /inject HTTP/1.1\r\nHost: t\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.headers["Server"] == "purview-gateway")
            #expect(response.headers["X-Good"] == "yes")
            // A value with CR/LF is dropped, never written: no response splitting.
            #expect(response.headers["X-Bad"] == nil)
            #expect(response.headers["Set-Cookie"] == nil)
            #expect(response.text == "ok")
        }
    }

    @Test func responseHeadsLargerThanTheScratchBufferAreWrittenWhole() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            for _ in 0..<2 {
                try client.send("GET /large-head HTTP/1.1\r\nHost: t\r\n\r\n")
                let response = try client.readResponse()
                #expect(response.headers["X-Large-0"] == String(repeating: "v", count: 1000))
                #expect(response.headers["X-Large-7"] == String(repeating: "v", count: 1000))
                #expect(response.text == "large")
            }
            try client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().text == "hello")
        }
    }

    /// Malformed and smuggling-shaped requests: each gets its status, then the connection closes.
    static let malformed: [(name: String, request: String, status: Int)] = [
        ("missing Host", "GET /hello HTTP/1.1\r\n\r\n", 400),
        ("two Hosts", "GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        (
            "Content-Length with Transfer-Encoding",
            "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400
        ),
        (
            "conflicting Content-Length",
            "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400
        ),
        ("negative Content-Length", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
        ("Content-Length with a sign", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\nabcd", 400),
        ("unknown transfer coding", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (
            "chunked twice", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
            400
        ),
        // "identity" is no transfer coding (RFC 9112 §7): an unknown one is 501.
        (
            "chunked then identity", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
            501
        ),
        ("Transfer-Encoding in HTTP/1.0", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("obsolete line folding", "GET /hello HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400),
        ("space before colon", "GET /hello HTTP/1.1\r\nHost : a\r\n\r\n", 400),
        ("bare LF", "GET /hello HTTP/1.1\nHost: a\n\n", 400),
        ("bare CR", "GET /hello HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400),
        ("NUL in a value", "GET /hello HTTP/1.1\r\nHost: a\u{0}b\r\n\r\n", 400),
        ("invalid method", "G@T /hello HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("invalid target", "GET hello HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("HTTP/2.0", "GET /hello HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        ("unknown expectation", "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: magic\r\nContent-Length: 1\r\n\r\nx", 417),
        (
            "bad chunk size",
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400
        ),
        (
            "chunk without CRLF",
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400
        ),
        (
            "unsupported content coding",
            "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Encoding: br\r\nContent-Length: 1\r\n\r\nx", 415
        ),
    ]

    @Test(arguments: malformed.indices)
    func malformedRequestIsRejectedAndClosed(index: Int) async throws {
        let testCase = Self.malformed[index]
        try await withServer(testConfiguration { $0.loopCount = 1 }, responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            // A valid request first proves the rejection also ends a used connection.
            try client.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            try client.send(testCase.request)
            let response = try client.readResponse()
            #expect(response.status == testCase.status, "\(testCase.name)")
            #expect(response.headers["Connection"] == "close", "\(testCase.name)")
            #expect(client.waitForClose(timeout: .seconds(3)), "\(testCase.name)")
        }
    }

    @Test func limitsAnswer414And431And413() async throws {
        try await withServer(responder: Self.router()) { server in
            let longTarget = try TestClient(port: server.port)
            try longTarget.send("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try longTarget.readResponse().status == 414)
            #expect(longTarget.waitForClose(timeout: .seconds(3)))

            let bigFields = try TestClient(port: server.port)
            try bigFields.send(
                "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: " + String(repeating: "b", count: 70_000) + "\r\n\r\n")
            #expect(try bigFields.readResponse().status == 431)
            #expect(bigFields.waitForClose(timeout: .seconds(3)))

            let manyFields = try TestClient(port: server.port)
            let fields = (0..<101).map { "X-F\($0): v\r\n" }.joined()
            try manyFields.send("GET /hello HTTP/1.1\r\nHost: t\r\n" + fields + "\r\n")
            #expect(try manyFields.readResponse().status == 431)

            let declared = try TestClient(port: server.port)
            try declared.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n")
            #expect(try declared.readResponse().status == 413)
            #expect(declared.waitForClose(timeout: .seconds(3)))

            let chunked = try TestClient(port: server.port)
            try chunked.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
            let chunk = "10000\r\n" + String(repeating: "c", count: 0x10000) + "\r\n"
            for _ in 0..<17 { try? chunked.send(chunk) }
            #expect(try chunked.readResponse().status == 413)
        }
    }
}
