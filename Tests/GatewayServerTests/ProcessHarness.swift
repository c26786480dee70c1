import Foundation
import Synchronization

/// A child process of the test (the gateway or the emulator binary), its output collected on a
/// thread of its own so waiting never blocks Swift's cooperative pool.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let output = TextBuffer()
    private let errors = TextBuffer()

    /// The `purview-gateway` binary built next to the tests.
    static var binary: String {
        let products = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/purview-gateway").path
        return products
    }

    init(_ arguments: [String], environment: [String: String], directory: String) throws {
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        Self.adopt(process.processIdentifier)
        Self.collect(stdout.fileHandleForReading, into: output)
        Self.collect(stderr.fileHandleForReading, into: errors)
    }

    /// Children still running when the test binary exits (a test whose cleanup had not finished, or
    /// failed before it) are killed then: none may outlive the run and hold ports or CPU.
    private static let running = Mutex<Set<Int32>>([])
    private static let installExitHook: Void = { atexit { ChildProcess.killRunning() } }()

    private static func adopt(_ pid: Int32) {
        _ = installExitHook
        running.withLock { _ = $0.insert(pid) }
    }

    private static func forget(_ pid: Int32) { running.withLock { _ = $0.remove(pid) } }

    private static func killRunning() {
        let me = getpid()
        for pid in running.withLock({ $0 }) where parent(of: pid) == me { Foundation.kill(pid, SIGKILL) }
    }

    /// The parent of `pid` from /proc (field 4 of `stat`, after the parenthesised name): a pid the kernel
    /// has reused since is some other process's child and is left alone.
    private static func parent(of pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    private static func collect(_ handle: FileHandle, into sink: TextBuffer) {
        let thread = Thread {
            while true {
                let data = handle.availableData
                if data.isEmpty { return }
                sink.text.withLock { $0 += String(decoding: data, as: UTF8.self) }
            }
        }
        thread.start()
    }

    var standardOutput: String { output.text.withLock { $0 } }
    var standardError: String { errors.text.withLock { $0 } }

    /// Waits until standard output matches `pattern` (a regular expression with one capture group) and returns the capture.
    func waitForOutput(_ pattern: String, timeout: Duration = .seconds(60)) async throws -> String {
        let regex = try NSRegularExpression(pattern: pattern)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = standardOutput + standardError
            if let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
                let range = Range(match.range(at: 1), in: text)
            {
                return String(text[range])
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessFailure("no output matching \(pattern); stdout: \(standardOutput.suffix(2000)) stderr: \(standardError.suffix(4000))")
    }

    /// SIGKILL: no shutdown code runs (a crash).
    func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        Self.forget(process.processIdentifier)
    }

    /// SIGTERM and a bounded wait for a graceful exit.
    func terminate(timeout: Duration = .seconds(30)) async -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning {
            kill()
            return nil
        }
        Self.forget(process.processIdentifier)
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        Self.forget(process.processIdentifier)
    }
}

struct HarnessFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A temporary directory removed at the end.
final class TemporaryDirectory: @unchecked Sendable {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("pgw-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

final class TextBuffer: Sendable {
    let text = Mutex("")
}
