import CLinuxShim
import Glibc

/// An IPv4 or IPv6 address with a port.
///
/// Stored in a `sockaddr_in6`-sized value (28 bytes), big enough for both families, so a connection
/// keeps its peer's address without an allocation.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    private var storage = sockaddr_in6()

    init() {}

    /// Parses a numeric IPv4 or IPv6 host ("127.0.0.1", "::1", "0.0.0.0") and a port.
    public init?(host: String, port: Int) {
        guard (0...65535).contains(port) else { return nil }
        var v4 = in_addr()
        var v6 = in6_addr()
        let bareHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if inet_pton(AF_INET, bareHost, &v4) == 1 {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr = v4
            withUnsafeMutableBytes(of: &storage) { target in
                withUnsafeBytes(of: &address) { target.copyMemory(from: $0) }
            }
        } else if inet_pton(AF_INET6, bareHost, &v6) == 1 {
            storage.sin6_family = sa_family_t(AF_INET6)
            storage.sin6_port = in_port_t(UInt16(port).bigEndian)
            storage.sin6_addr = v6
        } else {
            return nil
        }
    }

    /// AF_INET or AF_INET6.
    var family: Int32 { Int32(storage.sin6_family) }

    /// The port number (both families keep it at the same offset).
    public var port: Int { Int(UInt16(bigEndian: storage.sin6_port)) }

    /// The numeric host: "127.0.0.1" or "::1".
    public var host: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var copy = storage
        let result: UnsafePointer<CChar>? = withUnsafeMutableBytes(of: &copy) { raw in
            if family == AF_INET {
                let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
                return inet_ntop(AF_INET, &address.pointee.sin_addr, &text, socklen_t(text.count))
            }
            let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
            return inet_ntop(AF_INET6, &address.pointee.sin6_addr, &text, socklen_t(text.count))
        }
        guard result != nil else { return "?" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String { family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public static func == (lhs: SocketAddress, rhs: SocketAddress) -> Bool {
        withUnsafeBytes(of: lhs.storage) { a in withUnsafeBytes(of: rhs.storage) { b in a.elementsEqual(b) } }
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes(of: storage) { hasher.combine(bytes: $0) }
    }

    func withSockaddr<R, E: Error>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(E) -> R) throws(E) -> R {
        var copy = storage
        let length = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
        return try withUnsafeMutableBytes(of: &copy) { raw throws(E) in
            try body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    mutating func withMutableSockaddr<R, E: Error>(
        _ body: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) throws(E) -> R
    ) throws(E) -> R {
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        return try withUnsafeMutableBytes(of: &storage) { raw throws(E) in
            try body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length)
        }
    }
}
