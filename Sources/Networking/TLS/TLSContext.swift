import COpenSSL

/// An immutable OpenSSL `SSL_CTX`, shared by every connection of one role (server or client).
///
/// Building one reads files and parses certificates, so do it once at start-up (or on reload), not
/// per connection. It is `@unchecked Sendable` because nothing mutates the `SSL_CTX` after `init`,
/// and OpenSSL locks the parts that connections touch concurrently (reference count, session cache).
public final class TLSContext: @unchecked Sendable {
    public enum Role: Sendable {
        case server
        case client
    }

    public let role: Role
    let pointer: OpaquePointer
    /// False only for a client context built with `unsafeSkipCertificateVerification`.
    let verifiesPeer: Bool
    /// The server's ALPN preferences, read by the selection callback through the `SSL_CTX` user argument.
    private let alpnPreferences: ALPNPreferences?

    /// A server context from a certificate chain and its private key.
    public init(server configuration: TLSServerConfiguration) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        defer { OpenSSLErrorQueue.clear() }
        let context = try Self.makeContext(
            method: TLS_server_method(), minimum: configuration.minimumVersion, maximum: configuration.maximumVersion)
        do throws(TLSError) {
            // Server order wins for TLS 1.2; renegotiation is a DoS lever we never need.
            _ = copenssl_SSL_CTX_set_options(
                context, copenssl_SSL_OP_CIPHER_SERVER_PREFERENCE() | copenssl_SSL_OP_NO_RENEGOTIATION())
            let sessionContext: [UInt8] = Array("purview-gateway".utf8)
            guard SSL_CTX_set_session_id_context(context, sessionContext, UInt32(sessionContext.count)) == 1 else {
                throw OpenSSLErrorQueue.configurationError("cannot set the session id context")
            }
            try Self.useCertificateChain(
                configuration.certificateChain, privateKey: configuration.privateKey, in: context)
            if configuration.alpnProtocols.isEmpty {
                alpnPreferences = nil
            } else {
                _ = try Self.alpnWireFormat(configuration.alpnProtocols)  // validates lengths
                let preferences = ALPNPreferences(configuration.alpnProtocols)
                alpnPreferences = preferences
                SSL_CTX_set_alpn_select_cb(
                    context, selectALPNProtocol, Unmanaged.passUnretained(preferences).toOpaque())
            }
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        self.role = .server
        self.pointer = context
        self.verifiesPeer = false
    }

    /// A client context: trust store, verification policy, optional client certificate, ALPN offer.
    public init(client configuration: TLSClientConfiguration) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        defer { OpenSSLErrorQueue.clear() }
        let context = try Self.makeContext(
            method: TLS_client_method(), minimum: configuration.minimumVersion, maximum: configuration.maximumVersion)
        do throws(TLSError) {
            _ = copenssl_SSL_CTX_set_options(context, copenssl_SSL_OP_NO_RENEGOTIATION())
            try Self.load(configuration.trustStore, into: context)
            let verify = !configuration.unsafeSkipCertificateVerification
            SSL_CTX_set_verify(context, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nil)
            switch (configuration.certificateChain, configuration.privateKey) {
            case (nil, nil):
                break
            case (let chain?, let key?):
                try Self.useCertificateChain(chain, privateKey: key, in: context)
            default:
                throw TLSError(
                    code: .invalidConfiguration, detail: "a client certificate needs both a chain and a private key")
            }
            if !configuration.alpnProtocols.isEmpty {
                let wire = try Self.alpnWireFormat(configuration.alpnProtocols)
                // Unusually, 0 means success here.
                guard SSL_CTX_set_alpn_protos(context, wire, UInt32(wire.count)) == 0 else {
                    throw OpenSSLErrorQueue.configurationError("cannot set the ALPN protocols")
                }
            }
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        self.role = .client
        self.pointer = context
        self.verifiesPeer = !configuration.unsafeSkipCertificateVerification
        self.alpnPreferences = nil
    }

    deinit {
        SSL_CTX_free(pointer)
    }

    // MARK: - Building blocks

    /// The TLS 1.2 suites we allow: forward secret (ECDHE) and AEAD only. TLS 1.3 keeps OpenSSL's defaults.
    private static let tls12CipherList = "ECDHE+AESGCM:ECDHE+CHACHA20"

