/// Incremental HTTP/1.1 message parsing (RFC 9112), strict where leniency enables request smuggling.
///
/// Bytes go in with `append`, parts come out of `next()`: a head, zero or more body pieces, and an end
/// with trailers. `nil` means "more bytes needed". The parser never looks past the current message's
/// framing, so pipelined requests stay buffered until the caller asks for them.

/// Size limits; each rejection maps to the status RFC 9110 names for it.
public struct HTTPParserLimits: Sendable, Hashable {
    /// Longest request line (or status line); longer is 414 URI Too Long.
    public var maxRequestLineBytes = 8 * 1024
    /// All field lines of a head together (and of the trailers); more is 431.
    public var maxFieldBytes = 64 * 1024
    /// Number of field lines in a head (and in the trailers); more is 431.
    public var maxFieldCount = 100
    /// Default body limit of each message; more is 413. `setBodyLimit` changes it per message.
    public var maxBodyBytes = 1 << 20
    /// Longest chunk-size line including extensions; longer is 400.
    public var maxChunkLineBytes = 4 * 1024

    public init() {}
}

/// Why a message was rejected: the status to answer with and a short text safe to show the peer.
public struct HTTPParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public var status: HTTPStatus
    public var message: String

    public init(status: HTTPStatus, message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status.code): \(message)" }

    static func bad(_ message: String) -> HTTPParseError { HTTPParseError(status: .badRequest, message: message) }
}

/// One piece of a parsed request.
public enum HTTPRequestPart: Sendable, Hashable {
    case head(HTTPRequestHead)
    case body([UInt8])
    case end(trailers: HTTPFields)
}

/// One piece of a parsed response.
public enum HTTPResponsePart: Sendable, Hashable {
    case head(HTTPResponseHead)
    case body([UInt8])
    case end(trailers: HTTPFields)
}

/// Parses a stream of requests (a server connection's inbound bytes).
public struct HTTPRequestParser: Sendable {
    private var core: MessageParserCore

    public init(limits: HTTPParserLimits = HTTPParserLimits()) {
        core = MessageParserCore(limits: limits, role: .request)
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) { core.buffer.append(bytes) }
    public mutating func append(_ bytes: [UInt8]) { core.buffer.append(bytes) }

    /// The next part, or nil when more bytes are needed. After an error the parser stays failed.
    public mutating func next() throws(HTTPParseError) -> HTTPRequestPart? {
        switch try core.next() {
        case nil: return nil
        case .requestHead(let head): return .head(head)
        case .responseHead: preconditionFailure("request parser produced a response head")
        case .body(let bytes): return .body(bytes)
        case .end(let trailers): return .end(trailers: trailers)
        }
    }

    /// Sets the body limit of the message whose head was just returned (per-route limits).
    ///
    /// A declared Content-Length above it fails at the next `next()` with 413 before any body is read.
    public mutating func setBodyLimit(_ bytes: Int) { core.bodyLimit = bytes }

    /// Bytes appended but not yet consumed.
    public var bufferedByteCount: Int { core.buffer.count }

    /// True when no message is partially parsed (a connection here may be closed cleanly).
    public var isBetweenMessages: Bool { core.isBetweenMessages }

    /// True when the current head asked for `100-continue` and no body byte has been consumed yet.
    public var expectsContinue: Bool { core.expectsContinue }
}

/// Parses a stream of responses (a client connection's inbound bytes).
public struct HTTPResponseParser: Sendable {
    private var core: MessageParserCore

    public init(limits: HTTPParserLimits = HTTPParserLimits()) {
        var limits = limits
        limits.maxBodyBytes = Int.max
        core = MessageParserCore(limits: limits, role: .response)
    }

