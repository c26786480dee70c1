import COpenSSL

/// How far the handshake has come.
public enum TLSHandshakeState: Sendable, Equatable {
    /// Feed more ciphertext (after sending whatever is pending).
    case inProgress
    case complete
}

/// The outcome of `TLSConnection.readPlaintext(into:)`.
public enum TLSReadResult: Sendable, Equatable {
    /// This many plaintext bytes were written to the start of the buffer; call again, more may be ready.
    case bytes(Int)
    /// No plaintext is available until more ciphertext is fed.
    case wantMore
    /// The peer sent close_notify: no more plaintext will arrive (answer with `shutdown()`).
    case closed
}

/// One TLS session as a socket-free engine: ciphertext in, plaintext out, and the reverse.
///
/// The owner (one event loop) moves bytes between the socket and the engine:
/// - bytes read from the socket go to `feedCiphertext(_:)`; end of stream to `feedEndOfInput()`;
/// - after **every** call, bytes in `pendingCiphertextCount` must be written to the socket
///   (`drainCiphertext(into:)` or `withPendingCiphertext(_:)`), including after an error,
///   since a fatal alert for the peer may be queued;
/// - a client calls `handshake()` once right away (it produces the ClientHello), servers may
///   too or just start reading: `readPlaintext(into:)` drives the handshake implicitly.
///
/// Nothing here blocks or touches a file descriptor. Plaintext written before the handshake ends
/// is queued and encrypted once it completes. The ciphertext buffer grows without bound, so the
/// owner applies backpressure by checking `pendingCiphertextCount` before writing more.
public final class TLSConnection {
    public let context: TLSContext
    private let ssl: OpaquePointer
    /// Network → OpenSSL.
    private let inbound: OpaquePointer
    /// OpenSSL → network.
    private let outbound: OpaquePointer

    /// The first fatal error; the SSL object is unusable afterwards, so every later call repeats it.
    private var failure: TLSError?
    private var handshakeDone = false
    private var peerSentCloseNotify = false
    private var shutdownStarted = false
    /// Plaintext accepted before the handshake finished, from `pendingPlaintextStart` on.
    private var pendingPlaintext: [UInt8] = []
    private var pendingPlaintextStart = 0

    /// A server-side session.
    public convenience init(serverContext: TLSContext) throws(TLSError) {
        precondition(serverContext.role == .server, "TLSConnection(serverContext:) needs a server context")
        try self.init(context: serverContext)
        SSL_set_accept_state(ssl)
    }

