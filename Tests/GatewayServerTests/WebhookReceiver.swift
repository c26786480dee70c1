import Foundation
import GatewayServer
import HTTP
import Networking
import PurviewWorkflow
import Synchronization
import Testing

/// A webhook receiver on 127.0.0.1 (real sockets): records every POST and answers what it is told to. It can go
/// down (stop listening: connections are refused) and come back on the same port.
final class WebhookReceiver: Sendable {
    struct Delivery: Sendable {
        var eventId: String?
        var signature: String?
        var body: [UInt8]
        var json: JSONValue
        var receivedAt: Date

        var type: String? { json["type"]?.stringValue }
        var requestId: String? { json["request"]?["id"]?.stringValue }
    }

    /// What the handler shares with the receiver.
    final class Log: Sendable {
        let state = Mutex<(deliveries: [Delivery], status: Int)>(([], 200))
    }

    private let log = Log()
    private let server = Mutex<HTTPServer?>(nil)
    let port: Int

    init() throws {
        let started = try Self.listen(port: 0, log: log)
        port = started.port
        server.withLock { $0 = started }
    }

    var url: String { "http://127.0.0.1:\(port)/hooks" }
    var deliveries: [Delivery] { log.state.withLock { $0.deliveries } }

    /// What later POSTs are answered with.
    func answer(_ status: Int) { log.state.withLock { $0.status = status } }

    /// Stops listening: connections are refused until `up()`.
    func down() async {
        let running = server.withLock { server -> HTTPServer? in
            defer { server = nil }
            return server
        }
        await running?.shutdown(deadline: .seconds(1))
    }

    func up() throws {
        let started = try Self.listen(port: port, log: log)
        server.withLock { $0 = started }
    }

    func stop() async { await down() }

    /// Waits (bounded) until `done` holds for the deliveries so far.
    func waitFor(timeout: Duration = .seconds(30), _ done: ([Delivery]) -> Bool) async throws -> [Delivery] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let current = deliveries
            if done(current) { return current }
            try await Task.sleep(for: .milliseconds(50))
        }
        let current = deliveries
        Issue.record(
            "the receiver never got what was expected; got \(current.map { "\($0.type ?? "?") \($0.eventId ?? "?")" })")
        return current
    }

    private static func listen(port: Int, log: Log) throws -> HTTPServer {
        var configuration = HTTPServerConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = port
        configuration.loopCount = 1
        let server = HTTPServer(
            configuration: configuration,
            responder: HTTPHandler { request in
                let body = try await request.body.collect(upTo: 1 << 20)
                let delivery = Delivery(
                    eventId: request.headers["X-Gateway-Event-Id"], signature: request.headers["X-Gateway-Signature"],
                    body: body, json: (try? JSONValue(parsing: body)) ?? .null, receivedAt: Date())
                let status = log.state.withLock { state -> Int in
                    state.deliveries.append(delivery)
                    return state.status
                }
                return ServerResponse(
                    status: HTTPStatus(code: status), contentType: "text/plain", body: Array("ok".utf8))
            })
        try server.start()
        return server
    }
}
