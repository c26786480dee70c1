import FoundationEssentials

/// A TLS protocol version we are willing to speak; nothing below TLS 1.2 exists here on purpose.
public enum TLSVersion: Int, Sendable, Comparable {
    case tls12 = 0x0303
    case tls13 = 0x0304

    public static func < (lhs: TLSVersion, rhs: TLSVersion) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Where PEM data comes from: a file path or the PEM text itself.
public enum TLSPEMSource: Sendable, Hashable {
    case file(String)
    case string(String)
}

/// The certificates a client trusts when verifying a server.
///
/// `default()` is what production uses: OpenSSL's system paths (which already honour `SSL_CERT_FILE`
/// and `SSL_CERT_DIR`) plus those two variables loaded explicitly from the given environment, so a
/// private CA works without code changes and the behaviour can be tested without touching the
/// process environment.
public struct TLSTrustStore: Sendable, Hashable {
    /// Load OpenSSL's compiled-in default file and directory (`SSL_CTX_set_default_verify_paths`).
    public var usesSystemDefaultPaths: Bool
    /// PEM bundles of trusted roots; a file that cannot be loaded fails the context.
    public var additionalRootFiles: [String]
    /// Directories of roots named by subject hash (as made by `openssl rehash`).
    public var additionalRootDirectories: [String]
    /// Trusted roots given as PEM text (one or more certificates each).
    public var additionalRootsPEM: [String]

    public init(
        usesSystemDefaultPaths: Bool = true,
        additionalRootFiles: [String] = [],
        additionalRootDirectories: [String] = [],
        additionalRootsPEM: [String] = []
    ) {
        self.usesSystemDefaultPaths = usesSystemDefaultPaths
        self.additionalRootFiles = additionalRootFiles
        self.additionalRootDirectories = additionalRootDirectories
        self.additionalRootsPEM = additionalRootsPEM
    }

    /// System roots plus `SSL_CERT_FILE` and `SSL_CERT_DIR` from the process environment.
    public static func `default`() -> TLSTrustStore {
        `default`(environment: ProcessInfo.processInfo.environment)
    }

    /// System roots plus `SSL_CERT_FILE` (a PEM bundle) and `SSL_CERT_DIR` (colon-separated hashed
    /// directories) read from `environment`.
    public static func `default`(environment: [String: String]) -> TLSTrustStore {
        var store = TLSTrustStore()
        if let file = environment["SSL_CERT_FILE"], !file.isEmpty {
            store.additionalRootFiles.append(file)
        }
        if let directories = environment["SSL_CERT_DIR"] {
            store.additionalRootDirectories += directories.split(separator: ":").map(String.init)
        }
        return store
    }

    /// Only the given PEM bundle, without the system roots (e.g. a pinned private CA).
    public static func only(rootFile: String) -> TLSTrustStore {
        TLSTrustStore(usesSystemDefaultPaths: false, additionalRootFiles: [rootFile])
    }
}

/// How a server context is built. TLS 1.2 is the floor; 1.2 is limited to ECDHE with AEAD ciphers.
public struct TLSServerConfiguration: Sendable {
    /// The leaf certificate followed by any intermediates (PEM).
    public var certificateChain: TLSPEMSource
    /// The leaf's private key (PEM, unencrypted).
    public var privateKey: TLSPEMSource
    public var minimumVersion: TLSVersion
    public var maximumVersion: TLSVersion
    /// Protocols offered through ALPN in order of preference; empty disables ALPN.
    public var alpnProtocols: [String]

    public init(
        certificateChain: TLSPEMSource,
        privateKey: TLSPEMSource,
        minimumVersion: TLSVersion = .tls12,
        maximumVersion: TLSVersion = .tls13,
        alpnProtocols: [String] = ["http/1.1"]
    ) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.minimumVersion = minimumVersion
        self.maximumVersion = maximumVersion
        self.alpnProtocols = alpnProtocols
    }
}

/// How a client context is built. The peer's chain and name are always verified unless
/// `unsafeSkipCertificateVerification` is set (tests only).
public struct TLSClientConfiguration: Sendable {
    public var trustStore: TLSTrustStore
    /// An optional client certificate chain and its key, for servers that ask for one.
    public var certificateChain: TLSPEMSource?
    public var privateKey: TLSPEMSource?
    public var minimumVersion: TLSVersion
    public var maximumVersion: TLSVersion
    /// Protocols offered through ALPN in order of preference; empty sends no ALPN extension.
    public var alpnProtocols: [String]
    /// Accept any certificate for any name. Never set this outside tests.
    public var unsafeSkipCertificateVerification: Bool

    public init(
        trustStore: TLSTrustStore = .default(),
        certificateChain: TLSPEMSource? = nil,
        privateKey: TLSPEMSource? = nil,
        minimumVersion: TLSVersion = .tls12,
        maximumVersion: TLSVersion = .tls13,
        alpnProtocols: [String] = [],
        unsafeSkipCertificateVerification: Bool = false
    ) {
        self.trustStore = trustStore
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.minimumVersion = minimumVersion
        self.maximumVersion = maximumVersion
        self.alpnProtocols = alpnProtocols
        self.unsafeSkipCertificateVerification = unsafeSkipCertificateVerification
    }
}
