import Foundation
import PurviewWorkflow
import Testing

@Suite struct JSONSerializerTests {
    static let numbers: [(Double, String)] = [
        (0, "0"),
        (-0.0, "0"),
        (1, "1"),
        (-1, "-1"),
        (1.5, "1.5"),
        (100, "100"),
        (0.1, "0.1"),
        (0.1 + 0.2, "0.30000000000000004"),
        (123456.789, "123456.789"),
        (9_007_199_254_740_991, "9007199254740991"),
        (9_007_199_254_740_992, "9007199254740992"),
        (1e16, "10000000000000000"),
        (1e20, "100000000000000000000"),
        (1.23e20, "123000000000000000000"),
        (1e21, "1e+21"),
        (1.5e300, "1.5e+300"),
        (0.000001, "0.000001"),
        (0.0000015, "0.0000015"),
        (1e-7, "1e-7"),
        (-1.25e-10, "-1.25e-10"),
        (.leastNonzeroMagnitude, "5e-324"),
        (.greatestFiniteMagnitude, "1.7976931348623157e+308"),
        (.nan, "null"),
        (.infinity, "null"),
        (-.infinity, "null"),
    ]

    @Test(arguments: numbers)
    func formatsNumberLikeECMAScript(_ number: Double, _ expected: String) {
        #expect(JSONValue.number(number).serializedString() == expected)
    }

    static let strings: [(String, String)] = [
        ("", #""""#),
        ("plain", #""plain""#),
        ("\"", #""\"""#),
        ("\\", #""\\""#),
        ("a/b", #""a/b""#),
        ("\u{8}\u{C}\n\r\t", #""\b\f\n\r\t""#),
        ("\u{0}\u{1}\u{1F}", #""\u0000\u0001\u001f""#),
        ("\u{7F}é中\u{2028}😀", "\"\u{7F}é中\u{2028}😀\""),
    ]

    @Test(arguments: strings)
    func escapesOnlyWhatJSONRequires(_ text: String, _ expected: String) throws {
        #expect(JSONValue.string(text).serializedString() == expected)
        #expect(try JSONValue(parsing: expected) == .string(text))
    }

    @Test func compactOutputKeepsInsertionOrder() {
        let value: JSONValue = ["b": 1, "a": [true, nil, ["d": 1.0, "c": "x"]]]
        #expect(value.serializedString() == #"{"b":1,"a":[true,null,{"d":1,"c":"x"}]}"#)
        #expect(value.description == value.serializedString())
    }

    @Test func canonicalFormSortsKeysAndDropsWhitespace() throws {
        let value = try JSONValue(parsing: #" { "b" : 1 , "a" : [ true , null , { "d" : 1.0 , "c" : "x" } ] } "#)
        #expect(value.canonicalString == #"{"a":[true,null,{"c":"x","d":1}],"b":1}"#)
        #expect(value.canonicalBytes == Array(value.canonicalString.utf8))
        #expect(reversingKeys(value).canonicalString == value.canonicalString)
        #expect(try JSONValue(parsing: "1.50e1").canonicalString == "15")
    }

    /// RFC 8785 orders keys by UTF-16 code units: U+1F600 (D83D DE00) sorts before U+E000.
    @Test func canonicalKeyOrderIsUTF16() {
        let value: JSONValue = ["\u{E000}": 1, "😀": 2, "a": 3, "": 4, "A": 5]
        #expect(value.canonicalString == "{\"\":4,\"A\":5,\"a\":3,\"😀\":2,\"\u{E000}\":1}")
    }

    @Test func prettyOutputIndentsByTwoSpaces() {
        let value: JSONValue = ["a": [1, 2], "b": [:], "c": []]
        #expect(
            value.serializedString(options: .prettyPrinted)
                == "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": []\n}")
        let sorted: JSONValue = ["z": 1, "y": ["x": nil]]
        #expect(
            sorted.serializedString(options: [.prettyPrinted, .sortedKeys])
                == "{\n  \"y\": {\n    \"x\": null\n  },\n  \"z\": 1\n}")
    }

    @Test func writeAppendsToExistingOutput() {
        var output = Array("prefix:".utf8)
        JSONValue.array([1, "x"]).write(to: &output)
        #expect(String(decoding: output, as: UTF8.self) == #"prefix:[1,"x"]"#)
    }

    /// serialize → parse is the identity in every mode, over random documents (fixed seed).
    @Test func randomDocumentsRoundTrip() throws {
        var random = RandomJSON(seed: 0x5EED_0003)
        for _ in 0..<1_500 {
            let value = random.value()
            let compact = value.serialized()
            #expect(try JSONValue(parsing: compact) == value)
            #expect(try JSONValue(parsing: value.serialized(options: .prettyPrinted)) == value)
            let canonical = value.canonicalBytes
            let reparsed = try JSONValue(parsing: canonical)
            #expect(reparsed == value)
            #expect(reparsed.canonicalBytes == canonical)
            #expect(reversingKeys(value).canonicalBytes == canonical)
        }
    }

    /// Foundation's decoder reads what we write, through JSONValue's generic Decodable conformance.
    @Test func foundationReadsOurOutput() throws {
        var random = RandomJSON(seed: 0x5EED_0004)
        for _ in 0..<300 {
            let value = random.value()
            let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(value.serialized()))
            #expect(decoded == value, "\(value)")
        }
    }

    @Test func randomDoublesRoundTripBitForBit() throws {
        var generator = SeededGenerator(seed: 0x5EED_0005)
        for _ in 0..<20_000 {
            let number = Double(bitPattern: generator.next())
            guard number.isFinite else { continue }
            let text = JSONValue.number(number).serializedString()
            let parsed = try JSONValue(parsing: text).doubleValue!
            #expect(parsed == number, "\(text)")
            if number != 0 { #expect(parsed.bitPattern == number.bitPattern, "\(text)") }
            // Shortest: never longer than Swift's own shortest representation (which adds ".0" or "e+").
            #expect(text.count <= number.description.count + 2, "\(text) vs \(number.description)")
        }
    }
}
