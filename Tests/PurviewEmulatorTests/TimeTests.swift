import Foundation
import PurviewWorkflow
import Testing

@testable import PurviewEmulator

@Suite struct Durations {
    @Test(
        arguments: [
            ("1 day", 1, "Day", 86_400), ("2 Days", 2, "Day", 172_800), ("1 month", 1, "Month", 2_592_000),
            ("3 hours", 3, "Hour", 10_800), ("1 week", 1, "Week", 604_800), ("15 minutes", 15, "Minute", 900),
        ] as [(String, Int, String, Int64)])
    func parsesAuthorForms(_ text: String, _ number: Int, _ unit: String, _ seconds: Int64) throws {
        let duration = try #require(SettingsDuration(.string(text)))
        #expect(duration.number == number)
        #expect(duration.unit.rawValue == unit)
        #expect(duration.seconds == seconds)
        #expect(duration.json == .object([unit: ["number": .number(Double(number))]]))
    }

    @Test func acceptsTheStoredForm() {
        #expect(SettingsDuration(["Month": ["number": 1]]) == SettingsDuration(number: 1, unit: .month))
    }

    @Test(arguments: ["day", "0 days", "-1 day", "1 fortnight", "1  ", "one day", "101 years", "99999999999999 days"])
    func rejectsOthers(_ text: String) {
        #expect(SettingsDuration(.string(text)) == nil)
    }
}

@Suite struct EngineTime {
    @Test func advanceIgnoresNonsenseAndIsBounded() {
        var engine = makeEngine()
        let start = engine.now
        engine.advance(seconds: -5)
        engine.advance(seconds: .nan)
        engine.advance(seconds: .infinity)
        #expect(engine.now == start)
        engine.advance(seconds: 86_400)
        #expect(engine.now == start.adding(seconds: 86_400))
        for _ in 0..<5 { engine.advance(seconds: 1e30) }
        #expect(engine.now == start.adding(seconds: 100 * 365 * 86_400))
    }
}
