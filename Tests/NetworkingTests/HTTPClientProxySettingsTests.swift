import Foundation
import Testing

@testable import Networking

@Suite struct HTTPClientProxySettingsTests {
    struct NoProxyCase: Sendable, CustomStringConvertible {
        let list: String
        let host: String
        let port: Int
        let bypass: Bool
        var description: String { "NO_PROXY=\(list) \(host):\(port) → \(bypass)" }
    }

    static let noProxyCases: [NoProxyCase] = [
        // Empty and wildcard.
        NoProxyCase(list: "", host: "example.com", port: 443, bypass: false),
        NoProxyCase(list: "*", host: "example.com", port: 443, bypass: true),
        NoProxyCase(list: " * ", host: "10.1.2.3", port: 80, bypass: true),
        // Domain suffixes, with and without leading dot, case-insensitive.
        NoProxyCase(list: "example.com", host: "example.com", port: 443, bypass: true),
        NoProxyCase(list: "example.com", host: "api.example.com", port: 443, bypass: true),
        NoProxyCase(list: "example.com", host: "notexample.com", port: 443, bypass: false),
        NoProxyCase(list: ".example.com", host: "api.example.com", port: 443, bypass: true),
        NoProxyCase(list: ".example.com", host: "example.com", port: 443, bypass: true),
        NoProxyCase(list: "*.example.com", host: "a.b.example.com", port: 443, bypass: true),
        NoProxyCase(list: "EXAMPLE.com", host: "Api.Example.COM", port: 443, bypass: true),
        NoProxyCase(list: "example.com.", host: "api.example.com", port: 443, bypass: true),
        NoProxyCase(list: "example.com", host: "example.com.", port: 443, bypass: true),
        NoProxyCase(list: "purview.azure.com", host: "account.purview.azure.com", port: 443, bypass: true),
        NoProxyCase(list: "azure.com", host: "login.microsoftonline.com", port: 443, bypass: false),
        // Lists: commas, spaces, empty entries.
        NoProxyCase(list: "localhost,127.0.0.1, .internal", host: "svc.internal", port: 8080, bypass: true),
        NoProxyCase(list: "a.com,,b.com", host: "b.com", port: 443, bypass: true),
        NoProxyCase(list: "a.com b.com", host: "x.b.com", port: 443, bypass: true),
        // Ports.
        NoProxyCase(list: "example.com:8443", host: "example.com", port: 8443, bypass: true),
        NoProxyCase(list: "example.com:8443", host: "example.com", port: 443, bypass: false),
        NoProxyCase(list: ".example.com:443", host: "api.example.com", port: 443, bypass: true),
        // IP literals: exact, never by suffix.
        NoProxyCase(list: "127.0.0.1", host: "127.0.0.1", port: 80, bypass: true),
        NoProxyCase(list: "127.0.0.1", host: "127.0.0.2", port: 80, bypass: false),
        NoProxyCase(list: "0.0.1", host: "127.0.0.1", port: 80, bypass: false),
        NoProxyCase(list: "127.0.0.1:8080", host: "127.0.0.1", port: 8080, bypass: true),
        NoProxyCase(list: "127.0.0.1:8080", host: "127.0.0.1", port: 9090, bypass: false),
        NoProxyCase(list: "::1", host: "::1", port: 443, bypass: true),
        NoProxyCase(list: "[::1]", host: "::1", port: 443, bypass: true),
        NoProxyCase(list: "[::1]:8443", host: "::1", port: 8443, bypass: true),
        NoProxyCase(list: "[::1]:8443", host: "::1", port: 443, bypass: false),
        NoProxyCase(list: "0:0:0:0:0:0:0:1", host: "::1", port: 443, bypass: true),
        NoProxyCase(list: "2001:DB8::1", host: "2001:db8::1", port: 443, bypass: true),
        // CIDR ranges.
        NoProxyCase(list: "10.0.0.0/8", host: "10.200.3.4", port: 443, bypass: true),
        NoProxyCase(list: "10.0.0.0/8", host: "11.0.0.1", port: 443, bypass: false),
        NoProxyCase(list: "192.168.1.0/24", host: "192.168.1.77", port: 443, bypass: true),
        NoProxyCase(list: "192.168.1.0/24", host: "192.168.2.1", port: 443, bypass: false),
        NoProxyCase(list: "fd00::/8", host: "fd12:3456::1", port: 443, bypass: true),
        NoProxyCase(list: "10.0.0.0/8", host: "ten.example", port: 443, bypass: false),
        // Names never match addresses and vice versa.
        NoProxyCase(list: "localhost", host: "127.0.0.1", port: 80, bypass: false),
        // Garbage entries are ignored, not fatal.
        NoProxyCase(list: "10.0.0.0/99,example.com", host: "example.com", port: 443, bypass: true),
    ]

