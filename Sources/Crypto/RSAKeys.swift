import COpenSSL

/// An RSA private key, loaded from PEM, that signs RS256 (RSASSA-PKCS1-v1_5 with SHA-256).
///
/// Sendable: OpenSSL allows concurrent read-only use of a fully loaded EVP_PKEY, and every
/// operation here uses its own EVP_MD_CTX.
public final class RSAPrivateKey: @unchecked Sendable {
    /// The owned EVP_PKEY.
    let pkey: OpaquePointer

    init(taking pkey: OpaquePointer) { self.pkey = pkey }

    deinit { EVP_PKEY_free(pkey) }

    /// Loads the first private key in `pem`: PKCS#8 (`PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`) or PKCS#1
    /// (`RSA PRIVATE KEY`). Other PEM blocks (such as a certificate in the same file) are skipped.
    public convenience init(pem: String, passphrase: String? = nil) throws {
        try self.init(pemBytes: Array(pem.utf8), passphrase: passphrase)
    }

    /// Loads the first private key in PEM text given as bytes; see ``init(pem:passphrase:)``.
    public init(pemBytes: some Sequence<UInt8>, passphrase: String? = nil) throws {
        OpenSSLErrorQueue.clear()
        let loaded: OpaquePointer? = try MemoryBIO.withReadable(pemBytes) { bio in
            if let passphrase {
                // With a NULL callback OpenSSL reads `u` as the NUL-terminated passphrase.
                return passphrase.withCString { secret in
                    PEM_read_bio_PrivateKey(bio, nil, nil, UnsafeMutableRawPointer(mutating: secret))
                }
            }
            return PEM_read_bio_PrivateKey(bio, nil, declinePassphrase, nil)
        }
        guard let loaded else { throw CryptoError.invalidKey.withOpenSSLErrors() }
        guard EVP_PKEY_get_base_id(loaded) == EVP_PKEY_RSA else {
            EVP_PKEY_free(loaded)
            throw CryptoError.unsupportedKey.with(detail: "only RSA keys are supported")
        }
        self.pkey = loaded
    }

    /// The modulus size in bits.
    public var bitCount: Int { Int(EVP_PKEY_get_bits(pkey)) }

    /// The matching public key.
    public var publicKey: RSAPublicKey {
        // EVP_PKEY_up_ref only fails on a corrupted object.
        precondition(EVP_PKEY_up_ref(pkey) == 1, "EVP_PKEY_up_ref failed")
        return RSAPublicKey(taking: pkey)
    }

    /// Signs `data` with RSASSA-PKCS1-v1_5 over SHA-256 (JWS `RS256`).
    public func sign(sha256 data: some Sequence<UInt8>) throws -> [UInt8] {
        OpenSSLErrorQueue.clear()
        guard let context = EVP_MD_CTX_new() else { throw CryptoError.signingFailed.withOpenSSLErrors() }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, pkey) == 1 else {
            throw CryptoError.signingFailed.withOpenSSLErrors()
        }
        return try withContiguousBytes(data) { input in
            let bytes = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
            var length = 0
            guard EVP_DigestSign(context, nil, &length, bytes, input.count) == 1 else {
                throw CryptoError.signingFailed.withOpenSSLErrors()
            }
            var signature = [UInt8](repeating: 0, count: length)
            let status = signature.withUnsafeMutableBufferPointer { out in
                EVP_DigestSign(context, out.baseAddress, &length, bytes, input.count)
            }
            guard status == 1 else { throw CryptoError.signingFailed.withOpenSSLErrors() }
            signature.removeLast(signature.count - length)
            return signature
        }
    }

    /// The key as unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). Handle the result as a secret.
    public func pkcs8PEM() throws -> String {
        try MemoryBIO.collectText { bio in
            PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil) == 1
        }
    }
}

/// An RSA public key that verifies RS256 signatures.
public final class RSAPublicKey: @unchecked Sendable {
    /// The owned EVP_PKEY (it may hold private parts too when derived from a private key; they are never used).
    let pkey: OpaquePointer

    init(taking pkey: OpaquePointer) { self.pkey = pkey }

    deinit { EVP_PKEY_free(pkey) }

    /// Loads the first `PUBLIC KEY` (SubjectPublicKeyInfo) block in `pem`.
    public convenience init(pem: String) throws {
        OpenSSLErrorQueue.clear()
        let loaded: OpaquePointer? = try MemoryBIO.withReadable(Array(pem.utf8)) { bio in
            PEM_read_bio_PUBKEY(bio, nil, declinePassphrase, nil)
        }
        guard let loaded else { throw CryptoError.invalidKey.withOpenSSLErrors() }
        try self.init(checkingRSA: loaded)
    }

    /// Takes ownership of `pkey`, freeing it and throwing if it is not RSA.
    init(checkingRSA pkey: OpaquePointer) throws {
        guard EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA else {
            EVP_PKEY_free(pkey)
            throw CryptoError.unsupportedKey.with(detail: "only RSA keys are supported")
        }
        self.pkey = pkey
    }

    /// The modulus size in bits.
    public var bitCount: Int { Int(EVP_PKEY_get_bits(pkey)) }

    /// Returns true if `signature` is a valid RSASSA-PKCS1-v1_5 SHA-256 signature of `data`.
    public func verify(signature: some Sequence<UInt8>, sha256 data: some Sequence<UInt8>) -> Bool {
        OpenSSLErrorQueue.clear()
        defer { OpenSSLErrorQueue.clear() }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, pkey) == 1 else { return false }
        return withContiguousBytes(signature) { sig in
            withContiguousBytes(data) { input in
                EVP_DigestVerify(
                    context, sig.baseAddress?.assumingMemoryBound(to: UInt8.self), sig.count,
                    input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count) == 1
            }
        }
    }

    /// The key as SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
    public func pem() throws -> String {
        try MemoryBIO.collectText { bio in PEM_write_bio_PUBKEY(bio, pkey) == 1 }
    }
}
