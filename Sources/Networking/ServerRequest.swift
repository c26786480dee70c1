public import HTTP
import Synchronization

/// A request as a handler sees it.
public struct ServerRequest: Sendable {
    public var head: HTTPRequestHead
    /// Values of the route's `{name}` segments, percent-decoded.
    public var pathParameters: [String: String]
    public var remoteAddress: SocketAddress
    public var body: RequestBody
    /// The request's id when the server is configured with a request-id header (taken from the
    /// request when it carries a sane one, generated otherwise).
    public var requestID: String?

    public init(
        head: HTTPRequestHead, pathParameters: [String: String] = [:], remoteAddress: SocketAddress,
        body: RequestBody = .empty, requestID: String? = nil
    ) {
        self.head = head
        self.pathParameters = pathParameters
        self.remoteAddress = remoteAddress
        self.body = body
        self.requestID = requestID
    }

    public var method: HTTPMethod { head.method }
    public var headers: HTTPFields { head.fields }
    /// The path, still percent-encoded.
    public var path: String { head.path }
    public var query: String? { head.query }
}

/// A request body: in hand already, or streamed from the connection as the handler reads it.
///
/// Read it once, either with `collect(upTo:)` or by iterating its chunks. A streamed body is read
/// from the network only as fast as it is consumed; with `Expect: 100-continue` the `100 Continue`
/// goes out when reading starts. A gzip `Content-Encoding` is decoded here, with the route's body
/// limit applied to the decoded size; exceeding it throws `HTTPError` 413.
public struct RequestBody: Sendable, AsyncSequence {
    public typealias Element = [UInt8]

    enum Source: Sendable {
        case bytes([UInt8])
        case stream(RequestBodyStream)
    }

    let source: Source
    let decoding: BodyDecoding

    public static let empty = RequestBody(source: .bytes([]), decoding: .identity)

    /// A body with the given bytes (for tests and for handlers calling other handlers).
    public init(bytes: [UInt8]) {
        self.init(source: .bytes(bytes), decoding: .identity)
    }

    init(source: Source, decoding: BodyDecoding) {
        self.source = source
        self.decoding = decoding
    }

    /// The whole (decoded) body when it was read before the handler ran: always the case for handlers
    /// made with `HTTPHandler.immediate`, and for most small bodies. Nil for a body still streaming.
    public var bufferedBytes: [UInt8]? {
        guard case .bytes(let bytes) = source, case .identity = decoding else { return nil }
        return bytes
    }

    /// Reads the whole body. Throws `HTTPError` 413 if it is longer than `limit` bytes (after decoding).
    public func collect(upTo limit: Int) async throws -> [UInt8] {
        if let bytes = bufferedBytes {
            guard bytes.count <= limit else { throw HTTPError.bodyTooLarge }
            return bytes
        }
        var collected: [UInt8] = []
        for try await chunk in self {
            guard chunk.count <= limit - collected.count else { throw HTTPError.bodyTooLarge }
            if collected.isEmpty { collected = chunk } else { collected.append(contentsOf: chunk) }
        }
        return collected
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: source, decoder: decoding.makeDecoder())
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        private var source: Source?
        private var decoder: (any BodyDecoder)?

        init(source: Source, decoder: (any BodyDecoder)?) {
            self.source = source
            self.decoder = decoder
        }

        public mutating func next() async throws -> [UInt8]? {
            while let current = source {
                let raw: [UInt8]?
                switch current {
                case .bytes(let bytes):
                    source = nil
                    raw = bytes
                case .stream(let stream):
                    raw = try await stream.next()
                    if raw == nil { source = nil }
                }
                guard var decoder else {
                    if let raw, !raw.isEmpty { return raw }
                    continue
                }
                let decoded: [UInt8]
                if let raw {
                    decoded = try decoder.decode(raw)
                } else {
                    decoded = try decoder.finish()
                }
                self.decoder = decoder
                if !decoded.isEmpty { return decoded }
            }
            return nil
        }
    }
}

extension HTTPError {
    static let bodyTooLarge = HTTPError(.contentTooLarge, "The request body is too large.")
}

/// How request body bytes are decoded before the handler sees them (`Content-Encoding`).
enum BodyDecoding: Sendable {
    case identity
    case gzip(maxDecodedBytes: Int)

    func makeDecoder() -> (any BodyDecoder)? {
        switch self {
        case .identity: return nil
        case .gzip(let limit): return makeGzipBodyDecoder(maxDecodedBytes: limit)
        }
    }
}

