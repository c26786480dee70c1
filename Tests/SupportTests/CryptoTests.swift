import FoundationEssentials
import Testing

@testable import Crypto

@Suite struct DigestTests {
    @Test func sha256KnownVectors() {
        #expect(Hex.encode(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            Hex.encode(SHA256.hash("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        #expect(
            Hex.encode(SHA256.hash(long.utf8)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // A non-contiguous sequence takes the copying path and must agree.
        #expect(SHA256.hash(AnySequence("abc".utf8)) == SHA256.hash(Array("abc".utf8)))
    }

    @Test func sha256FedInPiecesMatchesTheOneShotDigest() {
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        let hasher = SHA256.Hasher()
        hasher.update(long[..<7])
        hasher.update([UInt8]())
        hasher.update(long[7...])
        #expect(Hex.encode(hasher.finalize()) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let million = [UInt8](repeating: 0x61, count: 1_000_000)
        let pieces = SHA256.Hasher()
        for start in stride(from: 0, to: million.count, by: 65_537) {
            pieces.update(million[start..<min(start + 65_537, million.count)])
        }
        // FIPS 180-2's "one million a" vector.
        #expect(Hex.encode(pieces.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func sha1KnownVector() {
        #expect(Hex.encode(SHA1.hash("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
    }

    @Test func hmacSHA256MatchesRFC4231() {
        let case1 = HMAC.sha256(key: [UInt8](repeating: 0x0b, count: 20), data: "Hi There".utf8)
        #expect(Hex.encode(case1) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        let case2 = HMAC.sha256(key: "Jefe".utf8, data: "what do ya want for nothing?".utf8)
        #expect(Hex.encode(case2) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // Case 6: a key longer than the block size is hashed first.
        let case6 = HMAC.sha256(
            key: [UInt8](repeating: 0xaa, count: 131),
            data: "Test Using Larger Than Block-Size Key - Hash Key First".utf8)
        #expect(Hex.encode(case6) == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        #expect(HMAC.sha256(key: [], data: []).count == 32)
    }

    @Test func secureRandomReturnsFreshBytes() {
        #expect(SecureRandom.bytes(count: 0).isEmpty)
        let first = SecureRandom.bytes(count: 32)
        let second = SecureRandom.bytes(count: 32)
        #expect(first.count == 32)
        #expect(first != second)
        // 4 KiB of zeros from a working DRBG has probability 2^-32768.
        #expect(SecureRandom.bytes(count: 4096).contains { $0 != 0 })
    }

    @Test func constantTimeEqualsComparesContentAndLength() {
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(constantTimeEquals([UInt8](), [UInt8]()))
        #expect(!constantTimeEquals([], [0]))
        #expect(constantTimeEquals("secret".utf8, Array("secret".utf8)))
    }
}

@Suite struct EncodingTests {
    @Test func hexRoundTripsAndRejectsGarbage() {
        let bytes: [UInt8] = [0x00, 0x01, 0x7f, 0x80, 0xab, 0xff]
        #expect(Hex.encode(bytes) == "00017f80abff")
        #expect(Hex.decode("00017f80abff") == bytes)
        #expect(Hex.decode("00017F80ABFF") == bytes)
        #expect(Hex.decode("") == [])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
        #expect(Hex.decode("0g") == nil)
    }

    @Test(arguments: [
        ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"),
        ("foobar", "Zm9vYmFy"),
    ])
    func base64URLMatchesRFC4648(plain: String, encoded: String) {
        #expect(Base64URL.encode(plain.utf8) == encoded)
        #expect(Base64URL.decode(encoded) == Array(plain.utf8))
    }

    @Test func base64URLUsesTheURLSafeAlphabet() {
        #expect(Base64URL.encode([0xfb, 0xff, 0xbf]) == "-_-_")
        #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
        #expect(Base64URL.decode("-_8") == [0xfb, 0xff])
        #expect(Base64URL.decode("+/8") == nil)
    }

