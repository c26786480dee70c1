import Foundation
import HTTP
import Networking
import Synchronization
import Testing

/// Request and response bodies: chunked, streamed, 100-continue.
@Suite(.serialized) struct ServerBodyTests {
    static func router() -> Router.Responder {
        let router = Router()
        router.add(.post, "/echo") { request in
            let body = try await request.body.collect(upTo: 1 << 20)
            return ServerResponse(status: .ok, contentType: "application/octet-stream", body: body)
        }
        router.add(
            .post, "/echo-immediate",
            HTTPHandler.immediate { request in
                ServerResponse(
                    status: .ok, contentType: "application/octet-stream", body: request.body.bufferedBytes ?? [])
            })
        // Answers inline when the body says so, else from a task: both with the whole body in hand.
        router.add(
            .post, "/inline-first",
            HTTPHandler.inlineFirst { request in
                let body = request.body.bufferedBytes ?? []
                if body == Array("now".utf8) { return .respond(text(.ok, "inline \(body.count)")) }
                if body == Array("fail".utf8) { throw HTTPError(.conflict, "refused inline") }
                return .continueAsync {
                    try await Task.sleep(for: .milliseconds(5))
                    return text(.ok, "async \(String(decoding: body, as: UTF8.self))")
                }
            })
        // Reads a large upload chunk by chunk, never holding it whole.
        router.add(.post, "/count", bodyLimit: 64 << 20) { request in
            var total = 0
            var largestChunk = 0
            var checksum: UInt64 = 0
            for try await chunk in request.body {
                total += chunk.count
                largestChunk = max(largestChunk, chunk.count)
                for byte in chunk { checksum = checksum &* 31 &+ UInt64(byte) }
            }
            return text(.ok, "\(total) \(checksum) \(largestChunk)")
        }
        router.add(.post, "/small", bodyLimit: 100) { request in
            let body = try await request.body.collect(upTo: 100)
            return text(.ok, "got \(body.count)")
        }
        router.add(.post, "/ignore-body") { _ in text(.accepted, "not reading it") }
        router.add(.get, "/stream/{parts}") { request in
            let parts = Int(request.pathParameters["parts"] ?? "0") ?? 0
            return ServerResponse(
                status: .ok, headers: HTTPFields([("Content-Type", "text/plain")]),
                body: .stream { writer in
                    for index in 0..<parts { try await writer.write(Array("part \(index)\n".utf8)) }
                })
        }
        router.add(.get, "/async-stream") { _ in
            let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
            Task {
                for index in 0..<3 {
                    continuation.yield(Array("event \(index)\n".utf8))
                    try? await Task.sleep(for: .milliseconds(10))
                }
                continuation.finish()
            }
            return ServerResponse(
                status: .ok, headers: HTTPFields([("Content-Type", "text/plain")]), body: .stream(stream))
        }
        router.add(.get, "/broken-stream") { _ in
            ServerResponse(
                status: .ok,
                body: .stream { writer in
                    try await writer.write(Array("partial".utf8))
                    throw CancellationError()
                })
        }
        return router.freeze()
    }

