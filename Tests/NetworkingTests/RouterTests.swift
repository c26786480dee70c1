import HTTP
import Testing

@testable import Networking

/// The router as a value: heads in, routes out, no sockets.
@Suite struct RouterTests {
    private func request(_ method: HTTPMethod, _ target: String) -> HTTPRequestHead {
        HTTPRequestHead(method: method, target: target, fields: HTTPFields([("Host", "t")]))
    }

    private func run(_ route: HTTPRoute, _ head: HTTPRequestHead) async -> (status: Int, text: String, allow: String?) {
        let request = ServerRequest(
            head: head, pathParameters: route.pathParameters, remoteAddress: SocketAddress(host: "127.0.0.1", port: 1)!)
        do {
            let response = try await route.handler(request)
            return (response.status.code, String(decoding: response.body.bytes ?? [], as: UTF8.self), nil)
        } catch let error as HTTPError {
            return (error.status.code, error.message, error.headers["Allow"])
        } catch {
            return (-1, "\(error)", nil)
        }
    }

    private static func makeRouter() -> Router.Responder {
        let router = Router()
        let echo: @Sendable (String) -> HTTPHandler = { name in
            HTTPHandler { request in
                let parameters = request.pathParameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                return ServerResponse(body: .bytes(Array(([name] + parameters).joined(separator: " ").utf8)))
            }
        }
        router.add(.get, "/", echo("root"))
        router.add(.get, "/v1/requests", echo("list"))
        router.add(.post, "/v1/requests/{kind}", bodyLimit: 100 << 20, echo("create"))
        router.add(.get, "/v1/requests/{id}", echo("get"))
        router.add(.post, "/v1/requests/{id}/cancel", echo("cancel"))
        router.add(.get, "/v1/requests/{id}/runs/{run}", echo("run"))
        router.add(.get, "/v1/requests/stats", echo("stats"))
        router.add(.get, "/healthz", echo("health"))
        router.add(.get, "/healthz", echo("health-replaced"))
        return router.freeze()
    }

    @Test func literalAndParameterRoutes() async {
        let router = Self.makeRouter()
        let cases: [(HTTPMethod, String, String)] = [
            (.get, "/", "root"),
            (.get, "/v1/requests", "list"),
            (.get, "/v1/requests?status=queued", "list"),
            (.get, "/v1/requests/r-1", "get id=r-1"),
            (.get, "/v1/requests/stats", "stats"),
            // A literal segment that leads nowhere gives way to a parameter.
            (.get, "/v1/requests/stats/runs/7", "run id=stats run=7"),
            (.post, "/v1/requests/term-creation", "create kind=term-creation"),
            (.post, "/v1/requests/r-1/cancel", "cancel id=r-1"),
            (.get, "/v1/requests/r%2F1/runs/a%20b", "run id=r/1 run=a b"),
            (.get, "http://example.com/v1/requests/abs", "get id=abs"),
            (.get, "/healthz", "health-replaced"),
        ]
        for (method, target, expected) in cases {
            let head = request(method, target)
            let outcome = await run(router.route(head), head)
            #expect(outcome.status == 200, "\(method) \(target)")
            #expect(outcome.text == expected, "\(method) \(target)")
        }
    }

    @Test func unknownPathsAre404() async {
        let router = Self.makeRouter()
        for target in ["/nope", "/v1", "/v1/requests/", "/v1/requests/r-1/cancel/x", "//", "/v1//requests", "*"] {
            let head = request(.get, target)
            #expect(await run(router.route(head), head).status == 404, "\(target)")
        }
    }

    @Test func otherMethodsAre405WithAllow() async {
        let router = Self.makeRouter()
        let delete = request(.delete, "/v1/requests/r-1")
        let outcome = await run(router.route(delete), delete)
        #expect(outcome.status == 405)
        #expect(outcome.allow == "GET, HEAD, POST")
        let put = request(.put, "/healthz")
        #expect(await run(router.route(put), put).allow == "GET, HEAD")
    }

    @Test func headFallsBackToGet() async {
        let router = Self.makeRouter()
        let head = request(.head, "/v1/requests/r-9")
        #expect(await run(router.route(head), head).text == "get id=r-9")
    }

    @Test func bodyLimitsArePerRoute() {
        let router = Self.makeRouter()
        #expect(router.route(request(.post, "/v1/requests/import")).bodyLimit == 100 << 20)
        #expect(router.route(request(.get, "/v1/requests/r-1")).bodyLimit == nil)
    }

    @Test func percentDecoding() {
        #expect(Router.percentDecoded("plain") == "plain")
        #expect(Router.percentDecoded("a%20b%2fc") == "a b/c")
        #expect(Router.percentDecoded("%E2%82%AC") == "€")
        #expect(Router.percentDecoded("bad%2") == "bad%2")
        #expect(Router.percentDecoded("bad%zz") == "bad%zz")
    }
}
