/// An error from decompression. Equality compares the kind only.
public struct CompressionError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case limitExceeded
        case truncated
        case corrupt
        case resourceFailure
    }

    private let code: Code

    /// A fixed explanation, including zlib's message when it gave one.
    public let detail: String

    private init(_ code: Code, detail: String = "") {
        self.code = code
        self.detail = detail
    }

    /// The decompressed output would pass the caller's limit (a likely decompression bomb).
    public static var limitExceeded: CompressionError { CompressionError(.limitExceeded) }
    /// The input ended before the compressed stream did.
    public static var truncated: CompressionError { CompressionError(.truncated) }
    /// The input is not a valid stream in the expected format (bad header, data or checksum).
    public static var corrupt: CompressionError { CompressionError(.corrupt) }
    /// zlib could not get memory or failed internally.
    public static var resourceFailure: CompressionError { CompressionError(.resourceFailure) }

    /// A bounded, stable name for the error kind, fit for metric labels.
    public var shortDescription: String {
        switch code {
        case .limitExceeded: "limit_exceeded"
        case .truncated: "truncated"
        case .corrupt: "corrupt"
        case .resourceFailure: "resource_failure"
        }
    }

    public var description: String {
        detail.isEmpty ? "CompressionError.\(shortDescription)" : "CompressionError.\(shortDescription): \(detail)"
    }

    public static func == (lhs: CompressionError, rhs: CompressionError) -> Bool { lhs.code == rhs.code }

    func with(detail: String) -> CompressionError { CompressionError(code, detail: detail) }
}
