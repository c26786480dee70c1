import FoundationEssentials

/// A key that signs JWTs: RS256 with an RSA private key or HS256 with a shared secret.
public struct JWTSigner: Sendable {
    enum Kind: Sendable {
        case rs256(RSAPrivateKey)
        case hs256([UInt8])
    }

    let kind: Kind

    /// Signs with RSASSA-PKCS1-v1_5 SHA-256 (`RS256`).
    public static func rs256(_ key: RSAPrivateKey) -> JWTSigner { JWTSigner(kind: .rs256(key)) }

    /// Signs with HMAC-SHA-256 (`HS256`); the key should be at least 32 random bytes.
    public static func hs256(key: [UInt8]) -> JWTSigner { JWTSigner(kind: .hs256(key)) }

    /// The JWS `alg` value this signer produces.
    public var algorithm: String {
        switch kind {
        case .rs256: "RS256"
        case .hs256: "HS256"
        }
    }

    func signature(of signingInput: [UInt8]) throws -> [UInt8] {
        switch kind {
        case .rs256(let key): try key.sign(sha256: signingInput)
        case .hs256(let key): HMAC.sha256(key: key, data: signingInput)
        }
    }
}

/// A key that verifies JWT signatures: RS256 with an RSA public key or certificate, or HS256.
public struct JWTVerifier: Sendable {
    enum Kind: Sendable {
        case rs256(RSAPublicKey)
        case hs256([UInt8])
    }

    let kind: Kind

    /// Verifies `RS256` signatures with `key`.
    public static func rs256(_ key: RSAPublicKey) -> JWTVerifier { JWTVerifier(kind: .rs256(key)) }

    /// Verifies `RS256` signatures with the certificate's public key.
    public static func rs256(certificate: X509Certificate) throws -> JWTVerifier {
        JWTVerifier(kind: .rs256(try certificate.publicKey()))
    }

    /// Verifies `HS256` signatures with the shared secret `key`.
    public static func hs256(key: [UInt8]) -> JWTVerifier { JWTVerifier(kind: .hs256(key)) }

    /// The JWS `alg` value this verifier accepts (and the only one).
    public var algorithm: String {
        switch kind {
        case .rs256: "RS256"
        case .hs256: "HS256"
        }
    }

    func isValid(signature: [UInt8], of signingInput: [UInt8]) -> Bool {
        switch kind {
        case .rs256(let key): key.verify(signature: signature, sha256: signingInput)
        case .hs256(let key): constantTimeEquals(HMAC.sha256(key: key, data: signingInput), signature)
        }
    }
}

/// Compact JWS/JWT serialization (RFC 7515 §7.1, RFC 7519). JSON stays with the caller.
public enum JWT {
    /// Signs a token made of the given header and claims JSON, returning `header.payload.signature`.
    ///
    /// The header's `alg` must equal the signer's algorithm; anything else throws
    /// ``CryptoError/algorithmMismatch`` so that a token never claims an algorithm it was not signed with.
    public static func sign(
        headerJSON: some Sequence<UInt8>, claimsJSON: some Sequence<UInt8>, using signer: JWTSigner
    ) throws -> String {
        let header = Array(headerJSON)
        let algorithm: String?
        do {
            algorithm = try CompactJWT.algorithm(inHeader: header)
        } catch {
            throw CryptoError.invalidArgument.with(detail: "header is not a JSON object")
        }
        guard let algorithm else {
            throw CryptoError.algorithmMismatch.with(detail: "header has no alg")
        }
        guard algorithm == signer.algorithm else {
            throw CryptoError.algorithmMismatch.with(detail: "header alg differs from the signer's")
        }
        var signingInput = Base64URL.encodeToBytes(header)
        signingInput.append(UInt8(ascii: "."))
        signingInput.append(contentsOf: Base64URL.encodeToBytes(claimsJSON))
        let signature = try signer.signature(of: signingInput)
        signingInput.append(UInt8(ascii: "."))
        signingInput.append(contentsOf: Base64URL.encodeToBytes(signature))
        return String(decoding: signingInput, as: UTF8.self)
    }
}

/// A parsed compact JWT: decoded header and payload bytes and the signature, not yet verified.
public struct CompactJWT: Sendable {
    /// The default bound on token length; Azure AD tokens are a few KiB.
    public static let defaultMaximumLength = 16 * 1024

    /// The decoded header JSON.
    public let headerJSON: [UInt8]
    /// The decoded payload (claims) JSON.
    public let payloadJSON: [UInt8]
    /// The decoded signature.
    public let signature: [UInt8]
    /// The signed bytes: the first two parts as they appeared, joined by a dot.
    public let signingInput: [UInt8]
    /// The header's `alg`, if the header is a JSON object with a string `alg`.
    public let algorithm: String?

    /// Parses `token`; throws ``CryptoError/malformedToken`` unless it is three base64url parts whose first
    /// part decodes to a JSON object.
    public init(parsing token: some StringProtocol, maximumLength: Int = CompactJWT.defaultMaximumLength) throws {
        let bytes = Array(token.utf8)
        guard bytes.count <= maximumLength else { throw CryptoError.malformedToken.with(detail: "token too long") }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[2].isEmpty else {
            throw CryptoError.malformedToken.with(detail: "expected three non-empty parts")
        }
        // JWS forbids padding; reject it so each token has exactly one form.
        guard !bytes.contains(UInt8(ascii: "=")),
            let header = Base64URL.decode(bytes: parts[0]),
            let payload = Base64URL.decode(bytes: parts[1]),
            let signature = Base64URL.decode(bytes: parts[2])
        else { throw CryptoError.malformedToken.with(detail: "invalid base64url") }
        guard let algorithm = try? Self.algorithm(inHeader: header) else {
            throw CryptoError.malformedToken.with(detail: "header is not a JSON object")
        }
        self.headerJSON = header
        self.payloadJSON = payload
        self.signature = signature
        self.signingInput = Array(bytes[..<parts[1].endIndex])
        self.algorithm = algorithm
    }

    /// Returns true if the header's `alg` is the verifier's algorithm and the signature is valid.
    ///
    /// Claims (`exp`, `nbf`, `aud`, `iss`) are the caller's to check.
    public func verifySignature(using verifier: JWTVerifier) -> Bool {
        guard algorithm == verifier.algorithm else { return false }
        return verifier.isValid(signature: signature, of: signingInput)
    }

    private struct Header: Decodable {
        let alg: String?
    }

    /// Reads `alg` from a JWS header; nil when absent or not a string, throws when not a JSON object.
    static func algorithm(inHeader header: [UInt8]) throws -> String? {
        do {
            return try JSONDecoder().decode(Header.self, from: Data(header)).alg
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.first?.stringValue == "alg" {
            return nil
        } catch {
            throw CryptoError.malformedToken.with(detail: "header is not a JSON object")
        }
    }
}
