/// How `JSONValue` is written as text. The default is compact output with keys in insertion order.
public struct JSONWritingOptions: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Object keys in ascending order of their UTF-16 code units (the order RFC 8785 uses).
    public static let sortedKeys = JSONWritingOptions(rawValue: 1 << 0)
    /// Two-space indentation, one member per line, `"key": value`.
    public static let prettyPrinted = JSONWritingOptions(rawValue: 1 << 1)

    /// Sorted keys and no whitespace: equal values give equal bytes, so bodies can be compared byte by byte.
    /// Numbers are written the same way in every mode (see `JSONValue.serialized(options:)`).
    public static let canonical: JSONWritingOptions = [.sortedKeys]
}

extension JSONValue {
    /// Writes the value as UTF-8 JSON text.
    ///
    /// Strings escape `"`, `\` and the control characters U+0000–U+001F (as `\b \f \n \r \t` or `\u00xx`);
    /// everything else, `/` included, is written as is. Numbers use the shortest text that parses back to the
    /// same `Double`, formatted like ECMAScript's `Number.prototype.toString` (RFC 8785): integers below 10^21
    /// without a fraction or exponent (`1`, not `1.0`), `1e-7` and `1e+21` style exponents, `-0` as `0`.
    /// NaN and infinities, which JSON cannot express, are written as `null`.
    public func serialized(options: JSONWritingOptions = []) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(to: &output, options: options)
        return output
    }

    /// Appends the value as UTF-8 JSON text to `output`.
    public func write(to output: inout [UInt8], options: JSONWritingOptions = []) {
        var writer = JSONTextWriter(
            output: output, sortKeys: options.contains(.sortedKeys), pretty: options.contains(.prettyPrinted))
        output = []
        writer.writeValue(self, indent: 0)
        output = writer.output
    }

    /// The value as a JSON string.
    public func serializedString(options: JSONWritingOptions = []) -> String {
        String(decoding: serialized(options: options), as: UTF8.self)
    }

    /// The canonical form: sorted keys, no whitespace, shortest round-trip numbers.
    public var canonicalBytes: [UInt8] { serialized(options: .canonical) }

    /// The canonical form as a string; see `canonicalBytes`.
    public var canonicalString: String { serializedString(options: .canonical) }
}

extension JSONValue: CustomStringConvertible {
    /// Compact JSON text.
    public var description: String { serializedString() }
}

private struct JSONTextWriter {
    var output: [UInt8]
    let sortKeys: Bool
    let pretty: Bool

    mutating func writeValue(_ value: JSONValue, indent: Int) {
        switch value {
        case .null: appendASCII("null")
        case .bool(let flag): appendASCII(flag ? "true" : "false")
        case .number(let number): writeNumber(number)
        case .string(let text): writeString(text)
        case .array(let elements): writeArray(elements, indent: indent)
        case .object(let object): writeObject(object, indent: indent)
        }
    }

    mutating func writeArray(_ elements: [JSONValue], indent: Int) {
        output.append(UInt8(ascii: "["))
        if elements.isEmpty {
            output.append(UInt8(ascii: "]"))
            return
        }
        for (position, element) in elements.enumerated() {
            if position > 0 { output.append(UInt8(ascii: ",")) }
            newline(indent: indent + 1)
            writeValue(element, indent: indent + 1)
        }
        newline(indent: indent)
        output.append(UInt8(ascii: "]"))
    }

    mutating func writeObject(_ object: JSONObject, indent: Int) {
        output.append(UInt8(ascii: "{"))
        if object.isEmpty {
            output.append(UInt8(ascii: "}"))
            return
        }
        // Members are taken by position: looking each key up again would search the object once per member.
        let keys = object.keys
        let values = object.values
        if sortKeys {
            let order = keys.indices.sorted { keys[$0].utf16.lexicographicallyPrecedes(keys[$1].utf16) }
            for (position, index) in order.enumerated() {
                writeMember(keys[index], values[index], first: position == 0, indent: indent)
            }
        } else {
            for index in keys.indices { writeMember(keys[index], values[index], first: index == 0, indent: indent) }
        }
        newline(indent: indent)
        output.append(UInt8(ascii: "}"))
    }

    private mutating func writeMember(_ key: String, _ value: JSONValue, first: Bool, indent: Int) {
        if !first { output.append(UInt8(ascii: ",")) }
        newline(indent: indent + 1)
        writeString(key)
        output.append(UInt8(ascii: ":"))
        if pretty { output.append(UInt8(ascii: " ")) }
        writeValue(value, indent: indent + 1)
    }

    @inline(__always)
    mutating func newline(indent: Int) {
        guard pretty else { return }
        output.append(UInt8(ascii: "\n"))
        for _ in 0..<indent {
            output.append(UInt8(ascii: " "))
            output.append(UInt8(ascii: " "))
        }
    }

