import CPostgres
import FoundationEssentials
import GatewayCore

/// A libpq connection string (`postgres://user:pass@host:port/db?sslmode=...` or `host=... dbname=...`), checked
/// once, with what it takes to keep its password out of every message.
///
/// The string is handed to libpq untouched, so libpq applies `sslmode`, `sslrootcert`, `sslcert`, `options`,
/// `target_session_attrs` and the rest exactly as documented. The gateway adds defaults that the string (or the
/// `PG*` environment variables) may override: an application name, a connect timeout and TCP keepalives.
struct PostgresConnectionSettings: Sendable {
    /// The string as given (it may hold a password: never log it).
    let connectionString: String
    /// Safe for messages and logs.
    let masked: String
    /// Texts removed from libpq's messages: the password, decoded and as written.
    private let secrets: [String]

    /// Checks the string's syntax with libpq; throws a `StoreError` (password masked) when libpq rejects it.
    init(_ connectionString: String) throws(StoreError) {
        self.connectionString = connectionString
        masked = Self.maskingPassword(connectionString)
        var secrets: [String] = []
        var parseError: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(connectionString, &parseError) else {
            let reason = parseError.map { String(cString: $0) } ?? "out of memory"
            if let parseError { PQfreemem(parseError) }
            // The reason may quote part of the string; scrub what looks like a password.
            let scrubbed = Self.scrub(reason, secrets: Self.passwordCandidates(in: connectionString))
            throw StoreError("the PostgreSQL URL \(masked) is invalid: \(scrubbed.trimmingNewlines())")
        }
        defer { PQconninfoFree(options) }
        var option = options
        while let keyword = option.pointee.keyword {
            if String(cString: keyword) == "password", let value = option.pointee.val {
                secrets.append(String(cString: value))
            }
            option += 1
        }
        self.secrets = (secrets + Self.passwordCandidates(in: connectionString)).filter { $0.utf8.count >= 3 }
    }

    /// Defaults placed before the string, so that anything the string says wins (libpq's rule for
    /// `PQconnectdbParams` with `expand_dbname`).
    static let defaults: [(String, String)] = [
        ("fallback_application_name", "purview-gateway"),
        ("connect_timeout", "10"),
        ("keepalives", "1"),
        ("keepalives_idle", "30"),
        ("keepalives_interval", "10"),
        ("keepalives_count", "3"),
    ]

    /// `message` without the password (libpq rarely repeats it, but a malformed URL can be quoted back).
    func scrub(_ message: String) -> String { Self.scrub(message, secrets: secrets) }

    private static func scrub(_ message: String, secrets: [String]) -> String {
        var result = message
        for secret in secrets.sorted(by: { $0.utf8.count > $1.utf8.count }) {
            result = result.replacing(secret, with: "***")
        }
        return result
    }

    /// The passwords as written in `text`, and percent-decoded.
    private static func passwordCandidates(in text: String) -> [String] {
        passwordRanges(in: text).flatMap { range -> [String] in
            let written = String(text[range])
            return [written] + (written.percentDecoded.map { [$0] } ?? [])
        }
    }

    /// `text` with any password replaced by `***`: in a URL's authority (`user:secret@host`), in its query
    /// (`?password=secret`), or in a key/value string (`password=secret`, `password = 'a b'`).
    static func maskingPassword(_ text: String) -> String {
        var result = ""
        var position = text.startIndex
        for range in passwordRanges(in: text) {
            result += text[position..<range.lowerBound]
            result += "***"
            position = range.upperBound
        }
        return result + text[position...]
    }

    /// Where passwords are in a connection string, in order.
    private static func passwordRanges(in text: String) -> [Range<String.Index>] {
        if let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") {
            return passwordRanges(inURL: text, authorityStart: text.index(colon, offsetBy: 3))
        }
        return passwordRanges(inKeyValues: text)
    }

    private static func passwordRanges(inURL text: String, authorityStart: String.Index) -> [Range<String.Index>] {
        var ranges: [Range<String.Index>] = []
        let authorityEnd = text[authorityStart...].firstIndex(where: { $0 == "/" || $0 == "?" }) ?? text.endIndex
        let authority = text[authorityStart..<authorityEnd]
        if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
            ranges.append(authority.index(after: colon)..<at)
        }
        guard let question = text[authorityEnd...].firstIndex(of: "?") else { return ranges }
        var parameterStart = text.index(after: question)
        while parameterStart <= text.endIndex {
            let parameterEnd = text[parameterStart...].firstIndex(of: "&") ?? text.endIndex
            let parameter = text[parameterStart..<parameterEnd]
            if let equals = parameter.firstIndex(of: "=") {
                let key = String(parameter[..<equals])
                if (key.percentDecoded ?? key).lowercased() == "password" {
                    ranges.append(parameter.index(after: equals)..<parameterEnd)
                }
            }
            guard parameterEnd < text.endIndex else { break }
            parameterStart = text.index(after: parameterEnd)
        }
        return ranges
    }

    /// libpq's key/value syntax: `keyword = value`, values single-quoted (backslash escapes) or up to whitespace.
    private static func passwordRanges(inKeyValues text: String) -> [Range<String.Index>] {
        var ranges: [Range<String.Index>] = []
        var index = text.startIndex
        func skipWhitespace() {
            while index < text.endIndex, text[index].isWhitespace { index = text.index(after: index) }
        }
        func advance(escaping: Bool = true) {
            let escaped = escaping && text[index] == "\\"
            index = text.index(after: index)
            if escaped, index < text.endIndex { index = text.index(after: index) }
        }
        while index < text.endIndex {
            skipWhitespace()
            let keywordStart = index
            while index < text.endIndex, text[index] != "=", !text[index].isWhitespace { advance(escaping: false) }
            let keyword = text[keywordStart..<index].lowercased()
            skipWhitespace()
            guard index < text.endIndex, text[index] == "=" else {
                // Not key/value syntax after all; nothing more to find.
                if index < text.endIndex { advance() }
                continue
            }
            index = text.index(after: index)
            skipWhitespace()
            let valueStart = index
            if index < text.endIndex, text[index] == "'" {
                index = text.index(after: index)
                while index < text.endIndex, text[index] != "'" { advance() }
                if index < text.endIndex { index = text.index(after: index) }
            } else {
                while index < text.endIndex, !text[index].isWhitespace { advance() }
            }
            if keyword == "password" { ranges.append(valueStart..<index) }
        }
        return ranges
    }
}

extension String {
    func trimmingNewlines() -> String {
        var text = Substring(self)
        while let last = text.last, last.isNewline || last == " " { text = text.dropLast() }
        return String(text)
    }

    /// Percent-decoded as libpq decodes URL parts; nil when an escape is malformed or not UTF-8.
    var percentDecoded: String? {
        guard contains("%") else { return self }
        var bytes: [UInt8] = []
        var input = Array(utf8)[...]
        while let byte = input.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard input.count >= 2, let high = Self.hexDigit(input[input.startIndex]),
                let low = Self.hexDigit(input[input.startIndex + 1])
            else { return nil }
            bytes.append(high << 4 | low)
            input = input.dropFirst(2)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