    @Test func base64URLRejectsInvalidInput() {
        #expect(Base64URL.decode("Zg==") == Array("f".utf8))  // padding tolerated
        #expect(Base64URL.decode("Zm8=") == Array("fo".utf8))
        #expect(Base64URL.decode("Zg=") == nil)  // wrong padding
        #expect(Base64URL.decode("Z") == nil)  // impossible length
        #expect(Base64URL.decode("Zh") == nil)  // non-canonical: unused bits set
        #expect(Base64URL.decode("Zm9=") == nil)
        #expect(Base64URL.decode("Zm 9v") == nil)
        #expect(Base64URL.decode("Zm9v\n") == nil)
        #expect(Base64URL.decode("===") == nil)
    }

    @Test func base64URLRoundTripsEveryLength() {
        for length in 0..<70 {
            let bytes = SecureRandom.bytes(count: length)
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(Base64URL.decode(text) == bytes)
            // Agrees with Foundation's standard base64 after alphabet translation.
            let standard = String(
                Data(bytes).base64EncodedString().compactMap { character -> Character? in
                    switch character {
                    case "+": "-"
                    case "/": "_"
                    case "=": nil
                    default: character
                    }
                })
            #expect(text == standard)
        }
    }
}

@Suite struct RSATests {
    let message = Array(CryptoFixtures.messageSigned.utf8)

    @Test func pkcs1AndPKCS8LoadTheSameKeyAndMatchOpenSSLsSignature() throws {
        let pkcs1 = try RSAPrivateKey(pem: CryptoFixtures.rsaPKCS1)
        let pkcs8 = try RSAPrivateKey(pem: CryptoFixtures.rsaPKCS8)
        #expect(pkcs1.bitCount == 2048)
        let expected = try #require(Base64URL.decode(CryptoFixtures.signatureBase64URL))
        // PKCS#1 v1.5 signatures are deterministic, so both must equal the one the openssl tool made.
        #expect(try pkcs1.sign(sha256: message) == expected)
        #expect(try pkcs8.sign(sha256: message) == expected)
        #expect(try pkcs1.publicKey.pem() == pkcs8.publicKey.pem())
    }

    @Test func encryptedKeyNeedsTheRightPassphraseAndNeverPrompts() throws {
        let key = try RSAPrivateKey(
            pem: CryptoFixtures.rsaEncryptedPKCS8, passphrase: CryptoFixtures.encryptedPassphrase)
        #expect(try key.publicKey.pem() == RSAPrivateKey(pem: CryptoFixtures.rsaPKCS1).publicKey.pem())
        #expect(throws: CryptoError.invalidKey) {
            try RSAPrivateKey(pem: CryptoFixtures.rsaEncryptedPKCS8, passphrase: "wrong")
        }
        #expect(throws: CryptoError.invalidKey) { try RSAPrivateKey(pem: CryptoFixtures.rsaEncryptedPKCS8) }
    }

    @Test func certificatePublicKeyVerifiesOpenSSLsSignature() throws {
        let certificate = try X509Certificate(pem: CryptoFixtures.certificate)
        let publicKey = try certificate.publicKey()
        let signature = try #require(Base64URL.decode(CryptoFixtures.signatureBase64URL))
        #expect(publicKey.verify(signature: signature, sha256: message))
        #expect(!publicKey.verify(signature: signature, sha256: message + [0]))
        var flipped = signature
        flipped[100] ^= 0x01
        #expect(!publicKey.verify(signature: flipped, sha256: message))
        #expect(!publicKey.verify(signature: [], sha256: message))
        #expect(!publicKey.verify(signature: signature.dropLast(), sha256: message))
    }

    @Test func publicKeyRoundTripsThroughPEM() throws {
        let key = try RSAPrivateKey(pem: CryptoFixtures.rsaPKCS8)
        let publicPEM = try key.publicKey.pem()
        #expect(publicPEM.hasPrefix("-----BEGIN PUBLIC KEY-----"))
        let reloaded = try RSAPublicKey(pem: publicPEM)
        #expect(reloaded.bitCount == 2048)
        #expect(reloaded.verify(signature: try key.sign(sha256: message), sha256: message))
    }

