import Networking
import HTTP
import Glibc

var configuration = HTTPServerConfiguration()
configuration.port = Int(CommandLine.arguments.dropFirst().first ?? "8080") ?? 8080
let mode = CommandLine.arguments.count > 2 ? CommandLine.arguments[2] : "immediate"
let body = Array("{\"status\":\"ok\"}".utf8)
let router = Router()
if mode == "async" {
    router.add(.get, "/") { _ in ServerResponse(status: .ok, contentType: "application/json", body: body) }
} else {
    router.add(.get, "/", HTTPHandler.immediate { _ in ServerResponse(status: .ok, contentType: "application/json", body: body) })
}
let server = HTTPServer(configuration: configuration, responder: router.freeze())
try server.start()
print("listening on \(server.port)")
await server.runUntilTerminationSignal()
