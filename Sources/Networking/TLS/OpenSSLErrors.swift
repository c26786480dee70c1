import COpenSSL

/// Helpers for OpenSSL's per-thread error queue.
///
/// Every TLS entry point clears the queue first and drains it after a failure, so one connection's
/// leftovers never decide (or pollute the message of) another connection's error on the same thread.
enum OpenSSLErrorQueue {
    /// The errors popped from the queue: their reason codes (for classification) and a readable message.
    struct Drained {
        var reasons: [Int32] = []
        var message: String = ""

        func contains(reason: Int32) -> Bool { reasons.contains(reason) }
    }

    @inline(__always)
    static func clear() {
        ERR_clear_error()
    }

    /// Pops every queued error; keeps the text of the first few, which carry the cause.
    static func drain() -> Drained {
        var drained = Drained()
        var kept = 0
        var buffer = [CChar](repeating: 0, count: 256)
        while true {
            var data: UnsafePointer<CChar>? = nil
            var flags: Int32 = 0
            let error = ERR_get_error_all(nil, nil, nil, &data, &flags)
            if error == 0 { break }
            drained.reasons.append(ERR_GET_REASON(error))
            guard kept < 4 else { continue }
            kept += 1
            let text = buffer.withUnsafeMutableBufferPointer { pointer -> String in
                ERR_error_string_n(error, pointer.baseAddress, pointer.count)
                return String(cString: pointer.baseAddress!)
            }
            if !drained.message.isEmpty { drained.message += "; " }
            drained.message += text
            if let data, flags & ERR_TXT_STRING != 0, data.pointee != 0 {
                drained.message += " (" + String(cString: data) + ")"
            }
        }
        return drained
    }

    /// An error for a failed configuration step: `what` says which step, the queue says why.
    static func configurationError(_ what: String) -> TLSError {
        let drained = drain()
        let detail = drained.message.isEmpty ? what : what + ": " + drained.message
        return TLSError(code: .invalidConfiguration, detail: detail)
    }
}
