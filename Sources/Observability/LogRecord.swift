import Glibc

/// A wall-clock instant with millisecond-or-better precision, as written in log lines.
public struct LogTimestamp: Sendable, Hashable, Comparable {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    public var secondsSinceEpoch: Int64
    /// Nanoseconds past the second, 0 ..< 1_000_000_000.
    public var nanoseconds: Int32

    /// Creates a timestamp.
    public init(secondsSinceEpoch: Int64, nanoseconds: Int32 = 0) {
        precondition((0..<1_000_000_000).contains(nanoseconds), "LogTimestamp: nanoseconds out of range")
        self.secondsSinceEpoch = secondsSinceEpoch
        self.nanoseconds = nanoseconds
    }

    /// The current time (CLOCK_REALTIME).
    public static func now() -> LogTimestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return LogTimestamp(secondsSinceEpoch: Int64(time.tv_sec), nanoseconds: Int32(time.tv_nsec))
    }

    public static func < (lhs: LogTimestamp, rhs: LogTimestamp) -> Bool {
        (lhs.secondsSinceEpoch, lhs.nanoseconds) < (rhs.secondsSinceEpoch, rhs.nanoseconds)
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-12-03T14:00:00.123Z`.
    public var iso8601: String {
        var output: [UInt8] = []
        write(into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    func write(into output: inout [UInt8]) {
        let days = secondsSinceEpoch >= 0 ? secondsSinceEpoch / 86_400 : (secondsSinceEpoch - 86_399) / 86_400
        let secondOfDay = secondsSinceEpoch - days * 86_400
        let (year, month, day) = Self.civilDate(daysSinceEpoch: days)
        func digits(_ value: Int64, _ count: Int) {
            var divisor: Int64 = 1
            for _ in 1..<count { divisor *= 10 }
            var remaining = value
            while divisor > 0 {
                output.append(UInt8(ascii: "0") + UInt8(remaining / divisor % 10))
                remaining %= divisor
                divisor /= 10
            }
        }
        // Four digits cover every clock this runs on; clamp rather than print garbage for absurd inputs.
        digits(min(max(year, 0), 9999), 4)
        output.append(UInt8(ascii: "-"))
        digits(month, 2)
        output.append(UInt8(ascii: "-"))
        digits(day, 2)
        output.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3600, 2)
        output.append(UInt8(ascii: ":"))
        digits(secondOfDay / 60 % 60, 2)
        output.append(UInt8(ascii: ":"))
        digits(secondOfDay % 60, 2)
        output.append(UInt8(ascii: "."))
        digits(Int64(nanoseconds / 1_000_000), 3)
        output.append(UInt8(ascii: "Z"))
    }

    /// Converts days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `civil_from_days`).
    static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = daysSinceEpoch + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}

/// One log event as handed to a ``LogSink``.
public struct LogRecord: Sendable, Hashable {
    /// When the event happened.
    public var timestamp: LogTimestamp
    /// Its severity.
    public var level: LogLevel
    /// The emitting logger's label.
    public var label: String
    /// The human-readable message.
    public var message: String
    /// Structured data: the logger's metadata merged with the call's (the call wins).
    public var metadata: [String: LogValue]

    /// Creates a record.
    public init(
        timestamp: LogTimestamp, level: LogLevel, label: String, message: String, metadata: [String: LogValue] = [:]
    ) {
        self.timestamp = timestamp
        self.level = level
        self.label = label
        self.message = message
        self.metadata = metadata
    }

    /// Keys every line carries; metadata with one of these names is written as `metadata.<key>` instead.
    public static let reservedKeys: Set<String> = ["ts", "level", "msg", "logger"]

    /// The record as one JSON object followed by a newline:
    /// `{"ts":"…","level":"info","msg":"…","logger":"…",<metadata sorted by key>}`.
    public func jsonLine() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(128 + message.utf8.count + metadata.count * 32)
        output.append(contentsOf: #"{"ts":""#.utf8)
        timestamp.write(into: &output)
        output.append(contentsOf: #"","level":""#.utf8)
        output.append(contentsOf: level.name.utf8)
        output.append(contentsOf: #"","msg":"#.utf8)
        JSONWriter.writeString(message, into: &output)
        output.append(contentsOf: #","logger":"#.utf8)
        JSONWriter.writeString(label, into: &output)
        for key in metadata.keys.sorted() {
            output.append(UInt8(ascii: ","))
            JSONWriter.writeString(Self.reservedKeys.contains(key) ? "metadata." + key : key, into: &output)
            output.append(UInt8(ascii: ":"))
            JSONWriter.write(metadata[key] ?? .null, into: &output)
        }
        output.append(contentsOf: "}\n".utf8)
        return output
    }
}