    mutating func appendASCII(_ text: StaticString) {
        output.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func writeString(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            output.append(UInt8(ascii: "\""))
            var segmentStart = 0
            for position in 0..<utf8.count {
                let byte = utf8[position]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[segmentStart..<position]))
                segmentStart = position + 1
                output.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""): output.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): output.append(UInt8(ascii: "\\"))
                case 0x08: output.append(UInt8(ascii: "b"))
                case 0x0C: output.append(UInt8(ascii: "f"))
                case 0x0A: output.append(UInt8(ascii: "n"))
                case 0x0D: output.append(UInt8(ascii: "r"))
                case 0x09: output.append(UInt8(ascii: "t"))
                default:
                    let hexDigits: StaticString = "0123456789abcdef"
                    output.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    output.append(hexDigits.utf8Start[Int(byte >> 4)])
                    output.append(hexDigits.utf8Start[Int(byte & 0x0F)])
                }
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[segmentStart..<utf8.count]))
            output.append(UInt8(ascii: "\""))
        }
    }

    mutating func writeNumber(_ number: Double) {
        JSONNumberFormatter.append(number, to: &output)
    }
}

/// Formats doubles the way ECMAScript's `Number.prototype.toString` does, from the shortest round-trip
/// digits that the standard library's `description` produces.
enum JSONNumberFormatter {
    static func append(_ number: Double, to output: inout [UInt8]) {
        guard number.isFinite else {
            output.append(contentsOf: Array("null".utf8))
            return
        }
        if number == 0 {
            output.append(UInt8(ascii: "0"))
            return
        }
        // Integers within 2^53 are exact: print them directly.
        if number.magnitude < 9_007_199_254_740_992, number == number.rounded(.towardZero) {
            appendInteger(Int64(number), to: &output)
            return
        }
        if number < 0 { output.append(UInt8(ascii: "-")) }
        let (digits, pointPosition) = shortestDigits(of: number.magnitude)
        appendECMAScriptForm(digits: digits, pointPosition: pointPosition, to: &output)
    }

    static func string(_ number: Double) -> String {
        var output: [UInt8] = []
        append(number, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    private static func appendInteger(_ value: Int64, to output: inout [UInt8]) {
        if value < 0 { output.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var reversed: [UInt8] = []
        repeat {
            reversed.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        output.append(contentsOf: reversed.reversed())
    }

    /// The significant digits (no leading or trailing zeros) and the position `n` of the decimal point
    /// relative to them, so that the value is `0.d1d2…dk × 10^n`.
    static func shortestDigits(of magnitude: Double) -> (digits: [UInt8], pointPosition: Int) {
        let text = Array(magnitude.description.utf8)
        var mantissaEnd = text.count
        var exponent = 0
        if let e = text.firstIndex(of: UInt8(ascii: "e")) {
            mantissaEnd = e
            var sign = 1
            var position = e + 1
            if text[position] == UInt8(ascii: "-") {
                sign = -1
                position += 1
            } else if text[position] == UInt8(ascii: "+") {
                position += 1
            }
            while position < text.count {
                exponent = exponent * 10 + Int(text[position] - UInt8(ascii: "0"))
                position += 1
            }
            exponent *= sign
        }
        var digits: [UInt8] = []
        var integerDigits = 0
        var seenPoint = false
        for byte in text[0..<mantissaEnd] {
            if byte == UInt8(ascii: ".") {
                seenPoint = true
            } else {
                digits.append(byte)
                if !seenPoint { integerDigits += 1 }
            }
        }
        var pointPosition = integerDigits + exponent
        var leadingZeros = 0
        while leadingZeros < digits.count - 1, digits[leadingZeros] == UInt8(ascii: "0") { leadingZeros += 1 }
        digits.removeFirst(leadingZeros)
        pointPosition -= leadingZeros
        while digits.count > 1, digits.last == UInt8(ascii: "0") { digits.removeLast() }
        return (digits, pointPosition)
    }

    private static func appendECMAScriptForm(digits: [UInt8], pointPosition n: Int, to output: inout [UInt8]) {
        let k = digits.count
        if k <= n && n <= 21 {
            output.append(contentsOf: digits)
            output.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: n - k))
        } else if 0 < n && n <= 21 {
            output.append(contentsOf: digits[0..<n])
            output.append(UInt8(ascii: "."))
            output.append(contentsOf: digits[n...])
        } else if -6 < n && n <= 0 {
            output.append(UInt8(ascii: "0"))
            output.append(UInt8(ascii: "."))
            output.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -n))
            output.append(contentsOf: digits)
        } else {
            output.append(digits[0])
            if k > 1 {
                output.append(UInt8(ascii: "."))
                output.append(contentsOf: digits[1...])
            }
            output.append(UInt8(ascii: "e"))
            let exponent = n - 1
            output.append(exponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            output.append(contentsOf: Array(String(exponent.magnitude).utf8))
        }
    }
}
