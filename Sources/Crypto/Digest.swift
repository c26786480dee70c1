import COpenSSL

/// Runs `body` over the bytes of `sequence`, copying only when it is not contiguous already.
func withContiguousBytes<Result>(
    _ sequence: some Sequence<UInt8>, _ body: (UnsafeRawBufferPointer) throws -> Result
) rethrows -> Result {
    if let result = try sequence.withContiguousStorageIfAvailable({ try body(UnsafeRawBufferPointer($0)) }) {
        return result
    }
    return try Array(sequence).withUnsafeBytes(body)
}

/// Computes a one-shot EVP digest. A failure here means OpenSSL itself is broken, so it traps.
private func evpDigest(_ bytes: some Sequence<UInt8>, _ md: OpaquePointer?, length: Int) -> [UInt8] {
    var output = [UInt8](repeating: 0, count: length)
    let status = withContiguousBytes(bytes) { input in
        output.withUnsafeMutableBufferPointer { out in
            EVP_Digest(input.baseAddress, input.count, out.baseAddress, nil, md, nil)
        }
    }
    precondition(status == 1, "EVP_Digest failed: \(OpenSSLErrorQueue.drain())")
    return output
}

/// SHA-256 (FIPS 180-4).
public enum SHA256 {
    /// The digest length in bytes.
    public static let byteCount = 32

    /// Returns the SHA-256 digest of `bytes`.
    public static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        evpDigest(bytes, EVP_sha256(), length: byteCount)
    }

    /// A digest fed in pieces (a file read a chunk at a time), so large inputs need not be in memory at once.
    public final class Hasher {
        private let context: OpaquePointer

        public init() {
            guard let context = EVP_MD_CTX_new() else { preconditionFailure("EVP_MD_CTX_new failed") }
            precondition(EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1, "EVP_DigestInit_ex failed")
            self.context = context
        }

        deinit { EVP_MD_CTX_free(context) }

        public func update(_ bytes: some Sequence<UInt8>) {
            let status = withContiguousBytes(bytes) { EVP_DigestUpdate(context, $0.baseAddress, $0.count) }
            precondition(status == 1, "EVP_DigestUpdate failed: \(OpenSSLErrorQueue.drain())")
        }

        /// The digest of everything fed so far; the hasher is spent afterwards.
        public func finalize() -> [UInt8] {
            var output = [UInt8](repeating: 0, count: SHA256.byteCount)
            var length: UInt32 = 0
            let status = output.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
            precondition(status == 1 && length == UInt32(SHA256.byteCount), "EVP_DigestFinal_ex failed")
            return output
        }
    }
}

/// SHA-1, kept only for certificate thumbprints (`x5t`); never use it for new security purposes.
public enum SHA1 {
    /// The digest length in bytes.
    public static let byteCount = 20

    /// Returns the SHA-1 digest of `bytes`.
    public static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        evpDigest(bytes, EVP_sha1(), length: byteCount)
    }
}

/// Keyed-hash message authentication (RFC 2104).
public enum HMAC {
    /// Returns HMAC-SHA-256 of `data` under `key` (32 bytes).
    public static func sha256(key: some Sequence<UInt8>, data: some Sequence<UInt8>) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: SHA256.byteCount)
        var length: UInt32 = 0
        let result = withContiguousBytes(key) { keyBytes in
            withContiguousBytes(data) { dataBytes in
                output.withUnsafeMutableBufferPointer { out in
                    // HMAC with a NULL key pointer and zero length is valid; give OpenSSL a non-NULL one anyway.
                    let dummy: UInt8 = 0
                    return withUnsafePointer(to: dummy) { fallback in
                        COpenSSL.HMAC(
                            EVP_sha256(), keyBytes.baseAddress ?? UnsafeRawPointer(fallback), Int32(keyBytes.count),
                            dataBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), dataBytes.count,
                            out.baseAddress, &length)
                    }
                }
            }
        }
        precondition(
            result != nil && length == UInt32(SHA256.byteCount), "HMAC-SHA256 failed: \(OpenSSLErrorQueue.drain())")
        return output
    }
}

/// Cryptographically secure random bytes from OpenSSL's DRBG.
public enum SecureRandom {
    /// Returns `count` random bytes. Traps if the system's random source fails, as nothing safe can continue.
    public static func bytes(count: Int) -> [UInt8] {
        precondition(count >= 0 && count <= Int(Int32.max), "SecureRandom.bytes: count out of range")
        var output = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return output }
        let status = output.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        precondition(status == 1, "RAND_bytes failed: \(OpenSSLErrorQueue.drain())")
        return output
    }
}

/// Compares two byte sequences in time independent of where they differ (lengths are not secret).
public func constantTimeEquals(_ lhs: some Sequence<UInt8>, _ rhs: some Sequence<UInt8>) -> Bool {
    withContiguousBytes(lhs) { left in
        withContiguousBytes(rhs) { right in
            guard left.count == right.count else { return false }
            guard let leftBase = left.baseAddress, let rightBase = right.baseAddress else { return true }
            return CRYPTO_memcmp(leftBase, rightBase, left.count) == 0
        }
    }
}
