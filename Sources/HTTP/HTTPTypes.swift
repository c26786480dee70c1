/// HTTP/1.1 value types shared by the parser, the serializer, the server and the client (RFC 9110, RFC 9112).
///
/// Nothing here does I/O.

/// The protocol version of a message. Only HTTP/1.0 and HTTP/1.1 are spoken.
public struct HTTPVersion: Hashable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    public var description: String { "HTTP/\(major).\(minor)" }
}

/// A request method: any RFC 9110 token, compared case-sensitively as the RFC says.
public struct HTTPMethod: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// Returns nil unless `rawValue` is a valid token (RFC 9110 §5.6.2).
    public init?(_ rawValue: String) {
        guard !rawValue.isEmpty, rawValue.utf8.allSatisfy(HTTPSyntax.isTokenByte) else { return nil }
        self.rawValue = rawValue
    }

    /// For bytes the parser has already checked.
    init(unchecked: String) { self.rawValue = unchecked }

    public static let get = HTTPMethod(unchecked: "GET")
    public static let head = HTTPMethod(unchecked: "HEAD")
    public static let post = HTTPMethod(unchecked: "POST")
    public static let put = HTTPMethod(unchecked: "PUT")
    public static let delete = HTTPMethod(unchecked: "DELETE")
    public static let patch = HTTPMethod(unchecked: "PATCH")
    public static let options = HTTPMethod(unchecked: "OPTIONS")
    public static let connect = HTTPMethod(unchecked: "CONNECT")
    public static let trace = HTTPMethod(unchecked: "TRACE")

    public var description: String { rawValue }
}

/// A response status code with its reason phrase.
public struct HTTPStatus: Hashable, Sendable, CustomStringConvertible {
    public var code: Int
    public var reasonPhrase: String

    public init(code: Int, reasonPhrase: String? = nil) {
        self.code = code
        self.reasonPhrase = reasonPhrase ?? HTTPStatus.standardReason(code)
    }

    public var description: String { "\(code) \(reasonPhrase)" }

    /// 1xx, 204 and 304 responses never carry a body (RFC 9112 §6.3).
    public var forbidsBody: Bool { (100..<200).contains(code) || code == 204 || code == 304 }

    public static let `continue` = HTTPStatus(code: 100)
    public static let ok = HTTPStatus(code: 200)
    public static let created = HTTPStatus(code: 201)
    public static let accepted = HTTPStatus(code: 202)
    public static let noContent = HTTPStatus(code: 204)
    public static let movedPermanently = HTTPStatus(code: 301)
    public static let notModified = HTTPStatus(code: 304)
    public static let badRequest = HTTPStatus(code: 400)
    public static let unauthorized = HTTPStatus(code: 401)
    public static let forbidden = HTTPStatus(code: 403)
    public static let notFound = HTTPStatus(code: 404)
    public static let methodNotAllowed = HTTPStatus(code: 405)
    public static let notAcceptable = HTTPStatus(code: 406)
    public static let requestTimeout = HTTPStatus(code: 408)
    public static let conflict = HTTPStatus(code: 409)
    public static let gone = HTTPStatus(code: 410)
    public static let lengthRequired = HTTPStatus(code: 411)
    public static let preconditionFailed = HTTPStatus(code: 412)
    public static let contentTooLarge = HTTPStatus(code: 413)
    public static let uriTooLong = HTTPStatus(code: 414)
    public static let unsupportedMediaType = HTTPStatus(code: 415)
    public static let expectationFailed = HTTPStatus(code: 417)
    public static let unprocessableContent = HTTPStatus(code: 422)
    public static let tooManyRequests = HTTPStatus(code: 429)
    public static let requestHeaderFieldsTooLarge = HTTPStatus(code: 431)
    public static let internalServerError = HTTPStatus(code: 500)
    public static let notImplemented = HTTPStatus(code: 501)
    public static let badGateway = HTTPStatus(code: 502)
    public static let serviceUnavailable = HTTPStatus(code: 503)
    public static let gatewayTimeout = HTTPStatus(code: 504)
    public static let httpVersionNotSupported = HTTPStatus(code: 505)

