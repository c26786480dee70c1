// The benchmark's hello server: our HTTP stack answering {"status":"ok"} (Benchmarks/http-vs-nginx.sh).
import Foundation
import HTTP
import Networking

var port = 8080
var loops = EventLoopGroup.coreCount
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--port": port = Int(arguments.popFirst() ?? "") ?? port
    case "--loops": loops = Int(arguments.popFirst() ?? "") ?? loops
    default:
        FileHandle.standardError.write(Data("usage: HelloServer [--port N] [--loops N]\n".utf8))
        exit(2)
    }
}

let body = Array(#"{"status":"ok"}"#.utf8)
let router = Router()
router.add(.get, "/", .immediate { _ in ServerResponse(status: .ok, contentType: "application/json", body: body) })
var configuration = HTTPServerConfiguration()
configuration.port = port
configuration.loopCount = loops
configuration.maxConnections = 65_536
let server = HTTPServer(configuration: configuration, responder: router.freeze())
try server.start()
print("HelloServer listening on 127.0.0.1:\(server.port) with \(loops) loops")
await server.runUntilTerminationSignal()
