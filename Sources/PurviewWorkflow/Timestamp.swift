public import FoundationEssentials

/// An instant as Purview writes it: RFC 3339 in UTC with nanosecond precision,
/// e.g. `2023-07-20T19:15:50.104809019Z`.
///
/// Parsing accepts `T`/`t`, `Z`/`z` or a `±hh:mm` offset (converted to UTC), 0 or more fractional digits
/// (digits past the ninth are dropped), and a leap second `:60`, which counts as the first second of the
/// next minute. Years must be 0000–9999.
///
/// Formatting always writes UTC with `Z`. The default is 9 fractional digits: 117 of the 118 timestamps in
/// the real recordings and spec examples have exactly 9 (action records carry 100 ns ticks padded to 9,
/// e.g. `…50.427511700Z`; one shows `…51.405451Z`). Fewer digits truncate.
///
/// The value is exact (whole seconds plus nanoseconds), unlike `Date`, whose `Double` keeps roughly a tenth
/// of a microsecond for current dates; conversions to and from `Date` are therefore best effort.
public struct PurviewTimestamp: Hashable, Comparable, Sendable, Codable, LosslessStringConvertible {
    /// Whole seconds since 1970-01-01T00:00:00Z (negative before).
    public let secondsSince1970: Int64
    /// Nanoseconds within the second, 0 ..< 1_000_000_000.
    public let nanoseconds: Int32

    /// The number of fractional digits the service writes, and the default for `formatted`.
    public static let serviceFractionDigits = 9

    /// Creates an instant; nanoseconds outside 0 ..< 10^9 carry into the seconds.
    public init(secondsSince1970: Int64, nanoseconds: Int64 = 0) {
        let carry = nanoseconds >= 0 ? nanoseconds / 1_000_000_000 : (nanoseconds - 999_999_999) / 1_000_000_000
        self.secondsSince1970 = secondsSince1970 + carry
        self.nanoseconds = Int32(nanoseconds - carry * 1_000_000_000)
    }

    /// Converts a `Date`, keeping as much of its sub-second part as its `Double` holds.
    public init(_ date: Date) {
        let sinceReference = date.timeIntervalSinceReferenceDate
        let whole = sinceReference.rounded(.down)
        var nanos = Int64(((sinceReference - whole) * 1e9).rounded())
        var seconds = Int64(whole)
        if nanos >= 1_000_000_000 {
            nanos -= 1_000_000_000
            seconds += 1
        }
        self.init(secondsSince1970: seconds + PurviewTimestamp.referenceDateOffset, nanoseconds: nanos)
    }

    /// The instant as a `Date` (sub-microsecond digits may be rounded).
    public var date: Date {
        Date(
            timeIntervalSinceReferenceDate: Double(secondsSince1970 - PurviewTimestamp.referenceDateOffset)
                + Double(nanoseconds) / 1e9)
    }

    /// Seconds between 1970-01-01 and 2001-01-01, Foundation's reference date.
    private static let referenceDateOffset: Int64 = 978_307_200

    public static func < (lhs: PurviewTimestamp, rhs: PurviewTimestamp) -> Bool {
        (lhs.secondsSince1970, lhs.nanoseconds) < (rhs.secondsSince1970, rhs.nanoseconds)
    }

    public func adding(_ duration: Duration) -> PurviewTimestamp {
        let (seconds, attoseconds) = duration.components
        return PurviewTimestamp(
            secondsSince1970: secondsSince1970 + seconds,
            nanoseconds: Int64(nanoseconds) + attoseconds / 1_000_000_000)
    }

    public static func + (lhs: PurviewTimestamp, rhs: Duration) -> PurviewTimestamp { lhs.adding(rhs) }

    /// The time from `rhs` to `lhs`.
    public static func - (lhs: PurviewTimestamp, rhs: PurviewTimestamp) -> Duration {
        .seconds(lhs.secondsSince1970 - rhs.secondsSince1970)
            + .nanoseconds(Int64(lhs.nanoseconds) - Int64(rhs.nanoseconds))
    }

    // MARK: text

    /// Parses an RFC 3339 date-time; nil if the text is not one.
    public init?(_ description: String) {
        guard let parsed = PurviewTimestamp.parse(Array(description.utf8)) else { return nil }
        self = parsed
    }

    public var description: String { formatted() }