    private static func makeContext(
        method: OpaquePointer?, minimum: TLSVersion, maximum: TLSVersion
    ) throws(TLSError) -> OpaquePointer {
        guard minimum <= maximum else {
            throw TLSError(code: .invalidConfiguration, detail: "minimum TLS version is above the maximum")
        }
        guard let context = SSL_CTX_new(method) else {
            throw OpenSSLErrorQueue.configurationError("SSL_CTX_new failed")
        }
        let modes = SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS
        _ = copenssl_SSL_CTX_set_mode(context, Int(modes))
        guard copenssl_SSL_CTX_set_min_proto_version(context, Int32(minimum.rawValue)) == 1,
            copenssl_SSL_CTX_set_max_proto_version(context, Int32(maximum.rawValue)) == 1
        else {
            SSL_CTX_free(context)
            throw OpenSSLErrorQueue.configurationError("cannot set the protocol version range")
        }
        guard SSL_CTX_set_cipher_list(context, tls12CipherList) == 1 else {
            SSL_CTX_free(context)
            throw OpenSSLErrorQueue.configurationError("cannot set the TLS 1.2 cipher list")
        }
        return context
    }

    private static func describe(_ source: TLSPEMSource) -> String {
        switch source {
        case .file(let path): return path
        case .string: return "PEM text"  // never echo the text: it may be a key
        }
    }

    /// A readable BIO over the source; the caller frees it.
    private static func openBIO(_ source: TLSPEMSource) throws(TLSError) -> OpaquePointer {
        switch source {
        case .file(let path):
            guard let bio = BIO_new_file(path, "r") else {
                throw OpenSSLErrorQueue.configurationError("cannot open \(path)")
            }
            return bio
        case .string(let text):
            guard let bio = BIO_new(BIO_s_mem()) else {
                throw OpenSSLErrorQueue.configurationError("BIO_new failed")
            }
            let bytes = Array(text.utf8)
            guard BIO_write(bio, bytes, Int32(bytes.count)) == Int32(bytes.count) else {
                BIO_free(bio)
                throw OpenSSLErrorQueue.configurationError("cannot buffer PEM text")
            }
            return bio
        }
    }

    /// Reads every certificate in the source; an empty or corrupt source is an error.
    private static func readCertificates(_ source: TLSPEMSource) throws(TLSError) -> [OpaquePointer] {
        let bio = try openBIO(source)
        defer { BIO_free(bio) }
        var certificates: [OpaquePointer] = []
        // The first is read with its trust settings ("AUX"), as OpenSSL's own chain-file loader does.
        while let certificate =
            certificates.isEmpty
            ? PEM_read_bio_X509_AUX(bio, nil, refusePassword, nil) : PEM_read_bio_X509(bio, nil, refusePassword, nil)
        {
            certificates.append(certificate)
        }
        // Reading stops at the end of the input (PEM "no start line") or at a broken block.
        let last = ERR_peek_last_error()
        let cleanEnd = ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE
        guard cleanEnd, !certificates.isEmpty else {
            for certificate in certificates { X509_free(certificate) }
            throw OpenSSLErrorQueue.configurationError("no valid PEM certificate in \(describe(source))")
        }
        OpenSSLErrorQueue.clear()
        return certificates
    }

    private static func useCertificateChain(
        _ chain: TLSPEMSource, privateKey: TLSPEMSource, in context: OpaquePointer
    ) throws(TLSError) {
        let certificates = try readCertificates(chain)
        // use_certificate and add1 take their own references, so this free stays balanced.
        defer { for certificate in certificates { X509_free(certificate) } }
        guard SSL_CTX_use_certificate(context, certificates[0]) == 1 else {
            throw OpenSSLErrorQueue.configurationError("cannot use the certificate in \(describe(chain))")
        }
        for intermediate in certificates.dropFirst() {
            guard copenssl_SSL_CTX_add1_chain_cert(context, intermediate) == 1 else {
                throw OpenSSLErrorQueue.configurationError("cannot add an intermediate from \(describe(chain))")
            }
        }

        let bio = try openBIO(privateKey)
        defer { BIO_free(bio) }
        guard let key = PEM_read_bio_PrivateKey(bio, nil, refusePassword, nil) else {
            throw OpenSSLErrorQueue.configurationError(
                "no usable (unencrypted) PEM private key in \(describe(privateKey))")
        }
        defer { EVP_PKEY_free(key) }
        guard SSL_CTX_use_PrivateKey(context, key) == 1, SSL_CTX_check_private_key(context) == 1 else {
            throw OpenSSLErrorQueue.configurationError(
                "the private key in \(describe(privateKey)) does not match the certificate")
        }
    }

