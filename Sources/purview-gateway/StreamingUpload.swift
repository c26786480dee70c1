import Foundation
import Glibc
import Synchronization

/// A file sent as one HTTP/1.1 request with a chunked body, read from disk 256 KiB at a time, over a plain TCP
/// connection: memory stays flat whatever the file size. (The package's HTTP client sends whole bodies only, so
/// `import` uses this for `http://` gateways and the client, with the file in memory, for `https://` ones.)
///
/// Blocking calls on a thread of its own, never on Swift's cooperative pool.
enum StreamingUpload {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    struct Response {
        var status: Int
        var body: [UInt8]
    }

    /// Sends `POST target` with `headers` and the file at `path`; `progress` is told the bytes sent so far.
    static func post(
        host: String, port: Int, target: String, headers: [(String, String)], path: String,
        progress: @escaping @Sendable (Int) -> Void
    ) async throws -> Response {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(
                    with: Result {
                        try send(
                            host: host, port: port, target: target, headers: headers, path: path, progress: progress)
                    })
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private static func send(
        host: String, port: Int, target: String, headers: [(String, String)], path: String, progress: (Int) -> Void
    ) throws -> Response {
        guard let file = FileHandle(forReadingAtPath: path) else { throw Failure(description: "cannot open \(path)") }
        defer { try? file.close() }
        let socket = try connect(host: host, port: port)
        defer { close(socket) }
        var head =
            "POST \(target) HTTP/1.1\r\nHost: \(host):\(port)\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        var sent = 0
        // A server that answers early (an error before reading the body) closes its side: stop sending and read.
        var answeredEarly = false
        do {
            try write(socket, Array(head.utf8))
            while true {
                let chunk = try file.read(upToCount: 256 * 1024) ?? Data()
                if chunk.isEmpty { break }
                try write(
                    socket, Array((String(chunk.count, radix: 16) + "\r\n").utf8) + Array(chunk) + Array("\r\n".utf8))
                sent += chunk.count
                progress(sent)
            }
            try write(socket, Array("0\r\n\r\n".utf8))
        } catch is WriteFailure {
            answeredEarly = true
        }
        let response = try readResponse(socket)
        if answeredEarly && response == nil {
            throw Failure(description: "the gateway closed the connection during the upload")
        }
        guard let response else { throw Failure(description: "the gateway closed the connection without an answer") }
        return response
    }

    private struct WriteFailure: Error {}

    private static func connect(host: String, port: Int) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw Failure(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            let fd = socket(current.pointee.ai_family, current.pointee.ai_socktype, current.pointee.ai_protocol)
            if fd >= 0 {
                if Glibc.connect(fd, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 { return fd }
                close(fd)
            }
            entry = current.pointee.ai_next
        }
        throw Failure(description: "cannot connect to \(host):\(port): \(String(cString: strerror(errno)))")
    }

    private static func write(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw WriteFailure()
            }
            offset += count
        }
    }

    /// Reads to the end of the connection (the request said `Connection: close`) and parses status and body.
    private static func readResponse(_ fd: Int32) throws -> Response? {
        var timeout = timeval(tv_sec: 600, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while received.count < 16 << 20 {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = received.indices.first(where: { received[$0...].starts(with: separator) }) else { return nil }
        let head = String(decoding: received[..<end], as: UTF8.self)
        let statusLine = head.split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        var body = Array(received[(end + 4)...])
        let lowerHead = head.lowercased()
        if lowerHead.contains("transfer-encoding: chunked") {
            body = dechunk(body)
        } else if let range = lowerHead.range(of: "content-length: "),
            let length = Int(lowerHead[range.upperBound...].prefix(while: \.isNumber)), length <= body.count
        {
            body = Array(body.prefix(length))
        }
        return Response(status: status, body: body)
    }

    private static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let lineEnd = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) else { break }
            let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self).trimmingCharacters(
                in: .whitespacesAndNewlines)
            guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16), size > 0 else { break }
            let start = lineEnd + 1
            guard start + size <= bytes.count else { break }
            output += bytes[start..<(start + size)]
            index = start + size + 2
        }
        return output
    }
}
