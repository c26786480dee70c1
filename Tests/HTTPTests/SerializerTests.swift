import HTTP
import Testing

@Suite struct SerializerTests {
    static let requestHeads: [HTTPRequestHead] = [
        HTTPRequestHead(method: .get, target: "/", fields: ["Host": "example.com"]),
        HTTPRequestHead(
            method: .post, target: "/api/v1/workflowruns?api-version=2023-10-01-preview",
            fields: HTTPFields([
                ("Host", "purview.example"), ("Content-Type", "application/json"), ("Content-Length", "2"),
                ("X-Multi", "a"), ("x-multi", "b, c"), ("X-Empty", ""),
            ])),
        HTTPRequestHead(method: HTTPMethod("PURGE")!, target: "/cache", version: .http1_0),
        HTTPRequestHead(method: .options, target: "*", fields: ["Host": "h"]),
        HTTPRequestHead(method: .connect, target: "h:443", fields: ["Host": "h:443"]),
        HTTPRequestHead(method: .get, target: "http://h/p?q", fields: ["Host": "h"]),
    ]

    @Test(arguments: requestHeads)
    func requestHeadRoundTrip(_ head: HTTPRequestHead) throws {
        var buffer: [UInt8] = []
        HTTPSerializer.write(head, into: &buffer)
        var parser = HTTPRequestParser()
        parser.append(buffer)
        #expect(try parser.next() == .head(head))
    }

    static let responseHeads: [HTTPResponseHead] = [
        HTTPResponseHead(status: .ok, fields: ["Content-Length": "0"]),
        HTTPResponseHead(
            status: .notFound,
            fields: HTTPFields([("Content-Type", "application/problem+json"), ("Content-Length", "0")])),
        HTTPResponseHead(status: HTTPStatus(code: 299, reasonPhrase: "Custom Reason"), version: .http1_0),
        HTTPResponseHead(status: HTTPStatus(code: 202, reasonPhrase: ""), fields: ["Transfer-Encoding": "chunked"]),
    ]

    @Test(arguments: responseHeads)
    func responseHeadRoundTrip(_ head: HTTPResponseHead) throws {
        var buffer: [UInt8] = []
        HTTPSerializer.write(head, into: &buffer)
        var parser = HTTPResponseParser()
        parser.append(buffer)
        #expect(try parser.next() == .head(head))
    }

    @Test func exactBytes() {
        var buffer: [UInt8] = []
        HTTPSerializer.write(HTTPResponseHead(status: .created, fields: ["Location": "/x/1"]), into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == "HTTP/1.1 201 Created\r\nLocation: /x/1\r\n\r\n")
        buffer = []
        HTTPSerializer.write(HTTPRequestHead(method: .delete, target: "/x/1", fields: ["Host": "h"]), into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == "DELETE /x/1 HTTP/1.1\r\nHost: h\r\n\r\n")
    }

    @Test(arguments: [
        HTTPField(name: "X-Injected", value: "a\r\nSet-Cookie: evil=1"),
        HTTPField(name: "X-Injected", value: "a\nSet-Cookie: evil=1"),
        HTTPField(name: "X-Injected", value: "a\rb"),
        HTTPField(name: "X-Nul", value: "a\u{0}b"),
        HTTPField(name: "X-Del", value: "\u{7F}"),
        HTTPField(name: "Set-Cookie: evil=1\r\nX", value: "v"),
        HTTPField(name: "Bad Name", value: "v"),
        HTTPField(name: "", value: "v"),
        HTTPField(name: "X\u{E9}", value: "v"),
    ])
    func invalidFieldsAreDropped(_ field: HTTPField) throws {
        #expect(!HTTPSerializer.isValid(field))
        var fields: HTTPFields = ["Content-Length": "0"]
        fields.append(field.name, field.value)
        fields.append("X-After", "kept")
        var buffer: [UInt8] = []
        HTTPSerializer.write(HTTPResponseHead(status: .ok, fields: fields), into: &buffer)
        let text = String(decoding: buffer, as: UTF8.self)
        #expect(!text.contains("evil"))
        var parser = HTTPResponseParser()
        parser.append(buffer)
        guard case .head(let parsed) = try parser.next() else { throw Failure("expected a head") }
        #expect(
            parsed.fields.fields == [
                HTTPField(name: "Content-Length", value: "0"), HTTPField(name: "X-After", value: "kept"),
            ])
        #expect(try parser.next() == .end(trailers: HTTPFields()))
        #expect(parser.bufferedByteCount == 0)
    }

    @Test func reasonPhraseAndTargetCannotSplitTheHead() throws {
        var buffer: [UInt8] = []
        HTTPSerializer.write(
            HTTPResponseHead(status: HTTPStatus(code: 200, reasonPhrase: "OK\r\nX-Evil: 1")), into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == "HTTP/1.1 200 OKX-Evil: 1\r\n\r\n")
        buffer = []
        HTTPSerializer.write(
            HTTPRequestHead(method: .get, target: "/a b\r\nX-Evil: 1", fields: ["Host": "h"]), into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == "GET /abX-Evil:1 HTTP/1.1\r\nHost: h\r\n\r\n")
        buffer = []
        HTTPSerializer.write(HTTPRequestHead(method: .get, target: " ", fields: ["Host": "h"]), into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    }

    @Test(arguments: [-1, 0, 99, 1000, Int.max])
    func unrepresentableStatusIsWrittenAs500(_ code: Int) throws {
        var buffer: [UInt8] = []
        HTTPSerializer.write(HTTPResponseHead(status: HTTPStatus(code: code, reasonPhrase: "X")), into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == "HTTP/1.1 500 Internal Server Error\r\n\r\n")
    }

    @Test func chunkFraming() throws {
        var buffer: [UInt8] = []
        HTTPSerializer.write(
            HTTPRequestHead(method: .post, target: "/", fields: ["Host": "h", "Transfer-Encoding": "chunked"]),
            into: &buffer)
        let headLength = buffer.count
        let big = [UInt8](repeating: 0x7A, count: 0x1ab)
        HTTPSerializer.writeChunk(bytes("hello"), into: &buffer)
        HTTPSerializer.writeChunk([UInt8](), into: &buffer)
        HTTPSerializer.writeChunk(big[...], into: &buffer)
        HTTPSerializer.writeLastChunk(trailers: ["X-Sum": "1", "Bad\r\n": "x"], into: &buffer)
        let framing = String(decoding: buffer[headLength...], as: UTF8.self)
        #expect(framing == "5\r\nhello\r\n1ab\r\n" + String(repeating: "z", count: 0x1ab) + "\r\n0\r\nX-Sum: 1\r\n\r\n")
        let messages = try parseRequests(buffer)
        #expect(messages.count == 1)
        #expect(messages[0].body == bytes("hello") + big)
        #expect(messages[0].trailers == ["X-Sum": "1"])
    }

    @Test func lastChunkWithoutTrailers() {
        var buffer: [UInt8] = []
        HTTPSerializer.writeLastChunk(into: &buffer)
        #expect(buffer == bytes("0\r\n\r\n"))
    }

    @Test(arguments: [(1, "1"), (15, "f"), (16, "10"), (255, "ff"), (4096, "1000"), (70_000, "11170")])
    func chunkSizesAreLowercaseHex(_ size: Int, _ hex: String) {
        var buffer: [UInt8] = []
        HTTPSerializer.writeChunk([UInt8](repeating: 0x61, count: size), into: &buffer)
        #expect(buffer.prefix(hex.utf8.count + 2) == bytes(hex + "\r\n")[...])
        #expect(buffer.count == hex.utf8.count + 2 + size + 2)
    }
}
