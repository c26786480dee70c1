/// Limits applied while parsing JSON text.
public struct JSONParsingOptions: Sendable, Hashable {
    /// The deepest nesting of arrays and objects accepted; `[[1]]` has depth 2.
    public var maximumDepth: Int
    /// The largest input accepted, in bytes.
    public var maximumInputLength: Int

    public init(maximumDepth: Int = 512, maximumInputLength: Int = 64 * 1024 * 1024) {
        self.maximumDepth = maximumDepth
        self.maximumInputLength = maximumInputLength
    }
}

/// Why a JSON text was rejected, and where.
///
/// `description` reads like "expected ',' or '}' after object member at line 3, column 14". `offset` is
/// the 0-based byte offset of the offending byte (the input length when the input ended too early);
/// `line` and `column` are 1-based, and the column counts Unicode scalars, not bytes.
public struct JSONParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A coarse classification, stable enough for metrics labels and tests.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case unexpectedEndOfInput, unexpectedCharacter, invalidNumber, numberOutOfRange, invalidString
            case invalidUnicode, nestingTooDeep, inputTooLarge
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let unexpectedEndOfInput = Code(.unexpectedEndOfInput)
        public static let unexpectedCharacter = Code(.unexpectedCharacter)
        public static let invalidNumber = Code(.invalidNumber)
        public static let numberOutOfRange = Code(.numberOutOfRange)
        /// A bad escape or an unescaped control character in a string.
        public static let invalidString = Code(.invalidString)
        /// Invalid UTF-8, a byte order mark, or a lone UTF-16 surrogate in a `\u` escape.
        public static let invalidUnicode = Code(.invalidUnicode)
        public static let nestingTooDeep = Code(.nestingTooDeep)
        public static let inputTooLarge = Code(.inputTooLarge)

        /// A short fixed name, e.g. `invalidNumber`.
        public var description: String { base.rawValue }
    }

    public let code: Code
    /// What is wrong, without the position, e.g. "expected ':' after object key".
    public let message: String
    public let offset: Int
    public let line: Int
    public let column: Int

    public init(code: Code, message: String, offset: Int, line: Int, column: Int) {
        self.code = code
        self.message = message
        self.offset = offset
        self.line = line
        self.column = column
    }

    public var description: String { "\(message) at line \(line), column \(column)" }
}

extension JSONValue {
    /// Parses one JSON text (RFC 8259, strictly).
    ///
    /// - No comments, trailing commas, leading zeros, single quotes, `NaN`/`Infinity`, or byte order mark.
    /// - Strings must be valid UTF-8; `\u` escapes must pair surrogates correctly: a lone surrogate is an
    ///   error (not replaced by U+FFFD), because a gateway that silently rewrites text cannot compare bodies.
    /// - Numbers become `Double`, correctly rounded; integers are exact up to 2^53. Numbers too large for a
    ///   `Double` are an error; numbers too small become 0.
    /// - Duplicate object keys: the last value wins, kept at the position of the key's first occurrence.
    public init(parsing bytes: some Sequence<UInt8>, options: JSONParsingOptions = JSONParsingOptions())
        throws(JSONParseError)
    {
        let result =
            bytes.withContiguousStorageIfAvailable { buffer in
                JSONValue.parse(buffer, options: options)
            }
            ?? Array(bytes).withUnsafeBufferPointer { JSONValue.parse($0, options: options) }
        self = try result.get()
    }

    /// Parses one JSON text held in a string; see `init(parsing:options:)` for the rules.
    public init(parsing text: String, options: JSONParsingOptions = JSONParsingOptions()) throws(JSONParseError) {
        var text = text
        let result = text.withUTF8 { JSONValue.parse($0, options: options) }
        self = try result.get()
    }

    /// Parses one JSON text from raw memory; see `init(parsing:options:)` for the rules.
    public init(parsing buffer: UnsafeRawBufferPointer, options: JSONParsingOptions = JSONParsingOptions())
        throws(JSONParseError)
    {
        self = try buffer.withMemoryRebound(to: UInt8.self) { JSONValue.parse($0, options: options) }.get()
    }

