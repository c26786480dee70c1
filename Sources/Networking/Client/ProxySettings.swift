import CLinuxShim
import FoundationEssentials
import Glibc

/// An HTTP proxy (`http://[user:password@]host[:port]`): plain-http requests go to it in absolute-form,
/// https requests through a `CONNECT` tunnel.
///
/// Credentials from the URL's userinfo become a `Proxy-Authorization: Basic` header. They never
/// appear in `description`.
public struct HTTPProxy: Hashable, Sendable, CustomStringConvertible {
    /// Host name or IP literal (IPv6 without brackets), lowercased.
    public var host: String
    public var port: Int
    /// The `Proxy-Authorization` value, when the URL carried credentials.
    var authorization: String?

    public init(host: String, port: Int, username: String? = nil, password: String? = nil) {
        self.host = host.lowercased()
        self.port = port
        if let username {
            let credentials = Array("\(username):\(password ?? "")".utf8)
            authorization = "Basic " + Data(credentials).base64EncodedString()
        }
    }

    /// Parses a proxy URL as found in `HTTPS_PROXY`: `http://` or no scheme (then http is assumed);
    /// the port defaults to 80. Returns nil for anything else, including `https://` proxies (TLS to
    /// the proxy itself is not supported) and SOCKS.
    public init?(url text: String) {
        var rest = Substring(text).trimmingWhitespace()
        if let colon = rest.firstIndex(of: ":"), rest[colon...].hasPrefix("://") {
            guard rest[..<colon].lowercased() == "http" else { return nil }
            rest = rest[rest.index(colon, offsetBy: 3)...]
        }
        if let pathStart = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) {
            rest = rest[..<pathStart]
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userinfo.firstIndex(of: ":") {
                guard let user = Self.percentDecoded(userinfo[..<colon]),
                    let secret = Self.percentDecoded(userinfo[userinfo.index(after: colon)...])
                else { return nil }
                username = user
                password = secret
            } else {
                guard let user = Self.percentDecoded(userinfo) else { return nil }
                username = user
            }
        }
        guard let (host, port) = HostAndPort.parse(rest), let host else { return nil }
        let resolvedPort = port ?? 80
        guard !host.isEmpty, (1...65535).contains(resolvedPort) else { return nil }
        self.init(host: host, port: resolvedPort, username: username, password: password)
    }

    /// `host:port` with brackets around IPv6 literals.
    var authority: String { HostAndPort.authority(host: host, port: port) }

    public var description: String { "http://\(authority)" + (authorization == nil ? "" : " (with credentials)") }

    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
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

/// Hosts that bypass the proxy, as in `NO_PROXY`.
///
/// A comma- (or space-) separated list, compared case-insensitively. `*` alone bypasses everything.
/// A name matches itself and its subdomains, with or without a leading `.` (or `*.`). An IP literal
/// matches that address exactly; `addr/bits` matches a CIDR range. Any entry may end in `:port`
/// (IPv6 in brackets then) to match only that port.
public struct NoProxyList: Hashable, Sendable {
    enum Pattern: Hashable, Sendable {
        case everything
        case domain(String, port: Int?)
        case address([UInt8], prefixBits: Int, port: Int?)
    }

    let patterns: [Pattern]

    public init(_ text: String) {
        var patterns: [Pattern] = []
        let separators: Set<Character> = [",", " ", "\t", "\n"]
        for rawEntry in text.split(whereSeparator: { separators.contains($0) }) {
            if let pattern = Self.pattern(rawEntry.lowercased()) { patterns.append(pattern) }
        }
        self.patterns = patterns
    }

    public var isEmpty: Bool { patterns.isEmpty }

    /// True when a request to `host:port` must not use the proxy.
    public func matches(host rawHost: String, port: Int) -> Bool {
        guard !patterns.isEmpty else { return false }
        var host = rawHost.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        while host.hasSuffix(".") { host.removeLast() }
        let address = IPAddressBytes.parse(host)
        for pattern in patterns {
            switch pattern {
            case .everything:
                return true
            case .domain(let domain, let wantedPort):
                guard wantedPort == nil || wantedPort == port, address == nil else { continue }
                if host == domain || host.hasSuffix("." + domain) { return true }
            case .address(let network, let prefixBits, let wantedPort):
                guard wantedPort == nil || wantedPort == port, let address, address.count == network.count else {
                    continue
                }
                if IPAddressBytes.prefixMatches(address, network, bits: prefixBits) { return true }
            }
        }
        return false
    }

