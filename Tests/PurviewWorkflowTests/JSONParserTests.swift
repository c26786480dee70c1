import Foundation
import Testing

@testable import PurviewWorkflow

@Suite struct JSONParserTests {
    static let validDocuments: [(String, JSONValue)] = [
        ("null", .null),
        ("true", true),
        ("false", false),
        (" \t\r\n0 \n", 0),
        ("-1", -1),
        ("1.5", 1.5),
        ("1e2", 100),
        ("1E+2", 100),
        ("1e-2", 0.01),
        ("0.1", 0.1),
        ("-0.0e0", 0),
        ("0.30000000000000004", .number(0.1 + 0.2)),
        ("123456789012345678901234567890", .number(1.2345678901234568e29)),
        ("9007199254740991", .number(9_007_199_254_740_991)),
        ("-9007199254740991", .number(-9_007_199_254_740_991)),
        ("9007199254740993", .number(9_007_199_254_740_992)),
        ("1e-400", 0),
        ("4.9e-324", .number(.leastNonzeroMagnitude)),
        ("1.7976931348623157e308", .number(.greatestFiniteMagnitude)),
        ("2.2250738585072011e-308", .number(Double(bitPattern: 0x000F_FFFF_FFFF_FFFF))),
        ("0.000000000000000000000000000001", .number(1e-30)),
        ("\"\"", ""),
        (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{C}\n\r\t"),
        (#""\u00e9\u00E9""#, "éé"),
        (#""\uD83D\uDE00""#, "😀"),
        ("\"😀 中 é\"", "😀 中 é"),
        (#""\u0000""#, "\u{0}"),
        (#""a\nb😀c\u4e2d""#, "a\nb😀c中"),
        ("[]", []),
        ("{}", [:]),
        ("[1,[2,[3]]]", [1, [2, [3]]]),
        (#"{"a":{"b":[]}}"#, ["a": ["b": []]]),
        (" [ 1 , \"x\" , null ] ", [1, "x", nil]),
        (#"{"a":1,"b":2,"a":3}"#, ["a": 3, "b": 2]),
    ]

    @Test(arguments: validDocuments)
    func parsesValidDocument(_ text: String, _ expected: JSONValue) throws {
        let parsed = try JSONValue(parsing: text)
        #expect(parsed == expected)
        #expect(try JSONValue(parsing: Array(text.utf8)) == expected)
    }

    @Test func negativeZeroKeepsItsSign() throws {
        let value = try JSONValue(parsing: "-0").doubleValue
        #expect(value == 0 && value?.sign == .minus)
    }

    @Test func duplicateKeysKeepFirstPositionAndLastValue() throws {
        let parsed = try JSONValue(parsing: #"{"a":1,"b":2,"a":3}"#)
        #expect(parsed.objectValue?.keys == ["a", "b"])
        #expect(parsed["a"] == 3)
    }

    struct InvalidCase: Sendable, CustomTestStringConvertible {
        let bytes: [UInt8]
        let code: JSONParseError.Code
        let offset: Int
        let line: Int
        let column: Int
        let messageContains: String

        init(
            _ text: String, _ code: JSONParseError.Code, offset: Int, line: Int = 1, column: Int? = nil,
            _ message: String
        ) {
            self.init(bytes: Array(text.utf8), code, offset: offset, line: line, column: column, message)
        }

        init(
            bytes: [UInt8], _ code: JSONParseError.Code, offset: Int, line: Int = 1, column: Int? = nil,
            _ message: String
        ) {
            self.bytes = bytes
            self.code = code
            self.offset = offset
            self.line = line
            self.column = column ?? offset + 1
            self.messageContains = message
        }

        var testDescription: String { String(decoding: bytes, as: UTF8.self).debugDescription }
    }

    static let invalidDocuments: [InvalidCase] = [
        InvalidCase("", .unexpectedEndOfInput, offset: 0, "expected a JSON value"),
        InvalidCase("   ", .unexpectedEndOfInput, offset: 3, "expected a JSON value"),
        InvalidCase("[1,]", .unexpectedCharacter, offset: 3, "trailing comma"),
        InvalidCase(#"{"a":1,}"#, .unexpectedCharacter, offset: 7, "trailing comma"),
        InvalidCase(#"{"a" 1}"#, .unexpectedCharacter, offset: 5, "expected ':' after object key"),
        InvalidCase(
            "{\n  \"a\": 1\n  \"b\": 2\n}", .unexpectedCharacter, offset: 13, line: 3, column: 3,
            "expected ',' or '}' after object member"),
        InvalidCase("[1 2]", .unexpectedCharacter, offset: 3, "expected ',' or ']' after array element"),
        InvalidCase("{1:2}", .unexpectedCharacter, offset: 1, "expected a string key"),
        InvalidCase("{'a':1}", .unexpectedCharacter, offset: 1, "expected a string key"),
        InvalidCase("[", .unexpectedEndOfInput, offset: 1, "expected a JSON value"),
        InvalidCase("{", .unexpectedEndOfInput, offset: 1, "expected a string key"),
        InvalidCase(#"{"a""#, .unexpectedEndOfInput, offset: 4, "expected ':'"),
        InvalidCase(#"{"a":"#, .unexpectedEndOfInput, offset: 5, "expected a JSON value"),
        InvalidCase(#"{"a":1"#, .unexpectedEndOfInput, offset: 6, "expected ',' or '}'"),
        InvalidCase("[1", .unexpectedEndOfInput, offset: 2, "expected ',' or ']'"),
        InvalidCase("01", .invalidNumber, offset: 1, "leading zeros"),
        InvalidCase("-01", .invalidNumber, offset: 2, "leading zeros"),
        InvalidCase("-", .unexpectedEndOfInput, offset: 1, "digit after '-'"),
        InvalidCase("-a", .invalidNumber, offset: 1, "digit after '-'"),
        InvalidCase("1.", .unexpectedEndOfInput, offset: 2, "after the decimal point"),
        InvalidCase("1.e5", .invalidNumber, offset: 2, "after the decimal point"),
        InvalidCase("1e", .unexpectedEndOfInput, offset: 2, "in the exponent"),
        InvalidCase("1e+", .unexpectedEndOfInput, offset: 3, "in the exponent"),
        InvalidCase("1ex", .invalidNumber, offset: 2, "in the exponent"),
        InvalidCase("+1", .unexpectedCharacter, offset: 0, "expected a JSON value"),
        InvalidCase(".5", .unexpectedCharacter, offset: 0, "expected a JSON value"),
        InvalidCase("1e400", .numberOutOfRange, offset: 0, "too large"),
        InvalidCase("[-1.5e99999]", .numberOutOfRange, offset: 1, "too large"),
        InvalidCase("NaN", .unexpectedCharacter, offset: 0, "character 'N'"),
        InvalidCase("Infinity", .unexpectedCharacter, offset: 0, "expected a JSON value"),
        InvalidCase("tru", .unexpectedEndOfInput, offset: 3, "expected 'true'"),
        InvalidCase("trux", .unexpectedCharacter, offset: 0, "expected 'true'"),
        InvalidCase("nul", .unexpectedEndOfInput, offset: 3, "expected 'null'"),
        InvalidCase("[fals]", .unexpectedCharacter, offset: 1, "expected 'false'"),
        InvalidCase("// c\n1", .unexpectedCharacter, offset: 0, "comments are not allowed"),
        InvalidCase("[1] x", .unexpectedCharacter, offset: 4, "after the JSON value"),
        InvalidCase("1 2", .unexpectedCharacter, offset: 2, "after the JSON value"),
        InvalidCase("\u{C}1", .unexpectedCharacter, offset: 0, "U+000C"),
        InvalidCase("\"abc", .unexpectedEndOfInput, offset: 4, "in string"),
        InvalidCase("\"a\tb\"", .invalidString, offset: 2, "unescaped control character U+0009"),
        InvalidCase("\"a\nb\"", .invalidString, offset: 2, "U+000A"),
        InvalidCase(#""\x""#, .invalidString, offset: 1, "invalid escape sequence '\\x'"),
        InvalidCase(#""\"#, .unexpectedEndOfInput, offset: 2, "escape"),
        InvalidCase(#"["\u12"]"#, .invalidString, offset: 2, "4 hex digits"),
        InvalidCase(#""\u12"#, .unexpectedEndOfInput, offset: 5, "\\u escape"),
        InvalidCase(#""\ud800""#, .invalidUnicode, offset: 1, "lone surrogate \\uD800"),
        InvalidCase(#""\udc00""#, .invalidUnicode, offset: 1, "lone surrogate \\uDC00"),
        InvalidCase(#""\ud800\u0041""#, .invalidUnicode, offset: 1, "not a low surrogate"),
        InvalidCase(#"["x\ud83d"]"#, .invalidUnicode, offset: 3, "lone surrogate"),
        InvalidCase(bytes: [0x22, 0xFF, 0x22], .invalidUnicode, offset: 1, "invalid UTF-8 byte 0xFF"),
        InvalidCase(bytes: [0x22, 0xC0, 0x80, 0x22], .invalidUnicode, offset: 1, "0xC0"),
        InvalidCase(bytes: [0x22, 0xE0, 0x80, 0x80, 0x22], .invalidUnicode, offset: 2, "0x80"),
        InvalidCase(bytes: [0x22, 0xED, 0xA0, 0x80, 0x22], .invalidUnicode, offset: 2, "0xA0"),
        InvalidCase(bytes: [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], .invalidUnicode, offset: 2, "0x90"),
        InvalidCase(bytes: [0x22, 0xC3, 0x22], .invalidUnicode, offset: 2, "0x22"),
        InvalidCase(bytes: [0x22, 0xE4, 0xB8], .unexpectedEndOfInput, offset: 3, column: 3, "UTF-8 sequence"),
        InvalidCase(bytes: [0xEF, 0xBB, 0xBF, 0x31], .invalidUnicode, offset: 0, "byte order mark"),
        InvalidCase(bytes: [0x5B, 0xC3, 0xA9, 0x5D], .unexpectedCharacter, offset: 1, "byte 0xC3"),
        InvalidCase(bytes: [0x00], .unexpectedCharacter, offset: 0, "U+0000"),
        // Columns count Unicode scalars: "é" is two bytes but one column.
        InvalidCase("[\"é\", x]", .unexpectedCharacter, offset: 7, column: 7, "character 'x'"),
        InvalidCase("[\r\n1,\r\nx]", .unexpectedCharacter, offset: 7, line: 3, column: 1, "character 'x'"),
        InvalidCase("[\r1,\rx]", .unexpectedCharacter, offset: 5, line: 3, column: 1, "character 'x'"),
    ]

    @Test(arguments: invalidDocuments)
    func rejectsInvalidDocument(_ testCase: InvalidCase) {
        do {
            let value = try JSONValue(parsing: testCase.bytes)
            Issue.record("parsed as \(value)")
        } catch {
            #expect(error.code == testCase.code, "\(error)")
            #expect(error.offset == testCase.offset, "\(error)")
            #expect(error.line == testCase.line, "\(error)")
            #expect(error.column == testCase.column, "\(error)")
            #expect(error.message.contains(testCase.messageContains), "\(error)")
        }
    }

    @Test func errorDescriptionNamesLineAndColumn() {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: "{\n  \"a\": 1\n  \"b\": 2\n}") }
        do {
            _ = try JSONValue(parsing: "{\n  \"a\": 1\n  \"b\": 2\n}")
        } catch {
            #expect(error.description == "expected ',' or '}' after object member at line 3, column 3")
        }
    }

    @Test func nestingLimitIsEnforcedExactly() throws {
        let limit = JSONParsingOptions().maximumDepth
        #expect(limit == 512)
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        var value = try JSONValue(parsing: deepest)
        var depth = 0
        while case .array(let elements) = value {
            depth += 1
            value = elements.first ?? .null
        }
        #expect(depth == limit)

        let tooDeep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        do {
            _ = try JSONValue(parsing: tooDeep)
            Issue.record("accepted depth \(limit + 1)")
        } catch {
            #expect(error.code == .nestingTooDeep)
            #expect(error.offset == limit)
        }

        let objects = String(repeating: #"{"a":"#, count: 3) + "1" + String(repeating: "}", count: 3)
        #expect(throws: JSONParseError.self) {
            try JSONValue(parsing: objects, options: JSONParsingOptions(maximumDepth: 2))
        }
        #expect(try JSONValue(parsing: objects, options: JSONParsingOptions(maximumDepth: 3))["a"]?["a"]?["a"] == 1)
    }

    @Test func inputLengthLimitIsEnforced() throws {
        let options = JSONParsingOptions(maximumInputLength: 5)
        #expect(try JSONValue(parsing: "[1,2]", options: options) == [1, 2])
        do {
            _ = try JSONValue(parsing: "[1, 2]", options: options)
            Issue.record("accepted an input over the limit")
        } catch {
            #expect(error.code == .inputTooLarge)
        }
    }

    @Test func parsesFromEveryInputKind() throws {
        let text = #"{"k":[1,"é"]}"#
        let expected: JSONValue = ["k": [1, "é"]]
        #expect(try JSONValue(parsing: text) == expected)
        #expect(try JSONValue(parsing: Array(text.utf8)) == expected)
        #expect(try JSONValue(parsing: Array(text.utf8)[...]) == expected)
        #expect(try JSONValue(parsing: Data(text.utf8)) == expected)
        #expect(try JSONValue(parsing: text.utf8) == expected)
        // A sequence without contiguous storage.
        #expect(try JSONValue(parsing: AnySequence(Array(text.utf8))) == expected)
        let fromBuffer = try Array(text.utf8).withUnsafeBytes { try JSONValue(parsing: $0) }
        #expect(fromBuffer == expected)
    }

    /// Random decimal texts must convert exactly like the standard library's correctly rounded conversion.
    @Test func numbersMatchCorrectlyRoundedConversion() throws {
        var generator = SeededGenerator(seed: 0x5EED_0001)
        for _ in 0..<20_000 {
            var text = Bool.random(using: &generator) ? "-" : ""
            let integerDigits = Int.random(in: 1...22, using: &generator)
            text += String(Int.random(in: 1...9, using: &generator))
            for _ in 1..<integerDigits { text += String(Int.random(in: 0...9, using: &generator)) }
            if Bool.random(using: &generator) {
                text += "."
                for _ in 0..<Int.random(in: 1...20, using: &generator) {
                    text += String(Int.random(in: 0...9, using: &generator))
                }
            }
            if Bool.random(using: &generator) {
                text += ["e", "E", "e+", "e-", "E-"].randomElement(using: &generator)!
                text += String(Int.random(in: 0...330, using: &generator))
            }
            let expected = Double(text)!
            if expected.isFinite {
                let parsed = try JSONValue(parsing: text).doubleValue
                #expect(parsed?.bitPattern == expected.bitPattern, "\(text)")
            } else {
                #expect(throws: JSONParseError.self, "\(text)") { try JSONValue(parsing: text) }
            }
        }
    }

    @Test func integersAreExactUpTo2To53() throws {
        var generator = SeededGenerator(seed: 0x5EED_0002)
        for _ in 0..<5_000 {
            let integer = Int64.random(in: -(1 << 53)...(1 << 53), using: &generator)
            let parsed = try JSONValue(parsing: String(integer))
            #expect(parsed.doubleValue == Double(integer))
            #expect(Int64(exactly: parsed.doubleValue!) == integer)
        }
    }
}
