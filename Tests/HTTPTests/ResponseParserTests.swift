import HTTP
import Testing

@Suite struct ResponseParserTests {
    @Test func contentLength() throws {
        let input = bytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
        let whole = try parseResponses(input)
        #expect(whole.count == 1)
        #expect(whole[0].head.status == HTTPStatus(code: 200, reasonPhrase: "OK"))
        #expect(whole[0].head.version == .http1_1)
        #expect(whole[0].head.fields["content-type"] == "text/plain")
        #expect(whole[0].body == bytes("hello"))
        #expect(whole[0].trailers == HTTPFields())
        for split in 1..<input.count {
            #expect(try parseResponses(input, pieces: [split]) == whole)
        }
    }

    @Test func chunkedWithTrailers() throws {
        let input = bytes(
            "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\n"
        )
        let whole = try parseResponses(input)
        #expect(whole.count == 1)
        #expect(whole[0].head.status.code == 201)
        #expect(whole[0].body == bytes("Wikipedia"))
        #expect(whole[0].trailers == ["X-T": "1"])
        #expect(try parseResponses(input, pieces: Array(repeating: 1, count: input.count)) == whole)
    }

    @Test func readUntilClose() throws {
        var parser = HTTPResponseParser()
        parser.append(bytes("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nsome"))
        guard case .head = try parser.next() else { throw Failure("expected a head") }
        #expect(try parser.next() == .body(bytes("some")))
        #expect(try parser.next() == nil)
        parser.append(bytes(" more"))
        #expect(try parser.finish() == .body(bytes(" more")))
        #expect(try parser.finish() == .end(trailers: HTTPFields()))
        #expect(try parser.finish() == nil)
        #expect(try parser.next() == nil)
    }

    @Test func readUntilCloseInHTTP10() throws {
        let messages = try parseResponses(bytes("HTTP/1.0 200 OK\r\n\r\nabc"), close: true)
        #expect(messages.count == 1)
        #expect(messages[0].head.version == .http1_0)
        #expect(messages[0].body == bytes("abc"))
        #expect(messages[0].trailers == HTTPFields())
    }