    static func standardReason(_ code: Int) -> String {
        switch code {
        case 100: "Continue"
        case 101: "Switching Protocols"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 206: "Partial Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 407: "Proxy Authentication Required"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 417: "Expectation Failed"
        case 422: "Unprocessable Content"
        case 428: "Precondition Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: ""
        }
    }
}

/// One header or trailer field as it appeared on the wire.
public struct HTTPField: Hashable, Sendable {
    /// The name as sent (case preserved).
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// An ordered list of fields with case-insensitive lookup by name (RFC 9110 §5).
public struct HTTPFields: Hashable, Sendable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var fields: [HTTPField] = []

    public init() {}

    public init(_ pairs: [(String, String)]) {
        fields = pairs.map { HTTPField(name: $0.0, value: $0.1) }
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }

    public func makeIterator() -> IndexingIterator<[HTTPField]> { fields.makeIterator() }

    /// The first value of `name`, or nil.
    public subscript(name: String) -> String? {
        get { fields.first { HTTPSyntax.equalsIgnoringCase($0.name, name) }?.value }
        set {
            if let newValue { set(name, newValue) } else { remove(name) }
        }
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.filter { HTTPSyntax.equalsIgnoringCase($0.name, name) }.map(\.value)
    }

    /// Every comma-separated element of every `name` field, trimmed, in order (RFC 9110 §5.6.1).
    public func listValues(_ name: String) -> [String] {
        var elements: [String] = []
        for field in fields where HTTPSyntax.equalsIgnoringCase(field.name, name) {
            HTTPSyntax.forEachListElement(field.value) { elements.append(String($0)) }
        }
        return elements
    }

    /// True when a list-valued field contains `token`, compared case-insensitively (e.g. `Connection: close`).
    public func containsToken(_ token: String, in name: String) -> Bool {
        for field in fields where HTTPSyntax.equalsIgnoringCase(field.name, name) {
            var found = false
            HTTPSyntax.forEachListElement(field.value) { element in
                if !found && HTTPSyntax.equalsIgnoringCase(element, token) { found = true }
            }
            if found { return true }
        }
        return false
    }

    public func contains(_ name: String) -> Bool { fields.contains { HTTPSyntax.equalsIgnoringCase($0.name, name) } }

    public mutating func append(_ name: String, _ value: String) {
        fields.append(HTTPField(name: name, value: value))
    }

    mutating func append(_ field: HTTPField) { fields.append(field) }

    mutating func reserveCapacity(_ count: Int) { fields.reserveCapacity(count) }

    /// Replaces every `name` field with one holding `value`, at the first one's position.
    public mutating func set(_ name: String, _ value: String) {
        guard let index = fields.firstIndex(where: { HTTPSyntax.equalsIgnoringCase($0.name, name) }) else {
            append(name, value)
            return
        }
        fields[index].value = value
        var position = fields.index(after: index)
        while position < fields.endIndex {
            if HTTPSyntax.equalsIgnoringCase(fields[position].name, name) {
                fields.remove(at: position)
            } else {
                position = fields.index(after: position)
            }
        }
    }

    public mutating func remove(_ name: String) {
        fields.removeAll { HTTPSyntax.equalsIgnoringCase($0.name, name) }
    }
}

/// A request line plus header fields.
public struct HTTPRequestHead: Hashable, Sendable {
    public var method: HTTPMethod
    /// The request-target exactly as received: origin-form (`/a?b`), absolute-form, authority-form or `*`.
    public var target: String
    public var version: HTTPVersion
    public var fields: HTTPFields

    public init(method: HTTPMethod, target: String, version: HTTPVersion = .http1_1, fields: HTTPFields = HTTPFields())
    {
        self.method = method
        self.target = target
        self.version = version
        self.fields = fields
    }

    /// The path part of the target, still percent-encoded (absolute-form targets are reduced to their path).
    public var path: String { RequestTarget(target).path }