    static func parse(_ buffer: UnsafeBufferPointer<UInt8>, options: JSONParsingOptions) -> Result<
        JSONValue, JSONParseError
    > {
        var parser = JSONTextParser(bytes: buffer, maximumDepth: options.maximumDepth)
        if buffer.count > options.maximumInputLength {
            return .failure(
                parser.error(
                    .inputTooLarge,
                    "input of \(buffer.count) bytes exceeds the limit of \(options.maximumInputLength) bytes", at: 0))
        }
        return Result { () throws(JSONParseError) in try parser.parseDocument() }
    }
}

// ASCII bytes the grammar cares about.
private enum Byte {
    static let quote: UInt8 = 0x22
    static let backslash: UInt8 = 0x5C
    static let slash: UInt8 = 0x2F
    static let comma: UInt8 = 0x2C
    static let colon: UInt8 = 0x3A
    static let openBracket: UInt8 = 0x5B
    static let closeBracket: UInt8 = 0x5D
    static let openBrace: UInt8 = 0x7B
    static let closeBrace: UInt8 = 0x7D
    static let minus: UInt8 = 0x2D
    static let plus: UInt8 = 0x2B
    static let dot: UInt8 = 0x2E
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39
    static let lowerE: UInt8 = 0x65
    static let upperE: UInt8 = 0x45
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let newline: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
}

/// Exactly representable powers of ten, for the fast path of number conversion.
private let exactPowersOfTen: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
    1e19, 1e20, 1e21, 1e22,
]