    @Test func rejectsNonRSAAndGarbageWithoutLeakingInput() throws {
        #expect(throws: CryptoError.unsupportedKey) { try RSAPrivateKey(pem: CryptoFixtures.ecPKCS8) }
        let garbage = "-----BEGIN PRIVATE KEY-----\nTOPSECRETTOPSECRET\n-----END PRIVATE KEY-----\n"
        do {
            _ = try RSAPrivateKey(pem: garbage)
            Issue.record("garbage key loaded")
        } catch let error as CryptoError {
            #expect(error == .invalidKey)
            #expect(!error.detail.isEmpty)
            #expect(!error.description.contains("TOPSECRET"))
        }
        #expect(throws: CryptoError.invalidKey) { try RSAPrivateKey(pem: "") }
        #expect(throws: CryptoError.invalidKey) { try RSAPrivateKey(pem: CryptoFixtures.certificate) }
        #expect(throws: CryptoError.invalidKey) { try RSAPublicKey(pem: CryptoFixtures.certificate) }
    }

    @Test func concurrentSigningWithOneKeyIsSafe() async throws {
        let key = try RSAPrivateKey(pem: CryptoFixtures.rsaPKCS8)
        let expected = try #require(Base64URL.decode(CryptoFixtures.signatureBase64URL))
        let message = self.message
        try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for _ in 0..<16 { group.addTask { try key.sign(sha256: message) } }
            for try await signature in group { #expect(signature == expected) }
        }
    }
}

@Suite struct CertificateTests {
    @Test func loadsCertificateAndThumbprintsMatchOpenSSL() throws {
        let certificate = try X509Certificate(pem: CryptoFixtures.certificate)
        #expect(Hex.encode(certificate.sha1Thumbprint) == CryptoFixtures.sha1ThumbprintHex)
        #expect(Hex.encode(certificate.sha256Thumbprint) == CryptoFixtures.sha256ThumbprintHex)
        #expect(certificate.x5t == Base64URL.encode(Hex.decode(CryptoFixtures.sha1ThumbprintHex)!))
        #expect(certificate.x5tS256 == Base64URL.encode(Hex.decode(CryptoFixtures.sha256ThumbprintHex)!))
        #expect(certificate.subjectCommonName == "fixture.test")
        #expect(certificate.subjectAlternativeNames.isEmpty)
        let before = try #require(certificate.notValidBefore)
        let after = try #require(certificate.notValidAfter)
        #expect(after.timeIntervalSince(before) > 99 * 365 * 86_400)
    }

    @Test func derAndPEMRoundTrip() throws {
        let certificate = try X509Certificate(pem: CryptoFixtures.certificate)
        let fromDER = try X509Certificate(der: certificate.derBytes)
        #expect(fromDER.derBytes == certificate.derBytes)
        #expect(try X509Certificate(pem: certificate.pem()).derBytes == certificate.derBytes)
        #expect(throws: CryptoError.invalidCertificate) { try X509Certificate(der: certificate.derBytes + [0]) }
        #expect(throws: CryptoError.invalidCertificate) { try X509Certificate(der: certificate.derBytes.dropLast()) }
        #expect(throws: CryptoError.invalidCertificate) { try X509Certificate(der: []) }
        #expect(throws: CryptoError.invalidCertificate) { try X509Certificate(pem: CryptoFixtures.rsaPKCS1) }
    }

    @Test func fileWithCertificateAndKeyLoadsBothInEitherOrder() throws {
        let expected = try X509Certificate(pem: CryptoFixtures.certificate).derBytes
        for bundle in [
            CryptoFixtures.certificate + "\n" + CryptoFixtures.rsaPKCS8,
            CryptoFixtures.rsaPKCS1 + "\n" + CryptoFixtures.certificate,
        ] {
            let certificate = try X509Certificate(pem: bundle)
            let key = try RSAPrivateKey(pem: bundle)
            #expect(certificate.derBytes == expected)
            let message = Array("bundle".utf8)
            #expect(try certificate.publicKey().verify(signature: key.sign(sha256: message), sha256: message))
        }
    }

    @Test func loadsEveryCertificateOfABundle() throws {
        let generated = try SelfSignedCertificate.generate(commonName: "second")
        let bundle = CryptoFixtures.certificate + "\n" + CryptoFixtures.rsaPKCS8 + "\n" + generated.certificatePEM
        let certificates = try X509Certificate.certificates(pem: bundle)
        #expect(certificates.map(\.subjectCommonName) == ["fixture.test", "second"])
        #expect(throws: CryptoError.invalidCertificate) { try X509Certificate.certificates(pem: "no pem here") }
    }
}

