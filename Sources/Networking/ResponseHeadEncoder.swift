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

    static func encode(status: HTTPStatus, fields: HTTPFields, extras: Extras, into buffer: inout [UInt8]) {
        appendStatusLine(status, into: &buffer)
        var sawDate = false
        var sawServer = false
        var sawRequestID = false
        var sawVary = false
        for field in fields {
            let name = field.name.utf8
            switch name.count {
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
            guard HTTPSerializer.isValid(field) else { continue }
            buffer.append(contentsOf: name)
            buffer.append(UInt8(ascii: ":"))
            buffer.append(0x20)
            buffer.append(contentsOf: field.value.utf8)
            buffer.append(0x0D)
            buffer.append(0x0A)
        }
        if extras.varyAcceptEncoding {
            var values = fields.values("Vary").filter { HTTPSerializer.isValid(HTTPField(name: "Vary", value: $0)) }
            if sawVary, values.contains(where: { $0.contains("*") }) {
                appendLine("Vary", "*", into: &buffer)
            } else {
                values.append("Accept-Encoding")
                appendLine("Vary", values.joined(separator: ", "), into: &buffer)
            }
        }
        if extras.contentEncodingGzip { buffer.append(contentsOf: contentEncodingGzipLine) }
        if let requestID = extras.requestID, !sawRequestID { appendLine(requestID.name, requestID.value, into: &buffer) }
        if !sawDate { buffer.append(contentsOf: extras.dateLine) }
        if !sawServer, let serverLine = extras.serverLine { buffer.append(contentsOf: serverLine) }
        switch extras.framing {
        case .contentLength(let length):
            buffer.append(contentsOf: contentLengthPrefix)
            appendDecimal(length, into: &buffer)
            buffer.append(0x0D)
            buffer.append(0x0A)
        case .chunked:
            buffer.append(contentsOf: chunkedLine)
        case .untilClose, .none:
            break
        }
        if extras.closeAfter {
            buffer.append(contentsOf: connectionCloseLine)
        } else if extras.announceKeepAlive {
            buffer.append(contentsOf: connectionKeepAliveLine)
        }
        buffer.append(0x0D)
        buffer.append(0x0A)
    }

    /// `Server: name\r\n`, or nil when the name is unset or would not be a valid field value.
    static func serverLine(_ name: String?) -> [UInt8]? {
        guard let name, !name.isEmpty, HTTPSerializer.isValid(HTTPField(name: "Server", value: name)) else { return nil }
        return Array("Server: \(name)\r\n".utf8)
    }

    static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    private static let contentLengthPrefix: [UInt8] = Array("Content-Length: ".utf8)
    private static let chunkedLine: [UInt8] = Array("Transfer-Encoding: chunked\r\n".utf8)
    private static let connectionCloseLine: [UInt8] = Array("Connection: close\r\n".utf8)
    private static let connectionKeepAliveLine: [UInt8] = Array("Connection: keep-alive\r\n".utf8)
    private static let contentEncodingGzipLine: [UInt8] = Array("Content-Encoding: gzip\r\n".utf8)

    /// "HTTP/1.1 200 OK\r\n" for every standard status, built once. The server always speaks HTTP/1.1
    /// (RFC 9110 §2.5: a server sends its highest version; HTTP/1.0 clients get HTTP/1.0-safe framing).
    private static let statusLines: [(reason: String, line: [UInt8])?] = (0..<600).map { code in
        let status = HTTPStatus(code: code)
        guard code >= 100, !status.reasonPhrase.isEmpty else { return nil }
        return (status.reasonPhrase, Array("HTTP/1.1 \(code) \(status.reasonPhrase)\r\n".utf8))
    }

    private static func appendStatusLine(_ status: HTTPStatus, into buffer: inout [UInt8]) {
        if status.code >= 0, status.code < statusLines.count, let cached = statusLines[status.code],
            cached.reason == status.reasonPhrase
        {
            buffer.append(contentsOf: cached.line)
            return
        }
        buffer.append(contentsOf: "HTTP/1.1 ".utf8)
        appendDecimal(min(max(status.code, 100), 999), into: &buffer)
        buffer.append(0x20)
        for byte in status.reasonPhrase.utf8 where HTTPSyntax.isFieldValueByte(byte) { buffer.append(byte) }
        buffer.append(0x0D)
        buffer.append(0x0A)
    }

    private static func appendLine(_ name: String, _ value: String, into buffer: inout [UInt8]) {
        guard HTTPSerializer.isValid(HTTPField(name: name, value: value)) else { return }
        buffer.append(contentsOf: name.utf8)
        buffer.append(UInt8(ascii: ":"))
        buffer.append(0x20)
        buffer.append(contentsOf: value.utf8)
        buffer.append(0x0D)
        buffer.append(0x0A)
    }

    /// Decimal digits without an intermediate allocation.
    static func appendDecimal(_ value: Int, into buffer: inout [UInt8]) {
        precondition(value >= 0, "negative length")
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            buffer.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

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