    private static func load(_ trustStore: TLSTrustStore, into context: OpaquePointer) throws(TLSError) {
        if trustStore.usesSystemDefaultPaths {
            guard SSL_CTX_set_default_verify_paths(context) == 1 else {
                throw OpenSSLErrorQueue.configurationError("cannot load the system trust store")
            }
        }
        for file in trustStore.additionalRootFiles {
            guard SSL_CTX_load_verify_file(context, file) == 1 else {
                throw OpenSSLErrorQueue.configurationError("cannot load trusted roots from \(file)")
            }
        }
        for directory in trustStore.additionalRootDirectories {
            guard SSL_CTX_load_verify_dir(context, directory) == 1 else {
                throw OpenSSLErrorQueue.configurationError("cannot use trusted-root directory \(directory)")
            }
        }
        guard !trustStore.additionalRootsPEM.isEmpty else { return }
        let store = SSL_CTX_get_cert_store(context)
        for pem in trustStore.additionalRootsPEM {
            let certificates = try readCertificates(.string(pem))
            defer { for certificate in certificates { X509_free(certificate) } }
            for certificate in certificates where X509_STORE_add_cert(store, certificate) != 1 {
                throw OpenSSLErrorQueue.configurationError("cannot add a trusted root from PEM text")
            }
        }
    }

    /// ALPN's wire format: each protocol name prefixed by its one-byte length.
    static func alpnWireFormat(_ protocols: [String]) throws(TLSError) -> [UInt8] {
        var wire: [UInt8] = []
        for name in protocols {
            let bytes = Array(name.utf8)
            guard (1...255).contains(bytes.count) else {
                throw TLSError(code: .invalidConfiguration, detail: "ALPN protocol names must be 1 to 255 bytes")
            }
            wire.append(UInt8(bytes.count))
            wire += bytes
        }
        return wire
    }
}

/// The server's ALPN protocols in preference order, kept alive by the context that points at it.
private final class ALPNPreferences: Sendable {
    let protocols: [[UInt8]]
    init(_ names: [String]) { protocols = names.map { Array($0.utf8) } }
}

/// Keys must be unencrypted; without this callback OpenSSL would prompt on the terminal.
private typealias PasswordCallback =
    @convention(c) (
        UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?
    ) -> Int32
private let refusePassword: PasswordCallback = { _, _, _, _ in 0 }

/// Picks the first of the server's protocols that the client offered; no overlap means no ALPN at all
/// (rather than a fatal alert), so clients with odd offers still get HTTP/1.1 by default.
private let selectALPNProtocol:
    @convention(c) (
        OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
        UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
    ) -> Int32 = { _, out, outLength, offered, offeredLength, argument in
        guard let out, let outLength, let offered, let argument else { return SSL_TLSEXT_ERR_NOACK }
        let preferences = Unmanaged<ALPNPreferences>.fromOpaque(argument).takeUnretainedValue()
        let offer = UnsafeBufferPointer(start: offered, count: Int(offeredLength))
        for wanted in preferences.protocols {
            var index = 0
            while index < offer.count {
                let length = Int(offer[index])
                let start = index + 1
                guard start + length <= offer.count else { break }
                if length == wanted.count, wanted.elementsEqual(offer[start..<(start + length)]) {
                    // OpenSSL copies the selection before the client's buffer goes away.
                    out.pointee = offered + start
                    outLength.pointee = UInt8(length)
                    return SSL_TLSEXT_ERR_OK
                }
                index = start + length
            }
        }
        return SSL_TLSEXT_ERR_NOACK
    }
