import HTTP

/// The life of one server connection as a value: events in, one action out (STYLE.md §c1).
///
/// It owns no socket, parser or clock. The connection feeds it what happened (bytes, parsed parts,
/// handler results, write progress, timer expiry, peer close, shutdown) and carries out the returned
/// action. Time enters only as `timeout()`: the machine names which timeout to arm, the connection
/// owns the deadline. One request is handled at a time; pipelined bytes wait in the parser until the
/// previous response has been written.
struct HTTPConnectionStateMachine: Sendable {
    /// Which inactivity limit is armed.
    enum Timeout: Hashable, Sendable {
        /// Until a request head is complete, counted from its first byte (or from accept): slowloris.
        case head
        /// Between body bytes while the server is waiting for the client.
        case bodyIdle
        /// Between requests on a kept-alive connection.
        case keepAliveIdle
        /// While response bytes cannot be written.
        case writeStall
    }

    /// What happens to a request body the handler has not asked for yet.
    enum BodyState: Hashable, Sendable {
        /// `Expect: 100-continue`: nothing is read and no `100 Continue` sent until the handler asks.
        case awaitingDemand
        /// Reading from the client.
        case reading
        /// The handler is behind: reading stopped until it catches up (backpressure).
        case paused
        /// The end of the body has been parsed.
        case complete
    }

    enum ResponseState: Hashable, Sendable {
        /// The handler is still working.
        case pending
        /// The head has been queued; streamed body parts may follow.
        case writing
        /// Every byte of the response has been queued.
        case complete
    }

    struct Exchange: Hashable, Sendable {
        var body: BodyState
        var response: ResponseState
        var keepAlive: Bool
    }

    enum State: Hashable, Sendable {
        /// No byte of the next request yet (fresh connection, or kept alive after a response).
        case idle
        /// Some bytes of a request head, not all.
        case readingHead
        /// A head has been handed to a handler.
        case active(Exchange)
        /// An error response is being flushed; the connection closes after it.
        case closing(linger: Bool)
        case closed
    }

    /// The names the design uses for where a connection is; derived from `state`.
    enum Phase: Hashable, Sendable {
        case keepAliveIdle, readingHead, readingBody, awaitingHandler, writingResponse, closing, closed
    }

    enum Action: Hashable, Sendable {
        case none
        /// Arm the given timeout (re-arming restarts it), or cancel the timer when nil.
        case setTimeout(Timeout?)
        /// Read from the socket and feed the parser (again), with this timeout.
        case read(timeout: Timeout?)
        /// Stop reading; bytes stay in the kernel (or the parser) until reading resumes.
        case stopReading(timeout: Timeout?)
        /// Route the head and run its handler. When `readBody` is false the body is not read until the
        /// handler asks (100-continue).
        case startHandler(readBody: Bool, timeout: Timeout?)
        /// Write `100 Continue`, then read the body.
        case sendContinueAndRead(timeout: Timeout?)
        /// Write the handler's response head (and body if complete), with `Connection: close` when asked.
        case writeResponse(closeAfter: Bool)
        /// Answer with this status in the server's own error format, then close after flushing.
        case writeError(HTTPStatus, message: String)
        /// The response is flushed and the connection stays: parse any buffered pipelined bytes, else read.
        case nextRequest(timeout: Timeout)
        /// Close now. With `linger`, shut down the write side first and drain what the client still
        /// sends for a moment, so it sees the response instead of a reset.
        case close(linger: Bool)
    }

    private(set) var state: State = .idle
    private(set) var shuttingDown = false

    init() {}

    var phase: Phase {
        switch state {
        case .idle: return .keepAliveIdle
        case .readingHead: return .readingHead
        case .active(let exchange):
            if exchange.response != .pending { return .writingResponse }
            return exchange.body == .complete ? .awaitingHandler : .readingBody
        case .closing: return .closing
        case .closed: return .closed
        }
    }

    /// The connection was accepted: a new client gets the head timeout, not the (longer) keep-alive one.
    mutating func connectionOpened() -> Action {
        precondition(state == .idle, "connectionOpened in \(state)")
        return .read(timeout: .head)
    }

    /// Bytes of a request arrived but not a whole head.
    mutating func bytesArrived() -> Action {
        guard case .idle = state else { return .none }
        state = .readingHead
        return .setTimeout(.head)
    }

    /// The parser produced a head.
    mutating func headReceived(keepAlive: Bool, expectsContinue: Bool) -> Action {
        switch state {
        case .idle, .readingHead:
            let body: BodyState = expectsContinue ? .awaitingDemand : .reading
            state = .active(Exchange(body: body, response: .pending, keepAlive: keepAlive && !shuttingDown))
            return .startHandler(readBody: !expectsContinue, timeout: expectsContinue ? nil : .bodyIdle)
        case .active, .closing, .closed:
            preconditionFailure("head received in \(state): a second request must wait in the parser")
        }
    }

    /// Body bytes were handed to the handler; `bufferFull` when it has more unread than it may hold.
    mutating func bodyReceived(bufferFull: Bool) -> Action {
        guard case .active(var exchange) = state, exchange.body == .reading || exchange.body == .awaitingDemand else {
            return .none
        }
        if bufferFull {
            exchange.body = .paused
            state = .active(exchange)
            return .stopReading(timeout: nil)
        }
        exchange.body = .reading
        state = .active(exchange)
        return .setTimeout(.bodyIdle)
    }

