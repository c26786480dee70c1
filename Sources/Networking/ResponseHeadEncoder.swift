import HTTP

/// Serializes response heads for the server, adding the fields it owns (framing, `Date`, `Server`,
/// `Connection`) in one pass.
///
/// The handler's fields pass the same validity check as `HTTPSerializer` (a bad name or a value with
/// CR/LF is dropped, never written), and framing fields from the handler are ignored: the server alone
/// decides `Content-Length` / `Transfer-Encoding` from the body it actually sends.
enum ResponseHeadEncoder {
    enum Framing: Equatable {
        case contentLength(Int)
        case chunked
        /// The body runs until the connection closes (a stream to an HTTP/1.0 client).
        case untilClose
        /// No body and no length (1xx, 204, 304).
        case none
    }

    struct Extras {
        var framing: Framing
        var closeAfter: Bool
        /// An HTTP/1.0 client asked to keep the connection: say yes explicitly.
        var announceKeepAlive: Bool
        var dateLine: [UInt8]
        var serverLine: [UInt8]?
        var requestID: (name: String, value: String)?
        var contentEncodingGzip: Bool = false
        var varyAcceptEncoding: Bool = false
    }

    /// Appends the head to `buffer` (error responses, tests).
    static func encode(status: HTTPStatus, fields: HTTPFields, extras: Extras, into buffer: inout [UInt8]) {
        var needed = 0
        withUnsafeTemporaryAllocation(byteCount: 1024, alignment: 1) { scratch in
            var writer = HeadWriter(scratch)
            encode(status: status, fields: fields, extras: extras, into: &writer)
            if writer.overflowed { needed = writer.count } else { buffer.append(contentsOf: writer.bytes) }
        }
        guard needed > 0 else { return }
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: needed))
        buffer.withUnsafeMutableBytes { bytes in
            var writer = HeadWriter(UnsafeMutableRawBufferPointer(rebasing: bytes[start...]))
            encode(status: status, fields: fields, extras: extras, into: &writer)
        }
    }

    /// Writes the head through `writer`. When it does not fit, `writer.overflowed` is set and `writer.count`
    /// is the size it needs.
    static func encode(status: HTTPStatus, fields: HTTPFields, extras: Extras, into writer: inout HeadWriter) {
        appendStatusLine(status, into: &writer)
        var sawDate = false
        var sawServer = false
        var sawRequestID = false
        var sawVary = false
        for field in fields {
            switch field.name.utf8.count {
            case 4 where HTTPSyntax.equalsIgnoringCase(field.name, "Date"): sawDate = true
            case 6 where HTTPSyntax.equalsIgnoringCase(field.name, "Server"): sawServer = true
            case 4 where HTTPSyntax.equalsIgnoringCase(field.name, "Vary"):
                if extras.varyAcceptEncoding {
                    // Merged below with Accept-Encoding.
                    sawVary = true
                    continue
                }
            case 10 where HTTPSyntax.equalsIgnoringCase(field.name, "Connection"),
                14 where HTTPSyntax.equalsIgnoringCase(field.name, "Content-Length"),
                17 where HTTPSyntax.equalsIgnoringCase(field.name, "Transfer-Encoding"):
                continue
            case 16 where extras.contentEncodingGzip && HTTPSyntax.equalsIgnoringCase(field.name, "Content-Encoding"):
                continue
            default:
                if let requestID = extras.requestID, HTTPSyntax.equalsIgnoringCase(field.name, requestID.name) {
                    sawRequestID = true
                }
            }
            writer.appendField(field.name, field.value)
        }
        if extras.varyAcceptEncoding {
            var values = fields.values("Vary").filter { HTTPSerializer.isValid(HTTPField(name: "Vary", value: $0)) }
            if sawVary, values.contains(where: { $0.contains("*") }) {
                writer.appendField("Vary", "*")
            } else {
                values.append("Accept-Encoding")
                writer.appendField("Vary", values.joined(separator: ", "))
            }
        }
        if extras.contentEncodingGzip { writer.append(contentEncodingGzipLine) }
        if let requestID = extras.requestID, !sawRequestID {
            writer.appendField(requestID.name, requestID.value)
        }
        if !sawDate { writer.append(extras.dateLine) }
        if !sawServer, let serverLine = extras.serverLine { writer.append(serverLine) }
        switch extras.framing {
        case .contentLength(let length):
            writer.append(contentLengthPrefix)
            writer.appendDecimal(length)
            writer.append(crlf)
        case .chunked:
            writer.append(chunkedLine)
        case .untilClose, .none:
            break
        }
        if extras.closeAfter {
            writer.append(connectionCloseLine)
        } else if extras.announceKeepAlive {
            writer.append(connectionKeepAliveLine)
        }
        writer.append(crlf)
    }

    /// `Server: name\r\n`, or nil when the name is unset or would not be a valid field value.
    static func serverLine(_ name: String?) -> [UInt8]? {
        guard let name, !name.isEmpty, HTTPSerializer.isValid(HTTPField(name: "Server", value: name)) else {
            return nil
        }
        return Array("Server: \(name)\r\n".utf8)
    }

    static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    private static let contentLengthPrefix: StaticString = "Content-Length: "
    private static let chunkedLine: StaticString = "Transfer-Encoding: chunked\r\n"
    private static let connectionCloseLine: StaticString = "Connection: close\r\n"
    private static let connectionKeepAliveLine: StaticString = "Connection: keep-alive\r\n"
    private static let contentEncodingGzipLine: StaticString = "Content-Encoding: gzip\r\n"

    /// "HTTP/1.1 200 OK\r\n" for every standard status, built once. The server always speaks HTTP/1.1
    /// (RFC 9110 §2.5: a server sends its highest version; HTTP/1.0 clients get HTTP/1.0-safe framing).
    private static let statusLines: [(reason: String, line: [UInt8])?] = (0..<600).map { code in
        let status = HTTPStatus(code: code)
        guard code >= 100, !status.reasonPhrase.isEmpty else { return nil }
        return (status.reasonPhrase, Array("HTTP/1.1 \(code) \(status.reasonPhrase)\r\n".utf8))
    }

    private static func appendStatusLine(_ status: HTTPStatus, into writer: inout HeadWriter) {
        if status.code >= 0, status.code < statusLines.count, let cached = statusLines[status.code],
            cached.reason == status.reasonPhrase
        {
            writer.append(cached.line)
            return
        }
        writer.append(http11Space)
        writer.appendDecimal(min(max(status.code, 100), 999))
        writer.append(UInt8(ascii: " "))
        for byte in status.reasonPhrase.utf8 where HTTPSyntax.isFieldValueByte(byte) { writer.append(byte) }
        writer.append(crlf)
    }

    private static let http11Space: StaticString = "HTTP/1.1 "
    private static let crlf: StaticString = "\r\n"

    /// Lowercase hex digits (chunk sizes) without an intermediate allocation.
    static func appendHex(_ value: Int, into buffer: inout [UInt8]) {
        var shift = 0
        while shift < 60, value >> (shift + 4) > 0 { shift += 4 }
        let digits: StaticString = "0123456789abcdef"
        while shift >= 0 {
            buffer.append(digits.utf8Start[(value >> shift) & 0xF])
            shift -= 4
        }
    }
}

