public import FoundationEssentials
import PurviewWorkflow

/// An instant in UTC with nanosecond resolution, rendered the way the service writes times:
/// `2023-07-20T19:15:50.104809019Z` (always nine fractional digits).
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// Rounds to the microsecond, the precision a `Date` (a Double) really holds for current dates.
    public init(_ date: Date) {
        let micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        nanoseconds = Int64(micros) * 1000
    }

    public var date: Date { Date(timeIntervalSince1970: Double(nanoseconds) / 1_000_000_000) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public func adding(seconds: Int64) -> Timestamp { Timestamp(nanoseconds: nanoseconds + seconds * 1_000_000_000) }

    public func adding(nanoseconds delta: Int64) -> Timestamp { Timestamp(nanoseconds: nanoseconds + delta) }

    /// The wire form, e.g. `2023-01-12T09:36:11.533263721Z`.
    public var description: String {
        let nanosPerDay: Int64 = 86_400 * 1_000_000_000
        var days = nanoseconds / nanosPerDay
        var rest = nanoseconds % nanosPerDay
        if rest < 0 {
            rest += nanosPerDay
            days -= 1
        }
        let (year, month, day) = Self.civil(fromDays: days)
        let secondsOfDay = rest / 1_000_000_000
        let fraction = rest % 1_000_000_000
        return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T" + pad(secondsOfDay / 3600, 2) + ":"
            + pad(secondsOfDay / 60 % 60, 2) + ":" + pad(secondsOfDay % 60, 2) + "." + pad(fraction, 9) + "Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (up to nine fractional digits, more are cut).
    public init?(parsing text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"), bytes[13] == UInt8(ascii: ":"),
            bytes[16] == UInt8(ascii: ":"), bytes.last == UInt8(ascii: "Z") || bytes.last == UInt8(ascii: "z")
        else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var fraction: Int64 = 0
        var index = 19
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count - 1 {
                let byte = bytes[index]
                guard byte >= 48, byte <= 57 else { return nil }
                if digits < 9 {
                    fraction = fraction * 10 + Int64(byte - 48)
                    digits += 1
                }
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<9 { fraction *= 10 }
        }
        guard index == bytes.count - 1 else { return nil }
        let days = Self.days(fromCivil: year, month, day)
        nanoseconds = ((days * 86_400 + hour * 3600 + minute * 60 + second) * 1_000_000_000) + fraction
    }

    // Days since 1970-01-01 <-> proleptic Gregorian date, using 400-year eras starting in March.
    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let shifted = days + 719_468
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

    private static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let adjustedYear = month <= 2 ? year - 1 : year
        let era = (adjustedYear >= 0 ? adjustedYear : adjustedYear - 399) / 400
        let yearOfEra = adjustedYear - era * 400
        let monthIndex = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * monthIndex + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

private func pad(_ value: Int64, _ width: Int) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}

/// Where the engine reads the current time. The engine adds its own offset (``EmulatorEngine/advance(seconds:)``).
public protocol EmulatorClock: Sendable {
    func now() -> Date
}

/// The wall clock.
public struct SystemClock: EmulatorClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that never moves by itself; tests move the engine with `advance(seconds:)`.
public struct FixedClock: EmulatorClock {
    public var date: Date
    public init(_ date: Date) { self.date = date }
    public func now() -> Date { date }
}

/// A reminder interval or expiry period as the workflow author writes it (`"1 day"`, `"2 weeks"`)
/// and as the service stores it on a task (`{"Day":{"number":1}}`).
struct SettingsDuration: Sendable, Hashable {
    enum Unit: String, Sendable, CaseIterable {
        case minute = "Minute", hour = "Hour", day = "Day", week = "Week", month = "Month", year = "Year"

        // A month is 30 days: the service's examples put expiryTime 30 days after createdTime for "1 month".
        var seconds: Int64 {
            switch self {
            case .minute: 60
            case .hour: 3600
            case .day: 86_400
            case .week: 7 * 86_400
            case .month: 30 * 86_400
            case .year: 365 * 86_400
            }
        }
    }

    var number: Int
    var unit: Unit

    var seconds: Int64 { Int64(number) * unit.seconds }

    /// The stored form, `{"Day":{"number":1}}`.
    var json: JSONValue { .object([unit.rawValue: ["number": .number(Double(number))]]) }

    /// Accepts `"<n> <unit>[s]"` (any case) or the stored form.
    init?(_ value: JSONValue) {
        switch value {
        case .string(let text):
            let parts = text.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2, let number = Int(parts[0]), number > 0,
                Int64(number) <= Self.maximumSeconds / Unit.minute.seconds
            else { return nil }
            var unitText = parts[1].lowercased()
            if unitText.hasSuffix("s") { unitText.removeLast() }
            guard let unit = Unit.allCases.first(where: { $0.rawValue.lowercased() == unitText }) else { return nil }
            guard Int64(number) * unit.seconds <= Self.maximumSeconds else { return nil }
            self.number = number
            self.unit = unit
        case .object(let object):
            guard object.count == 1, let key = object.keys.first,
                let unit = Unit.allCases.first(where: { $0.rawValue.lowercased() == key.lowercased() }),
                let number = object[key]?["number"]?.intValue, number > 0,
                Int64(number) <= Self.maximumSeconds / unit.seconds
            else { return nil }
            self.number = number
            self.unit = unit
        default:
            return nil
        }
    }

    /// The longest accepted period: a century, which keeps every time computation far from overflow.
    static let maximumSeconds: Int64 = 100 * 365 * 86_400

    init(number: Int, unit: Unit) {
        self.number = number
        self.unit = unit
    }
}