    @Test func chunkedRequestBodyIsDecoded() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            for path in ["/echo", "/echo-immediate"] {
                try client.send(
                    "POST \(path) HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n")
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "hello world!")
            }
        }
    }

    @Test func inlineFirstHandlersAnswerInlineOrHandOverToATask() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            // Pipelined: the task's answer must still come back in order, before the inline one after it.
            try client.send(
                "POST /inline-first HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nlater"
                    + "POST /inline-first HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nnow\r\n0\r\n\r\n"
                    + "POST /inline-first HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nfail")
            #expect(try client.readResponse().text == "async later")
            #expect(try client.readResponse().text == "inline 3")
            let refused = try client.readResponse()
            #expect(refused.status == 409)
            #expect(refused.text.contains("refused inline"))
        }
    }

    @Test func chunkedBodyArrivingSlowlyIsStreamedToTheHandler() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
            for piece in ["3\r\nabc\r\n", "3\r\ndef", "\r\n0\r\n", "\r\n"] {
                try client.send(piece)
                Thread.sleep(forTimeInterval: 0.02)
            }
            #expect(try client.readResponse().text == "abcdef")
        }
    }

    @Test func largeUploadStreamsThroughInBoundedChunks() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port, receiveTimeout: .seconds(20))
            let size = 4 << 20
            var payload = [UInt8](repeating: 0, count: size)
            var checksum: UInt64 = 0
            for index in 0..<size {
                payload[index] = UInt8(truncatingIfNeeded: index &* 7 &+ index >> 9)
                checksum = checksum &* 31 &+ UInt64(payload[index])
            }
            try client.send("POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: \(size)\r\n\r\n")
            try client.send(payload)
            let response = try client.readResponse()
            #expect(response.status == 200)
            let fields = response.text.split(separator: " ")
            #expect(fields.count == 3)
            #expect(fields.first == "\(size)")
            #expect(fields.dropFirst().first == "\(checksum)")
            // The handler saw the body in pieces, never the whole upload at once.
            #expect((Int(fields.last ?? "") ?? size) <= 256 * 1024)
            // Over the default limit on a route that did not raise it: 413.
            try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: \(size)\r\n\r\n")
            #expect(try client.readResponse().status == 413)
        }
    }

    @Test func expectContinueIsAnsweredWhenTheHandlerReads() async throws {
        try await withServer(responder: Self.router()) { server in
            for path in ["/echo", "/echo-immediate"] {
                let client = try TestClient(port: server.port)
                try client.send("POST \(path) HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
                let interim = try client.receive()
                #expect(String(decoding: interim, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n", "\(path)")
                try client.send("ping")
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "ping")
            }
        }
    }

    @Test func expectContinueOverTheRouteLimitIs413WithoutReading() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            try client.send("POST /small HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n")
            // The first thing on the wire is the final 413, not 100 Continue.
            let response = try client.readResponse()
            #expect(response.status == 413)
            #expect(client.waitForClose(timeout: .seconds(3)))

            // Within the limit the same route works.
            let fine = try TestClient(port: server.port)
            try fine.send("POST /small HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 50\r\n\r\n")
            #expect(String(decoding: try fine.receive(), as: UTF8.self).hasPrefix("HTTP/1.1 100 Continue"))
            try fine.send(String(repeating: "x", count: 50))
            #expect(try fine.readResponse().text == "got 50")
        }
    }

    @Test func handlerThatIgnoresAnExpectedBodyGetsNoContinueAndTheConnectionCloses() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            try client.send(
                "POST /ignore-body HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 202)
            #expect(response.headers["Connection"] == "close")
            #expect(client.waitForClose(timeout: .seconds(3)))
        }
    }

    @Test func streamedResponseIsChunked() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            try client.send("GET /stream/50 HTTP/1.1\r\nHost: t\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.headers["Transfer-Encoding"] == "chunked")
            #expect(response.headers["Content-Length"] == nil)
            #expect(response.text == (0..<50).map { "part \($0)\n" }.joined())
            // Keep-alive survives a streamed response.
            try client.send("GET /async-stream HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().text == "event 0\nevent 1\nevent 2\n")
            // HEAD: no body, and the producer is not run.
            try client.send("HEAD /stream/3 HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse(to: .head).body.isEmpty)
            try client.send("GET /stream/1 HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().text == "part 0\n")
        }
    }

    @Test func streamedResponseToHTTP10IsDelimitedByClose() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            try client.send("GET /stream/3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.headers["Transfer-Encoding"] == nil)
            #expect(response.headers["Connection"] == "close")
            #expect(response.text == "part 0\npart 1\npart 2\n")
        }
    }

    @Test func failingStreamIsTruncatedNotCompleted() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            try client.send("GET /broken-stream HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(throws: TestClient.Failure.self) { try client.readResponse() }
        }
    }
}
