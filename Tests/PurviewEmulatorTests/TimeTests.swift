import Foundation
import PurviewWorkflow
import Testing

@testable import PurviewEmulator

@Suite struct Timestamps {
    @Test func formatsWithNineFractionalDigits() {
        #expect(Timestamp(testEpoch).description == "2024-01-01T00:00:00.000000000Z")
        #expect(Timestamp(nanoseconds: 1_689_880_550_104_809_019).description == "2023-07-20T19:15:50.104809019Z")
        #expect(Timestamp(nanoseconds: 951_782_400_000_000_000).description == "2000-02-29T00:00:00.000000000Z")
        #expect(Timestamp(nanoseconds: -1).description == "1969-12-31T23:59:59.999999999Z")
    }

    @Test(arguments: [
        "2023-07-20T19:15:50.104809019Z", "2023-07-20T19:15:51.405451Z", "2024-02-29T23:59:59Z",
        "1999-12-31T00:00:00.5Z",
    ])
    func parsesWhatItAndTheServiceWrite(_ text: String) throws {
        let parsed = try #require(Timestamp(parsing: text))
        #expect(Timestamp(parsing: parsed.description) == parsed)
    }

    @Test func parsedValuesAreExact() {
        #expect(Timestamp(parsing: "2023-07-20T19:15:51.405451Z")?.nanoseconds == 1_689_880_551_405_451_000)
        #expect(Timestamp(parsing: "1970-01-01T00:00:01.0000000019Z")?.nanoseconds == 1_000_000_001)
    }

    @Test(arguments: ["", "2023-07-20", "2023-07-20T19:15:50", "2023-13-01T00:00:00Z", "2023-07-20T19:15:50.Z", "x023-07-20T19:15:50Z"])
    func rejectsMalformedText(_ text: String) {
        #expect(Timestamp(parsing: text) == nil)
    }

    @Test func datesRoundToTheMicrosecond() {
        let date = Date(timeIntervalSince1970: 1_689_880_550.104809)
        #expect(Timestamp(date).nanoseconds == 1_689_880_550_104_809_000)
    }
}

@Suite struct Durations {
    @Test(arguments: [
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
