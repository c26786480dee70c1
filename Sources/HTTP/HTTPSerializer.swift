/// Writes HTTP/1.1 heads and chunked framing into byte buffers (RFC 9112).
///
/// Nothing a handler puts in a head can split it: fields whose name is not a token, or whose value holds
/// CR, LF, NUL or another control byte, are dropped rather than written; control bytes are removed from
/// reason phrases and targets; a status code that is not three digits is written as 500.
public enum HTTPSerializer {
    public static func write(_ head: HTTPResponseHead, into buffer: inout [UInt8]) {
        buffer.append(contentsOf: head.version == .http1_0 ? http10 : http11)
        buffer.append(0x20)
        if (100...999).contains(head.status.code) {
            appendDecimal(head.status.code, into: &buffer)
            buffer.append(0x20)
            for byte in head.status.reasonPhrase.utf8 where HTTPSyntax.isFieldValueByte(byte) { buffer.append(byte) }
        } else {
            buffer.append(contentsOf: "500 Internal Server Error".utf8)
        }
        buffer.append(contentsOf: crlf)
        writeFields(head.fields, into: &buffer)
        buffer.append(contentsOf: crlf)
    }

    public static func write(_ head: HTTPRequestHead, into buffer: inout [UInt8]) {
        buffer.append(contentsOf: head.method.rawValue.utf8)
        buffer.append(0x20)
        let targetStart = buffer.count
        for byte in head.target.utf8 where byte > 0x20 && byte < 0x7F { buffer.append(byte) }
        if buffer.count == targetStart { buffer.append(UInt8(ascii: "/")) }
        buffer.append(0x20)
        buffer.append(contentsOf: head.version == .http1_0 ? http10 : http11)
        buffer.append(contentsOf: crlf)
        writeFields(head.fields, into: &buffer)
        buffer.append(contentsOf: crlf)
    }

    /// One chunk: size line, data, CRLF. An empty input writes nothing (it would end the body).
    public static func writeChunk(_ bytes: some Collection<UInt8>, into buffer: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        appendHex(bytes.count, into: &buffer)
        buffer.append(contentsOf: crlf)
        buffer.append(contentsOf: bytes)
        buffer.append(contentsOf: crlf)
    }

    /// The last chunk and the trailer section that ends a chunked body.
    public static func writeLastChunk(trailers: HTTPFields = HTTPFields(), into buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "0"))
        buffer.append(contentsOf: crlf)
        writeFields(trailers, into: &buffer)
        buffer.append(contentsOf: crlf)
    }

    /// True when a field may be written as is.
    public static func isValid(_ field: HTTPField) -> Bool {
        HTTPSyntax.isToken(field.name) && HTTPSyntax.isFieldValue(field.value)
    }

    private static let http10: [UInt8] = Array("HTTP/1.0".utf8)
    private static let http11: [UInt8] = Array("HTTP/1.1".utf8)
    private static let crlf: [UInt8] = [0x0D, 0x0A]

    private static func writeFields(_ fields: HTTPFields, into buffer: inout [UInt8]) {
        for field in fields where isValid(field) {
            buffer.append(contentsOf: field.name.utf8)
            buffer.append(UInt8(ascii: ":"))
            buffer.append(0x20)
            buffer.append(contentsOf: field.value.utf8)
            buffer.append(contentsOf: crlf)
        }
    }

    /// Appends a non-negative integer in decimal.
    static func appendDecimal(_ value: Int, into buffer: inout [UInt8]) {
        appendDigits(value, radix: 10, into: &buffer)
    }

    /// Appends a non-negative integer in lowercase hexadecimal (chunk sizes).
    static func appendHex(_ value: Int, into buffer: inout [UInt8]) {
        appendDigits(value, radix: 16, into: &buffer)
    }

    private static func appendDigits(_ value: Int, radix: Int, into buffer: inout [UInt8]) {
        precondition(value >= 0, "negative number in HTTP framing")
        // Digits come out least significant first: write them, then reverse them in place.
        let start = buffer.count
        var rest = value
        repeat {
            let digit = UInt8(rest % radix)
            buffer.append(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
            rest /= radix
        } while rest > 0
        buffer[start...].reverse()
    }
}
