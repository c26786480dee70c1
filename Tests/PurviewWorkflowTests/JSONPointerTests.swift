import PurviewWorkflow
import Testing

@Suite struct JSONPointerTests {
    /// The example document of RFC 6901, section 5.
    static let document: JSONValue = [
        "foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3, "g|h": 4, "i\\j": 5, "k\"l": 6, " ": 7, "m~n": 8,
    ]

    static let lookups: [(String, JSONValue)] = [
        ("", document), ("/foo", ["bar", "baz"]), ("/foo/0", "bar"), ("/foo/1", "baz"), ("/", 0), ("/a~1b", 1),
        ("/c%d", 2), ("/e^f", 3), ("/g|h", 4), ("/i\\j", 5), ("/k\"l", 6), ("/ ", 7), ("/m~0n", 8),
    ]

    @Test(arguments: lookups)
    func resolvesRFCExamples(_ text: String, _ expected: JSONValue) throws {
        let pointer = try #require(JSONPointer(text))
        #expect(JSONPointerTests.document[pointer: pointer] == expected)
        #expect(pointer.description == text)
    }

    @Test func missingTargetsResolveToNil() throws {
        for text in ["/foo/2", "/foo/-", "/foo/01", "/foo/+1", "/foo/x", "/nope", "/foo/0/deeper", "/m~1n"] {
            #expect(JSONPointerTests.document[pointer: try #require(JSONPointer(text))] == nil, "\(text)")
        }
    }

    @Test func rejectsMalformedPointers() {
        for text in ["foo", "/~", "/~2", "/a~b", "#/foo"] {
            #expect(JSONPointer(text) == nil, "\(text)")
        }
    }

    @Test func escapesTokensWhenBuilding() {
        let pointer = JSONPointer.root.appending("actions").appending("Approve/Reject ~1").appending(index: 3)
        #expect(pointer.description == "/actions/Approve~1Reject ~01/3")
        #expect(pointer.tokens == ["actions", "Approve/Reject ~1", "3"])
        #expect(JSONPointer(pointer.description) == pointer)
        #expect(pointer.parent?.description == "/actions/Approve~1Reject ~01")
        #expect(JSONPointer.root.parent == nil)
        #expect(JSONPointer.escape("~/") == "~0~1")
        let literal: JSONPointer = ["a", "b/c"]
        #expect(literal.description == "/a/b~1c")
    }
}