    @Test(arguments: noProxyCases)
    func noProxyMatching(_ entry: NoProxyCase) {
        #expect(NoProxyList(entry.list).matches(host: entry.host, port: entry.port) == entry.bypass)
    }

    @Test func proxyURLParsing() throws {
        let plain = try #require(HTTPProxy(url: "http://proxy.corp:3128"))
        #expect(plain.host == "proxy.corp")
        #expect(plain.port == 3128)
        #expect(plain.authorization == nil)

        let bare = try #require(HTTPProxy(url: "Proxy.Corp:8080"))
        #expect(bare.host == "proxy.corp")
        #expect(bare.port == 8080)

        let defaultPort = try #require(HTTPProxy(url: "http://proxy.corp/"))
        #expect(defaultPort.port == 80)

        let credentials = try #require(HTTPProxy(url: "http://us%40er:p%3Ass@10.0.0.1:3128"))
        #expect(credentials.host == "10.0.0.1")
        let expected = "Basic " + Data("us@er:p:ss".utf8).base64EncodedString()
        #expect(credentials.authorization == expected)
        #expect(!credentials.description.contains("p:ss"))
        #expect(!credentials.description.contains(expected))

        let userOnly = try #require(HTTPProxy(url: "http://alice@proxy:1"))
        #expect(userOnly.authorization == "Basic " + Data("alice:".utf8).base64EncodedString())

        let v6 = try #require(HTTPProxy(url: "http://[::1]:3128"))
        #expect(v6.host == "::1")
        #expect(v6.authority == "[::1]:3128")

        #expect(HTTPProxy(url: "https://proxy:443") == nil)
        #expect(HTTPProxy(url: "socks5://proxy:1080") == nil)
        #expect(HTTPProxy(url: "http://proxy:notaport") == nil)
        #expect(HTTPProxy(url: "http://proxy:70000") == nil)
        #expect(HTTPProxy(url: "http://bad%zzuser@proxy:1") == nil)
        #expect(HTTPProxy(url: "") == nil)
    }

    @Test func environmentLowercaseWinsAndNoProxyApplies() throws {
        let settings = ProxySettings.fromEnvironment([
            "HTTPS_PROXY": "http://upper:1",
            "https_proxy": "http://lower:2",
            "HTTP_PROXY": "http://plain:3",
            "NO_PROXY": "internal.corp",
        ])
        let secure = try #require(HTTPURL("https://api.example.com/x"))
        let plain = try #require(HTTPURL("http://api.example.com/x"))
        let internalURL = try #require(HTTPURL("https://db.internal.corp/x"))
        #expect(settings.proxy(for: secure)?.host == "lower")
        #expect(settings.proxy(for: plain)?.host == "plain")
        #expect(settings.proxy(for: internalURL) == nil)

        let lowerNoProxy = ProxySettings.fromEnvironment(["https_proxy": "p:1", "no_proxy": "*", "NO_PROXY": ""])
        #expect(lowerNoProxy.proxy(for: secure) == nil)

        let onlyAll = ProxySettings.fromEnvironment(["ALL_PROXY": "http://all:9"])
        #expect(onlyAll.proxy(for: secure)?.port == 9)
        #expect(onlyAll.proxy(for: plain)?.port == 9)

        let empty = ProxySettings.fromEnvironment(["HTTPS_PROXY": "  ", "HTTP_PROXY": "socks5://x:1"])
        #expect(empty.proxy(for: secure) == nil)
        #expect(empty.proxy(for: plain) == nil)
        #expect(ProxySettings.fromEnvironment([:]) == .direct)
    }

    @Test func configurationFromEnvironmentReadsTrustAndProxy() {
        let configuration = HTTPClientConfiguration.fromEnvironment([
            "SSL_CERT_FILE": "/tmp/ca.pem", "SSL_CERT_DIR": "/a:/b", "HTTPS_PROXY": "proxy:3128",
        ])
        #expect(configuration.tls.trustStore.additionalRootFiles == ["/tmp/ca.pem"])
        #expect(configuration.tls.trustStore.additionalRootDirectories == ["/a", "/b"])
        #expect(configuration.tls.trustStore.usesSystemDefaultPaths)
        #expect(configuration.proxy.httpsProxy?.authority == "proxy:3128")
        #expect(configuration.proxy.httpProxy == nil)
    }
}
