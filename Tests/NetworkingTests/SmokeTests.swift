import HTTP
import Networking
import Testing

@Suite(.serialized) struct SmokeTests {
    @Test func helloKeepAlive() async throws {
        let router = Router()
        router.add(.get, "/hello", HTTPHandler.immediate { _ in text(.ok, "hi") })
        router.add(.get, "/async/{name}") { request in text(.ok, "hello \(request.pathParameters["name"] ?? "?")") }
        try await withServer(responder: router.freeze()) { server in
            let client = try TestClient(port: server.port)
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            let first = try client.readResponse()
            #expect(first.status == 200)
            #expect(first.text == "hi")
            try client.send("GET /async/bob HTTP/1.1\r\nHost: x\r\n\r\n")
            let second = try client.readResponse()
            #expect(second.text == "hello bob")
        }
    }
}
