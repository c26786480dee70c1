import HTTP

// SEAM(compression): gzip decoding of request bodies and encoding of responses plug in here once the
// Compression module (GzipInflater / GzipDeflater) is merged. Until then gzip request bodies are
// refused with 415 and responses are sent uncompressed.
let gzipSupported = false

func makeGzipBodyDecoder(maxDecodedBytes: Int) -> (any BodyDecoder)? {
    UnsupportedDecoder()
}

/// The whole of `bytes` as one gzip member, or nil when compression is unavailable.
func gzipCompress(_ bytes: [UInt8], level: Int32) -> [UInt8]? {
    nil
}

private struct UnsupportedDecoder: BodyDecoder {
    func decode(_ chunk: [UInt8]) throws(HTTPError) -> [UInt8] {
        throw HTTPError(.unsupportedMediaType, "gzip request bodies are not supported.")
    }
    func finish() throws(HTTPError) -> [UInt8] {
        throw HTTPError(.unsupportedMediaType, "gzip request bodies are not supported.")
    }
}

/// When a response is worth compressing (RFC 9110 §12.5.3, §8.4).
enum ResponseCompression {
    /// `gzip`: compress this response; `vary`: its representation depends on Accept-Encoding (so
    /// caches must key on it), true whenever the response would be compressed for a client that asks.
    static func decide(
        response: ServerResponse, bodyCount: Int, request: HTTPRequestHead, configuration: HTTPServerConfiguration
    ) -> (gzip: Bool, vary: Bool) {
        let settings = configuration.compression
        guard gzipSupported, settings.enabled, bodyCount >= settings.minimumBytes,
            !response.status.forbidsBody, response.status.code != 206,
            !response.headers.contains("Content-Encoding"),
            let contentType = response.headers["Content-Type"], isCompressible(contentType)
        else { return (false, false) }
        return (acceptsGzip(request.fields), true)
    }

    /// Textual types: text/*, JSON, XML, JavaScript, CSV, NDJSON, YAML, problem+json and friends.
    static func isCompressible(_ contentType: String) -> Bool {
        let type = contentType.prefix { $0 != ";" }.lowercased()
        if type.hasPrefix("text/") { return true }
        for marker in ["json", "xml", "javascript", "csv", "yaml", "x-www-form-urlencoded"] where type.contains(marker) {
            return true
        }
        return false
    }

    /// Whether `Accept-Encoding` allows gzip: listed (or `*`) with a q-value above 0, and not refused by name.
    static func acceptsGzip(_ fields: HTTPFields) -> Bool {
        var gzipQuality: Double? = nil
        var wildcardQuality: Double? = nil
        for element in fields.listValues("Accept-Encoding") {
            let parts = element.split(separator: ";").map { $0.trimmingCharacters(in: " \t") }
            guard let coding = parts.first?.lowercased() else { continue }
            var quality = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: " \t") }
                if pair.count == 2, pair[0].lowercased() == "q", let value = Double(pair[1]) { quality = value }
            }
            if coding == "gzip" || coding == "x-gzip" { gzipQuality = quality }
            if coding == "*" { wildcardQuality = quality }
        }
        if let gzipQuality { return gzipQuality > 0 }
        if let wildcardQuality { return wildcardQuality > 0 }
        return false
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in characters: String) -> String {
        var slice = self
        while let first = slice.first, characters.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, characters.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
