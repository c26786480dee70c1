import Compression
import HTTP
import Synchronization

/// Request bodies sent with `Content-Encoding: gzip`, inflated with the route's body limit applied to
/// the inflated size, so a small bomb cannot become a large allocation.
struct GzipBodyDecoder: BodyDecoder {
    private let inflater: GzipInflater

    init(maxDecodedBytes: Int) {
        inflater = GzipInflater(maxOutputBytes: maxDecodedBytes)
    }

    func decode(_ chunk: [UInt8]) throws(HTTPError) -> [UInt8] {
        do {
            return try inflater.decompress(chunk)
        } catch {
            throw Self.httpError(error)
        }
    }

    func finish() throws(HTTPError) -> [UInt8] {
        do {
            try inflater.finish()
            return []
        } catch {
            throw Self.httpError(error)
        }
    }

    private static func httpError(_ error: any Error) -> HTTPError {
        if let error = error as? CompressionError, error == .limitExceeded { return .bodyTooLarge }
        return HTTPError(.badRequest, "The gzip request body is not valid.")
    }
}

func makeGzipBodyDecoder(maxDecodedBytes: Int) -> any BodyDecoder {
    GzipBodyDecoder(maxDecodedBytes: maxDecodedBytes)
}

/// The whole of `bytes` as one gzip member.
func gzipCompress(_ bytes: [UInt8], level: Int32) -> [UInt8] {
    Gzip.compress(bytes, level: Int(min(max(level, 1), 9)))
}

/// Compresses a streamed response part by part, flushing after each so every part goes out promptly.
/// Used by one producer task at a time; the lock only makes that checkable by the compiler.
final class StreamingGzipEncoder: Sendable {
    private let deflater: Mutex<GzipDeflater>

    init(level: Int32) {
        deflater = Mutex(GzipDeflater(level: Int(min(max(level, 1), 9))))
    }

    func encode(_ part: [UInt8]) -> [UInt8] {
        deflater.withLock { deflater in
            var output = deflater.compress(part)
            output.append(contentsOf: deflater.flush())
            return output
        }
    }

    func finish() -> [UInt8] { deflater.withLock { $0.finish() } }
}

/// What `ServerCore.encode` did to a response.
struct ContentCodingDecision: Sendable {
    /// The body is (or, for a stream, will be) gzip-encoded.
    var gzip: Bool
    /// Add `Vary: Accept-Encoding`.
    var vary: Bool

    static let identity = ContentCodingDecision(gzip: false, vary: false)
}

extension ServerCore {
    /// Compresses a complete body in place when the client accepts gzip and it is worth it; for a
    /// stream it only decides (the parts are compressed as they are written).
    func encode(_ response: inout ServerResponse, for request: borrowing HTTPRequestHead) -> ContentCodingDecision {
        let bodyCount: Int?
        switch response.body.storage {
        case .empty: return .identity
        case .bytes(let bytes): bodyCount = bytes.count
        case .stream: bodyCount = nil
        }
        let (gzip, vary) = ResponseCompression.decide(
            response: response, bodyCount: bodyCount, request: request, configuration: configuration)
        guard gzip else { return ContentCodingDecision(gzip: false, vary: vary) }
        if case .bytes(let bytes) = response.body.storage {
            response.body = .bytes(gzipCompress(bytes, level: configuration.compression.level))
        }
        return ContentCodingDecision(gzip: true, vary: vary)
    }
}

/// When a response is worth compressing (RFC 9110 §12.5.3, §8.4).
enum ResponseCompression {
    /// `gzip`: compress this response; `vary`: its representation depends on Accept-Encoding (so
    /// caches must key on it), true whenever the response would be compressed for a client that asks.
    /// `bodyCount` is nil for a streamed body, which is compressed whatever its size.
    static func decide(
        response: ServerResponse, bodyCount: Int?, request: HTTPRequestHead, configuration: HTTPServerConfiguration
    ) -> (gzip: Bool, vary: Bool) {
        let settings = configuration.compression
        guard settings.enabled, bodyCount.map({ $0 >= settings.minimumBytes }) ?? true,
            !response.status.forbidsBody, response.status.code != 206,
            !response.headers.contains("Content-Encoding"),
            let contentType = response.headers["Content-Type"], isCompressible(contentType)
        else { return (false, false) }
        return (acceptsGzip(request.fields), true)
    }

    /// Textual types: text/*, JSON, XML, JavaScript, CSV, NDJSON, YAML, problem+json and friends.
    static func isCompressible(_ contentType: String) -> Bool {
        // Runs for every response with a body: compared as ASCII bytes (String.contains goes through the
        // generic string-processing search, which cost a fifth of a small GET's CPU).
        var type = Array(contentType.utf8.prefix { $0 != UInt8(ascii: ";") })
        for index in type.indices where type[index] >= UInt8(ascii: "A") && type[index] <= UInt8(ascii: "Z") {
            type[index] += 32
        }
        if type.starts(with: textPrefix) { return true }
        return compressibleMarkers.contains { marker in
            type.count >= marker.count
                && (0...(type.count - marker.count)).contains { start in
                    type[start..<(start + marker.count)].elementsEqual(marker)
                }
        }
    }

    private static let textPrefix = Array("text/".utf8)
    private static let compressibleMarkers = ["json", "xml", "javascript", "csv", "yaml", "x-www-form-urlencoded"].map {
        Array($0.utf8)
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
    func trimmingCharacters(in characters: String) -> String {
        var slice = self
        while let first = slice.first, characters.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, characters.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
