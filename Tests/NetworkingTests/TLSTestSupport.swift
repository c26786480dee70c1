import Foundation
import Networking
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Certificates made once per test process with the `openssl` CLI into a temporary directory.
struct TLSTestCertificates: Sendable {
    let directory: String
    /// Root CA (self-signed, CA:TRUE).
    let caCertificate: String
    /// Leaf for 127.0.0.1 / ::1 / localhost signed by the root.
    let leafCertificate: String
    let leafKey: String
    /// Leaf signed by an intermediate, and the file holding leaf + intermediate (what a server serves).
    let chainedLeafKey: String
    let chainedLeafChain: String
    let chainedLeafAlone: String
    /// Self-signed leaf made with PURVIEW.md §9's command (RSA 2048), trusted by nobody.
    let selfSignedCertificate: String
    let selfSignedKey: String
    /// Leaf signed by the root whose validity ended yesterday.
    let expiredCertificate: String
    let expiredKey: String
    /// Client certificate signed by the root.
    let clientCertificate: String
    let clientKey: String

    static let shared: Result<TLSTestCertificates, any Error> = Result { try generate() }

    static func get() throws -> TLSTestCertificates { try shared.get() }

    private static func generate() throws -> TLSTestCertificates {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tls-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func path(_ name: String) -> String { directory + "/" + name }
        func write(_ name: String, _ text: String) throws {
            try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        }
        func openssl(_ arguments: [String]) throws {
            let result = try tlsRunProcess("/usr/bin/env", ["openssl"] + arguments, timeout: 30)
            guard result.status == 0 else {
                throw TLSTestFailure("openssl \(arguments.first ?? "") failed: \(result.standardError)")
            }
        }
        let ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        try write("ca.ext", "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
        try write(
            "leaf.ext",
            "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
        )
        try write("client.ext", "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")

        // Root CA.
        try openssl(
            ["req", "-x509"] + ecKey + [
                "-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=Purview Test Root",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        func signed(_ name: String, subject: String, issuer: String, extensions: String, days: String) throws {
            try openssl(
                ["req"] + ecKey + ["-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject])
            try openssl([
                "x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(issuer).pem"), "-CAkey",
                path("\(issuer).key"),
                "-days", days, "-extfile", path(extensions), "-out", path("\(name).pem"),
            ])
        }
        try signed("leaf", subject: "/CN=localhost", issuer: "ca", extensions: "leaf.ext", days: "2")
        try signed(
            "intermediate", subject: "/CN=Purview Test Intermediate", issuer: "ca", extensions: "ca.ext", days: "2")
        try signed(
            "chained", subject: "/CN=chained.localhost", issuer: "intermediate", extensions: "leaf.ext", days: "2")
        // openssl 3.0's x509 accepts a negative -days: notAfter lands a day before notBefore (now).
        try signed("expired", subject: "/CN=localhost", issuer: "ca", extensions: "leaf.ext", days: "-1")
        try signed("client", subject: "/CN=purview-test-client", issuer: "ca", extensions: "client.ext", days: "2")
        try openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("self.key"), "-out", path("self.pem"),
            "-days", "365", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])
        let chain =
            try String(contentsOfFile: path("chained.pem"), encoding: .utf8)
            + String(contentsOfFile: path("intermediate.pem"), encoding: .utf8)
        try write("chained-chain.pem", chain)

        return TLSTestCertificates(
            directory: directory, caCertificate: path("ca.pem"),
            leafCertificate: path("leaf.pem"), leafKey: path("leaf.key"),
            chainedLeafKey: path("chained.key"), chainedLeafChain: path("chained-chain.pem"),
            chainedLeafAlone: path("chained.pem"),
            selfSignedCertificate: path("self.pem"), selfSignedKey: path("self.key"),
            expiredCertificate: path("expired.pem"), expiredKey: path("expired.key"),
            clientCertificate: path("client.pem"), clientKey: path("client.key"))
    }

    func serverContext(
        certificate: String? = nil, key: String? = nil, maximumVersion: TLSVersion = .tls13,
        alpn: [String] = ["http/1.1"]
    ) throws -> TLSContext {
        try TLSContext(
            server: TLSServerConfiguration(
                certificateChain: .file(certificate ?? leafCertificate), privateKey: .file(key ?? leafKey),
                maximumVersion: maximumVersion, alpnProtocols: alpn))
    }

    /// A client trusting only the test root (no system roots, so nothing else can vouch).
    func clientContext(maximumVersion: TLSVersion = .tls13, alpn: [String] = []) throws -> TLSContext {
        try TLSContext(
            client: TLSClientConfiguration(
                trustStore: .only(rootFile: caCertificate), maximumVersion: maximumVersion, alpnProtocols: alpn))
    }
}

struct TLSTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - In-memory shuttling

/// Moves ciphertext between two engines until neither has anything to send (bounded).
func tlsShuttle(_ a: TLSConnection, _ b: TLSConnection) {
    for _ in 0..<10_000 {
        let fromA = a.drainCiphertext()
        let fromB = b.drainCiphertext()
        if fromA.isEmpty && fromB.isEmpty { return }
        fromA.withUnsafeBytes { b.feedCiphertext($0) }
        fromB.withUnsafeBytes { a.feedCiphertext($0) }
    }
    Issue.record("shuttle did not settle")
}

/// Runs both handshakes to completion (or throws the first failure, client side first).
func tlsHandshake(client: TLSConnection, server: TLSConnection) throws(TLSError) {
    for _ in 0..<100 {
        let clientState = try client.handshake()
        tlsShuttle(client, server)
        let serverState = try server.handshake()
        tlsShuttle(client, server)
        if clientState == .complete && serverState == .complete { return }
    }
    Issue.record("handshake did not finish in 100 rounds")
}

/// Reads all currently decryptable plaintext.
func tlsReadAvailable(_ connection: TLSConnection, into sink: inout [UInt8]) throws -> TLSReadResult {
    var buffer = [UInt8](repeating: 0, count: 7_000)  // odd size: results must not depend on record alignment
    while true {
        let result = try buffer.withUnsafeMutableBytes { try connection.readPlaintext(into: $0) }
        switch result {
        case .bytes(let count): sink += buffer[..<count]
        case .wantMore, .closed: return result
        }
    }
}

func tlsWrite(_ connection: TLSConnection, _ bytes: [UInt8]) throws {
    try bytes.withUnsafeBytes { try connection.writePlaintext($0) }
}

/// A small deterministic generator so failures are reproducible.
struct TLSTestRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: - Processes

struct TLSProcessResult {
    let status: Int32
    let standardOutput: String
    let standardError: String
}

/// Runs a command to completion with a hard timeout (the process is killed if it overruns).
func tlsRunProcess(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeout: TimeInterval
) throws -> TLSProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let killer = DispatchWorkItem { [process] in if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    let errData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    killer.cancel()
    return TLSProcessResult(
        status: process.terminationStatus, standardOutput: String(decoding: outData, as: UTF8.self),
        standardError: String(decoding: errData, as: UTF8.self))
}

/// An `openssl s_server` / `s_client` peer running in the background for one test.
final class OpenSSLPeer {
    let process = Process()
    let input = Pipe()
    private let output = Pipe()
    private let errors = Pipe()
    private var collected = Data()

    init(_ arguments: [String], environment: [String: String]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        if let environment { process.environment = environment }
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
    }

    /// Waits (bounded) until stdout contains `marker`; returns everything read so far.
    func waitForOutput(containing marker: String, timeout: TimeInterval = 10) throws -> String {
        let fd = output.fileHandleForReading.fileDescriptor
        let deadline = Date().addingTimeInterval(timeout)
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let text = String(decoding: collected, as: UTF8.self)
            if text.contains(marker) { return text }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw TLSTestFailure("openssl did not print \(marker); got: \(text)") }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(remaining * 1000) + 1) > 0 else { continue }
            let count = read(fd, &chunk, chunk.count)
            guard count > 0 else { throw TLSTestFailure("openssl closed stdout; got: \(text)") }
            collected.append(contentsOf: chunk[..<count])
        }
    }

    /// Waits (bounded) for the process to exit, killing it on overrun; returns the exit status.
    func waitForExit(timeout: TimeInterval = 10) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    func standardError() -> String {
        String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

// MARK: - Blocking loopback sockets (test thread only; the engine never blocks)

struct TLSTestSocket: ~Copyable {
    let fd: Int32

    init(fd: Int32) {
        self.fd = fd
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    static func connect(port: UInt16) throws -> TLSTestSocket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TLSTestFailure("socket: \(errno)") }
        var address = tlsLoopback(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw TLSTestFailure("connect: \(errno)")
        }
        return TLSTestSocket(fd: fd)
    }

    func sendAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw TLSTestFailure("send: \(errno)") }
            offset += sent
        }
    }

    /// Receives whatever is available (waits up to the socket timeout); empty means end of stream.
    func receive() throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count >= 0 else { throw TLSTestFailure("recv: \(errno)") }
        return Array(buffer[..<count])
    }
}

