/// Incremental HTTP/1.1 message parsing (RFC 9112), strict where leniency enables request smuggling.
///
/// Bytes go in with `append`, parts come out of `next()`: a head, zero or more body pieces, and an end
/// with trailers. `nil` means "more bytes needed". The parser never looks past the current message's
/// framing, so pipelined requests stay buffered until the caller asks for them.
///
/// Every rejection is the same whatever way the bytes were split: limits are checked on line content,
/// and a line's first CR or LF decides both where it ends and whether it is malformed.

/// Size limits; each rejection maps to the status RFC 9110 names for it.
public struct HTTPParserLimits: Sendable, Hashable {
    /// Longest request line (or status line) without its CRLF; longer is 414 URI Too Long.
    public var maxRequestLineBytes = 8 * 1024
    /// All field lines of a head together, each with its CRLF (the trailers count separately); more is 431.
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

    /// Buffers bytes for `next()`. Bytes appended after a parse error are dropped.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) { core.append(bytes) }
    public mutating func append(_ bytes: [UInt8]) { core.append(bytes) }

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
    ///
    /// Call `next()` (after any `setBodyLimit`) before sending `100 Continue`: a Content-Length over the
    /// limit fails there with 413 without waiting for body bytes, so no 100 is sent for a refused body.
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

    /// Buffers bytes for `next()`. Bytes appended after a parse error are dropped.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) { core.append(bytes) }
    public mutating func append(_ bytes: [UInt8]) { core.append(bytes) }

    /// The body limit of the current (or, between messages, the next) response; default unlimited.
    public mutating func setBodyLimit(_ bytes: Int) { core.bodyLimit = bytes }

    /// The next part, or nil when more bytes are needed. Interim 1xx responses (except 101) are skipped.
    public mutating func next() throws(HTTPParseError) -> HTTPResponsePart? {
        try core.next().map(Self.responsePart)
    }

    /// The peer closed the connection: returns the parts still buffered, then ends a read-until-close body;
    /// fails a truncated message. Call it until it returns nil.
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
    private var storage: [UInt8] = []
    private var start = 0

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

    /// Offset (from the front) of the first CR or LF at or after `from`, or nil.
    func firstLineBreak(from: Int) -> Int? {
        storage.withUnsafeBytes { buffer in
            var index = start + from
            let end = buffer.count
            // Eight bytes at a time: a word holds CR or LF when XOR with that byte leaves a zero byte.
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highBits: UInt64 = 0x8080_8080_8080_8080
            while index + 8 <= end {
                let word = buffer.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                let lf = word ^ (ones &* 0x0A)
                let cr = word ^ (ones &* 0x0D)
                if ((lf &- ones) & ~lf | (cr &- ones) & ~cr) & highBits != 0 { break }
                index += 8
            }
            while index < end {
                let byte = buffer[index]
                if byte <= 0x0D && (byte == 0x0D || byte == 0x0A) { return index - start }
                index += 1
            }
            return nil
        }
    }

