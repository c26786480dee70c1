import Compression
import Foundation
import HTTP
@testable import Networking
import Testing

/// gzip: responses compressed when the client allows it and it is worth it; gzip request bodies
/// decoded with the route's limit applied to the decoded size.
@Suite(.serialized) struct ServerCompressionTests {
    static let document = Array(
        ("{\"items\":[" + (0..<200).map { "{\"id\":\($0),\"name\":\"item \($0)\"}" }.joined(separator: ",") + "]}").utf8
    )

    static func router() -> Router.Responder {
        let router = Router()
        router.add(.get, "/json") { _ in ServerResponse(status: .ok, contentType: "application/json", body: document) }
        router.add(
            .get, "/json-now",
            HTTPHandler.immediate { _ in
                ServerResponse(status: .ok, contentType: "application/problem+json; charset=utf-8", body: document)
            })
        router.add(.get, "/small") { _ in
            ServerResponse(status: .ok, contentType: "application/json", body: Array("{}".utf8))
        }
        router.add(.get, "/png") { _ in ServerResponse(status: .ok, contentType: "image/png", body: document) }
        router.add(.get, "/encoded") { _ in
            ServerResponse(
                status: .ok, headers: HTTPFields([("Content-Type", "text/plain"), ("Content-Encoding", "br")]),
                body: .bytes(document))
        }
        router.add(.get, "/stream") { _ in
            ServerResponse(
                status: .ok, headers: HTTPFields([("Content-Type", "application/x-ndjson")]),
                body: .stream { writer in
                    for index in 0..<100 { try await writer.write(Array("{\"row\":\(index)}\n".utf8)) }
                })
        }
        router.add(.post, "/upload") { request in
            let body = try await request.body.collect(upTo: 1 << 20)
            return text(.ok, "\(body.count) \(String(decoding: body.prefix(5), as: UTF8.self))")
        }
        router.add(
            .post, "/upload-now",
            HTTPHandler.immediate { request in
                let body = request.body.bufferedBytes ?? []
                return text(.ok, "\(body.count) \(String(decoding: body.prefix(5), as: UTF8.self))")
            })
        return router.freeze()
    }

    private func get(_ client: TestClient, _ path: String, acceptEncoding: String?) throws -> TestClient.Response {
        let accept = acceptEncoding.map { "Accept-Encoding: \($0)\r\n" } ?? ""
        try client.send("GET \(path) HTTP/1.1\r\nHost: t\r\n\(accept)\r\n")
        return try client.readResponse()
    }

    @Test func responsesAreCompressedOnlyWhenTheClientAcceptsGzip() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            let cases: [(accept: String?, compressed: Bool)] = [
                (nil, false), ("gzip", true), ("deflate, gzip;q=0.5", true), ("gzip;q=0", false),
                ("br, *;q=0.1", true), ("identity", false), ("*;q=0, br", false), ("GZIP", true),
            ]
            for (accept, compressed) in cases {
                for path in ["/json", "/json-now"] {
                    let response = try get(client, path, acceptEncoding: accept)
                    #expect(response.status == 200)
                    #expect(response.headers["Vary"] == "Accept-Encoding", "\(path) \(accept ?? "none")")
                    if compressed {
                        #expect(response.headers["Content-Encoding"] == "gzip", "\(path) \(accept ?? "none")")
                        #expect(response.body.count < Self.document.count / 2)
                        #expect(try Gzip.decompress(response.body, maxOutputBytes: 1 << 20) == Self.document)
                    } else {
                        #expect(response.headers["Content-Encoding"] == nil, "\(path) \(accept ?? "none")")
                        #expect(response.body == Self.document)
                    }
                }
            }
        }
    }

    @Test func smallBinaryAndAlreadyEncodedResponsesAreLeftAlone() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            let small = try get(client, "/small", acceptEncoding: "gzip")
            #expect(small.headers["Content-Encoding"] == nil)
            #expect(small.text == "{}")
            let png = try get(client, "/png", acceptEncoding: "gzip")
            #expect(png.headers["Content-Encoding"] == nil)
            #expect(png.headers["Vary"] == nil)
            let encoded = try get(client, "/encoded", acceptEncoding: "gzip")
            #expect(encoded.headers["Content-Encoding"] == "br")
            #expect(encoded.body == Self.document)
        }
    }

    @Test func textualContentTypesAreCompressible() {
        for type in [
            "application/json", "Application/JSON; charset=utf-8", "application/problem+json", "text/html", "TEXT/CSV",
            "application/xml", "image/svg+xml", "application/javascript", "application/x-ndjson", "application/yaml",
            "application/x-www-form-urlencoded",
        ] {
            #expect(ResponseCompression.isCompressible(type), "\(type)")
        }
        for type in ["image/png", "application/octet-stream", "application/gzip", "", "js", "application/x-protobuf; note=json"] {
            #expect(!ResponseCompression.isCompressible(type), "\(type)")
        }
    }

    @Test func compressionCanBeTurnedOff() async throws {
        try await withServer(testConfiguration { $0.compression.enabled = false }, responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            let response = try get(client, "/json", acceptEncoding: "gzip")
            #expect(response.headers["Content-Encoding"] == nil)
            #expect(response.body == Self.document)
        }
    }

    @Test func streamedResponsesAreCompressedPartByPart() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            let response = try get(client, "/stream", acceptEncoding: "gzip")
            #expect(response.headers["Content-Encoding"] == "gzip")
            #expect(response.headers["Transfer-Encoding"] == "chunked")
            let expected = (0..<100).map { "{\"row\":\($0)}\n" }.joined()
            #expect(
                String(decoding: try Gzip.decompress(response.body, maxOutputBytes: 1 << 20), as: UTF8.self) == expected
            )
            // Keep-alive still works after it.
            #expect(try get(client, "/small", acceptEncoding: nil).text == "{}")
        }
    }

    @Test func gzipRequestBodiesAreDecoded() async throws {
        try await withServer(responder: Self.router()) { server in
            let client = try TestClient(port: server.port)
            let original = Array(String(repeating: "hello world ", count: 1000).utf8)
            let compressed = Gzip.compress(original)
            for path in ["/upload", "/upload-now"] {
                try client.send(
                    "POST \(path) HTTP/1.1\r\nHost: t\r\nContent-Encoding: gzip\r\nContent-Length: \(compressed.count)\r\n\r\n"
                )
                try client.send(compressed)
                #expect(try client.readResponse().text == "\(original.count) hello", "\(path)")
            }
        }
    }

    @Test func gzipBombIsRefusedWith413() async throws {
        try await withServer(responder: Self.router()) { server in
            // 16 MiB of zeros is about 16 KiB compressed: far below the 1 MiB wire limit, far above it decoded.
            let bomb = Gzip.compress([UInt8](repeating: 0, count: 16 << 20), level: 9)
            #expect(bomb.count < 64 << 10)
            for path in ["/upload", "/upload-now"] {
                let client = try TestClient(port: server.port)
                try client.send(
                    "POST \(path) HTTP/1.1\r\nHost: t\r\nContent-Encoding: gzip\r\nContent-Length: \(bomb.count)\r\n\r\n"
                )
                try client.send(bomb)
                #expect(try client.readResponse().status == 413, "\(path)")
            }
            let corrupt = try TestClient(port: server.port)
            try corrupt.send(
                "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n0123456789")
            #expect(try corrupt.readResponse().status == 400)
        }
    }
}
