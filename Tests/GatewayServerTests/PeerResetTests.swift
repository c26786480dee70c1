import Foundation
import Testing

/// Regression: a client that goes away while its response is being written must not kill the server
/// (the write raised SIGPIPE, whose default action ends the process).
@Suite(.serialized) struct PeerResetTests {
    @Test func serverSurvivesAClientThatResetsBeforeItsResponse() async throws {
        let directory = try TemporaryDirectory()
        let environment = ProcessInfo.processInfo.environment.filter { $0.key == "PATH" }
        let emulator = try ChildProcess(["emulator", "--listen", "127.0.0.1:0"], environment: environment, directory: directory.path)
        defer { emulator.kill() }
        let url = try await emulator.waitForOutput(#"listening on (http://127\.0\.0\.1:\d+)"#)
        let port = try #require(Int(url.split(separator: ":").last ?? ""))
        // Every call to the token endpoint waits 300 ms before answering.
        let slow = #"{"match":"POST /token","latencyMs":300}"#
        _ = try await rawExchange(port: port, "POST /_emulator/faults HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer emulator-admin-token\r\nContent-Type: application/json\r\nContent-Length: \(slow.utf8.count)\r\nConnection: close\r\n\r\n\(slow)")
        let form = "grant_type=client_credentials&client_id=9a7e0000-0000-4000-8000-000000000001&client_secret=gateway-demo-secret&scope=https%3A%2F%2Fpurview.azure.net%2F.default"
        for _ in 0..<5 {
            try await sendAndReset(port: port, "POST /7e1a0000-0000-4000-8000-000000000001/oauth2/v2.0/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(form.utf8.count)\r\n\r\n\(form)")
        }
        try await Task.sleep(for: .milliseconds(800))
        #expect(emulator.process.isRunning, "the server died: \(emulator.standardError.suffix(2000))")
        let answer = try await rawExchange(port: port, "GET /_emulator/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer emulator-admin-token\r\nConnection: close\r\n\r\n")
        #expect(answer.hasPrefix("HTTP/1.1 200"))
    }

    /// Sends `request`, then closes with a reset (SO_LINGER 0) without reading the answer.
    func sendAndReset(port: Int, _ request: String) async throws {
        try await offPool {
            let fd = try connectLoopback(port: port)
            _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            close(fd)
        }
    }

    func rawExchange(port: Int, _ request: String) async throws -> String {
        try await offPool {
            let fd = try connectLoopback(port: port)
            defer { close(fd) }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count <= 0 { break }
                received += buffer[0..<count]
            }
            return String(decoding: received, as: UTF8.self)
        }
    }
}

func connectLoopback(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard result == 0 else {
        close(fd)
        throw HarnessFailure("connect failed: errno \(errno)")
    }
    return fd
}

/// Runs blocking socket code on a Dispatch thread, off Swift's cooperative pool.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}
