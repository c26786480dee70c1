/// Where the gateway keeps its requests, as given by `GATEWAY_DATABASE_URL`.
///
/// Accepted forms:
/// - `sqlite:///var/lib/gateway.db`: an absolute path (three slashes: an empty host, then the path).
/// - `sqlite:relative/gateway.db`, `sqlite:/abs/gateway.db`: the path as written after the colon.
/// - `sqlite://./relative/gateway.db` (or `sqlite://../x.db`): a path relative to the working directory.
/// - `postgres://...`, `postgresql://...`: PostgreSQL, kept verbatim for the libpq store.
///
/// `sqlite://name/x.db` is refused: it is ambiguous (host `name`, or relative `name/x.db`?). Percent escapes in a
/// SQLite path are decoded (`%20` is a space); query strings are refused rather than silently ignored.
public enum DatabaseURL: Sendable, Hashable {
    case sqlite(path: String)
    /// A libpq connection URI, verbatim (it may hold a password: never log it).
    case postgres(String)

    /// The environment variable that names the database.
    public static let environmentVariable = "GATEWAY_DATABASE_URL"

    /// Used when `GATEWAY_DATABASE_URL` is unset or empty.
    public static let defaultValue = DatabaseURL.sqlite(path: "./.purview-gateway/gateway.db")

    /// The database named by `GATEWAY_DATABASE_URL` in `environment`, or ``defaultValue`` when it is unset or empty.
    public static func fromEnvironment(_ environment: [String: String]) throws(DatabaseURLError) -> DatabaseURL {
        guard let text = environment[environmentVariable], !text.isEmpty else { return defaultValue }
        return try parse(text)
    }

    /// Parses a database URL; see the type's documentation for the accepted forms.
    public static func parse(_ text: String) throws(DatabaseURLError) -> DatabaseURL {
        let trimmed = text.trimmingWhitespace()
        guard let colon = trimmed.firstIndex(of: ":") else {
            throw DatabaseURLError("is not a URL: expected sqlite:///path or postgres://...")
        }
        let scheme = trimmed[..<colon].lowercased()
        let rest = trimmed[trimmed.index(after: colon)...]
        switch scheme {
        case "postgres", "postgresql":
            guard rest.hasPrefix("//") else {
                throw DatabaseURLError("has a \(scheme) URL without '//': expected \(scheme)://host/database")
            }
            return .postgres(trimmed)
        case "sqlite", "sqlite3":
            return .sqlite(path: try sqlitePath(String(rest)))
        default:
            // Only the scheme is named: the rest may hold a password.
            throw DatabaseURLError("has the unsupported scheme '\(scheme)': use sqlite:///path or postgres://...")
        }
    }

    private static func sqlitePath(_ rest: String) throws(DatabaseURLError) -> String {
        if rest.contains("?") || rest.contains("#") {
            throw DatabaseURLError("has a query or fragment, which SQLite URLs do not support")
        }
        var path = rest
        if path.hasPrefix("//") {
            let afterAuthority = path.dropFirst(2)
            if afterAuthority.hasPrefix("/") {
                path = String(afterAuthority)
            } else if afterAuthority == "." || afterAuthority == ".." || afterAuthority.hasPrefix("./")
                || afterAuthority.hasPrefix("../")
            {
                path = String(afterAuthority)
            } else {
                throw DatabaseURLError(
                    "is ambiguous: write sqlite:///absolute/path, sqlite:relative/path or sqlite://./relative/path")
            }
        }
        let decoded = try percentDecoded(path)
        guard !decoded.isEmpty, decoded != "/" else { throw DatabaseURLError("names no SQLite file") }
        guard !decoded.hasSuffix("/") else { throw DatabaseURLError("names a directory, not a SQLite file") }
        guard !decoded.utf8.contains(0) else { throw DatabaseURLError("has a NUL byte in its path") }
        return decoded
    }

    private static func percentDecoded(_ text: String) throws(DatabaseURLError) -> String {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var input = Array(text.utf8)[...]
        while let byte = input.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard input.count >= 2, let high = hexValue(input[input.startIndex]),
                let low = hexValue(input[input.startIndex + 1])
            else { throw DatabaseURLError("has a malformed percent escape") }
            bytes.append(high << 4 | low)
            input = input.dropFirst(2)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw DatabaseURLError("has percent escapes that are not UTF-8")
        }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension DatabaseURL: CustomStringConvertible {
    /// Safe to log: a PostgreSQL URL's password is masked.
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let text): Self.maskingPassword(text)
        }
    }

    /// Masks the password wherever libpq would read one: `user:secret@`, `?password=secret`.
    private static func maskingPassword(_ text: String) -> String {
        PostgresConnectionSettings.maskingPassword(text)
    }
}

/// `GATEWAY_DATABASE_URL` could not be understood. The message never repeats the URL (it may hold a password).
public struct DatabaseURLError: Error, Sendable, Hashable, CustomStringConvertible {
    public let reason: String

    init(_ reason: String) { self.reason = reason }

    public var description: String { "\(DatabaseURL.environmentVariable) \(reason)" }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        let characters = Substring(self).drop(while: \.isWhitespace)
        return String(characters.reversed().drop(while: \.isWhitespace).reversed())
    }
}
