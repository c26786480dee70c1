import Dispatch
import Glibc
import Synchronization

/// Receives log records. Implementations must be safe to call from any thread.
public protocol LogSink: Sendable {
    /// Handles one record; must not throw or block for long.
    func write(_ record: LogRecord)
}

/// Writes each record as one JSON line to a file descriptor (stderr by default), without making the logging
/// thread wait for the descriptor.
///
/// Lines are appended to a buffer and written by a background queue, so an event loop that logs never blocks
/// on a slow pipe (a log collector that stalls). Lines go out whole and in order. When more than `bufferLimit`
/// bytes are waiting, further lines are dropped and counted, and a line saying how many were lost is written
/// when the descriptor drains. Everything buffered is written at process exit (`exit`, or a return from main)
/// and by `flush()`.
public final class JSONLinesLogSink: LogSink {
    private struct State {
        var pending: [UInt8] = []
        var dropped = 0
        var writeScheduled = false
    }

    private let fileDescriptor: Int32
    private let bufferLimit: Int
    private let state = Mutex(State())
    /// Held while bytes go to the descriptor, so the queue and `flush()` never interleave their writes.
    private let output = Mutex(())
    private let queue = DispatchQueue(label: "purview-gateway.log-writer")

    /// Creates a sink writing to `fileDescriptor` (2 is stderr), which the caller keeps open for the sink's lifetime.
    public init(fileDescriptor: Int32 = 2, bufferLimit: Int = 8 << 20) {
        self.fileDescriptor = fileDescriptor
        self.bufferLimit = bufferLimit
        Self.register(self)
    }

    public func write(_ record: LogRecord) {
        let line = record.jsonLine()
        let schedule = state.withLock { state -> Bool in
            guard state.pending.count + line.count <= bufferLimit else {
                state.dropped += 1
                return false
            }
            state.pending.append(contentsOf: line)
            guard !state.writeScheduled else { return false }
            state.writeScheduled = true
            return true
        }
        if schedule { queue.async { self.writePending() } }
    }

    /// Writes everything buffered so far before returning.
    public func flush() {
        writePending()
    }

    private func writePending() {
        output.withLock { _ in
            while true {
                let (bytes, dropped) = state.withLock { state -> ([UInt8], Int) in
                    defer {
                        state.pending = []
                        state.dropped = 0
                    }
                    if state.pending.isEmpty && state.dropped == 0 { state.writeScheduled = false }
                    return (state.pending, state.dropped)
                }
                if bytes.isEmpty && dropped == 0 { return }
                writeFully(bytes)
                if dropped > 0 {
                    let notice = LogRecord(
                        timestamp: .now(), level: .warning, label: "logging", message: "log lines dropped",
                        metadata: ["count": .int(dropped), "reason": "the log output did not keep up"])
                    writeFully(notice.jsonLine())
                }
            }
        }
    }

    private func writeFully(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            // EINTR is retried; other failures (EPIPE, a closed descriptor) drop the rest, since a log line is never
            // worth a crash.
            while offset < buffer.count {
                let written = Glibc.write(fileDescriptor, buffer.baseAddress?.advanced(by: offset), buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }

    // Sinks alive in this process, flushed at exit so the last lines (a startup error, a shutdown) are not lost.
    private static let live = Mutex<[ObjectIdentifier: Weak]>([:])
    private static let installExitHook: Void = { atexit { JSONLinesLogSink.flushAll() } }()

    private struct Weak: @unchecked Sendable {
        weak var sink: JSONLinesLogSink?
    }

    private static func register(_ sink: JSONLinesLogSink) {
        _ = installExitHook
        live.withLock { $0[ObjectIdentifier(sink)] = Weak(sink: sink) }
    }

    private static func flushAll() {
        for entry in live.withLock({ Array($0.values) }) { entry.sink?.flush() }
    }

    deinit {
        flush()
        Self.live.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(self)) }
    }
}

/// Keeps records in memory; for tests and diagnostics.
public final class InMemoryLogSink: LogSink {
    private let storage = Mutex<[LogRecord]>([])

    /// Creates an empty sink.
    public init() {}

    public func write(_ record: LogRecord) {
        storage.withLock { $0.append(record) }
    }

    /// Every record written so far, in order.
    public var records: [LogRecord] { storage.withLock { $0 } }

    /// Removes all records.
    public func clear() { storage.withLock { $0.removeAll() } }
}

/// Drops every record.
public struct DiscardingLogSink: LogSink {
    /// Creates the sink.
    public init() {}

    public func write(_ record: LogRecord) {}
}

/// Forwards each record to several sinks in order.
public struct MultiplexLogSink: LogSink {
    private let sinks: [any LogSink]

    /// Creates a sink that writes to each of `sinks`.
    public init(_ sinks: [any LogSink]) { self.sinks = sinks }

    public func write(_ record: LogRecord) {
        for sink in sinks { sink.write(record) }
    }
}