    /// A client-side session that will verify the server's certificate for `serverName` (a DNS
    /// name or an IP literal, IPv6 with or without brackets). SNI is sent for DNS names only.
    public convenience init(clientContext: TLSContext, serverName: String) throws(TLSError) {
        precondition(clientContext.role == .client, "TLSConnection(clientContext:) needs a client context")
        try self.init(context: clientContext)
        SSL_set_connect_state(ssl)
        OpenSSLErrorQueue.clear()
        defer { OpenSSLErrorQueue.clear() }

        var host = Substring(serverName)
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        let name = String(host)
        guard !name.isEmpty, !name.utf8.contains(0) else {
            throw TLSError(code: .invalidConfiguration, detail: "invalid server name")
        }
        let isIPAddress: Bool
        if let address = a2i_IPADDRESS(name) {
            ASN1_OCTET_STRING_free(address)
            isIPAddress = true
        } else {
            isIPAddress = false
        }
        if clientContext.verifiesPeer {
            let parameters = SSL_get0_param(ssl)
            let accepted: Bool
            if isIPAddress {
                accepted = X509_VERIFY_PARAM_set1_ip_asc(parameters, name) == 1
            } else {
                X509_VERIFY_PARAM_set_hostflags(parameters, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
                accepted = X509_VERIFY_PARAM_set1_host(parameters, name, 0) == 1
            }
            guard accepted else { throw OpenSSLErrorQueue.configurationError("cannot verify against \(name)") }
        }
        if !isIPAddress {
            guard copenssl_SSL_set_tlsext_host_name(ssl, name) == 1 else {
                throw OpenSSLErrorQueue.configurationError("cannot send SNI for \(name)")
            }
        }
    }

    private init(context: TLSContext) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        guard let ssl = SSL_new(context.pointer) else {
            throw OpenSSLErrorQueue.configurationError("SSL_new failed")
        }
        guard let inbound = BIO_new(BIO_s_mem()), let outbound = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw OpenSSLErrorQueue.configurationError("BIO_new failed")
        }
        // An empty memory BIO must mean "no data yet", not end of stream.
        _ = copenssl_BIO_set_mem_eof_return(inbound, -1)
        _ = copenssl_BIO_set_mem_eof_return(outbound, -1)
        SSL_set_bio(ssl, inbound, outbound)  // the SSL object now owns both BIOs
        self.context = context
        self.ssl = ssl
        self.inbound = inbound
        self.outbound = outbound
    }

    deinit {
        SSL_free(ssl)
    }

    // MARK: - Input

    /// Hands over bytes read from the socket (copied; the buffer may be reused at once).
    public func feedCiphertext(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        var offset = 0
        while offset < bytes.count {
            let chunk = Int32(clamping: bytes.count - offset)
            let written = BIO_write(inbound, base + offset, chunk)
            // A memory BIO only refuses on allocation failure, which we cannot recover from.
            precondition(written > 0, "TLS: memory BIO refused \(chunk) bytes")
            offset += Int(written)
        }
    }

    /// The socket reached end of stream: once buffered ciphertext is used up, reads report
    /// `unexpectedEOF` unless the peer's close_notify was seen (`.closed`).
    public func feedEndOfInput() {
        _ = copenssl_BIO_set_mem_eof_return(inbound, 0)
    }

    // MARK: - Handshake

    /// Advances the handshake as far as the fed ciphertext allows.
    @discardableResult
    public func handshake() throws(TLSError) -> TLSHandshakeState {
        if let failure { throw failure }
        if handshakeDone { return .complete }
        OpenSSLErrorQueue.clear()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            try handshakeFinished()
            return .complete
        }
        let code = SSL_get_error(ssl, result)
        if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { return .inProgress }
        throw fail(code)
    }

    public var isHandshakeComplete: Bool { handshakeDone }

    private func handshakeFinished() throws(TLSError) {
        handshakeDone = true
        try flushPendingPlaintext()
    }

    // MARK: - Plaintext

    /// Decrypts into `buffer` as much as is available (several records if they fit).
    ///
    /// Drives the handshake if it is not finished. A fatal error after some bytes were decrypted
    /// returns those bytes first and is thrown by the next call.
    public func readPlaintext(into buffer: UnsafeMutableRawBufferPointer) throws(TLSError) -> TLSReadResult {
        if let failure { throw failure }
        if peerSentCloseNotify { return .closed }
        guard let base = buffer.baseAddress, !buffer.isEmpty else {
            preconditionFailure("TLS: readPlaintext needs a non-empty buffer")
        }
        OpenSSLErrorQueue.clear()
        var total = 0
        var fatal: TLSError?
        let handshakeWasDone = handshakeDone
        while total < buffer.count {
            var count = 0
            if SSL_read_ex(ssl, base + total, buffer.count - total, &count) == 1 {
                total += count
                handshakeDone = true  // application data only flows after the handshake
                continue
            }
            let code = SSL_get_error(ssl, 0)
            if code == SSL_ERROR_ZERO_RETURN {
                peerSentCloseNotify = true
            } else if code != SSL_ERROR_WANT_READ && code != SSL_ERROR_WANT_WRITE {
                fatal = fail(code)
            }
            break
        }
        if fatal == nil, !handshakeWasDone, handshakeDone || SSL_is_init_finished(ssl) == 1 {
            try handshakeFinished()
        }
        if total > 0 { return .bytes(total) }
        if let fatal { throw fatal }
        return peerSentCloseNotify ? .closed : .wantMore
    }

    /// Encrypts `bytes` (all of them: the engine never refuses plaintext). Before the handshake
    /// completes they are queued and encrypted as soon as it does.
    public func writePlaintext(_ bytes: UnsafeRawBufferPointer) throws(TLSError) {
        if let failure { throw failure }
        guard !shutdownStarted else {
            throw TLSError(code: .connectionClosed, detail: "plaintext written after shutdown()")
        }
        guard !bytes.isEmpty else { return }
        if handshakeDone, pendingPlaintextStart == pendingPlaintext.count {
            let written = try encrypt(bytes).get()
            guard written < bytes.count else { return }
            pendingPlaintext.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[written...]))
            return
        }
        pendingPlaintext.append(contentsOf: bytes)
        if handshakeDone { try flushPendingPlaintext() }
    }

    /// Plaintext accepted but not yet encrypted (waiting for the handshake).
    public var pendingPlaintextCount: Int { pendingPlaintext.count - pendingPlaintextStart }

    private func flushPendingPlaintext() throws(TLSError) {
        guard pendingPlaintextStart < pendingPlaintext.count else { return }
        let start = pendingPlaintextStart
        let result = pendingPlaintext.withUnsafeBytes { encrypt(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        pendingPlaintextStart += try result.get()
        if pendingPlaintextStart == pendingPlaintext.count {
            pendingPlaintext.removeAll(keepingCapacity: pendingPlaintext.count <= 64 * 1024)
            pendingPlaintextStart = 0
        }
    }

    /// Feeds plaintext to SSL_write until it is all taken or OpenSSL wants input first.
    private func encrypt(_ bytes: UnsafeRawBufferPointer) -> Result<Int, TLSError> {
        guard let base = bytes.baseAddress else { return .success(0) }
        OpenSSLErrorQueue.clear()
        var offset = 0
        while offset < bytes.count {
            var count = 0
            if SSL_write_ex(ssl, base + offset, bytes.count - offset, &count) == 1 {
                offset += count
                continue
            }
            let code = SSL_get_error(ssl, 0)
            if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { break }
            return .failure(fail(code))
        }
        return .success(offset)
    }

    // MARK: - Output

    /// Ciphertext waiting to be written to the socket.
    public var pendingCiphertextCount: Int { Int(copenssl_BIO_pending(outbound)) }

    /// Moves up to `buffer.count` bytes of pending ciphertext into `buffer`; returns how many.
    public func drainCiphertext(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return 0 }
        let count = BIO_read(outbound, base, Int32(clamping: buffer.count))
        return max(0, Int(count))
    }

    /// Appends all pending ciphertext to `bytes`.
    public func drainCiphertext(appendingTo bytes: inout [UInt8]) {
        let pending = pendingCiphertextCount
        guard pending > 0 else { return }
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: pending))
        let read = bytes.withUnsafeMutableBytes {
            drainCiphertext(into: UnsafeMutableRawBufferPointer(rebasing: $0[start...]))
        }
        bytes.removeLast(pending - read)
    }

    /// All pending ciphertext as a new array (convenient in tests; the event loop should prefer the
    /// buffer-reusing variants).
    public func drainCiphertext() -> [UInt8] {
        var bytes: [UInt8] = []
        drainCiphertext(appendingTo: &bytes)
        return bytes
    }

    /// Lends the pending ciphertext in place (no copy) to `body`, which returns how many bytes it
    /// consumed (e.g. what `write(2)` accepted); those are dropped, the rest stays pending.
    @discardableResult
    public func withPendingCiphertext<E: Error>(
        _ body: (UnsafeRawBufferPointer) throws(E) -> Int
    ) throws(E) -> Int {
        var data: UnsafeMutablePointer<CChar>? = nil
        let length = copenssl_BIO_get_mem_data(outbound, &data)
        guard length > 0, let data else { return 0 }
        let consumed = try body(UnsafeRawBufferPointer(start: data, count: length))
        precondition(consumed >= 0 && consumed <= length, "TLS: consumed \(consumed) of \(length) bytes")
        discardCiphertext(consumed)
        return consumed
    }

    private func discardCiphertext(_ count: Int) {
        guard count > 0 else { return }
        withUnsafeTemporaryAllocation(byteCount: min(count, 16 * 1024), alignment: 1) { scratch in
            var remaining = count
            while remaining > 0 {
                let chunk = min(remaining, scratch.count)
                let read = BIO_read(outbound, scratch.baseAddress, Int32(chunk))
                guard read > 0 else { break }
                remaining -= Int(read)
            }
        }
    }

    // MARK: - Closing

    /// Queues close_notify (drain it to the socket). Writing plaintext afterwards is an error;
    /// reading still works until the peer's close_notify. Does nothing before the handshake is
    /// complete or after a fatal error, when there is nothing meaningful to say.
    public func shutdown() {
        guard !shutdownStarted else { return }
        shutdownStarted = true
        guard failure == nil, handshakeDone else { return }
        OpenSSLErrorQueue.clear()
        _ = SSL_shutdown(ssl)
        OpenSSLErrorQueue.clear()
    }

    /// The peer's close_notify has been read.
    public var receivedCloseNotify: Bool { peerSentCloseNotify }

    // MARK: - Session facts (for logs and routing)

    /// E.g. "TLSv1.3", once the handshake is complete.
    public var protocolVersion: String? {
        guard handshakeDone, let version = SSL_get_version(ssl) else { return nil }
        return String(cString: version)
    }

    /// OpenSSL's name of the negotiated suite, e.g. "TLS_AES_256_GCM_SHA384" or "ECDHE-RSA-AES128-GCM-SHA256".
    public var cipherSuite: String? {
        guard handshakeDone, let cipher = SSL_get_current_cipher(ssl), let name = SSL_CIPHER_get_name(cipher) else {
            return nil
        }
        return String(cString: name)
    }

    /// The protocol agreed through ALPN, or nil if none was.
    public var alpnProtocol: String? {
        var data: UnsafePointer<UInt8>? = nil
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// The peer certificate's subject in RFC 2253 form (e.g. "CN=localhost"), or nil if the peer
    /// sent none (always the case for clients of our servers today).
    public var peerCertificateSubject: String? {
        guard let certificate = SSL_get0_peer_certificate(ssl), let name = X509_get_subject_name(certificate),
            let bio = BIO_new(BIO_s_mem())
        else { return nil }
        defer { BIO_free(bio) }
        OpenSSLErrorQueue.clear()
        guard X509_NAME_print_ex(bio, name, 0, copenssl_XN_FLAG_RFC2253()) >= 0 else {
            OpenSSLErrorQueue.clear()
            return nil
        }
        var data: UnsafeMutablePointer<CChar>? = nil
        let length = copenssl_BIO_get_mem_data(bio, &data)
        guard let data, length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    }

    // MARK: - Errors

    /// Turns the current failure into a TLSError (draining the error queue) and remembers it.
    private func fail(_ sslErrorCode: Int32) -> TLSError {
        let drained = OpenSSLErrorQueue.drain()
        // Not SSL_is_init_finished: a fatal error puts the state machine back "in init".
        let duringHandshake = !handshakeDone
        var detail = drained.message
        let code: TLSError.Code
        let verifyResult = Int32(truncatingIfNeeded: SSL_get_verify_result(ssl))
        // Only a verifying client's result counts: with verification off OpenSSL still records one.
        if duringHandshake, context.verifiesPeer, verifyResult != X509_V_OK {
            switch verifyResult {
            case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH:
                code = .hostnameMismatch
            case X509_V_ERR_CERT_HAS_EXPIRED, X509_V_ERR_CERT_NOT_YET_VALID:
                code = .certificateExpired
            default:
                code = .certificateVerifyFailed
            }
            if let text = X509_verify_cert_error_string(Int(verifyResult)) {
                detail += " (\(String(cString: text)))"
            }
        } else if drained.contains(reason: SSL_R_UNSUPPORTED_PROTOCOL)
            || drained.contains(reason: SSL_R_TLSV1_ALERT_PROTOCOL_VERSION)
            || drained.contains(reason: SSL_R_NO_PROTOCOLS_AVAILABLE)
            || drained.contains(reason: SSL_R_VERSION_TOO_LOW)
        {
            code = .unsupportedProtocol
        } else if drained.contains(reason: SSL_R_UNEXPECTED_EOF_WHILE_READING) || sslErrorCode == SSL_ERROR_SYSCALL {
            code = .unexpectedEOF
        } else {
            code = duringHandshake ? .handshakeFailed : .protocolError
        }
        if detail.isEmpty { detail = "OpenSSL error \(sslErrorCode)" }
        let error = TLSError(code: code, detail: detail)
        failure = error
        return error
    }
}

@available(*, unavailable, message: "A TLSConnection belongs to one event loop")
extension TLSConnection: Sendable {}