    private static func pattern(_ entry: String) -> Pattern? {
        if entry == "*" { return .everything }
        var text = Substring(entry)
        if text.hasPrefix("*.") { text = text.dropFirst(2) } else if text.hasPrefix(".") { text = text.dropFirst() }
        // CIDR: the suffix after "/" is a prefix length (a port, if any, comes before it only in odd
        // spellings we do not accept).
        var prefixBits: Int?
        if let slash = text.lastIndex(of: "/") {
            guard let bits = Int(text[text.index(after: slash)...]) else { return nil }
            prefixBits = bits
            text = text[..<slash]
        }
        guard let (parsedHost, port) = HostAndPort.parse(text), var host = parsedHost else { return nil }
        while host.hasSuffix(".") { host.removeLast() }
        guard !host.isEmpty else { return nil }
        if let bytes = IPAddressBytes.parse(host) {
            let bits = prefixBits ?? bytes.count * 8
            guard (0...(bytes.count * 8)).contains(bits) else { return nil }
            return .address(bytes, prefixBits: bits, port: port)
        }
        guard prefixBits == nil else { return nil }
        return .domain(host, port: port)
    }
}

/// The proxies to use, chosen per request URL.
public struct ProxySettings: Hashable, Sendable {
    /// For `http://` targets (absolute-form requests).
    public var httpProxy: HTTPProxy?
    /// For `https://` targets (CONNECT tunnels).
    public var httpsProxy: HTTPProxy?
    public var noProxy: NoProxyList

    public init(httpProxy: HTTPProxy? = nil, httpsProxy: HTTPProxy? = nil, noProxy: NoProxyList = NoProxyList("")) {
        self.httpProxy = httpProxy
        self.httpsProxy = httpsProxy
        self.noProxy = noProxy
    }

    /// No proxy at all.
    public static let direct = ProxySettings()

    /// Reads `https_proxy`/`HTTPS_PROXY`, `http_proxy`/`HTTP_PROXY`, `all_proxy`/`ALL_PROXY` (fallback
    /// for both) and `no_proxy`/`NO_PROXY`; the lowercase name wins when both are set, as in curl.
    /// Empty or unparseable proxy values are ignored.
    public static func fromEnvironment(_ environment: [String: String]) -> ProxySettings {
        func value(_ name: String) -> String? {
            for candidate in [name.lowercased(), name.uppercased()] {
                if let text = environment[candidate].map({ String(Substring($0).trimmingWhitespace()) }), !text.isEmpty
                {
                    return text
                }
            }
            return nil
        }
        let fallback = value("ALL_PROXY").flatMap(HTTPProxy.init(url:))
        return ProxySettings(
            httpProxy: value("HTTP_PROXY").flatMap(HTTPProxy.init(url:)) ?? fallback,
            httpsProxy: value("HTTPS_PROXY").flatMap(HTTPProxy.init(url:)) ?? fallback,
            noProxy: NoProxyList(value("NO_PROXY") ?? ""))
    }

    /// The proxy a request to `url` goes through, or nil for a direct connection.
    public func proxy(for url: HTTPURL) -> HTTPProxy? {
        let proxy = url.scheme == .https ? httpsProxy : httpProxy
        guard let proxy, !noProxy.matches(host: url.host, port: url.port) else { return nil }
        return proxy
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 literal (several colons, no port).
enum HostAndPort {
    /// Nil when malformed; the host is nil only for an empty input.
    static func parse(_ text: Substring) -> (String?, Int?)? {
        if text.isEmpty { return (nil, nil) }
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let after = text[text.index(after: close)...]
            if after.isEmpty { return (host, nil) }
            guard after.hasPrefix(":"), let port = Int(after.dropFirst()), (1...65535).contains(port) else {
                return nil
            }
            return (host, port)
        }
        let colons = text.count(where: { $0 == ":" })
        if colons > 1 { return (String(text), nil) }
        if colons == 1, let colon = text.firstIndex(of: ":") {
            guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
            return (String(text[..<colon]), port)
        }
        return (String(text), nil)
    }

    static func authority(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// Numeric IP addresses as bytes (4 or 16), for exact and CIDR comparison.
enum IPAddressBytes {
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    static func prefixMatches(_ address: [UInt8], _ network: [UInt8], bits: Int) -> Bool {
        var remaining = bits
        for index in 0..<address.count where remaining > 0 {
            let take = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - take))
            if address[index] & mask != network[index] & mask { return false }
            remaining -= take
        }
        return true
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var slice = self
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return slice
    }
}
