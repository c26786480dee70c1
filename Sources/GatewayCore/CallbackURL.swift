/// A webhook receiver's URL, as far as the gateway accepts one: absolute `http`/`https`, printable ASCII,
/// no user information (`user:pass@`), no fragment. Which hosts and schemes a client may use is decided
/// against its keys-file settings by the API.
public struct CallbackURL: Sendable, Hashable {
    public var isHTTPS: Bool
    /// Lowercased; IPv6 literals without brackets.
    public var host: String
    public var port: Int?

    public static let maximumLength = 2048

    /// Parses `text`, or says why it is not acceptable.
    public static func parse(_ text: String) -> Result<CallbackURL, CallbackURLProblem> {
        guard text.utf8.count <= maximumLength else {
            return .failure(CallbackURLProblem("must be at most \(maximumLength) characters"))
        }
        guard text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(CallbackURLProblem("must be printable ASCII without spaces (percent-encode the rest)"))
        }
        let lowered = text.lowercased()
        let isHTTPS: Bool
        let rest: Substring
        if lowered.hasPrefix("https://") {
            isHTTPS = true
            rest = text.dropFirst(8)
        } else if lowered.hasPrefix("http://") {
            isHTTPS = false
            rest = text.dropFirst(7)
        } else {
            return .failure(CallbackURLProblem("must be an absolute https URL"))
        }
        guard !text.contains("#") else { return .failure(CallbackURLProblem("must not have a fragment (#...)")) }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard !authority.contains("@") else {
            return .failure(CallbackURLProblem("must not carry user information (user:password@)"))
        }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                return .failure(CallbackURLProblem("has an unterminated IPv6 literal"))
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(CallbackURLProblem("has a malformed host")) }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        var port: Int?
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value), portText.allSatisfy(\.isNumber) else {
                return .failure(CallbackURLProblem("has an invalid port"))
            }
            port = value
        }
        if host.hasSuffix(".") { host = host.dropLast() }
        guard !host.isEmpty else { return .failure(CallbackURLProblem("has no host")) }
        return .success(CallbackURL(isHTTPS: isHTTPS, host: host.lowercased(), port: port))
    }

    /// Reads the optional `callbackUrl` member of a request body.
    static func read(_ reader: inout ObjectReader) -> String? {
        guard let text = reader.string("callbackUrl", required: false, maxLength: maximumLength) else { return nil }
        if case .failure(let problem) = parse(text) {
            reader.fail("callbackUrl", "invalid_format", problem.message)
            return nil
        }
        return text
    }
}

/// Why a callback URL is refused (`message` reads after the field name: "callbackUrl must ...").
public struct CallbackURLProblem: Error, Sendable, Hashable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
