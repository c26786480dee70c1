import HTTP
import Synchronization

/// What a pooled connection can serve: an origin, reached directly or through one proxy.
struct PoolKey: Hashable, Sendable, CustomStringConvertible {
    var scheme: HTTPURL.Scheme
    var host: String
    var port: Int
    var proxy: HTTPProxy?

    /// `host:port` as CONNECT names it.
    var authority: String { HostAndPort.authority(host: host, port: port) }

    var description: String {
        "\(scheme.rawValue)://\(authority)" + (proxy.map { " via \($0.authority)" } ?? "")
    }
}

typealias ClientPoolStateMachine = HTTPConnectionPoolStateMachine<PoolKey>

/// A request checked and serialized once, ready for any connection of its pool key.
struct PreparedRequest: Sendable {
    var method: HTTPMethod
    var key: PoolKey
    var head: [UInt8]
    var body: [UInt8]
    /// The request asked for `Connection: close`.
    var closesConnection: Bool
    /// Safe to send twice (RFC 9110 §9.2.2): a stale pooled connection may be retried once.
    var isIdempotent: Bool
    var decompress: Bool
    var maxResponseBodyBytes: Int

    static func isIdempotent(_ method: HTTPMethod) -> Bool {
        [.get, .head, .put, .delete, .options, .trace].contains(method)
    }
}

/// One `execute` call: its continuation, deadline and where it is now (queued, on a connection, done).
///
/// Completed exactly once, by whoever gets there first (response, error, timeout, cancellation). As a
/// `TimerTarget` it is the deadline timer while the request waits in the pool queue; that timer is only
/// touched on `timerLoop`, which is what makes `timerHeapIndex` safe (hence the unchecked Sendable).
final class HTTPClientRequestTask: TimerTarget, @unchecked Sendable {
    typealias Outcome = Result<HTTPClientResponse, HTTPClientError>

    let id: ClientPoolStateMachine.RequestID
    let prepared: PreparedRequest
    /// Monotonic nanoseconds after which the request fails with `request_timeout`.
    let deadline: UInt64
    let timerLoop: EventLoop
    private let pool: HTTPClientPool

    /// `timerLoop` thread only.
    var timerHeapIndex = -1

    private struct State {
        var continuation: CheckedContinuation<Outcome, Never>?
        var finished = false
        var cancelled = false
        var connection: HTTPClientConnection?
        /// An earlier attempt sent bytes: any later failure must say the request may have been processed.
        var earlierAttemptMayHaveBeenProcessed = false
        var staleRetries = 0
    }

    private let state = Mutex(State())

    init(
        id: ClientPoolStateMachine.RequestID, prepared: PreparedRequest, deadline: UInt64, timerLoop: EventLoop,
        pool: HTTPClientPool
    ) {
        self.id = id
        self.prepared = prepared
        self.deadline = deadline
        self.timerLoop = timerLoop
        self.pool = pool
    }

    /// Installs the continuation; false if the task was cancelled before it started (then nothing waits).
    func setContinuation(_ continuation: CheckedContinuation<Outcome, Never>) -> Bool {
        let cancelled = state.withLock { state -> Bool in
            if state.cancelled { return true }
            state.continuation = continuation
            return false
        }
        if cancelled {
            continuation.resume(returning: .failure(Self.cancellationError(processed: false)))
        }
        return !cancelled
    }

    /// Completes the request unless it already is; returns whether this call completed it.
    @discardableResult
    func finish(_ outcome: Outcome) -> Bool {
        let (continuation, adjusted) = state.withLock { state -> (CheckedContinuation<Outcome, Never>?, Outcome) in
            guard !state.finished else { return (nil, outcome) }
            state.finished = true
            state.connection = nil
            var adjusted = outcome
            if case .failure(var error) = outcome, state.earlierAttemptMayHaveBeenProcessed {
                error.requestMayHaveBeenProcessed = true
                adjusted = .failure(error)
            }
            defer { state.continuation = nil }
            return (state.continuation, adjusted)
        }
        continuation?.resume(returning: adjusted)
        return continuation != nil
    }

    var isFinished: Bool { state.withLock { $0.finished } }

    /// A connection takes the request; false when it was cancelled or already completed meanwhile.
    func attach(to connection: HTTPClientConnection) -> Bool {
        state.withLock { state in
            guard !state.finished, !state.cancelled else { return false }
            state.connection = connection
            return true
        }
    }

    func detach() {
        state.withLock { $0.connection = nil }
    }

    /// Marks the task cancelled; returns the connection running it, if any.
    func markCancelled() -> HTTPClientConnection? {
        state.withLock { state in
            state.cancelled = true
            return state.connection
        }
    }

    var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// Records a retry after a stale pooled connection; false when the one allowed retry was used.
    func recordStaleRetry(bytesWereSent: Bool) -> Bool {
        state.withLock { state in
            guard state.staleRetries == 0 else { return false }
            state.staleRetries += 1
            if bytesWereSent { state.earlierAttemptMayHaveBeenProcessed = true }
            return true
        }
    }

    func timerFired(now: UInt64) {
        pool.requestTimedOut(self)
    }

    static func cancellationError(processed: Bool) -> HTTPClientError {
        HTTPClientError(
            code: .requestTimeout, message: "the calling task was cancelled", requestMayHaveBeenProcessed: processed)
    }
}
