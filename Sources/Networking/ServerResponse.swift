public import HTTP

/// What a handler answers.
public struct ServerResponse: Sendable {
    public var status: HTTPStatus
    /// Fields sent as given, except framing ones (`Content-Length`, `Transfer-Encoding`), which the
    /// server writes itself from `body`. `Connection: close` is honoured.
    public var headers: HTTPFields
    public var body: ResponseBody

    public init(status: HTTPStatus = .ok, headers: HTTPFields = HTTPFields(), body: ResponseBody = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A complete response with `Content-Type`.
    public init(status: HTTPStatus = .ok, contentType: String, body: [UInt8], headers: HTTPFields = HTTPFields()) {
        self.status = status
        self.headers = headers
        self.headers.set("Content-Type", contentType)
        self.body = .bytes(body)
    }
}

/// A response body: nothing, bytes in hand, or a stream written as it is produced (chunked).
public struct ResponseBody: Sendable {
    enum Storage: Sendable {
        case empty
        case bytes([UInt8])
        case stream(@Sendable (ResponseBodyWriter) async throws -> Void)
    }

    let storage: Storage

    public static let empty = ResponseBody(storage: .empty)

    public static func bytes(_ bytes: [UInt8]) -> ResponseBody { ResponseBody(storage: .bytes(bytes)) }

    /// A body produced by `produce`, which calls `writer.write` for each part.
    ///
    /// `write` suspends while the client is behind, so a producer never runs ahead of the network by
    /// more than a small buffer. If `produce` throws, the connection is closed without the final chunk,
    /// so the client sees a truncated body rather than a complete-looking one.
    public static func stream(_ produce: @escaping @Sendable (ResponseBodyWriter) async throws -> Void) -> ResponseBody
    {
        ResponseBody(storage: .stream(produce))
    }

    /// A body taken from an `AsyncStream`: each element is written in turn, with backpressure.
    public static func stream(_ parts: AsyncStream<[UInt8]>) -> ResponseBody {
        .stream { writer in
            for await part in parts { try await writer.write(part) }
        }
    }

    /// The bytes of a complete body, or nil for a stream. Empty for `.empty`.
    public var bytes: [UInt8]? {
        switch storage {
        case .empty: return []
        case .bytes(let bytes): return bytes
        case .stream: return nil
        }
    }
}

/// Writes the parts of a streamed response body. Handed to a `ResponseBody.stream` producer, which
/// calls `write` from one task, one part after the other (each call returns before the next starts).
public final class ResponseBodyWriter: Sendable {
    private let send: @Sendable ([UInt8]) async throws -> Void

    init(send: @escaping @Sendable ([UInt8]) async throws -> Void) {
        self.send = send
    }

    /// Sends `bytes` as the next part; returns once the server can take more.
    ///
    /// Throws when the connection has gone (the client left, or a timeout closed it): stop producing then.
    public func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        try await send(bytes)
    }
}

/// An error a handler throws to answer with a status: the server renders it with its error renderer.
///
/// Anything else a handler throws becomes a bare 500 (and is logged), so internal details never leak.
public struct HTTPError: Error, Hashable, Sendable, CustomStringConvertible {
    public var status: HTTPStatus
    /// Shown to the client: keep it short and free of secrets.
    public var message: String
    /// Extra response fields, e.g. `Allow` for 405 or `Retry-After`.
    public var headers: HTTPFields

    public init(_ status: HTTPStatus, _ message: String, headers: HTTPFields = HTTPFields()) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status.code): \(message)" }
}

/// Renders an error the HTTP layer (or a handler's `HTTPError`) answers with, in the server's own
/// format: problem+json for the gateway, Purview's `{"error":{...}}` envelope for the emulator.
///
/// Called on an event-loop thread for protocol errors, so it must be quick and must not block.
public typealias HTTPErrorRenderer =
    @Sendable (_ status: HTTPStatus, _ message: String, _ requestID: String?) -> ServerResponse

/// The default renderer: the message as `text/plain`.
public let plainTextErrorRenderer: HTTPErrorRenderer = { status, message, _ in
    ServerResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array((message + "\n").utf8))
}
