import HTTP
import Testing

/// A request the parser must refuse, and the status the server answers with.
struct Rejection: Sendable, CustomTestStringConvertible {
    var name: String
    var input: [UInt8]
    var status: Int

    init(_ name: String, _ input: String, _ status: Int) {
        self.init(name, bytes(input), status)
    }

    init(_ name: String, _ input: [UInt8], _ status: Int) {
        self.name = name
        self.input = input
        self.status = status
    }

    var testDescription: String { "\(status) \(name)" }
}

private let post = "POST /upload HTTP/1.1\r\nHost: example.com\r\n"
private let chunked = post + "Transfer-Encoding: chunked\r\n\r\n"
private let get = "GET / HTTP/1.1\r\nHost: example.com\r\n"
private let kib = 1024

let rejections: [Rejection] = [
    // Framing ambiguity (RFC 9112 §6.1, §6.3).
    Rejection(
        "Content-Length and Transfer-Encoding", post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    Rejection(
        "Transfer-Encoding and Content-Length", post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400),
    Rejection(
        "Content-Length and gzip Transfer-Encoding", post + "Content-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    Rejection("two differing Content-Length fields", post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400),
    Rejection("Content-Length list with differing values", post + "Content-Length: 1, 2\r\n\r\nab", 400),
    Rejection("Content-Length with a plus sign", post + "Content-Length: +5\r\n\r\nhello", 400),
    Rejection("negative Content-Length", post + "Content-Length: -1\r\n\r\n", 400),
    Rejection("hexadecimal Content-Length", post + "Content-Length: 0x5\r\n\r\nhello", 400),
    Rejection("Content-Length with trailing letters", post + "Content-Length: 5a\r\n\r\nhello", 400),
    Rejection("Content-Length with inner space", post + "Content-Length: 1 2\r\n\r\n", 400),
    Rejection("empty Content-Length", post + "Content-Length:\r\n\r\n", 400),
    Rejection("Content-Length list with an empty element", post + "Content-Length: 5,\r\n\r\nhello", 400),
    Rejection("Content-Length with 19 digits", post + "Content-Length: 9999999999999999999\r\n\r\n", 400),
    Rejection(
        "Content-Length with 40 digits", post + "Content-Length: \(String(repeating: "1", count: 40))\r\n\r\n", 400),
    Rejection("Content-Length with obs-text", post + "Content-Length: 5\u{A0}\r\n\r\nhello", 400),
    Rejection("Transfer-Encoding gzip", post + "Transfer-Encoding: gzip\r\n\r\n", 501),
    Rejection("Transfer-Encoding gzip, chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501),
    Rejection("Transfer-Encoding chunked, gzip", post + "Transfer-Encoding: chunked, gzip\r\n\r\n", 501),
    Rejection("Transfer-Encoding with parameters", post + "Transfer-Encoding: chunked;q=1\r\n\r\n", 501),
    Rejection("Transfer-Encoding chunked, chunked", post + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400),
    Rejection(
        "Transfer-Encoding chunked in two fields",
        post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    Rejection("Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    Rejection("empty Transfer-Encoding", post + "Transfer-Encoding:\r\n\r\n", 400),
    Rejection("Transfer-Encoding of commas only", post + "Transfer-Encoding: , ,\r\n\r\n", 400),
    Rejection("quoted Transfer-Encoding", post + "Transfer-Encoding: \"chunked\"\r\n\r\n", 400),

    // Chunked bodies (RFC 9112 §7.1).
    Rejection("chunk size that is not hex", chunked + "zz\r\nhello\r\n0\r\n\r\n", 400),
    Rejection("chunk size that overflows", chunked + "ffffffffffffffffff\r\n", 400),
    Rejection("chunk size with a sign", chunked + "-5\r\nhello\r\n0\r\n\r\n", 400),
    Rejection("chunk size with 0x prefix", chunked + "0x5\r\nhello\r\n0\r\n\r\n", 400),
    Rejection("empty chunk size line", chunked + "\r\nhello\r\n0\r\n\r\n", 400),
    Rejection("chunk size after a space", chunked + " 5\r\nhello\r\n0\r\n\r\n", 400),
    Rejection("chunk size followed by a space only", chunked + "5 \r\nhello\r\n0\r\n\r\n", 400),
    Rejection("chunk data not followed by CRLF", chunked + "5\r\nhelloXX\r\n0\r\n\r\n", 400),
    Rejection("chunk data followed by a bare LF", chunked + "5\r\nhello\n0\r\n\r\n", 400),
    Rejection("chunk data followed by a bare CR", chunked + "5\r\nhello\r0\r\n\r\n", 400),
    Rejection("chunk size line ended by a bare LF", chunked + "5\nhello\r\n0\r\n\r\n", 400),
    Rejection("chunk extension with a control character", chunked + "5;a=\u{01}\r\nhello\r\n0\r\n\r\n", 400),
    Rejection("chunk extension with a bare LF", chunked + "5;a\nb\r\nhello\r\n0\r\n\r\n", 400),
    Rejection("chunk extension without a name", chunked + "5;=x\r\nhello\r\n0\r\n\r\n", 400),
    Rejection("chunk extension with an empty name", chunked + "5;\r\nhello\r\n0\r\n\r\n", 400),
    Rejection("chunk extension value with a space", chunked + "5;a=b c\r\nhello\r\n0\r\n\r\n", 400),
    Rejection("chunk extension with an open quote", chunked + "5;a=\"b\r\nhello\r\n0\r\n\r\n", 400),
    Rejection("chunk size line longer than 4 KiB", chunked + "5;a=" + String(repeating: "b", count: 5 * kib), 400),
    Rejection("obs-fold in the trailers", chunked + "0\r\nX: a\r\n b\r\n\r\n", 400),
    Rejection("trailer field with whitespace before the colon", chunked + "0\r\nX : a\r\n\r\n", 400),

    // Field syntax (RFC 9112 §5, §2.2).
    Rejection("obs-fold", get + "X-Long: a\r\n b\r\n\r\n", 400),
    Rejection("obs-fold with a tab", get + "X-Long: a\r\n\tb\r\n\r\n", 400),
    Rejection("whitespace before the first field", "GET / HTTP/1.1\r\n Host: example.com\r\n\r\n", 400),
    Rejection("space before the colon", "GET / HTTP/1.1\r\nHost : example.com\r\n\r\n", 400),
    Rejection("tab before the colon", "GET / HTTP/1.1\r\nHost\t: example.com\r\n\r\n", 400),
    Rejection("bare CR in a field value", get + "X: a\rb\r\n\r\n", 400),
    Rejection("bare CR at the end of a field line", get + "X: a\r\r\n\r\n", 400),
    Rejection("field line ended by a bare LF", get + "X: a\n\r\n", 400),
    Rejection("head ended by a bare LF", get + "\n", 400),
    Rejection("request line ended by a bare LF", "GET / HTTP/1.1\nHost: example.com\r\n\r\n", 400),
    Rejection("NUL in a field value", get + "X: a\u{0}b\r\n\r\n", 400),
    Rejection("DEL in a field value", get + "X: a\u{7F}b\r\n\r\n", 400),
    Rejection("vertical tab in a field value", get + "X: a\u{0B}b\r\n\r\n", 400),
    Rejection("escape in a field value", get + "X: \u{1B}[31m\r\n\r\n", 400),
    Rejection("field without a colon", get + "Hello\r\n\r\n", 400),
    Rejection("empty field name", get + ": value\r\n\r\n", 400),
    Rejection("field name with a slash", get + "X/Y: value\r\n\r\n", 400),
    Rejection("field name with obs-text", get + "X\u{E9}: value\r\n\r\n", 400),
    Rejection("field name with a NUL", get + "X\u{0}Y: value\r\n\r\n", 400),

    // Request line (RFC 9112 §3).
    Rejection("control character in the target", "GET /a\u{01}b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    Rejection("DEL in the target", "GET /a\u{7F} HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    Rejection("NUL in the target", "GET /\u{0} HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    Rejection("tab in the target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    Rejection("space in the target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    Rejection("non-ASCII in the target", "GET /caf\u{E9} HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    Rejection("method with a parenthesis", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    Rejection("method with a NUL", "G\u{0}T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    Rejection("empty method", " / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    Rejection("two spaces after the method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    Rejection("tab instead of a space", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    Rejection("space after the version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400),
    Rejection("no version", "GET /\r\nHost: a\r\n\r\n", 400),
    Rejection("method only", "GET\r\n\r\n", 400),
    Rejection("lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400),
    Rejection("version HTTP/1.x", "GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400),
    Rejection("version HTTP/1.1.1", "GET / HTTP/1.1.1\r\nHost: a\r\n\r\n", 400),
    Rejection("version HTTP/11", "GET / HTTP/11\r\nHost: a\r\n\r\n", 400),
    Rejection("version HTTP/1.", "GET / HTTP/1.\r\nHost: a\r\n\r\n", 400),
    Rejection("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    Rejection("HTTP/3.0", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505),
    Rejection("HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505),
    Rejection("HTTP/2 connection preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    Rejection(
        "TLS handshake on a plain port",
        [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03, 0x0D, 0x0A], 400),
    Rejection("too many empty lines before the request", String(repeating: "\r\n", count: 5) + get + "\r\n", 400),
    Rejection("absolute-form with CONNECT", "CONNECT http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n", 400),
    Rejection("origin-form with CONNECT", "CONNECT / HTTP/1.1\r\nHost: example.com\r\n\r\n", 400),
    Rejection("CONNECT without a port", "CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", 400),
    Rejection(
        "CONNECT with a non-numeric port", "CONNECT example.com:https HTTP/1.1\r\nHost: example.com\r\n\r\n", 400),
    Rejection("CONNECT with an empty host", "CONNECT :443 HTTP/1.1\r\nHost: example.com\r\n\r\n", 400),
    Rejection("authority-form with GET", "GET example.com:80 HTTP/1.1\r\nHost: example.com\r\n\r\n", 400),
    Rejection("relative target", "GET index.html HTTP/1.1\r\nHost: example.com\r\n\r\n", 400),
    Rejection("asterisk-form with GET", "GET * HTTP/1.1\r\nHost: example.com\r\n\r\n", 400),

    // Host and Expect (RFC 9110 §7.2, §10.1.1).
    Rejection("missing Host in HTTP/1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400),
    Rejection("two Host fields", get + "Host: example.org\r\n\r\n", 400),
    Rejection("two Host fields in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400),
    Rejection("Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
    Rejection("Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
    Rejection("Host with userinfo", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400),
    Rejection("Host with a non-numeric port", "GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", 400),
    Rejection("Host with two ports", "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", 400),
    Rejection("Host with an unclosed IPv6 literal", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400),
    Rejection("Host with obs-text", "GET / HTTP/1.1\r\nHost: caf\u{E9}\r\n\r\n", 400),
    Rejection("absolute-form without a host", "GET http:///a HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    Rejection("Expect other than 100-continue", post + "Expect: something-else\r\nContent-Length: 1\r\n\r\n", 417),
    Rejection("Expect list with another member", post + "Expect: 100-continue, x\r\nContent-Length: 1\r\n\r\n", 417),
    Rejection("second Expect field", post + "Expect: 100-continue\r\nExpect: x\r\nContent-Length: 1\r\n\r\n", 417),

    // Limits.
    Rejection(
        "request line over 8 KiB", "GET /" + String(repeating: "a", count: 8 * kib) + " HTTP/1.1\r\nHost: a\r\n\r\n",
        414),
    Rejection("request line over 8 KiB and not terminated", "GET /" + String(repeating: "a", count: 9 * kib), 414),
    Rejection("101 fields", get + (1...100).map { "X-\($0): v\r\n" }.joined() + "\r\n", 431),
    Rejection(
        "fields over 64 KiB",
        get + (1...3).map { "X-\($0): \(String(repeating: "v", count: 22 * kib))\r\n" }.joined() + "\r\n", 431),
    Rejection("one field over 64 KiB and not terminated", get + "X: " + String(repeating: "v", count: 65 * kib), 431),
    Rejection("101 trailer fields", chunked + "0\r\n" + (1...101).map { "X-\($0): v\r\n" }.joined() + "\r\n", 431),
    Rejection("Content-Length over 1 MiB, before any body byte", post + "Content-Length: 1048577\r\n\r\n", 413),
    Rejection("Content-Length of 12 digits", post + "Content-Length: 100000000000\r\n\r\n", 413),
    Rejection("one chunk over 1 MiB, before its data", chunked + "100001\r\n", 413),
    Rejection("chunk size near Int.max", chunked + "7fffffffffffffff\r\n", 413),
    Rejection(
        "chunks adding up to over 1 MiB",
        bytes(chunked + "80000\r\n") + [UInt8](repeating: 0x61, count: 0x80000) + bytes("\r\n80001\r\n"), 413),
]

@Suite struct RequestRejectionTests {
    @Test func tableIsLargeEnough() {
        #expect(rejections.count >= 40)
    }

    @Test(arguments: rejections)
    func rejectedInOnePiece(_ rejection: Rejection) {
        let error = parseError { () throws(HTTPParseError) in try parseRequests(rejection.input) }
        #expect(error?.status.code == rejection.status, "\(error?.description ?? "accepted")")
    }

    @Test(arguments: rejections)
    func rejectedByteByByte(_ rejection: Rejection) {
        let error = parseError { () throws(HTTPParseError) in try parseRequestsBytewise(rejection.input) }
        #expect(error?.status.code == rejection.status, "\(error?.description ?? "accepted")")
    }

    @Test func staysFailedAfterAnError() throws {
        var parser = HTTPRequestParser()
        parser.append(bytes("GET / HTTP/1.1\r\nHost : a\r\n\r\n"))
        let first = parseError { () throws(HTTPParseError) in try parser.next() }
        #expect(first?.status == .badRequest)
        parser.append(bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
        let second = parseError { () throws(HTTPParseError) in try parser.next() }
        #expect(second == first)
        // Bytes appended after a failure are dropped, so a peer that keeps sending cannot grow the buffer.
        #expect(parser.bufferedByteCount == 0)
    }

    @Test func headOverLimitFailsAfterTheHeadWithoutConsumingBody() throws {
        var parser = HTTPRequestParser()
        parser.append(bytes(post + "Content-Length: 2000000\r\n\r\nabc"))
        guard case .head(let head) = try parser.next() else {
            Issue.record("expected the head first")
            return
        }
        #expect(head.fields["Content-Length"] == "2000000")
        let error = parseError { () throws(HTTPParseError) in try parser.next() }
        #expect(error?.status == .contentTooLarge)
    }
}