    /// The raw query string after `?`, or nil.
    public var query: String? { RequestTarget(target).query }

    /// Whether the connection may be reused after this request (RFC 9112 §9.3).
    public var keepAlive: Bool {
        if fields.containsToken("close", in: "Connection") { return false }
        if version == .http1_1 { return true }
        return fields.containsToken("keep-alive", in: "Connection")
    }
}

/// A status line plus header fields.
public struct HTTPResponseHead: Hashable, Sendable {
    public var status: HTTPStatus
    public var version: HTTPVersion
    public var fields: HTTPFields

    public init(status: HTTPStatus, version: HTTPVersion = .http1_1, fields: HTTPFields = HTTPFields()) {
        self.status = status
        self.version = version
        self.fields = fields
    }
}

/// The parts of a request-target (RFC 9112 §3.2).
public struct RequestTarget: Hashable, Sendable {
    public enum Form: Hashable, Sendable { case origin, absolute, authority, asterisk }

    public var form: Form
    /// The path, percent-encoded as received; "/" for an absolute-form target with no path.
    public var path: String
    public var query: String?
    /// The authority of an absolute-form or authority-form target.
    public var authority: String?

    public init(_ target: String) {
        let utf8 = target.utf8
        var rest = Substring(target)
        switch RequestTarget.form(of: utf8) {
        case .asterisk:
            form = .asterisk
            path = "*"
            query = nil
            authority = nil
            return
        case .authority:
            form = .authority
            path = ""
            query = nil
            authority = target
            return
        case .origin:
            form = .origin
            authority = nil
        case .absolute:
            form = .absolute
            let schemeEnd = RequestTarget.endOfScheme(utf8) ?? utf8.startIndex
            let authorityEnd =
                utf8[schemeEnd...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? utf8.endIndex
            authority = String(target[schemeEnd..<authorityEnd])
            rest = target[authorityEnd...]
        }
        if let questionMark = rest.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = String(rest[..<questionMark])
            query = String(rest[rest.utf8.index(after: questionMark)...])
        } else {
            path = String(rest)
            query = nil
        }
        if path.isEmpty { path = "/" }
    }
}

extension RequestTarget {
    /// The form of a target: origin if it starts with "/", absolute if it starts with `scheme://`,
    /// asterisk if it is "*", authority otherwise (the parser checks that only CONNECT uses it).
    static func form(of target: some Collection<UInt8>) -> Form {
        guard let first = target.first else { return .authority }
        if first == UInt8(ascii: "/") { return .origin }
        if first == UInt8(ascii: "*") && target.count == 1 { return .asterisk }
        return endOfScheme(target) == nil ? .authority : .absolute
    }

    /// The index just after `scheme://` (RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )), or nil.
    static func endOfScheme<Bytes: Collection<UInt8>>(_ target: Bytes) -> Bytes.Index? {
        var index = target.startIndex
        guard index < target.endIndex, isLetter(target[index]) else { return nil }
        while index < target.endIndex {
            let byte = target[index]
            guard
                isLetter(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            else { break }
            index = target.index(after: index)
        }
        guard target[index...].starts(with: "://".utf8) else { return nil }
        return target.index(index, offsetBy: 3)
    }

    /// True when an absolute-form target names a host (RFC 9110 §4.2.1 forbids an empty one).
    static func hasAuthority<Bytes: Collection<UInt8>>(_ target: Bytes) -> Bool {
        guard let authorityStart = endOfScheme(target) else { return false }
        guard let first = target[authorityStart...].first else { return false }
        return first != UInt8(ascii: "/") && first != UInt8(ascii: "?")
    }

    /// `uri-host ":" port` with a non-empty host and a 1–5 digit port: the authority-form of CONNECT.
    static func isHostAndPort(_ target: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let colon = target.lastIndex(of: UInt8(ascii: ":")), colon > 0 else { return false }
        let port = target[(colon + 1)...]
        guard (1...5).contains(port.count), port.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return false }
        if target[0] == UInt8(ascii: "[") { return target[colon - 1] == UInt8(ascii: "]") && colon > 2 }
        return !target[..<colon].contains(UInt8(ascii: ":"))
            && !target[..<colon].contains {
                $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "@")
            }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }
}