/// Decodes a body chunk by chunk. Throws `HTTPError` (413 over the limit, 400 for corrupt data).
protocol BodyDecoder {
    mutating func decode(_ chunk: [UInt8]) throws(HTTPError) -> [UInt8]
    /// The input ended: returns what is left, or throws if the encoded data was truncated.
    mutating func finish() throws(HTTPError) -> [UInt8]
}

/// A body being received on a connection while its handler reads it.
///
/// The loop appends chunks; the handler's task takes them. When more than `highWatermark` bytes wait,
/// the loop stops reading from the socket until the handler has taken them (`demand` is called then),
/// which is how a slow handler slows down its client instead of growing memory.
final class RequestBodyStream: Sendable {
    fileprivate struct State {
        var chunks: [[UInt8]] = []
        var first = 0
        var bufferedBytes = 0
        var finished = false
        var failure: HTTPError?
        var waiter: CheckedContinuation<[UInt8]?, any Error>?
        /// The loop is not reading for us (buffer full, or 100-continue not yet sent): tell it on the next read.
        var producerNeedsDemand: Bool
    }

    static let highWatermark = 256 * 1024

    private let state: Mutex<State>
    private let demand: @Sendable () -> Void

    init(awaitingDemand: Bool, demand: @escaping @Sendable () -> Void) {
        state = Mutex(State(producerNeedsDemand: awaitingDemand))
        self.demand = demand
    }

    // MARK: consumer (the handler's task)

    func next() async throws -> [UInt8]? {
        enum Outcome {
            case chunk([UInt8], signal: Bool)
            case end
            case failed(HTTPError)
            case wait
        }
        let outcome = state.withLock { state -> Outcome in
            if let chunk = state.takeFirst() {
                return .chunk(chunk, signal: state.takeDemandSignal(waiting: false))
            }
            if let failure = state.failure { return .failed(failure) }
            if state.finished { return .end }
            return .wait
        }
        switch outcome {
        case .chunk(let chunk, let signal):
            if signal { demand() }
            return chunk
        case .end:
            return nil
        case .failed(let error):
            throw error
        case .wait:
            break
        }
        return try await withCheckedThrowingContinuation { continuation in
            enum Late {
                case resume(Result<[UInt8]?, any Error>)
                case wait(signal: Bool)
            }
            let late = state.withLock { state -> Late in
                if let chunk = state.takeFirst() { return .resume(.success(chunk)) }
                if let failure = state.failure { return .resume(.failure(failure)) }
                if state.finished { return .resume(.success(nil)) }
                precondition(state.waiter == nil, "a request body is being read by two tasks at once")
                state.waiter = continuation
                return .wait(signal: state.takeDemandSignal(waiting: true))
            }
            switch late {
            case .resume(let result): continuation.resume(with: result)
            case .wait(let signal): if signal { demand() }
            }
        }
    }

    // MARK: producer (the event loop)

    /// Hands over a chunk; returns true when the loop should stop reading until `demand` is called.
    func append(_ chunk: [UInt8]) -> Bool {
        let (waiter, full) = state.withLock { state -> (CheckedContinuation<[UInt8]?, any Error>?, Bool) in
            if let waiter = state.waiter {
                state.waiter = nil
                state.producerNeedsDemand = false
                return (waiter, false)
            }
            state.chunks.append(chunk)
            state.bufferedBytes += chunk.count
            let full = state.bufferedBytes >= Self.highWatermark
            if full { state.producerNeedsDemand = true }
            return (nil, full)
        }
        waiter?.resume(returning: chunk)
        return full
    }

    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<[UInt8]?, any Error>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.chunks.count > state.first ? nil : state.waiter
        }
        waiter?.resume(returning: nil)
    }

    func fail(_ error: HTTPError) {
        let waiter = state.withLock { state -> CheckedContinuation<[UInt8]?, any Error>? in
            guard !state.finished, state.failure == nil else { return nil }
            state.failure = error
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(throwing: error)
    }
}

extension RequestBodyStream.State {
    fileprivate mutating func takeFirst() -> [UInt8]? {
        guard first < chunks.count else { return nil }
        let chunk = chunks[first]
        chunks[first] = []
        first += 1
        bufferedBytes -= chunk.count
        if first == chunks.count {
            chunks.removeAll(keepingCapacity: true)
            first = 0
        }
        return chunk
    }

    /// Whether the consumer must wake the producer now: it asked for demand and the buffer has drained
    /// to half the watermark (or the consumer is about to wait on an empty buffer).
    fileprivate mutating func takeDemandSignal(waiting: Bool) -> Bool {
        guard producerNeedsDemand, waiting || bufferedBytes <= RequestBodyStream.highWatermark / 2 else { return false }
        producerNeedsDemand = false
        return true
    }
}
