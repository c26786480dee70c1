import COpenSSL

/// An error from the Crypto module.
///
/// Equality compares the kind only. `detail` carries OpenSSL's error queue text (never key material).
public struct CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case invalidEncoding
        case invalidKey
        case unsupportedKey
        case invalidCertificate
        case signingFailed
        case malformedToken
        case algorithmMismatch
        case invalidArgument
        case generationFailed
    }

    private let code: Code

    /// What went wrong in more detail: OpenSSL's error queue text or a fixed explanation.
    public let detail: String

    private init(_ code: Code, detail: String = "") {
        self.code = code
        self.detail = detail
    }

    /// Input text or bytes were not in the expected encoding (PEM, DER, base64url, hex).
    public static var invalidEncoding: CryptoError { CryptoError(.invalidEncoding) }
    /// A key could not be parsed (bad PEM, wrong passphrase, not a key).
    public static var invalidKey: CryptoError { CryptoError(.invalidKey) }
    /// The key parsed but is not of a supported type (only RSA is supported).
    public static var unsupportedKey: CryptoError { CryptoError(.unsupportedKey) }
    /// A certificate could not be parsed.
    public static var invalidCertificate: CryptoError { CryptoError(.invalidCertificate) }
    /// OpenSSL failed to produce a signature.
    public static var signingFailed: CryptoError { CryptoError(.signingFailed) }
    /// A compact JWT is not three base64url parts or is too long.
    public static var malformedToken: CryptoError { CryptoError(.malformedToken) }
    /// A JWT header names a different algorithm than the key in use.
    public static var algorithmMismatch: CryptoError { CryptoError(.algorithmMismatch) }
    /// An argument was out of range or malformed.
    public static var invalidArgument: CryptoError { CryptoError(.invalidArgument) }
    /// Generating a key or certificate failed.
    public static var generationFailed: CryptoError { CryptoError(.generationFailed) }

    /// A bounded, stable name for the error kind, fit for metric labels.
    public var shortDescription: String {
        switch code {
        case .invalidEncoding: "invalid_encoding"
        case .invalidKey: "invalid_key"
        case .unsupportedKey: "unsupported_key"
        case .invalidCertificate: "invalid_certificate"
        case .signingFailed: "signing_failed"
        case .malformedToken: "malformed_token"
        case .algorithmMismatch: "algorithm_mismatch"
        case .invalidArgument: "invalid_argument"
        case .generationFailed: "generation_failed"
        }
    }

    public var description: String {
        detail.isEmpty ? "CryptoError.\(shortDescription)" : "CryptoError.\(shortDescription): \(detail)"
    }

    public static func == (lhs: CryptoError, rhs: CryptoError) -> Bool { lhs.code == rhs.code }

    /// The same kind with a fixed explanation.
    func with(detail: String) -> CryptoError { CryptoError(code, detail: detail) }

    /// The same kind carrying (and clearing) the calling thread's OpenSSL error queue.
    func withOpenSSLErrors() -> CryptoError { CryptoError(code, detail: OpenSSLErrorQueue.drain()) }
}

/// Reads OpenSSL's per-thread error queue.
enum OpenSSLErrorQueue {
    /// Returns the queued errors as text (joined with "; ") and empties the queue.
    static func drain() -> String {
        var messages: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            // Bound the loop: the queue holds at most 16 entries, but never trust that blindly.
            if messages.count >= 16 { continue }
            buffer.withUnsafeMutableBufferPointer { pointer in
                ERR_error_string_n(code, pointer.baseAddress, pointer.count)
            }
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages.isEmpty ? "no OpenSSL error detail" : messages.joined(separator: "; ")
    }

    /// Drops stale errors so that a later failure reports only its own causes.
    static func clear() { ERR_clear_error() }
}
