/// A structured logger: a label, a minimum level, metadata, and the sink that receives records.
///
/// A value type: derive per-request loggers with ``with(_:_:)`` and pass them down.
public struct Logger: Sendable {
    /// Names the component that logs, written as `logger`.
    public var label: String
    /// Records below this level are dropped without evaluating their message.
    public var level: LogLevel
    /// Metadata attached to every record from this logger.
    public var metadata: [String: LogValue]
    /// Where records go.
    public var sink: any LogSink

    /// Creates a logger.
    public init(label: String, level: LogLevel = .info, metadata: [String: LogValue] = [:], sink: any LogSink) {
        self.label = label
        self.level = level
        self.metadata = metadata
        self.sink = sink
    }

    /// A logger that drops everything; for code paths and tests that need one but do not care.
    public static func disabled(label: String = "disabled") -> Logger {
        Logger(label: label, level: .critical, sink: DiscardingLogSink())
    }

    /// A copy with `key` set to `value` in its metadata (for example a request id).
    public func with(_ key: String, _ value: LogValue) -> Logger {
        var copy = self
        copy.metadata[key] = value
        return copy
    }

    /// A copy with every entry of `extra` added to its metadata.
    public func with(_ extra: [String: LogValue]) -> Logger {
        var copy = self
        copy.metadata.merge(extra) { _, new in new }
        return copy
    }

    /// Whether a record at `level` would be written.
    public func isEnabled(_ level: LogLevel) -> Bool { level >= self.level }

    /// Logs `message` at `level` with extra `metadata`; neither is evaluated when the level is disabled.
    public func log(
        _ level: LogLevel, _ message: @autoclosure () -> String,
        metadata extra: @autoclosure () -> [String: LogValue] = [:]
    ) {
        guard isEnabled(level) else { return }
        var merged = metadata
        let extra = extra()
        if !extra.isEmpty { merged.merge(extra) { _, new in new } }
        sink.write(LogRecord(timestamp: .now(), level: level, label: label, message: message(), metadata: merged))
    }

    /// Logs at ``LogLevel/trace``.
    public func trace(_ message: @autoclosure () -> String, metadata: @autoclosure () -> [String: LogValue] = [:]) {
        log(.trace, message(), metadata: metadata())
    }

    /// Logs at ``LogLevel/debug``.
    public func debug(_ message: @autoclosure () -> String, metadata: @autoclosure () -> [String: LogValue] = [:]) {
        log(.debug, message(), metadata: metadata())
    }

    /// Logs at ``LogLevel/info``.
    public func info(_ message: @autoclosure () -> String, metadata: @autoclosure () -> [String: LogValue] = [:]) {
        log(.info, message(), metadata: metadata())
    }

    /// Logs at ``LogLevel/notice``.
    public func notice(_ message: @autoclosure () -> String, metadata: @autoclosure () -> [String: LogValue] = [:]) {
        log(.notice, message(), metadata: metadata())
    }

    /// Logs at ``LogLevel/warning``.
    public func warning(_ message: @autoclosure () -> String, metadata: @autoclosure () -> [String: LogValue] = [:]) {
        log(.warning, message(), metadata: metadata())
    }

    /// Logs at ``LogLevel/error``.
    public func error(_ message: @autoclosure () -> String, metadata: @autoclosure () -> [String: LogValue] = [:]) {
        log(.error, message(), metadata: metadata())
    }

    /// Logs at ``LogLevel/critical``.
    public func critical(_ message: @autoclosure () -> String, metadata: @autoclosure () -> [String: LogValue] = [:]) {
        log(.critical, message(), metadata: metadata())
    }
}
