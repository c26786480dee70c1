import PurviewWorkflow
import Testing

@Suite struct JSONObjectTests {
    @Test func keepsInsertionOrderAndReplacesInPlace() {
        var object: JSONObject = ["b": 1, "a": 2]
        object["c"] = 3
        object["b"] = 4
        #expect(object.keys == ["b", "a", "c"])
        #expect(object.values == [4, 2, 3])
        #expect(object.map(\.key) == ["b", "a", "c"])
        object["a"] = nil
        #expect(object.keys == ["b", "c"])
        #expect(object.removeValue(forKey: "b") == 4)
        #expect(object.removeValue(forKey: "missing") == nil)
        #expect(object.keys == ["c"] && object.count == 1 && !object.isEmpty)
    }

    /// Objects past the linear-search size get an index; it must stay right through edits.
    @Test func largeObjectsStayConsistent() {
        var object = JSONObject()
        for number in 0..<100 { object["k\(number)"] = .number(Double(number)) }
        #expect(object.count == 100)
        #expect(object["k73"] == 73)
        object["k10"] = "replaced"
        #expect(object.keys[10] == "k10" && object["k10"] == "replaced")
        for number in stride(from: 0, to: 100, by: 2) { object["k\(number)"] = nil }
        #expect(object.count == 50)
        #expect(object["k73"] == 73 && object["k72"] == nil)
        #expect(object.keys.first == "k1" && object.keys.last == "k99")
        for number in stride(from: 1, to: 100, by: 2) where number > 3 { object.removeValue(forKey: "k\(number)") }
        #expect(object.keys == ["k1", "k3"])
        object["k5"] = 5
        #expect(object["k5"] == 5 && object["k3"] == 3)
    }

    @Test func equalityAndHashIgnoreKeyOrder() {
        var forward = JSONObject()
        var backward = JSONObject()
        for number in 0..<40 { forward["k\(number)"] = .number(Double(number)) }
        for number in (0..<40).reversed() { backward["k\(number)"] = .number(Double(number)) }
        #expect(forward == backward)
        #expect(forward.hashValue == backward.hashValue)
        #expect(Set([JSONValue.object(forward), .object(backward)]).count == 1)
        backward["k0"] = "different"
        #expect(forward != backward)
        let small: JSONObject = ["a": 1, "b": [true]]
        let smallReordered: JSONObject = ["b": [true], "a": 1]
        #expect(small == smallReordered && small.hashValue == smallReordered.hashValue)
        #expect(small != ["a": 1])
    }

    /// The string scanner skips eight bytes at a time; special bytes must be found at every alignment.
    @Test func specialBytesAreFoundAtEveryOffset() throws {
        for position in 0..<24 {
            let padding = String(repeating: "a", count: position)
            let tail = String(repeating: "z", count: 11)
            #expect(try JSONValue(parsing: "\"\(padding)\\\"\(tail)\"") == .string(padding + "\"" + tail))
            #expect(try JSONValue(parsing: "\"\(padding)\\n\(tail)\"") == .string(padding + "\n" + tail))
            #expect(try JSONValue(parsing: "\"\(padding)é中😀\(tail)\"") == .string(padding + "é中😀" + tail))
            #expect(try JSONValue(parsing: "[\"\(padding)\",\"\(tail)\"]") == [.string(padding), .string(tail)])
            do {
                _ = try JSONValue(parsing: "\"\(padding)\t\(tail)\"")
                Issue.record("accepted a raw tab at \(position)")
            } catch {
                #expect(error.code == .invalidString && error.offset == position + 1)
            }
            do {
                _ = try JSONValue(parsing: Array("\"\(padding)".utf8) + [0xFF] + Array("\(tail)\"".utf8))
                Issue.record("accepted 0xFF at \(position)")
            } catch {
                #expect(error.code == .invalidUnicode && error.offset == position + 1)
            }
            do {
                _ = try JSONValue(parsing: "\"\(padding)\(tail)")
                Issue.record("accepted an unterminated string")
            } catch {
                #expect(error.code == .unexpectedEndOfInput && error.offset == position + 12)
            }
        }
    }
}