/// Writes a response head through a pointer, without the capacity and uniqueness checks of appending to
/// an array byte by byte. Past the buffer's end it only counts, so one run also tells the size needed.
struct HeadWriter {
    private let base: UnsafeMutableRawPointer
    private let capacity: Int
    /// Bytes written, or needed once `overflowed`.
    private(set) var count = 0

    init(_ buffer: UnsafeMutableRawBufferPointer) {
        base = buffer.baseAddress!
        capacity = buffer.count
    }

    var overflowed: Bool { count > capacity }

    /// The bytes written; complete only when not `overflowed`.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: min(count, capacity)) }

    mutating func append(_ byte: UInt8) {
        if count < capacity { base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self) }
        count += 1
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if count + bytes.count <= capacity, let source = bytes.baseAddress {
            (base + count).copyMemory(from: source, byteCount: bytes.count)
        }
        count += bytes.count
    }

    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// `name: value\r\n`, or nothing when the name is not a token or the value holds CR, LF, NUL or
    /// another control byte (as `HTTPSerializer.isValid`): nothing a handler sets can split the head.
    mutating func appendField(_ name: String, _ value: String) {
        let start = count
        guard !name.isEmpty, appendValidated(name, HTTPSyntax.isTokenByte) else {
            count = start
            return
        }
        append(UInt8(ascii: ":"))
        append(UInt8(ascii: " "))
        guard appendValidated(value, HTTPSyntax.isFieldValueByte) else {
            count = start
            return
        }
        append(0x0D)
        append(0x0A)
    }

    /// Appends `text` when every byte passes `valid`; returns false, having appended nothing, otherwise.
    private mutating func appendValidated(_ text: String, _ valid: (UInt8) -> Bool) -> Bool {
        func appendIfValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            for byte in bytes where !valid(byte) { return false }
            append(UnsafeRawBufferPointer(bytes))
            return true
        }
        if let appended = text.utf8.withContiguousStorageIfAvailable(appendIfValid) { return appended }
        return Array(text.utf8).withUnsafeBufferPointer(appendIfValid)
    }

    /// Decimal digits, most significant first, without an intermediate allocation.
    mutating func appendDecimal(_ value: Int) {
        precondition(value >= 0, "negative length")
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { scratch in
            var index = scratch.count
            var rest = value
            repeat {
                index -= 1
                scratch[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            append(UnsafeRawBufferPointer(rebasing: scratch[index...]))
        }
    }
}