@Suite struct SelfSignedCertificateTests {
    @Test func generatesAKeyAndCertificateUsableAsTheirOwnCA() throws {
        let generated = try SelfSignedCertificate.generate(
            commonName: "purview-gateway dev", subjectAltNames: ["IP:127.0.0.1", "DNS:localhost", "IP:::1"], days: 30)
        #expect(generated.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(generated.privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))

        let certificate = try X509Certificate(pem: generated.certificatePEM)
        let key = try RSAPrivateKey(pem: generated.privateKeyPEM)
        #expect(key.bitCount == 2048)
        #expect(certificate.subjectCommonName == "purview-gateway dev")
        #expect(
            certificate.subjectAlternativeNames == ["IP:127.0.0.1", "DNS:localhost", "IP:0:0:0:0:0:0:0:1"])

        let message = Array("tls".utf8)
        #expect(try certificate.publicKey().verify(signature: key.sign(sha256: message), sha256: message))

        let validity = try #require(certificate.notValidAfter).timeIntervalSinceNow
        #expect(validity > 29 * 86_400 && validity <= 30 * 86_400)

        // Strict RFC 5280 verification (as Python 3.13's default TLS context does) with the cert as trust anchor.
        #expect(certificate.verificationFailure(trustAnchors: [certificate], ipAddress: "127.0.0.1") == nil)
        #expect(certificate.verificationFailure(trustAnchors: [certificate], host: "localhost") == nil)
        #expect(certificate.verificationFailure(trustAnchors: [certificate], host: "example.com") != nil)
        #expect(certificate.verificationFailure(trustAnchors: [certificate], ipAddress: "10.0.0.1") != nil)
        let other = try X509Certificate(pem: CryptoFixtures.certificate)
        #expect(certificate.verificationFailure(trustAnchors: [other], host: "localhost") != nil)
    }

    @Test func eachGenerationHasAFreshKeyAndSerial() throws {
        let first = try SelfSignedCertificate.generate(commonName: "a", subjectAltNames: [], days: 1)
        let second = try SelfSignedCertificate.generate(commonName: "a", subjectAltNames: [], days: 1)
        #expect(first.privateKeyPEM != second.privateKeyPEM)
        #expect(try X509Certificate(pem: first.certificatePEM).subjectAlternativeNames.isEmpty)
        #expect(
            try X509Certificate(pem: first.certificatePEM).sha256Thumbprint
                != X509Certificate(pem: second.certificatePEM).sha256Thumbprint)
    }

    @Test func rejectsBadArguments() {
        #expect(throws: CryptoError.invalidArgument) { try SelfSignedCertificate.generate(commonName: "") }
        #expect(throws: CryptoError.invalidArgument) {
            try SelfSignedCertificate.generate(commonName: "x", subjectAltNames: ["localhost"])
        }
        #expect(throws: CryptoError.invalidArgument) {
            try SelfSignedCertificate.generate(commonName: "x", subjectAltNames: ["DNS:a,IP:1.2.3.4"])
        }
        #expect(throws: CryptoError.invalidArgument) { try SelfSignedCertificate.generate(commonName: "x", days: 0) }
    }
}