struct TLSTestListener: ~Copyable {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TLSTestFailure("socket: \(errno)") }
        var address = tlsLoopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw TLSTestFailure("bind/listen: \(errno)")
        }
        self.fd = fd
        self.port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(fd) }

    func accept(timeout: TimeInterval = 10) throws -> TLSTestSocket {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(timeout * 1000)) == 1 else { throw TLSTestFailure("no connection to accept") }
        let client = Glibc.accept(fd, nil, nil)
        guard client >= 0 else { throw TLSTestFailure("accept: \(errno)") }
        return TLSTestSocket(fd: client)
    }
}

private func tlsLoopback(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
}

/// Drives `connection`'s handshake over a blocking socket (the test thread plays the event loop).
func tlsHandshake(_ connection: TLSConnection, over socket: borrowing TLSTestSocket) throws {
    for _ in 0..<100 {
        let state = try connection.handshake()
        try socket.sendAll(connection.drainCiphertext())
        if state == .complete { return }
        let bytes = try socket.receive()
        if bytes.isEmpty {
            connection.feedEndOfInput()
        } else {
            bytes.withUnsafeBytes { connection.feedCiphertext($0) }
        }
    }
    throw TLSTestFailure("handshake over the socket did not finish")
}

/// Reads plaintext over a blocking socket until `predicate` holds on everything read, or the peer closes.
func tlsReadPlaintext(
    _ connection: TLSConnection, over socket: borrowing TLSTestSocket, until predicate: ([UInt8]) -> Bool
) throws -> (bytes: [UInt8], closed: Bool) {
    var received: [UInt8] = []
    for _ in 0..<1_000 {
        let result = try tlsReadAvailable(connection, into: &received)
        try socket.sendAll(connection.drainCiphertext())
        if result == .closed { return (received, true) }
        if predicate(received) { return (received, false) }
        let bytes = try socket.receive()
        if bytes.isEmpty {
            connection.feedEndOfInput()
        } else {
            bytes.withUnsafeBytes { connection.feedCiphertext($0) }
        }
    }
    throw TLSTestFailure("no plaintext arrived")
}
