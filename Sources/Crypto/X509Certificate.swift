import COpenSSL
public import FoundationEssentials
import Glibc

/// An X.509 certificate, loaded from PEM or DER.
///
/// Sendable: the certificate is never mutated after loading, and OpenSSL allows concurrent reads.
public final class X509Certificate: @unchecked Sendable {
    /// The owned X509 object.
    let x509: OpaquePointer

    /// The certificate's DER encoding, the input to thumbprints.
    public let derBytes: [UInt8]

    /// Takes ownership of `x509`.
    init(taking x509: OpaquePointer) throws {
        let length = i2d_X509(x509, nil)
        guard length > 0 else {
            X509_free(x509)
            throw CryptoError.invalidCertificate.withOpenSSLErrors()
        }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return i2d_X509(x509, &cursor)
        }
        guard written == length else {
            X509_free(x509)
            throw CryptoError.invalidCertificate.withOpenSSLErrors()
        }
        self.x509 = x509
        self.derBytes = der
    }

    deinit { X509_free(x509) }

    /// Loads the first `CERTIFICATE` block in `pem`; other blocks (such as a private key) are skipped.
    public convenience init(pem: String) throws {
        try self.init(pemBytes: Array(pem.utf8))
    }

    /// Loads the first certificate in PEM text given as bytes.
    public convenience init(pemBytes: some Sequence<UInt8>) throws {
        OpenSSLErrorQueue.clear()
        let loaded: OpaquePointer? = try MemoryBIO.withReadable(pemBytes) { bio in
            PEM_read_bio_X509(bio, nil, declinePassphrase, nil)
        }
        guard let loaded else { throw CryptoError.invalidCertificate.withOpenSSLErrors() }
        try self.init(taking: loaded)
    }

    /// Loads a certificate from its DER encoding; trailing bytes are rejected.
    public convenience init(der: some Sequence<UInt8>) throws {
        OpenSSLErrorQueue.clear()
        let bytes = Array(der)
        let loaded: OpaquePointer? = bytes.withUnsafeBufferPointer { buffer in
            guard buffer.count <= Int.max / 2 else { return nil }
            var cursor = buffer.baseAddress
            guard let parsed = d2i_X509(nil, &cursor, buffer.count) else { return nil }
            guard let base = buffer.baseAddress, cursor == base + buffer.count else {
                X509_free(parsed)
                return nil
            }
            return parsed
        }
        guard let loaded else { throw CryptoError.invalidCertificate.withOpenSSLErrors() }
        try self.init(taking: loaded)
    }

    /// Loads every certificate in `pem`, in order (a chain or a CA bundle). Throws if there is none.
    public static func certificates(pem: String) throws -> [X509Certificate] {
        OpenSSLErrorQueue.clear()
        let objects: [OpaquePointer] = try MemoryBIO.withReadable(Array(pem.utf8)) { bio in
            var found: [OpaquePointer] = []
            while let next = PEM_read_bio_X509(bio, nil, declinePassphrase, nil) {
                found.append(next)
            }
            return found
        }
        // Reading ends with a "no start line" error once the text is exhausted.
        let detail = OpenSSLErrorQueue.drain()
        guard !objects.isEmpty else { throw CryptoError.invalidCertificate.with(detail: detail) }
        var certificates: [X509Certificate] = []
        var failure: (any Error)? = nil
        for object in objects {
            if failure != nil {
                X509_free(object)
                continue
            }
            do { certificates.append(try X509Certificate(taking: object)) } catch { failure = error }
        }
        if let failure { throw failure }
        return certificates
    }

    /// SHA-1 of the DER encoding (the value behind JWS `x5t`).
    public var sha1Thumbprint: [UInt8] { SHA1.hash(derBytes) }

    /// SHA-256 of the DER encoding (the value behind JWS `x5t#S256`).
    public var sha256Thumbprint: [UInt8] { SHA256.hash(derBytes) }

    /// The JWS `x5t` header value: base64url of the SHA-1 thumbprint.
    public var x5t: String { Base64URL.encode(sha1Thumbprint) }

    /// The JWS `x5t#S256` header value: base64url of the SHA-256 thumbprint.
    public var x5tS256: String { Base64URL.encode(sha256Thumbprint) }

    /// The certificate's RSA public key; throws ``CryptoError/unsupportedKey`` for other key types.
    public func publicKey() throws -> RSAPublicKey {
        OpenSSLErrorQueue.clear()
        // X509_get_pubkey returns a new reference that we own.
        guard let key = X509_get_pubkey(x509) else { throw CryptoError.invalidCertificate.withOpenSSLErrors() }
        return try RSAPublicKey(checkingRSA: key)
    }

    /// The certificate as PEM text.
    public func pem() throws -> String {
        try MemoryBIO.collectText { bio in PEM_write_bio_X509(bio, x509) == 1 }
    }

    /// The subject's first common name (CN), if any.
    public var subjectCommonName: String? {
        guard let name = X509_get_subject_name(x509) else { return nil }
        let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index),
            let data = X509_NAME_ENTRY_get_data(entry)
        else { return nil }
        return Self.string(from: data)
    }

    /// The subject alternative names as `DNS:name` and `IP:address` strings (other kinds are omitted).
    public var subjectAlternativeNames: [String] {
        guard let raw = X509_get_ext_d2i(x509, NID_subject_alt_name, nil, nil) else { return [] }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        var result: [String] = []
        let count = OPENSSL_sk_num(names)
        guard count > 0 else { return [] }
        for index in 0..<count {
            guard let element = OPENSSL_sk_value(names, index) else { continue }
            let generalName = element.assumingMemoryBound(to: GENERAL_NAME.self).pointee
            switch generalName.type {
            case GEN_DNS:
                if let value = generalName.d.dNSName, let text = Self.string(from: value) {
                    result.append("DNS:" + text)
                }
            case GEN_IPADD:
                if let value = generalName.d.iPAddress, let text = Self.ipAddressText(value) {
                    result.append("IP:" + text)
                }
            default:
                continue
            }
        }
        return result
    }

    /// The start of the validity period.
    public var notValidBefore: Date? { Self.date(from: X509_get0_notBefore(x509)) }

    /// The end of the validity period.
    public var notValidAfter: Date? { Self.date(from: X509_get0_notAfter(x509)) }

    /// Checks that this certificate chains to one of `trustAnchors` and matches `host` or `ipAddress`,
    /// as a TLS client doing strict (RFC 5280) verification would. Returns the failure reason, or nil.
    func verificationFailure(
        trustAnchors: [X509Certificate], host: String? = nil, ipAddress: String? = nil
    ) -> String? {
        OpenSSLErrorQueue.clear()
        defer { OpenSSLErrorQueue.clear() }
        guard let store = X509_STORE_new() else { return "X509_STORE_new failed" }
        defer { X509_STORE_free(store) }
        for anchor in trustAnchors where X509_STORE_add_cert(store, anchor.x509) != 1 {
            return "X509_STORE_add_cert failed: \(OpenSSLErrorQueue.drain())"
        }
        guard let context = X509_STORE_CTX_new() else { return "X509_STORE_CTX_new failed" }
        defer { X509_STORE_CTX_free(context) }
        guard X509_STORE_CTX_init(context, store, x509, nil) == 1 else { return "X509_STORE_CTX_init failed" }
        guard let parameters = X509_STORE_CTX_get0_param(context) else { return "no verify parameters" }
        X509_VERIFY_PARAM_set_flags(parameters, UInt(X509_V_FLAG_X509_STRICT))
        if let host, X509_VERIFY_PARAM_set1_host(parameters, host, host.utf8.count) != 1 {
            return "invalid host"
        }
        if let ipAddress, X509_VERIFY_PARAM_set1_ip_asc(parameters, ipAddress) != 1 {
            return "invalid IP address"
        }
        guard X509_STORE_CTX_set_purpose(context, X509_PURPOSE_SSL_SERVER) == 1 else { return "cannot set purpose" }
        if X509_verify_cert(context) == 1 { return nil }
        let code = X509_STORE_CTX_get_error(context)
        return String(cString: X509_verify_cert_error_string(Int(code)))
    }

    private static func string(from asn1: UnsafePointer<ASN1_STRING>) -> String? {
        let length = ASN1_STRING_length(asn1)
        guard length >= 0, let bytes = ASN1_STRING_get0_data(asn1) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(length)), as: UTF8.self)
    }

    private static func string(from asn1: UnsafeMutablePointer<ASN1_STRING>) -> String? {
        string(from: UnsafePointer(asn1))
    }

    private static func ipAddressText(_ asn1: UnsafeMutablePointer<ASN1_STRING>) -> String? {
        let length = Int(ASN1_STRING_length(asn1))
        guard let pointer = ASN1_STRING_get0_data(asn1) else { return nil }
        let bytes = Array(UnsafeBufferPointer(start: pointer, count: max(0, length)))
        switch bytes.count {
        case 4:
            return bytes.map(String.init).joined(separator: ".")
        case 16:
            // Full, uncompressed form: unambiguous and enough for display and comparison.
            return stride(from: 0, to: 16, by: 2).map {
                String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16)
            }
            .joined(separator: ":")
        default:
            return nil
        }
    }

    private static func date(from time: UnsafePointer<ASN1_TIME>?) -> Date? {
        guard let time else { return nil }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }
}
