import Compression
import HTTP

/// Gathers one response's head and body: enforces the size limit and decodes `Content-Encoding: gzip`.
///
/// The limit applies to the bytes on the wire and again to the decoded body, so neither a large
/// download nor a decompression bomb can grow the buffer past it.
struct ResponseCollector {
    let maxBodyBytes: Int
    let decompress: Bool
    private(set) var head: HTTPResponseHead?
    private var body: [UInt8] = []
    private var wireBytes = 0
    private var inflater: GzipInflater?

    init(maxBodyBytes: Int, decompress: Bool) {
        self.maxBodyBytes = maxBodyBytes
        self.decompress = decompress
    }

    enum Failure: Error, Equatable {
        case tooLarge(String)
        case malformed(String)
    }

    mutating func receive(head: HTTPResponseHead, method: HTTPMethod) throws(Failure) {
        self.head = head
        let bodyless = method == .head || head.status.forbidsBody
        if !bodyless, let declared = head.fields["Content-Length"].flatMap({ Int($0) }), declared > maxBodyBytes {
            throw .tooLarge("the response declares \(declared) body bytes; the limit is \(maxBodyBytes)")
        }
        if decompress, !bodyless, let coding = Self.contentCoding(head.fields), coding == "gzip" || coding == "x-gzip" {
            inflater = GzipInflater(maxOutputBytes: maxBodyBytes, format: .gzip)
        }
    }

    mutating func receive(body bytes: [UInt8]) throws(Failure) {
        wireBytes += bytes.count
        guard wireBytes <= maxBodyBytes else {
            throw .tooLarge("the response body passed the limit of \(maxBodyBytes) bytes")
        }
        guard let inflater else {
            body += bytes
            return
        }
        do {
            body += try inflater.decompress(bytes)
        } catch let error as CompressionError where error == .limitExceeded {
            throw .tooLarge("the decoded response body passed the limit of \(maxBodyBytes) bytes")
        } catch {
            throw .malformed("the gzip response body is invalid")
        }
    }

    /// The complete response; headers describe the decoded body when gzip was removed.
    mutating func finish() throws(Failure) -> HTTPClientResponse {
        guard let head else { preconditionFailure("response finished without a head") }
        var fields = head.fields
        if let inflater {
            if wireBytes > 0 {
                do {
                    try inflater.finish()
                } catch {
                    throw .malformed("the gzip response body is truncated")
                }
            }
            fields.remove("Content-Encoding")
            fields.remove("Content-Length")
        }
        return HTTPClientResponse(status: head.status, headers: fields, body: body)
    }

    /// The single content coding, lowercased, or nil when none or several are listed.
    private static func contentCoding(_ fields: HTTPFields) -> String? {
        let codings = fields.listValues("Content-Encoding").map { $0.lowercased() }.filter { $0 != "identity" }
        return codings.count == 1 ? codings[0] : nil
    }
}
