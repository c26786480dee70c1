public import FoundationEssentials
import PurviewWorkflow

extension PurviewTimestamp {
    func adding(seconds: Int64) -> PurviewTimestamp { adding(.seconds(seconds)) }
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
        case minute = "Minute"
        case hour = "Hour"
        case day = "Day"
        case week = "Week"
        case month = "Month"
        case year = "Year"

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
