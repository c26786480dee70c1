import COpenSSL

/// Generates self-signed certificates for development TLS (`--self-signed DIR`) and tests.
public enum SelfSignedCertificate {
    /// Generates an RSA-2048 key and a SHA-256 self-signed certificate for it.
    ///
    /// The certificate has `basicConstraints CA:TRUE` (so its PEM works as a CA file for clients), key usage
    /// for both TLS serving and certificate signing, subject and authority key identifiers, and the given
    /// subject alternative names (`DNS:name` or `IP:address`).
    ///
    /// - Returns: The certificate and its unencrypted PKCS#8 private key, both as PEM.
    public static func generate(
        commonName: String, subjectAltNames: [String] = ["IP:127.0.0.1", "DNS:localhost"], days: Int = 365
    ) throws -> (certificatePEM: String, privateKeyPEM: String) {
        guard !commonName.isEmpty, commonName.utf8.count <= 64, !commonName.utf8.contains(0) else {
            throw CryptoError.invalidArgument.with(detail: "common name must be 1 to 64 bytes")
        }
        guard (1...36_500).contains(days) else {
            throw CryptoError.invalidArgument.with(detail: "days must be between 1 and 36500")
        }
        for name in subjectAltNames {
            let valid =
                (name.hasPrefix("DNS:") || name.hasPrefix("IP:")) && name.count > 4
                && !name.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 < 0x21 || $0 > 0x7e })
            guard valid else {
                throw CryptoError.invalidArgument.with(detail: "subject alternative names must be DNS:... or IP:...")
            }
        }

        OpenSSLErrorQueue.clear()
        let key = try generateRSAKey(bits: 2048)
        guard let certificate = X509_new() else { throw CryptoError.generationFailed.withOpenSSLErrors() }
        defer { X509_free(certificate) }

        // Version 3 is encoded as 2.
        guard X509_set_version(certificate, 2) == 1 else { throw CryptoError.generationFailed.withOpenSSLErrors() }
        try setRandomSerial(certificate)
        guard X509_gmtime_adj(X509_getm_notBefore(certificate), -300) != nil,
            X509_time_adj_ex(X509_getm_notAfter(certificate), Int32(days), 0, nil) != nil
        else { throw CryptoError.generationFailed.withOpenSSLErrors() }
        guard X509_set_pubkey(certificate, key.pkey) == 1 else {
            throw CryptoError.generationFailed.withOpenSSLErrors()
        }

        guard let name = X509_get_subject_name(certificate),
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, commonName, -1, -1, 0) == 1,
            X509_set_issuer_name(certificate, name) == 1
        else { throw CryptoError.generationFailed.withOpenSSLErrors() }

        var extensions: [(Int32, String)] = [
            (NID_basic_constraints, "critical,CA:TRUE"),
            (NID_key_usage, "critical,digitalSignature,keyEncipherment,keyCertSign"),
            (NID_ext_key_usage, "serverAuth,clientAuth"),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid:always"),
        ]
        if !subjectAltNames.isEmpty {
            extensions.append((NID_subject_alt_name, subjectAltNames.joined(separator: ",")))
        }
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, certificate, certificate, nil, nil, 0)
        for (nid, value) in extensions {
            guard let extensionObject = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw CryptoError.generationFailed.withOpenSSLErrors()
            }
            defer { X509_EXTENSION_free(extensionObject) }
            guard X509_add_ext(certificate, extensionObject, -1) == 1 else {
                throw CryptoError.generationFailed.withOpenSSLErrors()
            }
        }

        guard X509_sign(certificate, key.pkey, EVP_sha256()) > 0 else {
            throw CryptoError.generationFailed.withOpenSSLErrors()
        }
        let certificatePEM = try MemoryBIO.collectText { bio in PEM_write_bio_X509(bio, certificate) == 1 }
        return (certificatePEM, try key.pkcs8PEM())
    }

    /// Generates a fresh RSA key of `bits` bits.
    static func generateRSAKey(bits: Int32) throws -> RSAPrivateKey {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else {
            throw CryptoError.generationFailed.withOpenSSLErrors()
        }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer? = nil
        guard EVP_PKEY_keygen_init(context) == 1,
            EVP_PKEY_CTX_set_rsa_keygen_bits(context, bits) == 1,
            EVP_PKEY_generate(context, &key) == 1,
            let key
        else { throw CryptoError.generationFailed.withOpenSSLErrors() }
        return RSAPrivateKey(taking: key)
    }

    /// Sets a random, positive 127-bit serial number (RFC 5280 allows up to 20 octets).
    private static func setRandomSerial(_ certificate: OpaquePointer) throws {
        var bytes = SecureRandom.bytes(count: 16)
        bytes[0] &= 0x7f
        bytes[0] |= 0x40  // keep the length fixed so the encoding is always 16 octets
        guard let number = BN_bin2bn(bytes, Int32(bytes.count), nil) else {
            throw CryptoError.generationFailed.withOpenSSLErrors()
        }
        defer { BN_free(number) }
        guard let serial = BN_to_ASN1_INTEGER(number, nil) else {
            throw CryptoError.generationFailed.withOpenSSLErrors()
        }
        defer { ASN1_INTEGER_free(serial) }
        guard X509_set_serialNumber(certificate, serial) == 1 else {
            throw CryptoError.generationFailed.withOpenSSLErrors()
        }
    }
}