    /// The handler wants (more) body.
    mutating func bodyDemanded() -> Action {
        guard case .active(var exchange) = state else { return .none }
        switch exchange.body {
        case .awaitingDemand:
            exchange.body = .reading
            state = .active(exchange)
            // A response already started means the handler answered without the body: no 100 then.
            return exchange.response == .pending ? .sendContinueAndRead(timeout: .bodyIdle) : .read(timeout: .bodyIdle)
        case .paused:
            exchange.body = .reading
            state = .active(exchange)
            return .read(timeout: .bodyIdle)
        case .reading, .complete:
            return .none
        }
    }

    /// The parser reached the end of the request.
    mutating func requestEnded() -> Action {
        guard case .active(var exchange) = state else { return .none }
        exchange.body = .complete
        state = .active(exchange)
        // Pipelined requests stay unparsed until this one's response is out; a streamed response
        // arms its own write-stall timer when it blocks.
        return .stopReading(timeout: nil)
    }

    /// The handler produced a response; `complete` when the whole body is in hand (not streamed);
    /// `mustClose` when the response itself ends the connection (`Connection: close`, or a body
    /// delimited by closing for an HTTP/1.0 client).
    mutating func responseStarted(complete: Bool, mustClose: Bool = false) -> Action {
        switch state {
        case .active(var exchange) where exchange.response == .pending:
            // A handler that answered before the body was read leaves unread bytes on the wire: the
            // connection cannot be reused.
            if exchange.body != .complete || mustClose || shuttingDown { exchange.keepAlive = false }
            exchange.response = complete ? .complete : .writing
            state = .active(exchange)
            return .writeResponse(closeAfter: !exchange.keepAlive)
        case .closing, .closed:
            // An error response already went out (or the connection is gone): the handler's answer is dropped.
            return .none
        case .idle, .readingHead, .active:
            preconditionFailure("response started in \(state)")
        }
    }

    /// A streamed response's last part has been queued.
    mutating func responseEnded() -> Action {
        guard case .active(var exchange) = state, exchange.response == .writing else { return .none }
        exchange.response = .complete
        state = .active(exchange)
        return .none
    }

    /// A write could not finish: the client is not reading fast enough.
    mutating func writeBlocked() -> Action {
        switch state {
        case .active, .closing: return .setTimeout(.writeStall)
        case .idle, .readingHead, .closed: return .none
        }
    }

    /// Every queued byte has been written.
    mutating func outputFlushed() -> Action {
        switch state {
        case .active(let exchange):
            switch exchange.response {
            case .pending:
                // Only a `100 Continue` was written.
                return exchange.body == .reading ? .setTimeout(.bodyIdle) : .setTimeout(nil)
            case .writing:
                // Waiting for the handler's next part is not the client's fault: no timer.
                return .setTimeout(nil)
            case .complete:
                guard exchange.keepAlive, exchange.body == .complete else {
                    state = .closed
                    return .close(linger: exchange.body != .complete)
                }
                state = .idle
                return .nextRequest(timeout: .keepAliveIdle)
            }
        case .closing(let linger):
            state = .closed
            return .close(linger: linger)
        case .idle, .readingHead, .closed:
            return .none
        }
    }

    /// The request could not be parsed (or broke a limit).
    mutating func parseFailed(_ status: HTTPStatus, message: String) -> Action {
        switch state {
        case .idle, .readingHead:
            state = .closing(linger: true)
            return .writeError(status, message: message)
        case .active(let exchange):
            if exchange.response == .pending {
                state = .closing(linger: true)
                return .writeError(status, message: message)
            }
            state = .closed
            return .close(linger: false)
        case .closing, .closed:
            return .none
        }
    }

    /// The armed timeout expired.
    mutating func timeout() -> Action {
        switch state {
        case .idle:
            state = .closed
            return .close(linger: false)
        case .readingHead:
            state = .closing(linger: true)
            return .writeError(.requestTimeout, message: "The request head was not received in time.")
        case .active(let exchange):
            if exchange.response == .pending {
                guard exchange.body == .reading else { return .none }  // a stale timer: nothing was armed
                state = .closing(linger: true)
                return .writeError(.requestTimeout, message: "The request body was not received in time.")
            }
            // A response is on its way but the client stopped reading it.
            state = .closed
            return .close(linger: false)
        case .closing:
            state = .closed
            return .close(linger: false)
        case .closed:
            return .none
        }
    }

    /// The client closed its side (EOF) or the connection reported a hang-up.
    mutating func peerClosed() -> Action {
        switch state {
        case .idle, .readingHead:
            state = .closed
            return .close(linger: false)
        case .active(var exchange):
            if exchange.body != .complete {
                state = .closed
                return .close(linger: false)
            }
            // The request is complete: still answer it (the client may have only half-closed), then close.
            exchange.keepAlive = false
            state = .active(exchange)
            return .none
        case .closing, .closed:
            return .none
        }
    }

    /// A read or write failed for good.
    mutating func ioFailed() -> Action {
        guard state != .closed else { return .none }
        state = .closed
        return .close(linger: false)
    }

    /// Graceful shutdown: idle connections close now; the current exchange finishes and then closes.
    mutating func shutdownRequested() -> Action {
        shuttingDown = true
        switch state {
        case .idle:
            state = .closed
            return .close(linger: false)
        case .active(var exchange):
            exchange.keepAlive = false
            state = .active(exchange)
            return .none
        case .readingHead, .closing, .closed:
            return .none
        }
    }

    /// Whether the current exchange will keep the connection open after its response.
    var keepAlive: Bool {
        if case .active(let exchange) = state { return exchange.keepAlive }
        return false
    }
}