    /// `YYYY-MM-DDThh:mm:ss[.fraction]Z` with `fractionDigits` digits (0–9, clamped; 0 omits the point).
    public func formatted(fractionDigits: Int = PurviewTimestamp.serviceFractionDigits) -> String {
        let days = secondsSince1970 >= 0 ? secondsSince1970 / 86_400 : (secondsSince1970 - 86_399) / 86_400
        let secondOfDay = secondsSince1970 - days * 86_400
        let (year, month, day) = PurviewTimestamp.civilDate(fromDaysSince1970: days)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(30)
        func append(_ value: Int64, width: Int) {
            var digits: [UInt8] = []
            var remaining = value
            for _ in 0..<width {
                digits.append(UInt8(ascii: "0") + UInt8(remaining % 10))
                remaining /= 10
            }
            bytes.append(contentsOf: digits.reversed())
        }
        append(year, width: 4)
        bytes.append(UInt8(ascii: "-"))
        append(month, width: 2)
        bytes.append(UInt8(ascii: "-"))
        append(day, width: 2)
        bytes.append(UInt8(ascii: "T"))
        append(secondOfDay / 3600, width: 2)
        bytes.append(UInt8(ascii: ":"))
        append(secondOfDay / 60 % 60, width: 2)
        bytes.append(UInt8(ascii: ":"))
        append(secondOfDay % 60, width: 2)
        let digits = min(max(fractionDigits, 0), 9)
        if digits > 0 {
            bytes.append(UInt8(ascii: "."))
            var divisor: Int64 = 1
            for _ in 0..<(9 - digits) { divisor *= 10 }
            append(Int64(nanoseconds) / divisor, width: digits)
        }
        bytes.append(UInt8(ascii: "Z"))
        return String(decoding: bytes, as: UTF8.self)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let parsed = PurviewTimestamp(text) else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: decoder.codingPath, debugDescription: "'\(text)' is not an RFC 3339 date-time"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(formatted())
    }

    private static func parse(_ text: [UInt8]) -> PurviewTimestamp? {
        var position = 0
        func number(_ width: Int) -> Int64? {
            guard position + width <= text.count else { return nil }
            var value: Int64 = 0
            for _ in 0..<width {
                let digit = text[position] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value * 10 + Int64(digit)
                position += 1
            }
            return value
        }
        func expect(_ allowed: UInt8...) -> Bool {
            guard position < text.count, allowed.contains(text[position]) else { return false }
            position += 1
            return true
        }
        guard let year = number(4), expect(UInt8(ascii: "-")), let month = number(2), expect(UInt8(ascii: "-")),
            let day = number(2), expect(UInt8(ascii: "T"), UInt8(ascii: "t")), let hour = number(2),
            expect(UInt8(ascii: ":")), let minute = number(2), expect(UInt8(ascii: ":")), let second = number(2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month), hour <= 23,
            minute <= 59, second <= 60
        else { return nil }

        var nanos: Int64 = 0
        if position < text.count, text[position] == UInt8(ascii: ".") {
            position += 1
            var digits = 0
            while position < text.count, text[position] &- UInt8(ascii: "0") < 10 {
                if digits < 9 { nanos = nanos * 10 + Int64(text[position] - UInt8(ascii: "0")) }
                digits += 1
                position += 1
            }
            guard digits > 0 else { return nil }
            for _ in min(digits, 9)..<9 { nanos *= 10 }
        }

        var offsetSeconds: Int64 = 0
        if expect(UInt8(ascii: "Z"), UInt8(ascii: "z")) {
            offsetSeconds = 0
        } else if position < text.count, text[position] == UInt8(ascii: "+") || text[position] == UInt8(ascii: "-") {
            let sign: Int64 = text[position] == UInt8(ascii: "-") ? -1 : 1
            position += 1
            guard let offsetHours = number(2), expect(UInt8(ascii: ":")), let offsetMinutes = number(2),
                offsetHours <= 23, offsetMinutes <= 59
            else { return nil }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
        } else {
            return nil
        }
        guard position == text.count else { return nil }

        let days = daysSince1970(year: year, month: month, day: day)
        let local = days * 86_400 + hour * 3600 + minute * 60 + second
        return PurviewTimestamp(secondsSince1970: local - offsetSeconds, nanoseconds: nanos)
    }

    private static func isLeapYear(_ year: Int64) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    private static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 in the proleptic Gregorian calendar, counting in 400-year cycles of 146,097 days
    /// with years that start in March (so the leap day falls at the end of the year).
    private static func daysSince1970(year: Int64, month: Int64, day: Int64) -> Int64 {
        let marchYear = month <= 2 ? year - 1 : year
        let cycle = (marchYear >= 0 ? marchYear : marchYear - 399) / 400
        let yearOfCycle = marchYear - cycle * 400
        let marchMonth = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * marchMonth + 2) / 5 + day - 1
        let dayOfCycle = yearOfCycle * 365 + yearOfCycle / 4 - yearOfCycle / 100 + dayOfYear
        return cycle * 146_097 + dayOfCycle - 719_468
    }

    /// The inverse of `daysSince1970`.
    private static func civilDate(fromDaysSince1970 days: Int64) -> (Int64, Int64, Int64) {
        let shifted = days + 719_468
        let cycle = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfCycle = shifted - cycle * 146_097
        let yearOfCycle = (dayOfCycle - dayOfCycle / 1460 + dayOfCycle / 36_524 - dayOfCycle / 146_096) / 365
        let dayOfYear = dayOfCycle - (365 * yearOfCycle + yearOfCycle / 4 - yearOfCycle / 100)
        let marchMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * marchMonth + 2) / 5 + 1
        let month = marchMonth < 10 ? marchMonth + 3 : marchMonth - 9
        let year = yearOfCycle + cycle * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}
