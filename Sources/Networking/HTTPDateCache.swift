import Glibc

/// The `Date` header line (RFC 9110 §5.6.7 IMF-fixdate), formatted at most once per second per loop.
struct HTTPDateCache {
    private var second: time_t = -1
    /// "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
    private(set) var headerLine: [UInt8] = []

    /// The header line for the current second.
    mutating func current() -> [UInt8] {
        let now = time(nil)
        if now != second {
            second = now
            headerLine = Self.format(now)
        }
        return headerLine
    }

    static func format(_ seconds: time_t) -> [UInt8] {
        var copy = seconds
        var parts = tm()
        gmtime_r(&copy, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        var line: [UInt8] = []
        line.reserveCapacity(38)
        line.append(contentsOf: "Date: ".utf8)
        line.append(contentsOf: days[Int(parts.tm_wday)].utf8)
        line.append(contentsOf: ", ".utf8)
        appendTwoDigits(Int(parts.tm_mday), to: &line)
        line.append(0x20)
        line.append(contentsOf: months[Int(parts.tm_mon)].utf8)
        line.append(0x20)
        let year = Int(parts.tm_year) + 1900
        appendTwoDigits(year / 100, to: &line)
        appendTwoDigits(year % 100, to: &line)
        line.append(0x20)
        appendTwoDigits(Int(parts.tm_hour), to: &line)
        line.append(UInt8(ascii: ":"))
        appendTwoDigits(Int(parts.tm_min), to: &line)
        line.append(UInt8(ascii: ":"))
        appendTwoDigits(Int(parts.tm_sec), to: &line)
        line.append(contentsOf: " GMT\r\n".utf8)
        return line
    }

    private static func appendTwoDigits(_ value: Int, to line: inout [UInt8]) {
        line.append(UInt8(ascii: "0") + UInt8(value / 10 % 10))
        line.append(UInt8(ascii: "0") + UInt8(value % 10))
    }
}