@Suite struct JWTTests {
    @Test func hs256MatchesRFC7515AppendixA1() throws {
        let token =
            "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
            + ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
            + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        let key = try #require(
            Base64URL.decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"))
        let parsed = try CompactJWT(parsing: token)
        #expect(parsed.algorithm == "HS256")
        #expect(String(decoding: parsed.headerJSON, as: UTF8.self) == "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}")
        #expect(String(decoding: parsed.payloadJSON, as: UTF8.self).hasPrefix("{\"iss\":\"joe\""))
        #expect(parsed.verifySignature(using: .hs256(key: key)))
        #expect(!parsed.verifySignature(using: .hs256(key: Array(key.dropFirst()))))
        // Re-signing the same header and payload reproduces the RFC's token exactly.
        #expect(
            try JWT.sign(headerJSON: parsed.headerJSON, claimsJSON: parsed.payloadJSON, using: .hs256(key: key))
                == token)
    }

    @Test func rs256SignParseVerify() throws {
        let key = try RSAPrivateKey(pem: CryptoFixtures.rsaPKCS8)
        let certificate = try X509Certificate(pem: CryptoFixtures.certificate)
        let header = #"{"alg":"RS256","typ":"JWT","x5t":"\#(certificate.x5t)"}"#
        let claims = #"{"aud":"https://login.example/token","iss":"client","sub":"client","exp":1900000000}"#
        let token = try JWT.sign(headerJSON: header.utf8, claimsJSON: claims.utf8, using: .rs256(key))
        #expect(token.split(separator: ".").count == 3)

        let parsed = try CompactJWT(parsing: token)
        #expect(parsed.headerJSON == Array(header.utf8))
        #expect(parsed.payloadJSON == Array(claims.utf8))
        #expect(parsed.signature.count == 256)
        #expect(parsed.verifySignature(using: try .rs256(certificate: certificate)))
        #expect(parsed.verifySignature(using: .rs256(key.publicKey)))

        let otherKey = try RSAPrivateKey(pem: SelfSignedCertificate.generate(commonName: "other").privateKeyPEM)
        #expect(!parsed.verifySignature(using: .rs256(otherKey.publicKey)))
        // An RS256 token never verifies under HS256, even keyed with the public key's PEM (algorithm confusion).
        #expect(!parsed.verifySignature(using: .hs256(key: Array(try key.publicKey.pem().utf8))))
    }

    @Test func tamperedTokensFail() throws {
        let secret = SecureRandom.bytes(count: 32)
        let token = try JWT.sign(
            headerJSON: #"{"alg":"HS256"}"#.utf8, claimsJSON: #"{"role":"reader"}"#.utf8, using: .hs256(key: secret))
        let parts = token.split(separator: ".").map(String.init)
        let forgedClaims = Base64URL.encode(#"{"role":"admin"}"#.utf8)
        let forged = try CompactJWT(parsing: [parts[0], forgedClaims, parts[2]].joined(separator: "."))
        #expect(!forged.verifySignature(using: .hs256(key: secret)))
        let noneHeader = Base64URL.encode(#"{"alg":"none"}"#.utf8)
        let downgraded = try CompactJWT(parsing: [noneHeader, parts[1], parts[2]].joined(separator: "."))
        #expect(downgraded.algorithm == "none")
        #expect(!downgraded.verifySignature(using: .hs256(key: secret)))
        #expect(try CompactJWT(parsing: token).verifySignature(using: .hs256(key: secret)))
    }

    @Test func signingRefusesAHeaderThatNamesAnotherAlgorithm() throws {
        let key = try RSAPrivateKey(pem: CryptoFixtures.rsaPKCS8)
        #expect(throws: CryptoError.algorithmMismatch) {
            try JWT.sign(headerJSON: #"{"alg":"HS256"}"#.utf8, claimsJSON: "{}".utf8, using: .rs256(key))
        }
        #expect(throws: CryptoError.algorithmMismatch) {
            try JWT.sign(headerJSON: #"{"typ":"JWT"}"#.utf8, claimsJSON: "{}".utf8, using: .hs256(key: [1]))
        }
        #expect(throws: CryptoError.invalidArgument) {
            try JWT.sign(headerJSON: "not json".utf8, claimsJSON: "{}".utf8, using: .hs256(key: [1]))
        }
    }

    @Test(arguments: [
        "", "abc", "a.b", "a.b.c.d", ".eyJ9.sig", "eyJhbGciOiJIUzI1NiJ9.e30.", "eyJhbGciOiJIUzI1NiJ9.e30.ab+c",
        "eyJhbGciOiJIUzI1NiJ9.e30=.abc", "bm90IGpzb24.e30.abcd", "W10.e30.abcd",
    ])
    func malformedTokensAreRejected(token: String) {
        #expect(throws: CryptoError.malformedToken) { try CompactJWT(parsing: token) }
    }

    @Test func overlongTokensAreRejectedBeforeDecoding() throws {
        let header = Base64URL.encode(#"{"alg":"HS256"}"#.utf8)
        let token = header + "." + String(repeating: "A", count: 20_000) + ".abcd"
        #expect(throws: CryptoError.malformedToken) { try CompactJWT(parsing: token) }
        #expect(try CompactJWT(parsing: token, maximumLength: 30_000).payloadJSON.count == 15_000)
    }
}
