import Foundation
import PurviewWorkflow
import Testing

@Suite struct TimestampTests {
    @Test func parsesAndFormatsTheServiceForm() throws {
        let timestamp = try #require(PurviewTimestamp("2023-07-20T19:15:50.104809019Z"))
        #expect(timestamp.secondsSince1970 == 1_689_880_550)
        #expect(timestamp.nanoseconds == 104_809_019)
        #expect(timestamp.formatted() == "2023-07-20T19:15:50.104809019Z")
        #expect(timestamp.description == "2023-07-20T19:15:50.104809019Z")
        #expect(timestamp.formatted(fractionDigits: 7) == "2023-07-20T19:15:50.1048090Z")
        #expect(timestamp.formatted(fractionDigits: 3) == "2023-07-20T19:15:50.104Z")
        #expect(timestamp.formatted(fractionDigits: 0) == "2023-07-20T19:15:50Z")
        #expect(timestamp.formatted(fractionDigits: 42) == "2023-07-20T19:15:50.104809019Z")
    }

    static let equivalent: [(String, String)] = [
        ("2023-07-20T19:15:51.405451Z", "2023-07-20T19:15:51.405451000Z"),
        ("2023-07-20T21:15:50+02:00", "2023-07-20T19:15:50.000000000Z"),
        ("2023-07-20T17:45:50.5-01:30", "2023-07-20T19:15:50.500000000Z"),
        ("2023-07-20t19:15:50z", "2023-07-20T19:15:50.000000000Z"),
        ("2023-07-20T19:15:50-00:00", "2023-07-20T19:15:50.000000000Z"),
        ("2023-07-20T19:15:50.1234567891Z", "2023-07-20T19:15:50.123456789Z"),
        ("2023-01-01T00:30:00+01:00", "2022-12-31T23:30:00.000000000Z"),
        ("2016-12-31T23:59:60Z", "2017-01-01T00:00:00.000000000Z"),
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000000Z"),
        ("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.500000000Z"),
        ("2024-02-29T12:00:00Z", "2024-02-29T12:00:00.000000000Z"),
        ("2000-02-29T00:00:00Z", "2000-02-29T00:00:00.000000000Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000000Z"),
        ("9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999999999Z"),
    ]

    @Test(arguments: equivalent)
    func normalisesToUTC(_ input: String, _ expected: String) throws {
        #expect(try #require(PurviewTimestamp(input)).formatted() == expected)
    }

    @Test func negativeTimesSplitIntoSecondsAndNanoseconds() throws {
        let timestamp = try #require(PurviewTimestamp("1969-12-31T23:59:59.5Z"))
        #expect(timestamp.secondsSince1970 == -1)
        #expect(timestamp.nanoseconds == 500_000_000)
        #expect(PurviewTimestamp(secondsSince1970: 0, nanoseconds: -1).formatted() == "1969-12-31T23:59:59.999999999Z")
        #expect(PurviewTimestamp(secondsSince1970: 0, nanoseconds: 2_500_000_000).secondsSince1970 == 2)
    }

    static let invalid = [
        "", "2023-07-20", "2023-07-20 19:15:50Z", "2023-07-20T19:15:50", "2023-7-20T19:15:50Z", "2023-07-20T24:00:00Z",
        "2023-13-01T00:00:00Z", "2023-00-01T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
        "2023-04-31T00:00:00Z", "2023-07-20T19:60:00Z", "2023-07-20T19:15:61Z", "2023-07-20T19:15:50.Z",
        "2023-07-20T19:15:50+0200", "2023-07-20T19:15:50+24:00", "2023-07-20T19:15:50Z ", "x2023-07-20T19:15:50Z",
        "2023-07-20T19:15:50.12a4Z", "+2023-07-20T19:15:50Z",
    ]

    @Test(arguments: invalid)
    func rejectsInvalidText(_ text: String) {
        #expect(PurviewTimestamp(text) == nil)
    }

    /// Random instants format like Foundation's ISO 8601 style and parse back. (Foundation switches to the
    /// Julian calendar before October 1582; RFC 3339 is proleptic Gregorian, so the range starts at 1600.)
    @Test func agreesWithFoundationAcrossTheCalendar() throws {
        var generator = SeededGenerator(seed: 0x5EED_0006)
        for _ in 0..<2_000 {
            let seconds = Int64.random(in: -11_676_096_000...253_402_300_799, using: &generator)
            let nanos = Int64.random(in: 0..<1_000_000_000, using: &generator)
            let timestamp = PurviewTimestamp(secondsSince1970: seconds, nanoseconds: nanos)
            let date = Date(timeIntervalSince1970: Double(seconds))
            #expect(timestamp.formatted(fractionDigits: 0) == date.formatted(.iso8601))
            #expect(PurviewTimestamp(timestamp.formatted()) == timestamp)
        }
    }

    @Test func usesTheProlepticGregorianCalendar() throws {
        // Values from Python's datetime, which is proleptic Gregorian; the first equals .NET's DateTime.MinValue.
        #expect(try #require(PurviewTimestamp("0001-01-01T00:00:00Z")).secondsSince1970 == -62_135_596_800)
        #expect(try #require(PurviewTimestamp("1582-10-10T00:00:00Z")).secondsSince1970 == -12_219_724_800)
    }

    @Test func convertsToAndFromDate() throws {
        let timestamp = try #require(PurviewTimestamp("2023-07-20T19:15:50.104809019Z"))
        let date = timestamp.date
        #expect(abs(date.timeIntervalSince1970 - 1_689_880_550.104809019) < 1e-6)
        let back = PurviewTimestamp(date)
        #expect(back.secondsSince1970 == timestamp.secondsSince1970)
        #expect(abs(Int(back.nanoseconds) - Int(timestamp.nanoseconds)) < 1_000)
        let half = PurviewTimestamp(Date(timeIntervalSince1970: 1_689_880_550.5))
        #expect(half.formatted() == "2023-07-20T19:15:50.500000000Z")
        let beforeEpoch = PurviewTimestamp(Date(timeIntervalSince1970: -0.25))
        #expect(beforeEpoch.formatted() == "1969-12-31T23:59:59.750000000Z")
    }

    @Test func ordersAndDoesArithmetic() throws {
        let earlier = try #require(PurviewTimestamp("2023-07-20T19:15:50.999999999Z"))
        let later = earlier + .nanoseconds(1)
        #expect(later.formatted() == "2023-07-20T19:15:51.000000000Z")
        #expect(earlier < later)
        #expect(later - earlier == .nanoseconds(1))
        #expect((earlier + .seconds(-86_400)).formatted() == "2023-07-19T19:15:50.999999999Z")
        #expect(earlier.adding(.milliseconds(1500)).formatted() == "2023-07-20T19:15:52.499999999Z")
    }

    @Test func codesAsAString() throws {
        struct Holder: Codable, Equatable { var at: PurviewTimestamp }
        let holder = try JSONValueDecoder().decode(Holder.self, from: #"{"at":"2023-07-20T19:15:50.1Z"}"#)
        #expect(
            String(decoding: try JSONValueEncoder().encode(holder), as: UTF8.self)
                == #"{"at":"2023-07-20T19:15:50.100000000Z"}"#)
        do {
            _ = try JSONValueDecoder().decode(Holder.self, from: #"{"at":"yesterday"}"#)
            Issue.record("decoded an invalid timestamp")
        } catch DecodingError.dataCorrupted(let context) {
            #expect(context.debugDescription.contains("'yesterday'"))
            #expect(JSONPointer(codingPath: context.codingPath).description == "/at")
        }
    }
}