    /// A view of the bytes at `offset`; it shares the storage, so it costs no copy.
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
        if start == 0 && length == storage.count {
            // The whole buffer: hand the array over instead of copying it.
            let bytes = storage
            storage = []
            return bytes
        }
        let bytes = Array(slice(0, length))
        consume(length)
        return bytes
    }

    mutating func removeAll() {
        storage = []
        start = 0
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

    private enum StartLine: Sendable {
        case pending
        case request(HTTPMethod, String, HTTPVersion)
        case response(HTTPStatus, HTTPVersion)
    }

    let limits: HTTPParserLimits
    let role: Role
    private(set) var buffer = ByteQueue()
    var bodyLimit: Int
    var pendingMethods: [HTTPMethod] = []
    private(set) var expectsContinue = false

    private var state: State = .startLine
    /// Where to resume searching the current line for CR or LF, so bytes arriving one at a time cost O(n).
    /// Only line states use it, and it is reset whenever a line is taken off the buffer.
    private var scanOffset = 0
    private var emptyLinesSkipped = 0
    private var startLine: StartLine = .pending
    private var fields = HTTPFields()
    /// The head's framing fields, noted as they are parsed.
    private var framing = FramingFields()
    private var fieldBytes = 0
    private var bodyBytes = 0
    /// A declared Content-Length not yet compared with the (possibly route-specific) body limit.
    private var unverifiedLength: Int?

    init(limits: HTTPParserLimits, role: Role) {
        self.limits = limits
        self.role = role
        self.bodyLimit = limits.maxBodyBytes
    }

    var isBetweenMessages: Bool {
        if case .startLine = state { return buffer.isEmpty }
        return false
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if case .failed = state { return }
        buffer.append(bytes)
    }

    mutating func append(_ bytes: [UInt8]) {
        if case .failed = state { return }
        buffer.append(bytes)
    }

    mutating func next() throws(HTTPParseError) -> Part? {
        do {
            return try step()
        } catch {
            state = .failed(error)
            buffer.removeAll()
            throw error
        }
    }

    mutating func finish() throws(HTTPParseError) -> Part? {
        if let part = try next() { return part }
        switch state {
        case .untilClose:
            state = .closed
            return .end(HTTPFields())
        case .startLine where buffer.isEmpty, .closed:
            return nil
        case .failed(let error):
            throw error
        default:
            let error = HTTPParseError.bad("connection closed before the message was complete")
            state = .failed(error)
            buffer.removeAll()
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
                guard let line = try nextLine(limit: limits.maxRequestLineBytes, kind: .startLine) else {
                    return nil
                }
                if line.isEmpty {
                    // RFC 9112 §2.2: ignore a few empty lines before a request line.
                    emptyLinesSkipped += 1
                    if emptyLinesSkipped > 4 { throw .bad("too many empty lines before the start line") }
                    continue
                }
                emptyLinesSkipped = 0
                // Parsed before the fields arrive, so a peer speaking another protocol is refused at once.
                let role = self.role
                let parsed = try line.withUnsafeBufferPointer { (bytes) throws(HTTPParseError) -> StartLine in
                    role == .request ? try Self.parseRequestLine(bytes) : try Self.parseStatusLine(bytes)
                }
                startLine = parsed
                fields = HTTPFields()
                fields.reserveCapacity(16)
                framing = FramingFields()
                fieldBytes = 0
                state = .fields
            case .fields:
                guard let line = try nextLine(limit: fieldLineLimit, kind: .field) else { return nil }
                if line.isEmpty {
                    if let part = try finishHead() { return part }
                    continue
                }
                fieldBytes += line.count + 2
                try addField(line, notingFraming: true)
            case .fixedBody(let remaining):
                if let length = unverifiedLength {
                    unverifiedLength = nil
                    if length > bodyLimit { throw bodyTooLarge }
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
                // Deliver up to the limit, then fail: the same parts however the reads were split.
                let allowed = bodyLimit - bodyBytes
                guard allowed > 0 else { throw bodyTooLarge }
                let length = min(buffer.count, allowed)
                bodyBytes += length
                return .body(buffer.take(length))
            case .chunkSize:
                guard let line = try nextLine(limit: limits.maxChunkLineBytes, kind: .chunkSize) else {
                    return nil
                }
                expectsContinue = false
                let size = try line.withUnsafeBufferPointer { (bytes) throws(HTTPParseError) in
                    try Self.parseChunkSizeLine(bytes)
                }
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
                    if buffer.count == 1 && buffer[0] != UInt8(ascii: "\r") {
                        throw .bad("chunk data not followed by CRLF")
                    }
                    return nil
                }
                guard buffer[0] == UInt8(ascii: "\r") && buffer[1] == UInt8(ascii: "\n") else {
                    throw .bad("chunk data not followed by CRLF")
                }
                buffer.consume(2)
                state = .chunkSize
            case .trailers:
                guard let line = try nextLine(limit: fieldLineLimit, kind: .field) else { return nil }
                if line.isEmpty {
                    return endMessage(trailers: fields)
                }
                fieldBytes += line.count + 2
                try addField(line, notingFraming: false)
            }
        }
    }

    /// The longest next field line that keeps all field lines, with their CRLFs, within the limit.
    private var fieldLineLimit: Int { max(0, limits.maxFieldBytes - fieldBytes - 2) }

    private enum LineKind { case startLine, field, chunkSize }

    /// Built only when thrown: the messages are interpolated strings.
    private func lineTooLong(_ kind: LineKind) -> HTTPParseError {
        switch kind {
        case .startLine where role == .request:
            HTTPParseError(status: .uriTooLong, message: "request line longer than \(limits.maxRequestLineBytes) bytes")
        case .startLine:
            .bad("status line longer than \(limits.maxRequestLineBytes) bytes")
        case .field:
            HTTPParseError(
                status: .requestHeaderFieldsTooLarge, message: "header fields larger than \(limits.maxFieldBytes) bytes"
            )
        case .chunkSize:
            .bad("chunk size line too long")
        }
    }

    private var bodyTooLarge: HTTPParseError {
        HTTPParseError(status: .contentTooLarge, message: "body larger than \(bodyLimit) bytes")
    }

    private mutating func endMessage(trailers: HTTPFields) -> Part {
        state = .startLine
        startLine = .pending
        fields = HTTPFields()
        unverifiedLength = nil
        expectsContinue = false
        bodyBytes = 0
        bodyLimit = limits.maxBodyBytes
        return .end(trailers)
    }

    /// Takes one CRLF-terminated line off the buffer (without the CRLF), or nil if none is complete yet.
    ///
    /// The line's first CR must be followed by LF, and no LF may come without a CR: a bare CR or LF has
    /// been used to smuggle requests past intermediaries that split lines differently. The returned slice
    /// shares the buffer's storage.
    private mutating func nextLine(limit: Int, kind: LineKind) throws(HTTPParseError) -> ArraySlice<UInt8>? {
        guard let lineBreak = buffer.firstLineBreak(from: scanOffset) else {
            scanOffset = buffer.count
            if buffer.count > limit { throw lineTooLong(kind) }
            return nil
        }
        if lineBreak > limit { throw lineTooLong(kind) }
        guard buffer[lineBreak] == UInt8(ascii: "\r") else { throw .bad("line ended by a bare LF") }
        guard lineBreak + 1 < buffer.count else {
            scanOffset = lineBreak
            return nil
        }
        guard buffer[lineBreak + 1] == UInt8(ascii: "\n") else { throw .bad("bare CR in a line") }
        scanOffset = 0
        let line = buffer.slice(0, lineBreak)
        buffer.consume(lineBreak + 2)
        return line
    }

    /// Trailers are not noted for framing: only the head decides it.
    private mutating func addField(_ line: ArraySlice<UInt8>, notingFraming: Bool) throws(HTTPParseError) {
        if fields.count >= limits.maxFieldCount {
            throw HTTPParseError(
                status: .requestHeaderFieldsTooLarge, message: "more than \(limits.maxFieldCount) header fields")
        }
        let field = try line.withUnsafeBufferPointer { (bytes) throws(HTTPParseError) in try Self.parseField(bytes) }
        if notingFraming { framing.note(field) }
        fields.append(field)
    }

    // MARK: - Heads

    private mutating func finishHead() throws(HTTPParseError) -> Part? {
        switch startLine {
        case .request(let method, let target, let version):
            let head = HTTPRequestHead(method: method, target: target, version: version, fields: fields)
            fields = HTTPFields()
            try frameRequest(head)
            return .requestHead(head)
        case .response(let status, let version):
            let head = HTTPResponseHead(status: status, version: version, fields: fields)
            fields = HTTPFields()
            if (100..<200).contains(status.code) && status.code != 101 {
                // Interim response: the final one follows on the same request.
                state = .startLine
                return nil
            }
            let method = pendingMethods.isEmpty ? HTTPMethod.get : pendingMethods.removeFirst()
            try frameResponse(head, method: method)
            return .responseHead(head)
        case .pending:
            preconditionFailure("head finished without a start line")
        }
    }

    private mutating func frameRequest(_ head: HTTPRequestHead) throws(HTTPParseError) {
        let summary = framing
        if head.version == .http1_1 && summary.hostCount != 1 {
            throw .bad(summary.hostCount == 0 ? "missing Host header" : "more than one Host header")
        }
        if summary.hostCount > 1 { throw .bad("more than one Host header") }
        if !summary.hostsValid { throw .bad("invalid Host header") }
        var continueExpected = false
        for value in summary.expect {
            try HTTPSyntax.forEachListElement(value) { (element) throws(HTTPParseError) in
                guard HTTPSyntax.equalsIgnoringCase(element, "100-continue") else {
                    throw HTTPParseError(status: .expectationFailed, message: "unsupported expectation")
                }
                continueExpected = true
            }
        }
        // RFC 9110 §10.1.1: an HTTP/1.0 client cannot have meant it.
        expectsContinue = continueExpected && head.version == .http1_1
        bodyBytes = 0
        unverifiedLength = nil
        switch try Self.bodyFraming(summary, version: head.version, isRequest: true) {
        case .chunked:
            state = .chunkSize
        case .length(let length):
            state = .fixedBody(remaining: length)
            // Checked lazily in `next()`, so a route can raise the limit after seeing the head.
            if length > 0 { unverifiedLength = length } else { expectsContinue = false }
        case .noBody, .untilClose:
            state = .fixedBody(remaining: 0)
            expectsContinue = false
        }
    }

    private mutating func frameResponse(_ head: HTTPResponseHead, method: HTTPMethod) throws(HTTPParseError) {
        bodyBytes = 0
        unverifiedLength = nil
        if method == .head || head.status.forbidsBody
            || (method == .connect && (200..<300).contains(head.status.code))
        {
            state = .fixedBody(remaining: 0)
            return
        }
        switch try Self.bodyFraming(framing, version: head.version, isRequest: false) {
        case .chunked:
            state = .chunkSize
        case .length(let length):
            state = .fixedBody(remaining: length)
            if length > 0 { unverifiedLength = length }
        case .noBody, .untilClose:
            state = .untilClose
        }
    }

    /// The fields that decide framing, noted one by one as the head is parsed.
    struct FramingFields {
        var hostCount = 0
        var hostsValid = true
        var contentLength: [String] = []
        var transferEncoding: [String] = []
        var expect: [String] = []

        mutating func note(_ field: HTTPField) {
            switch field.name.utf8.count {
            case 4 where HTTPSyntax.equalsIgnoringCase(field.name, "host"):
                hostCount += 1
                hostsValid = hostsValid && MessageParserCore.isValidHost(field.value)
            case 6 where HTTPSyntax.equalsIgnoringCase(field.name, "expect"):
                expect.append(field.value)
            case 14 where HTTPSyntax.equalsIgnoringCase(field.name, "content-length"):
                contentLength.append(field.value)
            case 17 where HTTPSyntax.equalsIgnoringCase(field.name, "transfer-encoding"):
                transferEncoding.append(field.value)
            default:
                break
            }
        }
    }

    /// `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2), or empty; RFC 9112 §3.2 requires a 400
    /// for anything else, which keeps paths, userinfo and spaces out of what routing and logs see.
    static func isValidHost(_ value: String) -> Bool {
        if let valid = value.utf8.withContiguousStorageIfAvailable(isValidHost) { return valid }
        return Array(value.utf8).withUnsafeBufferPointer(isValidHost)
    }

    private static func isValidHost(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        if bytes.first == UInt8(ascii: "[") {
            // IP-literal: IPv6 (with an optional zone) or IPvFuture.
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")), close > 1 else { return false }
            for byte in bytes[1..<close] where !isRegNameByte(byte) && byte != UInt8(ascii: ":") { return false }
            index = close + 1
        } else {
            while index < bytes.count && isRegNameByte(bytes[index]) { index += 1 }
        }
        guard index < bytes.count else { return true }
        guard bytes[index] == UInt8(ascii: ":") else { return false }
        guard bytes.count - index - 1 <= 5 else { return false }
        for byte in bytes[(index + 1)...] where byte < UInt8(ascii: "0") || byte > UInt8(ascii: "9") { return false }
        return true
    }

    /// reg-name bytes: unreserved, sub-delims and "%" of pct-encoded: `-._~%!$&'()*+,;=`, digits, letters.
    private static func isRegNameByte(_ byte: UInt8) -> Bool {
        // One bit per ASCII byte, as in `HTTPSyntax.isTokenByte`: bytes 0–63, then bytes 64–127.
        let mask: UInt64 = byte < 64 ? 0x2BFF_7FF2_0000_0000 : (byte < 128 ? 0x47FF_FFFE_87FF_FFFE : 0)
        return (mask >> UInt64(byte & 63)) & 1 == 1
    }

    enum BodyFraming {
        case noBody
        case length(Int)
        case chunked, untilClose
    }

    /// Message body length per RFC 9112 §6.3, refusing every ambiguous combination.
    static func bodyFraming(_ fields: FramingFields, version: HTTPVersion, isRequest: Bool) throws(HTTPParseError)
        -> BodyFraming
    {
        if !fields.transferEncoding.isEmpty {
            if !fields.contentLength.isEmpty { throw .bad("both Transfer-Encoding and Content-Length") }
            if version == .http1_0 { throw .bad("Transfer-Encoding in an HTTP/1.0 message") }
            var codings = 0
            var chunkedCount = 0
            var lastIsChunked = false
            for value in fields.transferEncoding {
                try HTTPSyntax.forEachListElement(value) { (coding) throws(HTTPParseError) in
                    codings += 1
                    lastIsChunked = HTTPSyntax.equalsIgnoringCase(coding, "chunked")
                    if lastIsChunked {
                        chunkedCount += 1
                        return
                    }
                    guard isTransferCodingSyntax(coding) else { throw .bad("malformed Transfer-Encoding") }
                    if isRequest {
                        throw HTTPParseError(status: .notImplemented, message: "transfer coding is not supported")
                    }
                }
            }
            guard codings > 0 else { throw .bad("empty Transfer-Encoding") }
            if chunkedCount > 1 { throw .bad("chunked applied more than once") }
            // A response whose final coding is not chunked runs until the connection closes (§6.3 rule 4).
            return lastIsChunked ? .chunked : .untilClose
        }
        guard !fields.contentLength.isEmpty else { return .noBody }
        var length: Int?
        for value in fields.contentLength {
            try parseContentLength(value, into: &length)
        }
        return .length(length ?? 0)
    }

    /// `token *( OWS ";" OWS transfer-parameter )`: only the name is checked, parameters are never used.
    static func isTransferCodingSyntax(_ coding: Substring) -> Bool {
        let bytes = coding.utf8
        let nameEnd = bytes.firstIndex { !HTTPSyntax.isTokenByte($0) } ?? bytes.endIndex
        guard nameEnd > bytes.startIndex else { return false }
        let rest = bytes[nameEnd...].drop { $0 == 0x20 || $0 == 0x09 }
        return rest.isEmpty || rest.first == UInt8(ascii: ";")
    }

    /// Parses a Content-Length value, a list of equal decimal lengths (RFC 9110 §8.6), into `length`.
    static func parseContentLength(_ value: String, into length: inout Int?) throws(HTTPParseError) {
        var number = 0
        var digits = 0
        var spaceAfterDigits = false
        func endElement(_ length: inout Int?) throws(HTTPParseError) {
            guard digits > 0 else { throw .bad("malformed Content-Length") }
            if let length, length != number { throw .bad("conflicting Content-Length values") }
            length = number
            number = 0
            digits = 0
            spaceAfterDigits = false
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                // 18 digits always fit in an Int; longer lengths are far beyond any body limit.
                guard !spaceAfterDigits, digits < 18 else { throw .bad("malformed Content-Length") }
                number = number * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
            case 0x20, 0x09:
                if digits > 0 { spaceAfterDigits = true }
            case UInt8(ascii: ","):
                try endElement(&length)
            default:
                throw .bad("malformed Content-Length")
            }
        }
        try endElement(&length)
    }

    /// `chunk-size [ chunk-ext ]` (RFC 9112 §7.1.1); extensions are checked and ignored.
    static func parseChunkSizeLine(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> Int {
        var size = 0
        var index = 0
        while index < line.count, let digit = hexValue(line[index]) {
            if size > (Int.max >> 4) { throw .bad("chunk size too large") }
            size = size << 4 | digit
            index += 1
        }
        guard index > 0 else { throw .bad("malformed chunk size") }
        guard isValidChunkExtensions(line, from: index) else { throw .bad("malformed chunk extension") }
        return size
    }

    /// `*( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] )` up to the end of `line`.
    static func isValidChunkExtensions(_ line: UnsafeBufferPointer<UInt8>, from start: Int) -> Bool {
        var index = start
        func skipWhitespace() {
            while index < line.count && (line[index] == 0x20 || line[index] == 0x09) { index += 1 }
        }
        func skipToken() -> Bool {
            let tokenStart = index
            while index < line.count && HTTPSyntax.isTokenByte(line[index]) { index += 1 }
            return index > tokenStart
        }
        while index < line.count {
            skipWhitespace()
            guard index < line.count, line[index] == UInt8(ascii: ";") else { return false }
            index += 1
            skipWhitespace()
            guard skipToken() else { return false }
            let afterName = index
            skipWhitespace()
            guard index < line.count, line[index] == UInt8(ascii: "=") else {
                index = afterName
                continue
            }
            index += 1
            skipWhitespace()
            if index < line.count && line[index] == UInt8(ascii: "\"") {
                guard skipQuotedString(line, &index) else { return false }
            } else {
                guard skipToken() else { return false }
            }
        }
        return true
    }

    /// Moves `index` past a quoted-string starting at it (RFC 9110 §5.6.4); false if it is malformed.
    static func skipQuotedString(_ line: UnsafeBufferPointer<UInt8>, _ index: inout Int) -> Bool {
        index += 1
        while index < line.count {
            let byte = line[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return true
            case UInt8(ascii: "\\"):
                guard index + 1 < line.count, HTTPSyntax.isFieldValueByte(line[index + 1]) else { return false }
                index += 2
            default:
                guard HTTPSyntax.isFieldValueByte(byte) else { return false }
                index += 1
            }
        }
        return false
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
    static func parseField(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> HTTPField {
        guard let first = line.first else { throw .bad("empty field line") }
        if first == 0x20 || first == 0x09 { throw .bad("obsolete line folding in header fields") }
        var colon = 0
        while colon < line.count && line[colon] != UInt8(ascii: ":") {
            let byte = line[colon]
            guard HTTPSyntax.isTokenByte(byte) else {
                throw .bad(
                    byte == 0x20 || byte == 0x09
                        ? "whitespace before the colon in a header field" : "invalid character in a header field name")
            }
            colon += 1
        }
        guard colon < line.count else { throw .bad("header field without a colon") }
        guard colon > 0 else { throw .bad("empty header field name") }
        var valueStart = colon + 1
        var valueEnd = line.count
        while valueStart < valueEnd && (line[valueStart] == 0x20 || line[valueStart] == 0x09) { valueStart += 1 }
        while valueEnd > valueStart && (line[valueEnd - 1] == 0x20 || line[valueEnd - 1] == 0x09) { valueEnd -= 1 }
        for index in valueStart..<valueEnd where !HTTPSyntax.isFieldValueByte(line[index]) {
            throw .bad(line[index] == 0 ? "NUL in a header field value" : "control character in a header field value")
        }
        let nameBytes = UnsafeBufferPointer(rebasing: line[..<colon])
        let name = CommonFieldNames.name(nameBytes) ?? String(decoding: nameBytes, as: UTF8.self)
        let value = String(decoding: UnsafeBufferPointer(rebasing: line[valueStart..<valueEnd]), as: UTF8.self)
        return HTTPField(name: name, value: value)
    }

    /// `method SP request-target SP HTTP-version` (RFC 9112 §3), with the target form checked against the method.
    private static func parseRequestLine(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> StartLine {
        var methodEnd = 0
        while methodEnd < line.count && line[methodEnd] != 0x20 {
            guard HTTPSyntax.isTokenByte(line[methodEnd]) else { throw .bad("invalid method") }
            methodEnd += 1
        }
        guard methodEnd > 0, methodEnd < line.count else { throw .bad("malformed request line") }
        var targetEnd = line.count - 1
        while targetEnd > methodEnd && line[targetEnd] != 0x20 { targetEnd -= 1 }
        let targetStart = methodEnd + 1
        guard targetEnd > targetStart else { throw .bad("malformed request line") }
        for index in targetStart..<targetEnd where line[index] <= 0x20 || line[index] >= 0x7F {
            throw .bad("invalid request target")
        }
        let version = try parseVersion(line, from: targetEnd + 1)
        let methodBytes = UnsafeBufferPointer(rebasing: line[..<methodEnd])
        let method = knownMethod(methodBytes) ?? HTTPMethod(unchecked: String(decoding: methodBytes, as: UTF8.self))
        let targetBytes = UnsafeBufferPointer(rebasing: line[targetStart..<targetEnd])
        switch RequestTarget.form(of: targetBytes) {
        case .origin:
            if method == .connect { throw .bad("CONNECT needs an authority-form target") }
        case .absolute:
            if method == .connect { throw .bad("CONNECT needs an authority-form target") }
            if !RequestTarget.hasAuthority(targetBytes) { throw .bad("absolute-form target without a host") }
        case .authority:
            if method != .connect { throw .bad("invalid request target") }
            if !RequestTarget.isHostAndPort(targetBytes) { throw .bad("CONNECT target is not host:port") }
        case .asterisk:
            if method != .options { throw .bad("'*' target is only valid with OPTIONS") }
        }
        return .request(method, String(decoding: targetBytes, as: UTF8.self), version)
    }

    /// The common methods without building a string per request.
    private static func knownMethod(_ bytes: UnsafeBufferPointer<UInt8>) -> HTTPMethod? {
        func equals(_ name: StaticString) -> Bool {
            let expected = name.utf8Start
            for index in 0..<bytes.count where bytes[index] != expected[index] { return false }
            return true
        }
        switch bytes.count {
        case 3: return equals("GET") ? .get : equals("PUT") ? .put : nil
        case 4: return equals("POST") ? .post : equals("HEAD") ? .head : nil
        case 5: return equals("PATCH") ? .patch : nil
        case 6: return equals("DELETE") ? .delete : nil
        default: return nil
        }
    }

    /// `HTTP-version SP 3DIGIT SP [ reason-phrase ]`; the SP before an empty reason may be missing.
    private static func parseStatusLine(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> StartLine {
        guard line.count >= 12, line[8] == 0x20, line.count == 12 || line[12] == 0x20 else {
            throw .bad("malformed status line")
        }
        let version = try parseVersion(UnsafeBufferPointer(rebasing: line[..<8]), from: 0)
        var code = 0
        for byte in line[9..<12] {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { throw .bad("malformed status code") }
            code = code * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard code >= 100 else { throw .bad("malformed status code") }
        var reason = ""
        if line.count > 13 {
            let reasonBytes = UnsafeBufferPointer(rebasing: line[13...])
            guard reasonBytes.allSatisfy(HTTPSyntax.isFieldValueByte) else { throw .bad("malformed reason phrase") }
            reason = String(decoding: reasonBytes, as: UTF8.self)
        }
        return .response(HTTPStatus(code: code, reasonPhrase: reason), version)
    }

    /// `HTTP/d.d` filling `line` from `start` to its end; HTTP/1.x above 1.1 is treated as 1.1.
    private static func parseVersion(_ line: UnsafeBufferPointer<UInt8>, from start: Int) throws(HTTPParseError)
        -> HTTPVersion
    {
        guard line.count - start == 8,
            line[start] == UInt8(ascii: "H"), line[start + 1] == UInt8(ascii: "T"),
            line[start + 2] == UInt8(ascii: "T"), line[start + 3] == UInt8(ascii: "P"),
            line[start + 4] == UInt8(ascii: "/"), line[start + 6] == UInt8(ascii: "."),
            let major = digit(line[start + 5]), let minor = digit(line[start + 7])
        else { throw .bad("malformed HTTP version") }
        guard major == 1 else {
            throw HTTPParseError(status: .httpVersionNotSupported, message: "HTTP/\(major).\(minor) is not supported")
        }
        return minor == 0 ? .http1_0 : .http1_1
    }

    private static func digit(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
    }
}

/// Field names frequent enough in requests to reuse one string each instead of building one per field.
/// Matched byte for byte, so a name keeps exactly the spelling it was sent with.
enum CommonFieldNames {
    private static let byLength: [[(bytes: [UInt8], name: String)]] = {
        let names = [
            "Host", "host", "Accept", "accept", "Accept-Encoding", "accept-encoding", "Accept-Language",
            "Authorization", "authorization", "Cache-Control", "Connection", "connection", "Content-Length",
            "content-length", "Content-Type", "content-type", "Content-Encoding", "Cookie", "Expect", "If-None-Match",
            "Origin", "Referer", "Traceparent", "traceparent", "Transfer-Encoding", "User-Agent", "user-agent",
            "X-Forwarded-For", "X-Request-ID", "X-Request-Id", "x-ms-client-request-id",
        ]
        var table = [[(bytes: [UInt8], name: String)]](repeating: [], count: 32)
        for name in names { table[name.utf8.count].append((Array(name.utf8), name)) }
        return table
    }()

    static func name(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard bytes.count < byLength.count else { return nil }
        for candidate in byLength[bytes.count] {
            let matches = candidate.bytes.withUnsafeBufferPointer { known in
                for index in 0..<known.count where known[index] != bytes[index] { return false }
                return true
            }
            if matches { return candidate.name }
        }
        return nil
    }
}
