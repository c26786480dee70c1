import HTTP
import Testing

@Suite struct HTTPFieldsTests {
    @Test func lookupIsCaseInsensitiveAndOrderIsPreserved() {
        var fields = HTTPFields()
        fields.append("Content-Type", "text/plain")
        fields.append("X-B", "2")
        fields.append("x-a", "1")
        fields.append("X-b", "3")
        #expect(fields["content-type"] == "text/plain")
        #expect(fields["CONTENT-TYPE"] == "text/plain")
        #expect(fields["x-b"] == "2")
        #expect(fields.values("X-B") == ["2", "3"])
        #expect(fields.fields.map(\.name) == ["Content-Type", "X-B", "x-a", "X-b"])
        #expect(fields.contains("X-A"))
        #expect(!fields.contains("X-C"))
        #expect(fields["X-C"] == nil)
        #expect(fields.count == 4)
    }

    @Test func setReplacesEveryValueAtTheFirstPosition() {
        var fields: HTTPFields = ["A": "1", "B": "2", "a": "3", "C": "4"]
        fields.set("A", "new")
        #expect(
            fields.fields == [
                HTTPField(name: "A", value: "new"), HTTPField(name: "B", value: "2"), HTTPField(name: "C", value: "4"),
            ])
        fields.set("D", "5")
        #expect(fields.fields.last == HTTPField(name: "D", value: "5"))
        fields["b"] = "two"
        #expect(fields["B"] == "two")
        #expect(fields.fields[1].name == "B", "set keeps the original spelling")
        fields["c"] = nil
        #expect(!fields.contains("C"))
        #expect(fields.count == 3)
    }

    @Test func remove() {
        var fields: HTTPFields = ["Set-Cookie": "a=1", "X": "y", "set-cookie": "b=2"]
        fields.remove("SET-COOKIE")
        #expect(fields.fields == [HTTPField(name: "X", value: "y")])
        fields.remove("missing")
        #expect(fields.count == 1)
    }

    @Test func listValuesAndTokens() {
        let fields = HTTPFields([
            ("Connection", "keep-alive , Upgrade"), ("Accept", "a/b"), ("connection", ",,  TE\t,"),
        ])
        #expect(fields.listValues("Connection") == ["keep-alive", "Upgrade", "TE"])
        #expect(fields.containsToken("upgrade", in: "CONNECTION"))
        #expect(fields.containsToken("te", in: "Connection"))
        #expect(!fields.containsToken("keep", in: "Connection"))
        #expect(!fields.containsToken("close", in: "Connection"))
        #expect(fields.listValues("Missing").isEmpty)
    }
}

@Suite struct RequestTargetTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var target: String
        var form: RequestTarget.Form
        var path: String
        var query: String?
        var authority: String?
        var testDescription: String { target }
    }

    @Test(arguments: [
        Case(target: "/", form: .origin, path: "/"),
        Case(target: "/a/b%20c", form: .origin, path: "/a/b%20c"),
        Case(target: "/search?q=x&y=%3F", form: .origin, path: "/search", query: "q=x&y=%3F"),
        Case(target: "/a?", form: .origin, path: "/a", query: ""),
        Case(target: "/a?b?c", form: .origin, path: "/a", query: "b?c"),
        Case(target: "//double", form: .origin, path: "//double"),
        Case(target: "http://example.com", form: .absolute, path: "/", authority: "example.com"),
        Case(
            target: "http://example.com:8080/p?q", form: .absolute, path: "/p", query: "q",
            authority: "example.com:8080"),
        Case(target: "https://u@h?x=1", form: .absolute, path: "/", query: "x=1", authority: "u@h"),
        Case(target: "HTTP://H/", form: .absolute, path: "/", authority: "H"),
        Case(target: "example.com:443", form: .authority, path: "", authority: "example.com:443"),
        Case(target: "[::1]:8443", form: .authority, path: "", authority: "[::1]:8443"),
        Case(target: "*", form: .asterisk, path: "*"),
    ])
    func forms(_ expected: Case) {
        let target = RequestTarget(expected.target)
        #expect(target.form == expected.form)
        #expect(target.path == expected.path)
        #expect(target.query == expected.query)
        #expect(target.authority == expected.authority)
    }

    @Test func headAccessors() {
        let head = HTTPRequestHead(method: .get, target: "http://h/x/y?z=1")
        #expect(head.path == "/x/y")
        #expect(head.query == "z=1")
    }
}

@Suite struct ValueTypeTests {
    @Test func methodValidation() {
        #expect(HTTPMethod("GET") == .get)
        #expect(HTTPMethod("PROPFIND")?.rawValue == "PROPFIND")
        #expect(HTTPMethod("") == nil)
        #expect(HTTPMethod("GE T") == nil)
        #expect(HTTPMethod("GET\r\n") == nil)
    }

    @Test func statusBasics() {
        #expect(HTTPStatus(code: 404).description == "404 Not Found")
        #expect(HTTPStatus(code: 299).reasonPhrase == "")
        #expect(HTTPStatus(code: 204).forbidsBody)
        #expect(HTTPStatus(code: 304).forbidsBody)
        #expect(HTTPStatus(code: 101).forbidsBody)
        #expect(!HTTPStatus(code: 200).forbidsBody)
        #expect(HTTPVersion.http1_0.description == "HTTP/1.0")
    }
}

@Suite struct SyntaxTests {
    @Test func tokenBytesAreExactlyTchar() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(HTTPSyntax.isTokenByte(byte) == tchar.contains(byte), "byte \(byte)")
        }
    }

    @Test func fieldValueBytes() {
        for byte in UInt8.min...UInt8.max {
            let expected = byte == 0x09 || (0x20...0x7E).contains(byte) || byte >= 0x80
            #expect(HTTPSyntax.isFieldValueByte(byte) == expected, "byte \(byte)")
        }
    }

    @Test func caseInsensitiveEquality() {
        #expect(HTTPSyntax.equalsIgnoringCase("Content-Length", "content-LENGTH"))
        #expect(!HTTPSyntax.equalsIgnoringCase("Content-Length", "Content-Lengt"))
        #expect(!HTTPSyntax.equalsIgnoringCase("a", "b"))
        #expect(!HTTPSyntax.equalsIgnoringCase("[", "{"), "only ASCII letters fold")
        #expect(HTTPSyntax.equalsIgnoringCase("", ""))
    }
}