    @Test func headResponsesHaveNoBody() throws {
        let input = bytes(
            "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
        let messages = try parseResponses(input, methods: [.head, .head, .get])
        #expect(messages.count == 3)
        #expect(messages.map(\.body) == [[], [], bytes("hi")])
        #expect(messages.allSatisfy { $0.trailers != nil })
    }

    @Test(arguments: [204, 304])
    func noBodyStatuses(_ code: Int) throws {
        let input = bytes(
            "HTTP/1.1 \(code) X\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz")
        let messages = try parseResponses(input)
        #expect(messages.map(\.head.status.code) == [code, 200])
        #expect(messages.map(\.body) == [[], bytes("z")])
    }

    @Test func interimResponsesAreSkipped() throws {
        let input = bytes(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        let messages = try parseResponses(input, methods: [.head])
        #expect(messages.count == 1)
        #expect(messages[0].head.status.code == 200)
        #expect(messages[0].head.fields["Link"] == nil)
        #expect(messages[0].body.isEmpty, "the HEAD method applies to the final response")
    }

    @Test func switchingProtocolsIsReturned() throws {
        let messages = try parseResponses(bytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"))
        #expect(messages.first?.head.status.code == 101)
        #expect(messages.first?.trailers == HTTPFields())
    }

    @Test func successfulConnectHasNoBody() throws {
        let messages = try parseResponses(bytes("HTTP/1.1 200 Connection Established\r\n\r\n"), methods: [.connect])
        #expect(messages.first?.trailers == HTTPFields())
    }

    @Test(arguments: [
        ("Content-Length body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
        ("chunked body", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"),
        ("missing last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n"),
        ("head", "HTTP/1.1 200 OK\r\nContent-Le"),
        ("status line", "HTTP/1.1 2"),
    ])
    func truncatedMessageFailsOnFinish(_ name: String, _ input: String) throws {
        let error = parseError { () throws(HTTPParseError) in try parseResponses(bytes(input), close: true) }
        #expect(error?.status == .badRequest)
    }

    @Test func finishBetweenMessagesIsClean() throws {
        var parser = HTTPResponseParser()
        #expect(try parser.finish() == nil)
        parser.append(bytes("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"))
        var parts: [HTTPResponsePart] = []
        while let part = try parser.finish() { parts.append(part) }
        #expect(parts.count == 3, "finish drains complete parts before checking for truncation")
        #expect(parser.isBetweenMessages)
    }

    @Test func finishDeliversTheEndOfABodilessResponse() throws {
        var parser = HTTPResponseParser()
        parser.append(bytes("HTTP/1.1 204 No Content\r\n\r\n"))
        guard case .head = try parser.next() else { throw Failure("expected a head") }
        #expect(try parser.finish() == .end(trailers: HTTPFields()))
        #expect(try parser.finish() == nil)
    }

    @Test func bodyLimitAppliesToContentLength() throws {
        var parser = HTTPResponseParser()
        parser.setBodyLimit(4)
        parser.append(bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"))
        guard case .head = try parser.next() else { throw Failure("expected a head") }
        #expect(parseError { () throws(HTTPParseError) in try parser.next() }?.status == .contentTooLarge)
    }

    /// Found by the fuzzer: the bytes delivered before the 413 must not depend on how reads were split.
    @Test(arguments: [[], [1], [19, 3]])
    func bodyLimitAppliesToReadUntilClose(_ pieces: [Int]) throws {
        let input = bytes("HTTP/1.1 200 OK\r\n\r\nhello")
        var parser = HTTPResponseParser()
        parser.setBodyLimit(4)
        var body: [UInt8] = []
        var offset = 0
        var pieceIndex = 0
        var failure: HTTPParseError?
        while offset < input.count && failure == nil {
            let size = pieces.isEmpty ? input.count : pieces[pieceIndex % pieces.count]
            pieceIndex += 1
            parser.append(Array(input[offset..<min(input.count, offset + size)]))
            offset = min(input.count, offset + size)
            failure = parseError { () throws(HTTPParseError) in
                while let part = try parser.next() {
                    if case .body(let bytes) = part { body += bytes }
                }
            }
        }
        #expect(body == bytes("hell"))
        #expect(failure?.status == .contentTooLarge)
    }

    @Test(arguments: [
        ("no reason phrase", "HTTP/1.1 200\r\n\r\n", 200, ""),
        ("empty reason phrase", "HTTP/1.1 200 \r\n\r\n", 200, ""),
        ("reason with spaces", "HTTP/1.1 404 Not  Found \r\n\r\n", 404, "Not  Found "),
        ("unknown code", "HTTP/1.1 299 Whatever\r\nContent-Length: 0\r\n\r\n", 299, "Whatever"),
    ])
    func statusLines(_ name: String, _ input: String, _ code: Int, _ reason: String) throws {
        let messages = try parseResponses(bytes(input), close: true)
        #expect(messages.first?.head.status == HTTPStatus(code: code, reasonPhrase: reason))
    }

    @Test(arguments: [
        ("short", "HTTP/1.1 20\r\n\r\n"),
        ("letters in code", "HTTP/1.1 2x0 OK\r\n\r\n"),
        ("code below 100", "HTTP/1.1 099 X\r\n\r\n"),
        ("four digits", "HTTP/1.1 2000 OK\r\n\r\n"),
        ("no space", "HTTP/1.1200 OK\r\n\r\n"),
        ("bad version", "HTTX/1.1 200 OK\r\n\r\n"),
        ("NUL in reason", "HTTP/1.1 200 O\u{0}K\r\n\r\n"),
        ("CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ("conflicting CL", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
        ("chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
        ("chunked not last, then chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip, chunked\r\n\r\n"),
        ("bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"),
        ("obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"),
    ])
    func malformedResponses(_ name: String, _ input: String) {
        let error = parseError { () throws(HTTPParseError) in try parseResponses(bytes(input), close: true) }
        #expect(error?.status == .badRequest, "\(error?.description ?? "accepted")")
    }

    /// RFC 9112 §6.3 rule 4: when chunked is not the final coding of a response, the body runs to the close.
    @Test func responseWithNonChunkedFinalCodingIsReadUntilClose() throws {
        let messages = try parseResponses(
            bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\u{1F}\u{8B}rest"), close: true)
        #expect(messages.first?.body == bytes("\u{1F}\u{8B}rest"))
        #expect(messages.first?.trailers == HTTPFields())
    }

    /// Found by the fuzzer (its harness wrongly allowed only 400/413/505): head limits apply to responses.
    @Test func responseHeadLimits() {
        var limits = HTTPParserLimits()
        limits.maxFieldBytes = 120
        limits.maxFieldCount = 2
        limits.maxRequestLineBytes = 16
        func error(_ text: String) -> HTTPParseError? {
            var parser = HTTPResponseParser(limits: limits)
            parser.append(bytes(text))
            return parseError { () throws(HTTPParseError) in try parser.next() }
        }
        let big = "HTTP/1.1 200 \r\nX: \(String(repeating: "\u{A7}", count: 80))\r\n\r\n"
        #expect(error(big)?.status == .requestHeaderFieldsTooLarge)
        #expect(error("HTTP/1.1 200 \r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n")?.status == .requestHeaderFieldsTooLarge)
        #expect(error("HTTP/1.1 200 Long reason\r\n\r\n")?.status == .badRequest, "a long status line is not a URI")
        #expect(error("HTTP/1.1 200 \r\nA: 1\r\nB: 2\r\n\r\n") == nil)
    }

    @Test func responseVersionNotSupported() {
        let error = parseError { () throws(HTTPParseError) in try parseResponses(bytes("HTTP/2.0 200 OK\r\n\r\n")) }
        #expect(error?.status == .httpVersionNotSupported)
    }
}
