/// A TLS failure: a bounded `code` for metrics and logic, and a `detail` for logs.
///
/// `detail` comes from OpenSSL's error queue and, for certificate problems, the X.509 verification
/// result; it names files and certificate problems but never holds key material.
public struct TLSError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure; compare with the static members (`error.code == .hostnameMismatch`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case invalidConfiguration = "invalid_configuration"
            case handshakeFailed = "handshake_failed"
            case certificateVerifyFailed = "certificate_verify_failed"
            case certificateExpired = "certificate_expired"
            case hostnameMismatch = "hostname_mismatch"
            case unsupportedProtocol = "unsupported_protocol"
            case unexpectedEOF = "unexpected_eof"
            case protocolError = "protocol_error"
            case connectionClosed = "connection_closed"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A certificate, key, trust store or option could not be loaded or applied.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The handshake failed for a reason not covered by a more specific code (e.g. an alert from the peer).
        public static let handshakeFailed = Code(.handshakeFailed)
        /// The peer's certificate chain did not verify against the trust store.
        public static let certificateVerifyFailed = Code(.certificateVerifyFailed)
        /// A certificate in the peer's chain has expired (or is not yet valid).
        public static let certificateExpired = Code(.certificateExpired)
        /// The peer's certificate does not match the expected host name or IP address.
        public static let hostnameMismatch = Code(.hostnameMismatch)
        /// The peer offered only protocol versions we do not accept (below TLS 1.2).
        public static let unsupportedProtocol = Code(.unsupportedProtocol)
        /// The transport ended without a close_notify alert.
        public static let unexpectedEOF = Code(.unexpectedEOF)
        /// A failure after the handshake: a corrupt record, a bad MAC, an unexpected message.
        public static let protocolError = Code(.protocolError)
        /// Plaintext was written after `shutdown()`.
        public static let connectionClosed = Code(.connectionClosed)

        /// The snake_case name, suitable as a metric label.
        public var description: String { base.rawValue }
    }

    public let code: Code
    /// OpenSSL's explanation, e.g. "error:0A000086:SSL routines::certificate verify failed (hostname mismatch)".
    public let detail: String

    public init(code: Code, detail: String) {
        self.code = code
        self.detail = detail
    }

    /// A bounded, stable string for metric labels and log fields, e.g. "hostname_mismatch".
    public var shortDescription: String { code.description }

    public var description: String { "TLSError.\(code): \(detail)" }
}