/// Character classes from RFC 9110 §5.6 used by the parser and by validating initializers.
public enum HTTPSyntax {
    /// tchar: `!#$%&'*+-.^_\`|~`, digits and letters.
    @inlinable
    public static func isTokenByte(_ byte: UInt8) -> Bool {
        // One bit per ASCII byte, set for tchar: bytes 0–63, then bytes 64–127.
        let mask: UInt64 = byte < 64 ? 0x03FF_6CFA_0000_0000 : (byte < 128 ? 0x57FF_FFFF_C7FF_FFFE : 0)
        return (mask >> UInt64(byte & 63)) & 1 == 1
    }

    /// field-vchar or SP/HTAB: visible ASCII, obs-text (0x80–0xFF), space and tab. No CR, LF, NUL or other controls.
    @inlinable
    public static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
    }

    /// ASCII case-insensitive equality, the comparison for field names and tokens.
    public static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        // Runs for every field lookup: compare contiguous bytes, not through String.UTF8View indices.
        guard a.utf8.count == b.utf8.count else { return false }
        let result = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y in equalsIgnoringCase(x, y) }
        }
        return (result ?? nil) ?? equalsIgnoringCase(a.utf8, b.utf8)
    }

    static func equalsIgnoringCase(_ a: Substring, _ b: String) -> Bool {
        equalsIgnoringCase(a.utf8, b.utf8)
    }

    static func equalsIgnoringCase(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        for index in 0..<a.count where a[index] != b[index] && lowercase(a[index]) != lowercase(b[index]) {
            return false
        }
        return true
    }

    static func equalsIgnoringCase(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var x = a.startIndex
        var y = b.startIndex
        while x < a.endIndex {
            if a[x] != b[y] && lowercase(a[x]) != lowercase(b[y]) { return false }
            a.formIndex(after: &x)
            b.formIndex(after: &y)
        }
        return true
    }

    /// Calls `body` with each element of a comma-separated list, trimmed of SP and HTAB; empty elements are
    /// skipped (RFC 9110 §5.6.1). Quoted commas are not special: the lists parsed here hold tokens.
    static func forEachListElement<E: Error>(_ value: String, _ body: (Substring) throws(E) -> Void) throws(E) {
        let utf8 = value.utf8
        var elementStart = utf8.startIndex
        while true {
            let elementEnd = utf8[elementStart...].firstIndex(of: UInt8(ascii: ",")) ?? utf8.endIndex
            var start = elementStart
            var end = elementEnd
            while start < end && isSpaceOrTab(utf8[start]) { start = utf8.index(after: start) }
            while end > start && isSpaceOrTab(utf8[utf8.index(before: end)]) { end = utf8.index(before: end) }
            if start < end { try body(value[start..<end]) }
            guard elementEnd < utf8.endIndex else { return }
            elementStart = utf8.index(after: elementEnd)
        }
    }

    static func isSpaceOrTab(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    /// A non-empty token (a valid field name), checked over contiguous bytes when the string has them.
    static func isToken(_ text: String) -> Bool {
        let valid = text.utf8.withContiguousStorageIfAvailable { bytes in
            for byte in bytes where !isTokenByte(byte) { return false }
            return true
        }
        return !text.isEmpty && (valid ?? text.utf8.allSatisfy(isTokenByte))
    }

    /// A valid field value (no CR, LF, NUL or other control byte).
    static func isFieldValue(_ text: String) -> Bool {
        let valid = text.utf8.withContiguousStorageIfAvailable { bytes in
            for byte in bytes where !isFieldValueByte(byte) { return false }
            return true
        }
        return valid ?? text.utf8.allSatisfy(isFieldValueByte)
    }

    @inlinable
    public static func lowercase(_ byte: UInt8) -> UInt8 {
        (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) ? byte | 0x20 : byte
    }
}