/// A recursive-descent parser over a byte buffer. Recursion depth is bounded by `maximumDepth`.
private struct JSONTextParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let maximumDepth: Int
    var index = 0
    var depth = 0
    /// Reused for strings that contain escapes.
    var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            throw error(.invalidUnicode, "a byte order mark is not allowed", at: 0)
        }
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if index < bytes.count {
            throw error(.unexpectedCharacter, "unexpected \(describe(at: index)) after the JSON value", at: index)
        }
        return value
    }

    // MARK: values

    mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else {
            throw error(.unexpectedEndOfInput, "unexpected end of input, expected a JSON value", at: index)
        }
        switch bytes[index] {
        case Byte.openBrace: return try parseObject()
        case Byte.openBracket: return try parseArray()
        case Byte.quote: return .string(try parseString())
        case Byte.minus, Byte.zero...Byte.nine: return .number(try parseNumber())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case Byte.slash:
            throw error(.unexpectedCharacter, "comments are not allowed", at: index)
        default:
            throw error(.unexpectedCharacter, "unexpected \(describe(at: index)), expected a JSON value", at: index)
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let start = index
        let length = literal.utf8CodeUnitCount
        let expected = UnsafeRawBufferPointer(start: literal.utf8Start, count: length)
        for offset in 0..<length {
            guard start + offset < bytes.count else {
                throw error(
                    .unexpectedEndOfInput, "unexpected end of input in literal, expected '\(literal)'",
                    at: start + offset)
            }
            if bytes[start + offset] != expected[offset] {
                throw error(.unexpectedCharacter, "invalid literal, expected '\(literal)'", at: start)
            }
        }
        index = start + length
    }

    mutating func enterContainer() throws(JSONParseError) {
        depth += 1
        if depth > maximumDepth {
            throw error(.nestingTooDeep, "nesting is deeper than \(maximumDepth) levels", at: index)
        }
    }

    mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enterContainer()
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == Byte.closeBracket {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            if index < bytes.count, bytes[index] == Byte.closeBracket, !elements.isEmpty {
                throw error(.unexpectedCharacter, "a trailing comma is not allowed before ']'", at: index)
            }
            elements.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else {
                throw error(
                    .unexpectedEndOfInput, "unexpected end of input, expected ',' or ']' after array element",
                    at: index)
            }
            switch bytes[index] {
            case Byte.comma:
                index += 1
            case Byte.closeBracket:
                index += 1
                depth -= 1
                return .array(elements)
            default:
                throw error(.unexpectedCharacter, "expected ',' or ']' after array element", at: index)
            }
        }
    }

    mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enterContainer()
        index += 1
        var object = JSONObject()
        skipWhitespace()
        if index < bytes.count, bytes[index] == Byte.closeBrace {
            index += 1
            depth -= 1
            return .object(object)
        }
        var afterComma = false
        while true {
            skipWhitespace()
            guard index < bytes.count else {
                throw error(.unexpectedEndOfInput, "unexpected end of input, expected a string key", at: index)
            }
            guard bytes[index] == Byte.quote else {
                if afterComma, bytes[index] == Byte.closeBrace {
                    throw error(.unexpectedCharacter, "a trailing comma is not allowed before '}'", at: index)
                }
                throw error(
                    .unexpectedCharacter, "expected a string key in object, found \(describe(at: index))", at: index)
            }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count else {
                throw error(.unexpectedEndOfInput, "unexpected end of input, expected ':' after object key", at: index)
            }
            guard bytes[index] == Byte.colon else {
                throw error(.unexpectedCharacter, "expected ':' after object key", at: index)
            }
            index += 1
            skipWhitespace()
            object[key] = try parseValue()
            skipWhitespace()
            guard index < bytes.count else {
                throw error(
                    .unexpectedEndOfInput, "unexpected end of input, expected ',' or '}' after object member",
                    at: index)
            }
            switch bytes[index] {
            case Byte.comma:
                index += 1
                afterComma = true
            case Byte.closeBrace:
                index += 1
                depth -= 1
                return .object(object)
            default:
                throw error(.unexpectedCharacter, "expected ',' or '}' after object member", at: index)
            }
        }
    }

    // MARK: strings

    /// Parses a string starting at its opening quote. Text without escapes is decoded straight from the
    /// input; escapes switch to the scratch buffer.
    mutating func parseString() throws(JSONParseError) -> String {
        let count = bytes.count
        var i = index + 1
        var segmentStart = i
        var usesScratch = false
        let base = UnsafeRawPointer(bytes.baseAddress)
        while true {
            // Skip eight plain bytes at a time: none of '"', '\\', a control character or a non-ASCII byte.
            if let base {
                while i &+ 8 <= count {
                    let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    if JSONTextParser.needsAttention(word) { break }
                    i &+= 8
                }
            }
            guard i < count else {
                throw error(.unexpectedEndOfInput, "unexpected end of input in string", at: i)
            }
            let byte = bytes[i]
            if byte == Byte.quote {
                index = i + 1
                if usesScratch {
                    scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[segmentStart..<i]))
                    return String(decoding: scratch, as: UTF8.self)
                }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[segmentStart..<i]), as: UTF8.self)
            } else if byte == Byte.backslash {
                if !usesScratch {
                    usesScratch = true
                    scratch.removeAll(keepingCapacity: true)
                }
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[segmentStart..<i]))
                i = try decodeEscape(at: i)
                segmentStart = i
            } else if byte < 0x20 {
                throw error(
                    .invalidString, "unescaped control character \(scalarName(UInt32(byte))) in string", at: i)
            } else if byte < 0x80 {
                i += 1
            } else {
                i = try validateUTF8Sequence(at: i)
            }
        }
    }

    /// Whether any byte of `word` is '"', '\\', below 0x20 or above 0x7F (may report a false positive
    /// only next to a byte that really matches, which the byte-wise loop then handles).
    @inline(__always)
    static func needsAttention(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let control = (word &- ones &* 0x20) & ~word
        let quoteZero = (quote &- ones) & ~quote
        let backslashZero = (backslash &- ones) & ~backslash
        return (word | control | quoteZero | backslashZero) & highBits != 0
    }

    /// Decodes the escape starting at the backslash at `start` into `scratch`; returns the index after it.
    mutating func decodeEscape(at start: Int) throws(JSONParseError) -> Int {
        guard start + 1 < bytes.count else {
            throw error(.unexpectedEndOfInput, "unexpected end of input in string escape", at: start + 1)
        }
        let replacement: UInt8
        switch bytes[start + 1] {
        case Byte.quote: replacement = Byte.quote
        case Byte.backslash: replacement = Byte.backslash
        case Byte.slash: replacement = Byte.slash
        case UInt8(ascii: "b"): replacement = 0x08
        case UInt8(ascii: "f"): replacement = 0x0C
        case UInt8(ascii: "n"): replacement = Byte.newline
        case UInt8(ascii: "r"): replacement = Byte.carriageReturn
        case UInt8(ascii: "t"): replacement = Byte.tab
        case UInt8(ascii: "u"):
            return try decodeUnicodeEscape(at: start)
        default:
            throw error(.invalidString, "invalid escape sequence '\\\(describeRaw(at: start + 1))'", at: start)
        }
        scratch.append(replacement)
        return start + 2
    }

    mutating func decodeUnicodeEscape(at start: Int) throws(JSONParseError) -> Int {
        let first = try hexQuad(at: start + 2, escapeStart: start)
        var scalarValue = UInt32(first)
        var end = start + 6
        if (0xD800...0xDBFF).contains(first) {
            guard end + 1 < bytes.count, bytes[end] == Byte.backslash, bytes[end + 1] == UInt8(ascii: "u") else {
                throw error(
                    .invalidUnicode, "lone surrogate \(escapeName(first)) is not allowed; expected a low surrogate",
                    at: start)
            }
            let second = try hexQuad(at: end + 2, escapeStart: end)
            guard (0xDC00...0xDFFF).contains(second) else {
                throw error(
                    .invalidUnicode,
                    "lone surrogate \(escapeName(first)) is not allowed; \(escapeName(second)) is not a low surrogate",
                    at: start)
            }
            scalarValue = 0x10000 + ((UInt32(first) - 0xD800) << 10) + (UInt32(second) - 0xDC00)
            end += 6
        } else if (0xDC00...0xDFFF).contains(first) {
            throw error(.invalidUnicode, "lone surrogate \(escapeName(first)) is not allowed", at: start)
        }
        appendUTF8(scalarValue)
        return end
    }

    func hexQuad(at position: Int, escapeStart: Int) throws(JSONParseError) -> UInt16 {
        guard position + 4 <= bytes.count else {
            throw error(.unexpectedEndOfInput, "unexpected end of input in \\u escape", at: bytes.count)
        }
        var value: UInt16 = 0
        for offset in 0..<4 {
            let byte = bytes[position + offset]
            let digit: UInt8
            switch byte {
            case Byte.zero...Byte.nine: digit = byte - Byte.zero
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default:
                throw error(.invalidString, "invalid \\u escape, expected 4 hex digits", at: escapeStart)
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Checks one multi-byte UTF-8 sequence (Unicode table 3-7: no overlongs, no surrogates, nothing above
    /// U+10FFFF); returns the index after it. The error points at the first bad byte.
    func validateUTF8Sequence(at start: Int) throws(JSONParseError) -> Int {
        let lead = bytes[start]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            secondRange = 0x80...0x9F
        case 0xF0:
            length = 4
            secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            secondRange = 0x80...0x8F
        default:
            throw error(.invalidUnicode, "invalid UTF-8 byte 0x\(hex(lead)) in string", at: start)
        }
        for offset in 1..<length {
            let position = start + offset
            guard position < bytes.count else {
                throw error(.unexpectedEndOfInput, "unexpected end of input in a UTF-8 sequence", at: position)
            }
            let byte = bytes[position]
            let range = offset == 1 ? secondRange : 0x80...0xBF
            guard range.contains(byte) else {
                throw error(.invalidUnicode, "invalid UTF-8 byte 0x\(hex(byte)) in string", at: position)
            }
        }
        return start + length
    }

    // MARK: numbers

    mutating func parseNumber() throws(JSONParseError) -> Double {
        let start = index
        let count = bytes.count
        var i = start
        var negative = false
        if bytes[i] == Byte.minus {
            negative = true
            i += 1
        }
        guard i < count, isDigit(bytes[i]) else {
            if i >= count {
                throw error(.unexpectedEndOfInput, "unexpected end of input, expected a digit after '-'", at: i)
            }
            throw error(.invalidNumber, "expected a digit after '-'", at: i)
        }

        // Up to 19 significant digits fit a UInt64; longer numbers take the slow path.
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var decimalExponent = 0
        var truncated = false

        if bytes[i] == Byte.zero {
            i += 1
            if i < count, isDigit(bytes[i]) {
                throw error(.invalidNumber, "leading zeros are not allowed in numbers", at: i)
            }
        } else {
            while i < count, isDigit(bytes[i]) {
                if significantDigits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(bytes[i] - Byte.zero)
                    significantDigits += 1
                } else {
                    truncated = true
                }
                i += 1
            }
        }
        if i < count, bytes[i] == Byte.dot {
            i += 1
            guard i < count, isDigit(bytes[i]) else {
                if i >= count {
                    throw error(
                        .unexpectedEndOfInput, "unexpected end of input, expected a digit after the decimal point",
                        at: i)
                }
                throw error(.invalidNumber, "expected a digit after the decimal point", at: i)
            }
            while i < count, isDigit(bytes[i]) {
                let digit = bytes[i] - Byte.zero
                if mantissa == 0 && digit == 0 {
                    decimalExponent -= 1
                } else if significantDigits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(digit)
                    significantDigits += 1
                    decimalExponent -= 1
                } else {
                    truncated = true
                }
                i += 1
            }
        }
        if i < count, bytes[i] == Byte.lowerE || bytes[i] == Byte.upperE {
            i += 1
            var exponentNegative = false
            if i < count, bytes[i] == Byte.plus || bytes[i] == Byte.minus {
                exponentNegative = bytes[i] == Byte.minus
                i += 1
            }
            guard i < count, isDigit(bytes[i]) else {
                if i >= count {
                    throw error(
                        .unexpectedEndOfInput, "unexpected end of input, expected a digit in the exponent", at: i)
                }
                throw error(.invalidNumber, "expected a digit in the exponent", at: i)
            }
            var exponent = 0
            while i < count, isDigit(bytes[i]) {
                // Saturate: anything this large is out of range or zero anyway.
                if exponent < 100_000 { exponent = exponent * 10 + Int(bytes[i] - Byte.zero) }
                i += 1
            }
            decimalExponent += exponentNegative ? -exponent : exponent
        }
        index = i

        // Clinger's fast path: an exact mantissa and an exact power of ten give a correctly rounded result.
        if !truncated, mantissa <= 1 << 53, (-22...22).contains(decimalExponent) {
            var value = Double(mantissa)
            if decimalExponent > 0 {
                value *= exactPowersOfTen[decimalExponent]
            } else if decimalExponent < 0 {
                value /= exactPowersOfTen[-decimalExponent]
            }
            return negative ? -value : value
        }
        if mantissa == 0 && !truncated {
            return negative ? -0.0 : 0.0
        }
        // The grammar is already checked; the standard library converts with correct rounding.
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw error(.numberOutOfRange, "number is too large to represent", at: start)
        }
        return value
    }

    // MARK: helpers

    @inline(__always)
    func isDigit(_ byte: UInt8) -> Bool { byte &- Byte.zero < 10 }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case Byte.space, Byte.newline, Byte.carriageReturn, Byte.tab: index += 1
            default: return
            }
        }
    }

    func describe(at position: Int) -> String {
        let byte = bytes[position]
        if byte >= 0x21 && byte < 0x7F { return "character '\(Character(UnicodeScalar(byte)))'" }
        if byte < 0x80 { return "character \(scalarName(UInt32(byte)))" }
        return "byte 0x\(hex(byte))"
    }

    func describeRaw(at position: Int) -> String {
        let byte = bytes[position]
        if byte >= 0x21 && byte < 0x7F { return String(Character(UnicodeScalar(byte))) }
        return "<0x\(hex(byte))>"
    }

    func error(_ code: JSONParseError.Code, _ message: String, at offset: Int) -> JSONParseError {
        let (line, column) = JSONTextParser.lineAndColumn(of: offset, in: bytes)
        return JSONParseError(code: code, message: message, offset: offset, line: line, column: column)
    }

    /// Lines end at LF, CRLF or a lone CR; columns count Unicode scalars (UTF-8 lead bytes).
    static func lineAndColumn(of offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> (Int, Int) {
        var line = 1
        var column = 1
        var i = 0
        let end = min(offset, bytes.count)
        while i < end {
            let byte = bytes[i]
            if byte == Byte.newline {
                line += 1
                column = 1
            } else if byte == Byte.carriageReturn {
                if i + 1 < bytes.count, bytes[i + 1] == Byte.newline {
                    // Counted at the LF.
                } else {
                    line += 1
                    column = 1
                }
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        return (line, column)
    }
}

private func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}

private func scalarName(_ value: UInt32) -> String {
    let text = String(value, radix: 16, uppercase: true)
    return "U+" + String(repeating: "0", count: max(0, 4 - text.count)) + text
}

private func escapeName(_ value: UInt16) -> String {
    let text = String(value, radix: 16, uppercase: true)
    return "\\u" + String(repeating: "0", count: max(0, 4 - text.count)) + text
}