    /// Records the method of the next request sent, in order: HEAD and CONNECT change response framing.
    public mutating func expectResponse(to method: HTTPMethod) { core.pendingMethods.append(method) }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) { core.buffer.append(bytes) }
    public mutating func append(_ bytes: [UInt8]) { core.buffer.append(bytes) }

    /// The body limit for responses (default unlimited).
    public mutating func setBodyLimit(_ bytes: Int) { core.bodyLimit = bytes }

    /// The next part, or nil when more bytes are needed. Interim 1xx responses (except 101) are skipped.
    public mutating func next() throws(HTTPParseError) -> HTTPResponsePart? {
        try core.next().map(Self.responsePart)
    }

    /// The peer closed the connection: ends a read-until-close body, or fails a truncated message.
    public mutating func finish() throws(HTTPParseError) -> HTTPResponsePart? {
        try core.finish().map(Self.responsePart)
    }

    public var isBetweenMessages: Bool { core.isBetweenMessages }
    public var bufferedByteCount: Int { core.buffer.count }

    private static func responsePart(_ part: MessageParserCore.Part) -> HTTPResponsePart {
        switch part {
        case .responseHead(let head): return .head(head)
        case .requestHead: preconditionFailure("response parser produced a request head")
        case .body(let bytes): return .body(bytes)
        case .end(let trailers): return .end(trailers: trailers)
        }
    }
}

/// A growable byte queue consumed from the front.
struct ByteQueue: Sendable {
    private(set) var storage: [UInt8] = []
    private(set) var start = 0

    var count: Int { storage.count - start }
    var isEmpty: Bool { start == storage.count }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthwhile()
        storage.append(contentsOf: bytes)
    }

    mutating func append(_ bytes: [UInt8]) {
        compactIfWorthwhile()
        if storage.isEmpty { storage = bytes } else { storage.append(contentsOf: bytes) }
    }

    subscript(offset: Int) -> UInt8 { storage[start + offset] }

    /// Offset (from the front) of the first `byte` at or after `from`, or nil.
    func firstIndex(of byte: UInt8, from: Int) -> Int? {
        storage.withUnsafeBufferPointer { buffer in
            var index = start + from
            let end = buffer.count
            while index < end {
                if buffer[index] == byte { return index - start }
                index += 1
            }
            return nil
        }
    }

    func slice(_ offset: Int, _ length: Int) -> ArraySlice<UInt8> {
        storage[(start + offset)..<(start + offset + length)]
    }

    mutating func consume(_ length: Int) {
        start += length
        if start == storage.count {
            // Releasing the array keeps idle connections small.
            storage = []
            start = 0
        }
    }

    mutating func take(_ length: Int) -> [UInt8] {
        let bytes = Array(slice(0, length))
        consume(length)
        return bytes
    }

    private mutating func compactIfWorthwhile() {
        if start > 0 && start >= storage.count / 2 {
            storage.removeFirst(start)
            start = 0
        }
    }
}

/// The framing logic shared by the request and the response parsers.
struct MessageParserCore: Sendable {
    enum Role: Sendable { case request, response }

    enum Part: Sendable {
        case requestHead(HTTPRequestHead)
        case responseHead(HTTPResponseHead)
        case body([UInt8])
        case end(HTTPFields)
    }

    private enum State: Sendable {
        case startLine
        case fields
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        case failed(HTTPParseError)
        case closed
    }

    let limits: HTTPParserLimits
    let role: Role
    var buffer = ByteQueue()
    var bodyLimit: Int
    var pendingMethods: [HTTPMethod] = []
    private(set) var expectsContinue = false

    private var state: State = .startLine
    /// Where to resume searching for LF in the current line, so bytes arriving one at a time cost O(n).
    private var scanOffset = 0
    private var emptyLinesSkipped = 0
    private var startLine: [UInt8] = []
    private var fields = HTTPFields()
    private var fieldBytes = 0
    private var bodyBytes = 0
    private var declaredLength: Int?
    /// A declared Content-Length not yet compared with the (possibly route-specific) body limit.
    private var pendingLengthCheck = false

    init(limits: HTTPParserLimits, role: Role) {
        self.limits = limits
        self.role = role
        self.bodyLimit = limits.maxBodyBytes
    }

