import HTTP
import Testing

/// Valid inputs that must parse identically however the bytes are split.
let validRequests: [(name: String, input: String)] = [
    ("simple GET", "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"),
    ("POST with Content-Length", "POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world"),
    (
        "chunked with extensions and trailers",
        "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value;flag\r\nhello\r\n6 ; q=\"a \\\"b\\\" c\"\r\n world\r\nA\r\n0123456789\r\n"
            + "0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
    ),
    (
        "pipelined requests",
        "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
            + "DELETE /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n"
    ),
    ("HTTP/1.0 without Host", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
    ("leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    (
        "empty lines between pipelined requests",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
    ),
    ("OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("CONNECT authority-form", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
    ("absolute-form", "GET http://example.com/a?b HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    ("obs-text and tabs in values", "GET / HTTP/1.1\r\nHost: a\r\nX-Text: \tcaf\u{E9} \t x\t\r\nX-Empty:\r\n\r\n"),
]

@Suite struct RequestParserTests {
    /// Common names come from a shared table, but every name keeps exactly the spelling it was sent with.
    @Test func fieldNamesKeepTheirSpelling() throws {
        let others = [
            "Content-Type", "content-type", "CONTENT-TYPE", "x-request-id", "X-Request-ID", "X-Custom", "user-Agent",
        ]
        for host in ["Host", "host", "HOST", "hoSt"] {
            let input = "GET / HTTP/1.1\r\n\(host): a\r\n" + others.map { "\($0): b\r\n" }.joined() + "\r\n"
            let messages = try parseRequests(bytes(input))
            #expect(messages.first?.head.fields.map(\.name) == [host] + others)
        }
    }

    @Test(arguments: validRequests.map(\.name))
    func sameResultAtEverySplit(_ name: String) throws {
        let input = bytes(validRequests.first { $0.name == name }!.input)
        let whole = try parseRequests(input)
        #expect(!whole.isEmpty)
        #expect(whole.allSatisfy { $0.trailers != nil }, "every message ends")
        #expect(try parseRequestsBytewise(input) == whole)
        for split in 1..<input.count {
            #expect(try parseRequests(input, pieces: [split]) == whole, "split at \(split)")
        }
    }

    @Test func simpleGet() throws {
        let messages = try parseRequests(bytes(validRequests[0].input))
        #expect(messages.count == 1)
        let head = messages[0].head
        #expect(head.method == .get)
        #expect(head.target == "/index.html?q=1")
        #expect(head.path == "/index.html")
        #expect(head.query == "q=1")
        #expect(head.version == .http1_1)
        #expect(
            head.fields.fields == [
                HTTPField(name: "Host", value: "example.com"), HTTPField(name: "Accept", value: "*/*"),
            ])
        #expect(messages[0].body.isEmpty)
        #expect(messages[0].trailers == HTTPFields())
    }

    @Test func chunkedBodyWithExtensionsAndTrailers() throws {
        let messages = try parseRequests(bytes(validRequests[2].input))
        #expect(messages.count == 1)
        #expect(messages[0].body == bytes("hello world0123456789"))
        #expect(
            messages[0].trailers?.fields == [
                HTTPField(name: "X-Checksum", value: "abc"), HTTPField(name: "X-Other", value: "1"),
            ])
    }

    @Test func pipelinedRequestsStayBufferedUntilAskedFor() throws {
        let first = "POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
        let second = "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
        var parser = HTTPRequestParser()
        parser.append(bytes(first + second))
        guard case .head(let head1) = try parser.next() else { throw Failure("expected a head") }
        #expect(head1.target == "/1")
        #expect(try parser.next() == .body(bytes("hello")))
        #expect(try parser.next() == .end(trailers: HTTPFields()))
        #expect(parser.bufferedByteCount == second.utf8.count)
        #expect(!parser.isBetweenMessages)
        guard case .head(let head2) = try parser.next() else { throw Failure("expected a head") }
        #expect(head2.target == "/2")
        #expect(try parser.next() == .end(trailers: HTTPFields()))
        #expect(try parser.next() == nil)
        #expect(parser.isBetweenMessages)
        #expect(parser.bufferedByteCount == 0)
    }

    @Test func bodyIsNotReadPastContentLength() throws {
        var parser = HTTPRequestParser()
        parser.append(bytes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nab"))
        _ = try parser.next()
        #expect(try parser.next() == .body(bytes("ab")))
        #expect(try parser.next() == nil)
        parser.append(bytes("cGET"))
        #expect(try parser.next() == .body(bytes("c")))
        #expect(try parser.next() == .end(trailers: HTTPFields()))
        #expect(try parser.next() == nil)
        #expect(parser.bufferedByteCount == 3)
    }

    @Test(
        arguments: [
            ("1.1, no Connection", "HTTP/1.1", nil, true),
            ("1.1, close", "HTTP/1.1", "close", false),
            ("1.1, Close in a list", "HTTP/1.1", "Upgrade, Close", false),
            ("1.1, keep-alive", "HTTP/1.1", "keep-alive", true),
            ("1.0, no Connection", "HTTP/1.0", nil, false),
            ("1.0, keep-alive", "HTTP/1.0", "Keep-Alive", true),
            ("1.0, keep-alive and close", "HTTP/1.0", "keep-alive, close", false),
            ("1.0, other token", "HTTP/1.0", "x-keep-alive", false),
            ("1.2 is treated as 1.1", "HTTP/1.2", nil, true),
        ] as [(String, String, String?, Bool)])
    func keepAlive(_ name: String, _ version: String, _ connection: String?, _ expected: Bool) throws {
        let connectionLine = connection.map { "Connection: \($0)\r\n" } ?? ""
        let messages = try parseRequests(bytes("GET / \(version)\r\nHost: a\r\n\(connectionLine)\r\n"))
        #expect(messages.first?.head.keepAlive == expected)
    }

    @Test func expectContinue() throws {
        var parser = HTTPRequestParser()
        parser.append(bytes("PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n"))
        #expect(!parser.expectsContinue)
        guard case .head = try parser.next() else { throw Failure("expected a head") }
        #expect(parser.expectsContinue)
        #expect(try parser.next() == nil)
        #expect(parser.expectsContinue, "still waiting for the body")
        parser.append(bytes("da"))
        #expect(try parser.next() == .body(bytes("da")))
        #expect(!parser.expectsContinue, "the client sent the body anyway")
        parser.append(bytes("ta"))
        #expect(try parser.next() == .body(bytes("ta")))
        #expect(try parser.next() == .end(trailers: HTTPFields()))
    }

    @Test(arguments: [
        ("HTTP/1.0 ignores it", "PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", false),
        ("no body", "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", false),
        (
            "zero Content-Length", "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
            false
        ),
        ("chunked", "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n", true),
        ("empty Expect", "PUT / HTTP/1.1\r\nHost: a\r\nExpect:\r\nContent-Length: 4\r\n\r\n", false),
    ])
    func expectContinueCases(_ name: String, _ input: String, _ expected: Bool) throws {
        var parser = HTTPRequestParser()
        parser.append(bytes(input))
        guard case .head = try parser.next() else { throw Failure("expected a head") }
        #expect(parser.expectsContinue == expected)
    }

    @Test func chunkedClearsExpectContinueAtTheFirstChunk() throws {
        var parser = HTTPRequestParser()
        parser.append(bytes("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"))
        _ = try parser.next()
        #expect(parser.expectsContinue)
        parser.append(bytes("3\r\nabc\r\n0\r\n\r\n"))
        #expect(try parser.next() == .body(bytes("abc")))
        #expect(!parser.expectsContinue)
    }

    @Test func setBodyLimitRaisesTheLimitForOneMessage() throws {
        let size = 1_500_000
        let body = [UInt8](repeating: 0x61, count: size)
        let request = bytes("PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: \(size)\r\n\r\n") + body
        var parser = HTTPRequestParser()
        parser.append(request + request)
        guard case .head = try parser.next() else { throw Failure("expected a head") }
        parser.setBodyLimit(2_000_000)
        var received: [UInt8] = []
        while case .body(let piece) = try parser.next() { received += piece }
        #expect(received == body)
        // The raised limit was for that message only.
        guard case .head = try parser.next() else { throw Failure("expected a head") }
        let error = parseError { () throws(HTTPParseError) in try parser.next() }
        #expect(error?.status == .contentTooLarge)
    }

    @Test func setBodyLimitLowersTheLimit() throws {
        var parser = HTTPRequestParser()
        parser.append(bytes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world"))
        _ = try parser.next()
        parser.setBodyLimit(10)
        #expect(parseError { () throws(HTTPParseError) in try parser.next() }?.status == .contentTooLarge)

        var exact = HTTPRequestParser()
        exact.append(bytes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhelloworld"))
        _ = try exact.next()
        exact.setBodyLimit(10)
        #expect(try exact.next() == .body(bytes("helloworld")))
    }

    @Test func setBodyLimitAppliesToChunkedBodies() throws {
        var parser = HTTPRequestParser()
        parser.append(bytes("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"))
        _ = try parser.next()
        parser.setBodyLimit(8)
        parser.append(bytes("5\r\nhello\r\n"))
        #expect(try parser.next() == .body(bytes("hello")))
        parser.append(bytes("4\r\nabcd\r\n"))
        #expect(parseError { () throws(HTTPParseError) in try parser.next() }?.status == .contentTooLarge)
    }

    @Test func configurableLimits() throws {
        var limits = HTTPParserLimits()
        limits.maxRequestLineBytes = 20
        limits.maxFieldCount = 2
        limits.maxFieldBytes = 30
        limits.maxBodyBytes = 3
        let line = "GET /0123456 HTTP/1.1"
        #expect(line.utf8.count == 21)
        let tooLong = parseError { () throws(HTTPParseError) in try parseRequests(bytes(line + "\r\n"), limits: limits)
        }
        #expect(tooLong?.status == .uriTooLong)
        #expect(try parseRequests(bytes("GET /012345 HTTP/1.1\r\nHost: a\r\n\r\n"), limits: limits).count == 1)
        let tooMany = parseError { () throws(HTTPParseError) in
            try parseRequests(bytes("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n"), limits: limits)
        }
        #expect(tooMany?.status == .requestHeaderFieldsTooLarge)
        let body = parseError { () throws(HTTPParseError) in
            try parseRequests(bytes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd"), limits: limits)
        }
        #expect(body?.status == .contentTooLarge)
    }

    /// Field bytes count every field line with its CRLF; the empty line that ends the head is free.
    @Test func fieldBytesLimitBoundary() throws {
        var limits = HTTPParserLimits()
        limits.maxFieldBytes = 30
        // "Host: a\r\n" is 9 bytes; "X: " + 16 + "\r\n" is 21 bytes: 30 in total.
        let fits = "GET / HTTP/1.1\r\nHost: a\r\nX: \(String(repeating: "v", count: 16))\r\n\r\n"
        #expect(try parseRequests(bytes(fits), limits: limits).count == 1)
        #expect(try parseRequestsBytewise(bytes(fits), limits: limits).count == 1)
        let over = "GET / HTTP/1.1\r\nHost: a\r\nX: \(String(repeating: "v", count: 17))\r\n\r\n"
        let error = parseError { () throws(HTTPParseError) in try parseRequests(bytes(over), limits: limits) }
        #expect(error?.status == .requestHeaderFieldsTooLarge)
        let bytewise = parseError { () throws(HTTPParseError) in try parseRequestsBytewise(bytes(over), limits: limits)
        }
        #expect(bytewise?.status == .requestHeaderFieldsTooLarge)
    }

    @Test func defaultLimitBoundaries() throws {
        let line = "GET /" + String(repeating: "a", count: 8192 - 14) + " HTTP/1.1"
        #expect(line.utf8.count == 8192)
        #expect(try parseRequests(bytes(line + "\r\nHost: a\r\n\r\n")).count == 1)
        let hundred = "GET / HTTP/1.1\r\nHost: a\r\n" + (1...99).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        #expect(try parseRequests(bytes(hundred)).first?.head.fields.count == 100)
        let mebibyte = [UInt8](repeating: 0x62, count: 1 << 20)
        let body = try parseRequests(
            bytes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \(1 << 20)\r\n\r\n") + mebibyte)
        #expect(body.first?.body == mebibyte)
    }

    @Test(arguments: [
        ("chunked ", "Transfer-Encoding: chunked \r\n"),
        ("Chunked", "Transfer-Encoding: Chunked\r\n"),
        ("tab", "Transfer-Encoding:\tchunked\r\n"),
    ])
    func acceptedTransferEncodings(_ name: String, _ field: String) throws {
        let input = "POST / HTTP/1.1\r\nHost: a\r\n\(field)\r\n3\r\nabc\r\n0\r\n\r\n"
        #expect(try parseRequests(bytes(input)).first?.body == bytes("abc"))
    }

    @Test(arguments: ["5, 5", " 5 ", "5", "005", "5,5"])
    func acceptedContentLengths(_ value: String) throws {
        let input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\(value)\r\n\r\nhello"
        #expect(try parseRequests(bytes(input)).first?.body == bytes("hello"))
    }

    @Test(arguments: [
        "example.com", "example.com:8080", "127.0.0.1", "[::1]:443", "[fe80::1%25eth0]", "", "xn--bcher-kva.example",
        "a_b-c~d.e!$&'()*+,;=",
    ])
    func acceptedHostValues(_ host: String) throws {
        let messages = try parseRequests(bytes("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n"))
        #expect(messages.first?.head.fields["Host"] == host)
    }

    @Test func sameContentLengthTwice() throws {
        let input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\nhello"
        #expect(try parseRequests(bytes(input)).first?.body == bytes("hello"))
    }

    @Test func methodsAreCaseSensitiveTokens() throws {
        let messages = try parseRequests(
            bytes("get / HTTP/1.1\r\nHost: a\r\n\r\nM-SEARCH / HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(messages.map(\.head.method.rawValue) == ["get", "M-SEARCH"])
        #expect(messages[0].head.method != .get)
        let options = try parseRequests(bytes("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(options.first?.head.method == .options)
    }

    @Test func isBetweenMessages() throws {
        var parser = HTTPRequestParser()
        #expect(parser.isBetweenMessages)
        parser.append(bytes("GET / HT"))
        #expect(try parser.next() == nil)
        #expect(!parser.isBetweenMessages)
        parser.append(bytes("TP/1.1\r\nHost: a\r\n\r\n"))
        _ = try parser.next()
        #expect(!parser.isBetweenMessages)
        #expect(try parser.next() == .end(trailers: HTTPFields()))
        #expect(parser.isBetweenMessages)
    }
}

struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

@Suite struct ExpectContinueFlowTests {
    /// The server flow the doc comment promises: the 413 comes before any body byte, so no 100 is sent.
    @Test func oversizedBodyIsRefusedBeforeContinue() throws {
        var parser = HTTPRequestParser()
        parser.append(bytes("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n"))
        guard case .head = try parser.next() else { throw Failure("expected a head") }
        #expect(parser.expectsContinue)
        parser.setBodyLimit(4000)
        #expect(parseError { () throws(HTTPParseError) in try parser.next() }?.status == .contentTooLarge)
    }

    @Test func acceptedBodyWaitsForContinue() throws {
        var parser = HTTPRequestParser()
        parser.append(bytes("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n"))
        guard case .head = try parser.next() else { throw Failure("expected a head") }
        parser.setBodyLimit(8000)
        #expect(try parser.next() == nil)
        #expect(parser.expectsContinue, "now the server sends 100 Continue")
    }
}
