import Glibc
import Synchronization

/// Receives log records. Implementations must be safe to call from any thread.
public protocol LogSink: Sendable {
    /// Handles one record; must not throw or block for long.
    func write(_ record: LogRecord)
}

/// Writes each record as one JSON line to a file descriptor (stderr by default).
///
/// Each line goes out in a single write(2) under a lock, so lines from concurrent writers never interleave.
public final class JSONLinesLogSink: LogSink {
    private let fileDescriptor: Int32
    private let lock = Mutex(())

    /// Creates a sink writing to `fileDescriptor` (2 is stderr), which the caller keeps open for the sink's lifetime.
    public init(fileDescriptor: Int32 = 2) {
        self.fileDescriptor = fileDescriptor
    }

    public func write(_ record: LogRecord) {
        let line = record.jsonLine()
        lock.withLock { _ in
            line.withUnsafeBytes { bytes in
                var offset = 0
                // Partial writes and EINTR are retried a bounded number of times; other failures (EAGAIN on a
                // non-blocking stderr, EPIPE) drop the line, since a log line is never worth a hang.
                for _ in 0..<64 where offset < bytes.count {
                    let written = Glibc.write(
                        fileDescriptor, bytes.baseAddress?.advanced(by: offset), bytes.count - offset)
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
