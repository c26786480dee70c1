import Foundation
import PurviewWorkflow
import Testing

@Suite struct JSONCodingTests {
    struct Sample: Codable, Equatable {
        var name: String
        var flag: Bool
        var count: Int
        var small: UInt8
        var ratio: Double
        var single: Float
        var optional: String?
        var list: [Int64]
        var nested: [String: [Bool]]
        var free: JSONValue
        var maybeNull: Int?
    }

    let sample = Sample(
        name: "é😀", flag: true, count: -42, small: 255, ratio: 0.25, single: 1.5, optional: nil, list: [1, 2, 1 << 53],
        nested: ["k": [true, false]], free: ["z": 1, "a": [nil, "x"]], maybeNull: nil)

    @Test func roundTripsThroughJSONValue() throws {
        let encoded = try JSONValueEncoder().encodeToJSONValue(sample)
        #expect(
            encoded.objectValue?.keys == [
                "name", "flag", "count", "small", "ratio", "single", "list", "nested", "free",
            ])
        #expect(encoded["free"]?.objectValue?.keys == ["z", "a"])
        let decoded = try JSONValueDecoder().decode(Sample.self, from: encoded)
        #expect(decoded == sample)
        #expect(decoded.free.objectValue?.keys == ["z", "a"])
    }

    @Test func interoperatesWithFoundationCoders() throws {
        let ours = try JSONValueEncoder().encode(sample)
        let viaFoundation = try JSONDecoder().decode(Sample.self, from: Data(ours))
        #expect(viaFoundation == sample)
        let theirs = try JSONEncoder().encode(sample)
        #expect(try JSONValueDecoder().decode(Sample.self, from: theirs) == sample)
        #expect(try JSONValue(parsing: theirs) == JSONValue(encoding: sample))
    }

    @Test func encoderOptionsSortAndPrettyPrint() throws {
        struct Pair: Encodable { var b = 1, a = 2 }
        #expect(String(decoding: try JSONValueEncoder().encode(Pair()), as: UTF8.self) == #"{"b":1,"a":2}"#)
        let sorted = JSONValueEncoder(outputFormatting: .canonical)
        #expect(String(decoding: try sorted.encode(Pair()), as: UTF8.self) == #"{"a":2,"b":1}"#)
        let pretty = JSONValueEncoder(outputFormatting: .prettyPrinted)
        #expect(String(decoding: try pretty.encode(Pair()), as: UTF8.self) == "{\n  \"b\": 1,\n  \"a\": 2\n}")
    }

    @Test func nonFiniteNumbersCannotBeEncoded() {
        struct Holder: Encodable { var value: Double }
        #expect(throws: EncodingError.self) { try JSONValueEncoder().encode(Holder(value: .nan)) }
        #expect(throws: EncodingError.self) { try JSONValueEncoder().encode([Float.infinity]) }
    }

    @Test func missingKeyReportsItsPath() throws {
        struct Inner: Decodable { var id: String }
        struct Outer: Decodable { var items: [Inner] }
        let document = try JSONValue(parsing: #"{"items":[{"id":"a"},{"name":"b"}]}"#)
        do {
            _ = try JSONValueDecoder().decode(Outer.self, from: document)
            Issue.record("decoded a document with a missing key")
        } catch DecodingError.keyNotFound(let key, let context) {
            #expect(key.stringValue == "id")
            #expect(JSONPointer(codingPath: context.codingPath + [key]).description == "/items/1/id")
        }
    }

    @Test func typeMismatchReportsItsPath() throws {
        struct Holder: Decodable { var counts: [Int] }
        do {
            _ = try JSONValueDecoder().decode(Holder.self, from: #"{"counts":[1,"two"]}"#)
            Issue.record("decoded a string as Int")
        } catch DecodingError.typeMismatch(_, let context) {
            #expect(JSONPointer(codingPath: context.codingPath).description == "/counts/1")
            #expect(context.debugDescription == "expected a number but found a string")
        }
    }

    @Test func nullForNonOptionalIsValueNotFound() {
        struct Holder: Decodable { var name: String }
        #expect {
            try JSONValueDecoder().decode(Holder.self, from: #"{"name":null}"#)
        } throws: { error in
            guard case DecodingError.valueNotFound = error else { return false }
            return true
        }
    }

    @Test func integersMustBeIntegralAndInRange() throws {
        let decoder = JSONValueDecoder()
        #expect(try decoder.decode(Int.self, from: "9007199254740992") == 1 << 53)
        #expect(try decoder.decode(Int8.self, from: "-128") == -128)
        #expect(try decoder.decode(UInt64.self, from: "1e3") == 1000)
        #expect(throws: DecodingError.self) { try decoder.decode(Int.self, from: "1.5") }
        #expect(throws: DecodingError.self) { try decoder.decode(UInt8.self, from: "256") }
        #expect(throws: DecodingError.self) { try decoder.decode(UInt.self, from: "-1") }
        #expect(throws: DecodingError.self) { try decoder.decode(Bool.self, from: "1") }
        #expect(throws: DecodingError.self) { try decoder.decode(Float.self, from: "1e300") }
    }

    @Test func malformedTextSurfacesTheParseError() {
        #expect(throws: JSONParseError.self) { try JSONValueDecoder().decode([Int].self, from: "[1,]") }
    }

    @Test func decodesFromJSONValueConvenience() throws {
        let value: JSONValue = ["a": [1, 2]]
        #expect(try value.decode([String: [Int]].self) == ["a": [1, 2]])
    }

    /// Classes that encode their superclass, and containers requested twice, merge into one object.
    @Test func nestedAndSuperEncodersWork() throws {
        struct Custom: Codable, Equatable {
            var a: Int
            var b: [String]
            enum Keys: String, CodingKey { case a, inner, list }
            enum InnerKeys: String, CodingKey { case b }
            init(a: Int, b: [String]) {
                self.a = a
                self.b = b
            }
            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: Keys.self)
                a = try container.decode(Int.self, forKey: .a)
                let inner = try container.nestedContainer(keyedBy: InnerKeys.self, forKey: .inner)
                var list = try inner.nestedUnkeyedContainer(forKey: .b)
                var values: [String] = []
                while !list.isAtEnd { values.append(try list.decode(String.self)) }
                b = values
            }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(a, forKey: .a)
                var inner = container.nestedContainer(keyedBy: InnerKeys.self, forKey: .inner)
                var list = inner.nestedUnkeyedContainer(forKey: .b)
                for value in b { try list.encode(value) }
                var again = encoder.container(keyedBy: Keys.self)
                var other = again.nestedUnkeyedContainer(forKey: .list)
                try other.encodeNil()
                var deeper = other.nestedContainer(keyedBy: InnerKeys.self)
                try deeper.encode("x", forKey: .b)
            }
        }
        let value = Custom(a: 1, b: ["p", "q"])
        let encoded = try JSONValue(encoding: value)
        #expect(encoded.serializedString() == #"{"a":1,"inner":{"b":["p","q"]},"list":[null,{"b":"x"}]}"#)
        #expect(try encoded.decode(Custom.self) == value)
    }
}
