import COpenSSL

/// Small helpers around OpenSSL memory BIOs.
enum MemoryBIO {
    /// Runs `body` with a read-only BIO over `bytes`; the BIO is freed afterwards.
    static func withReadable<Result>(
        _ bytes: some Sequence<UInt8>, _ body: (OpaquePointer) throws -> Result
    ) throws -> Result {
        try withContiguousBytes(bytes) { buffer in
            guard buffer.count <= Int(Int32.max) else {
                throw CryptoError.invalidArgument.with(detail: "input too large")
            }
            // BIO_new_mem_buf never writes through the pointer; a zero-length read-only BIO needs a valid one.
            let empty: UInt8 = 0
            return try withUnsafePointer(to: empty) { fallback in
                guard let bio = BIO_new_mem_buf(buffer.baseAddress ?? UnsafeRawPointer(fallback), Int32(buffer.count))
                else {
                    throw CryptoError.invalidArgument.withOpenSSLErrors()
                }
                defer { BIO_free(bio) }
                return try body(bio)
            }
        }
    }

    /// Runs `write` against a fresh writable BIO and returns what it wrote, as text.
    static func collectText(_ write: (OpaquePointer) -> Bool) throws -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw CryptoError.generationFailed.withOpenSSLErrors() }
        defer { BIO_free(bio) }
        guard write(bio) else { throw CryptoError.generationFailed.withOpenSSLErrors() }
        var data: UnsafeMutablePointer<CChar>? = nil
        let length = copenssl_BIO_get_mem_data(bio, &data)
        guard length >= 0, let data else { return "" }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
            String(decoding: UnsafeBufferPointer(start: bytes, count: length), as: UTF8.self)
        }
    }
}

/// A PEM password callback that declines, so OpenSSL never prompts on a terminal for a passphrase.
func declinePassphrase(
    _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int32, _ writing: Int32, _ context: UnsafeMutableRawPointer?
) -> Int32 { 0 }