    var isBetweenMessages: Bool {
        if case .startLine = state { return buffer.isEmpty }
        return false
    }

    mutating func next() throws(HTTPParseError) -> Part? {
        do {
            return try step()
        } catch {
            state = .failed(error)
            throw error
        }
    }

    mutating func finish() throws(HTTPParseError) -> Part? {
        switch state {
        case .untilClose:
            if !buffer.isEmpty { return try next() }
            state = .closed
            return .end(HTTPFields())
        case .startLine where buffer.isEmpty, .closed:
            return nil
        case .failed(let error):
            throw error
        default:
            let error = HTTPParseError.bad("connection closed before the message was complete")
            state = .failed(error)
            throw error
        }
    }

    // MARK: - The state machine

    private mutating func step() throws(HTTPParseError) -> Part? {
        while true {
            switch state {
            case .failed(let error):
                throw error
            case .closed:
                return nil
            case .startLine:
                guard let line = try nextLine(limit: limits.maxRequestLineBytes, tooLong: startLineTooLong) else {
                    return nil
                }
                if line.isEmpty {
                    // RFC 9112 §2.2: ignore a few empty lines before a request line.
                    emptyLinesSkipped += 1
                    if emptyLinesSkipped > 4 { throw .bad("too many empty lines before the request line") }
                    continue
                }
                emptyLinesSkipped = 0
                startLine = line
                fields = HTTPFields()
                fieldBytes = 0
                state = .fields
            case .fields:
                let remaining = limits.maxFieldBytes - fieldBytes
                guard let line = try nextLine(limit: remaining, tooLong: fieldsTooLarge) else { return nil }
                if line.isEmpty {
                    if let part = try finishHead() { return part }
                    continue
                }
                fieldBytes += line.count + 2
                try addField(line, to: &fields, countLimit: limits.maxFieldCount)
            case .fixedBody(let remaining):
                if pendingLengthCheck {
                    pendingLengthCheck = false
                    if let declaredLength, declaredLength > bodyLimit { throw bodyTooLarge }
                }
                if remaining == 0 {
                    return endMessage(trailers: HTTPFields())
                }
                guard !buffer.isEmpty else { return nil }
                let length = min(remaining, buffer.count)
                expectsContinue = false
                state = .fixedBody(remaining: remaining - length)
                return .body(buffer.take(length))
            case .untilClose:
                guard !buffer.isEmpty else { return nil }
                let length = buffer.count
                bodyBytes += length
                if bodyBytes > bodyLimit { throw bodyTooLarge }
                return .body(buffer.take(length))
            case .chunkSize:
                guard let line = try nextLine(limit: limits.maxChunkLineBytes, tooLong: chunkLineTooLong) else {
                    return nil
                }
                expectsContinue = false
                let size = try Self.parseChunkSize(line)
                if size == 0 {
                    fields = HTTPFields()
                    fieldBytes = 0
                    state = .trailers
                    continue
                }
                let (total, overflow) = bodyBytes.addingReportingOverflow(size)
                if overflow || total > bodyLimit { throw bodyTooLarge }
                bodyBytes = total
                state = .chunkData(remaining: size)
            case .chunkData(let remaining):
                guard !buffer.isEmpty else { return nil }
                let length = min(remaining, buffer.count)
                state = length == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - length)
                return .body(buffer.take(length))
            case .chunkDataEnd:
                guard buffer.count >= 2 else {
                    if buffer.count == 1 && buffer[0] != UInt8(ascii: "\r") { throw .bad("chunk data not followed by CRLF") }
                    return nil
                }
                guard buffer[0] == UInt8(ascii: "\r") && buffer[1] == UInt8(ascii: "\n") else {
                    throw .bad("chunk data not followed by CRLF")
                }
                buffer.consume(2)
                state = .chunkSize
            case .trailers:
                let remaining = limits.maxFieldBytes - fieldBytes
                guard let line = try nextLine(limit: remaining, tooLong: fieldsTooLarge) else { return nil }
                if line.isEmpty {
                    return endMessage(trailers: fields)
                }
                fieldBytes += line.count + 2
                try addField(line, to: &fields, countLimit: limits.maxFieldCount)
            }
        }
    }

    private var startLineTooLong: HTTPParseError {
        role == .request
            ? HTTPParseError(status: .uriTooLong, message: "request line longer than \(limits.maxRequestLineBytes) bytes")
            : .bad("status line longer than \(limits.maxRequestLineBytes) bytes")
    }

    private var fieldsTooLarge: HTTPParseError {
        HTTPParseError(status: .requestHeaderFieldsTooLarge, message: "header fields larger than \(limits.maxFieldBytes) bytes")
    }

    private var chunkLineTooLong: HTTPParseError { .bad("chunk size line too long") }

    private var bodyTooLarge: HTTPParseError {
        HTTPParseError(status: .contentTooLarge, message: "body larger than \(bodyLimit) bytes")
    }

    private mutating func endMessage(trailers: HTTPFields) -> Part {
        state = .startLine
        declaredLength = nil
        expectsContinue = false
        bodyBytes = 0
        bodyLimit = limits.maxBodyBytes
        return .end(trailers)
    }

    /// Takes one CRLF-terminated line off the buffer (without the CRLF), or nil if none is complete yet.
    ///
    /// Rejects bare CR and bare LF anywhere in the line: both have been used to smuggle requests past
    /// intermediaries that split lines differently.
    private mutating func nextLine(limit: Int, tooLong: HTTPParseError) throws(HTTPParseError) -> [UInt8]? {
        guard let lf = buffer.firstIndex(of: UInt8(ascii: "\n"), from: scanOffset) else {
            scanOffset = buffer.count
            if buffer.count > limit + 1 { throw tooLong }
            return nil
        }
        scanOffset = 0
        guard lf > 0 && buffer[lf - 1] == UInt8(ascii: "\r") else { throw .bad("line ended by a bare LF") }
        let length = lf - 1
        if length > limit { throw tooLong }
        let line = buffer.take(length)
        buffer.consume(2)
        if line.contains(UInt8(ascii: "\r")) { throw .bad("bare CR in a line") }
        return line
    }

    // MARK: - Heads

    private mutating func finishHead() throws(HTTPParseError) -> Part? {
        switch role {
        case .request:
            let head = try Self.parseRequestLine(startLine, fields: fields)
            try frameRequest(head)
            return .requestHead(head)
        case .response:
            let head = try Self.parseStatusLine(startLine, fields: fields)
            if (100..<200).contains(head.status.code) && head.status.code != 101 {
                // Interim response: the final one follows on the same request.
                state = .startLine
                return nil
            }
            let method = pendingMethods.isEmpty ? HTTPMethod.get : pendingMethods.removeFirst()
            try frameResponse(head, method: method)
            return .responseHead(head)
        }
    }

    private mutating func frameRequest(_ head: HTTPRequestHead) throws(HTTPParseError) {
        let hosts = head.fields.values("Host")
        if head.version == .http1_1 && hosts.count != 1 {
            throw .bad(hosts.isEmpty ? "missing Host header" : "more than one Host header")
        }
        if hosts.count > 1 { throw .bad("more than one Host header") }
        if let expectation = head.fields["Expect"] {
            guard HTTPSyntax.equalsIgnoringCase(expectation[...].trimmingSpacesAndTabs(), "100-continue") else {
                throw HTTPParseError(status: .expectationFailed, message: "unsupported expectation")
            }
            expectsContinue = head.version == .http1_1
        }
        switch try Self.bodyFraming(head.fields, version: head.version, isRequest: true) {
        case .chunked:
            state = .chunkSize
        case .length(let length):
            declaredLength = length
            state = .fixedBody(remaining: length)
            if length == 0 { expectsContinue = false }
        case .none:
            state = .fixedBody(remaining: 0)
            expectsContinue = false
        }
        bodyBytes = 0
        // Checked lazily in `next()`, so a route can raise the limit after seeing the head.
        pendingLengthCheck = (declaredLength ?? 0) > 0
    }

    private mutating func frameResponse(_ head: HTTPResponseHead, method: HTTPMethod) throws(HTTPParseError) {
        bodyBytes = 0
        if method == .head || head.status.forbidsBody || (method == .connect && (200..<300).contains(head.status.code)) {
            state = .fixedBody(remaining: 0)
            return
        }
        switch try Self.bodyFraming(head.fields, version: head.version, isRequest: false) {
        case .chunked: state = .chunkSize
        case .length(let length): state = .fixedBody(remaining: length)
        case .none: state = .untilClose
        }
        declaredLength = nil
    }

    enum BodyFraming { case none, length(Int), chunked }

    /// Message body length per RFC 9112 §6.3, refusing every ambiguous combination.
    static func bodyFraming(_ fields: HTTPFields, version: HTTPVersion, isRequest: Bool) throws(HTTPParseError)
        -> BodyFraming
    {
        let transferEncodings = fields.values("Transfer-Encoding")
        let contentLengths = fields.values("Content-Length")
        if !transferEncodings.isEmpty {
            if !contentLengths.isEmpty { throw .bad("both Transfer-Encoding and Content-Length") }
            if version == .http1_0 { throw .bad("Transfer-Encoding in an HTTP/1.0 message") }
            let codings = fields.listValues("Transfer-Encoding")
            guard !codings.isEmpty else { throw .bad("empty Transfer-Encoding") }
            for coding in codings where !HTTPSyntax.equalsIgnoringCase(coding, "chunked") {
                if coding.utf8.allSatisfy(HTTPSyntax.isTokenByte) || coding.contains(";") {
                    throw HTTPParseError(status: .notImplemented, message: "transfer coding '\(coding.prefix(32))' is not supported")
                }
                throw .bad("malformed Transfer-Encoding")
            }
            if codings.count > 1 { throw .bad("chunked applied more than once") }
            return .chunked
        }
        guard !contentLengths.isEmpty else { return .none }
        var length: Int?
        for field in contentLengths {
            for element in field.split(separator: ",", omittingEmptySubsequences: false) {
                let text = element.trimmingSpacesAndTabs()
                guard let value = parseDecimal(text) else { throw .bad("malformed Content-Length") }
                if let length, length != value { throw .bad("conflicting Content-Length values") }
                length = value
            }
        }
        return .length(length ?? 0)
    }

    private static func parseDecimal(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 18 else { return nil }
        var value = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    static func parseChunkSize(_ line: [UInt8]) throws(HTTPParseError) -> Int {
        var size = 0
        var index = 0
        while index < line.count, let digit = hexValue(line[index]) {
            if size > (Int.max >> 4) { throw .bad("chunk size too large") }
            size = size << 4 | digit
            index += 1
        }
        guard index > 0 else { throw .bad("malformed chunk size") }
        // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ): checked for allowed bytes only.
        if index < line.count {
            var rest = line[index...].drop { $0 == 0x20 || $0 == 0x09 }
            guard rest.first == UInt8(ascii: ";") else { throw .bad("malformed chunk size") }
            rest = rest.dropFirst()
            if rest.contains(where: { !HTTPSyntax.isFieldValueByte($0) }) {
                throw .bad("invalid byte in chunk extension")
            }
        }
        return size
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    /// Parses `name: value` (RFC 9112 §5): no whitespace before the colon, no obs-fold, no control bytes.
    private func addField(_ line: [UInt8], to fields: inout HTTPFields, countLimit: Int) throws(HTTPParseError) {
        if fields.count >= countLimit {
            throw HTTPParseError(status: .requestHeaderFieldsTooLarge, message: "more than \(countLimit) header fields")
        }
        guard let first = line.first else { throw .bad("empty field line") }
        if first == 0x20 || first == 0x09 { throw .bad("obsolete line folding in header fields") }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .bad("header field without a colon") }
        guard colon > 0 else { throw .bad("empty header field name") }
        for byte in line[..<colon] where !HTTPSyntax.isTokenByte(byte) {
            throw .bad(byte == 0x20 || byte == 0x09 ? "whitespace before the colon in a header field" : "invalid character in a header field name")
        }
        var valueStart = colon + 1
        var valueEnd = line.count
        while valueStart < valueEnd && (line[valueStart] == 0x20 || line[valueStart] == 0x09) { valueStart += 1 }
        while valueEnd > valueStart && (line[valueEnd - 1] == 0x20 || line[valueEnd - 1] == 0x09) { valueEnd -= 1 }
        for byte in line[valueStart..<valueEnd] where !HTTPSyntax.isFieldValueByte(byte) {
            throw .bad(byte == 0 ? "NUL in a header field value" : "control character in a header field value")
        }
        let name = String(decoding: line[..<colon], as: UTF8.self)
        let value = String(decoding: line[valueStart..<valueEnd], as: UTF8.self)
        fields.append(name, value)
    }

    private static func parseRequestLine(_ line: [UInt8], fields: HTTPFields) throws(HTTPParseError) -> HTTPRequestHead {
        guard let firstSpace = line.firstIndex(of: 0x20) else { throw .bad("malformed request line") }
        guard let lastSpace = line.lastIndex(of: 0x20), lastSpace > firstSpace else { throw .bad("malformed request line") }
        let methodBytes = line[..<firstSpace]
        let targetBytes = line[(firstSpace + 1)..<lastSpace]
        let versionBytes = line[(lastSpace + 1)...]
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(HTTPSyntax.isTokenByte) else {
            throw .bad("invalid method")
        }
        guard !targetBytes.isEmpty, targetBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .bad("invalid request target")
        }
        let version = try parseVersion(versionBytes)
        guard let method = HTTPMethod(String(decoding: methodBytes, as: UTF8.self)) else { throw .bad("invalid method") }
        let target = String(decoding: targetBytes, as: UTF8.self)
        let form = RequestTarget(target).form
        switch form {
        case .origin, .absolute:
            if method == .connect { throw .bad("CONNECT needs an authority-form target") }
        case .authority:
            if method != .connect { throw .bad("invalid request target") }
        case .asterisk:
            if method != .options { throw .bad("'*' target is only valid with OPTIONS") }
        }
        return HTTPRequestHead(method: method, target: target, version: version, fields: fields)
    }

    private static func parseStatusLine(_ line: [UInt8], fields: HTTPFields) throws(HTTPParseError) -> HTTPResponseHead {
        // HTTP-version SP 3DIGIT SP [reason-phrase]
        guard line.count >= 12, line[8] == 0x20, line.count == 12 || line[12] == 0x20 else {
            throw .bad("malformed status line")
        }
        let version = try parseVersion(line[0..<8])
        var code = 0
        for byte in line[9..<12] {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { throw .bad("malformed status code") }
            code = code * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard code >= 100 else { throw .bad("malformed status code") }
        let reason = line.count > 13 ? String(decoding: line[13...], as: UTF8.self) : ""
        return HTTPResponseHead(status: HTTPStatus(code: code, reasonPhrase: reason), version: version, fields: fields)
    }

    private static func parseVersion(_ bytes: ArraySlice<UInt8>) throws(HTTPParseError) -> HTTPVersion {
        let text = Array(bytes)
        guard text.count == 8, text[0..<5].elementsEqual("HTTP/".utf8), text[6] == UInt8(ascii: "."),
            let major = digit(text[5]), let minor = digit(text[7])
        else { throw .bad("malformed HTTP version") }
        guard major == 1 else {
            throw HTTPParseError(status: .httpVersionNotSupported, message: "HTTP/\(major).\(minor) is not supported")
        }
        return HTTPVersion(major: 1, minor: minor == 0 ? 0 : 1)
    }

    private static func digit(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
    }
}
