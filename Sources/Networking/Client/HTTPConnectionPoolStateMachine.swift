/// The client's connection pool as a value: events in, actions out (STYLE.md §c1, §c4).
///
/// It owns no socket, timer or clock. Per pool key (an origin, possibly behind a proxy) it knows
/// which connections are idle, leased or still connecting, and which requests wait for one. The
/// owner (`HTTPClient`) feeds it what happened and carries out the returned actions outside its lock:
/// timers appear only as "schedule"/"cancel" actions.
///
/// Invariants per key: `idle + leased + connecting <= maxConnectionsPerKey`; a request waits only
/// while no usable idle connection exists (a waiter that needs a fresh connection cannot use an idle
/// one); there are never more connection attempts than waiters need.
struct HTTPConnectionPoolStateMachine<Key: Hashable & Sendable>: Sendable {
    struct ConnectionID: Hashable, Sendable, Comparable, CustomStringConvertible {
        let rawValue: Int
        static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
        var description: String { "connection-\(rawValue)" }
    }

    struct RequestID: Hashable, Sendable, CustomStringConvertible {
        let rawValue: Int
        var description: String { "request-\(rawValue)" }
    }

    enum Action: Hashable, Sendable {
        /// Open a new connection for `Key`; report `connectionEstablished` or `connectionFailed`.
        case startConnecting(ConnectionID, Key)
        /// Run the request on the connection; report `connectionReleased` or `connectionClosed` after.
        case lease(ConnectionID, to: RequestID)
        /// Complete the request with this error.
        case failRequest(RequestID, HTTPClientError)
        /// Close the connection; the machine has already forgotten it, so no report is expected.
        case closeConnection(ConnectionID)
        /// Arm the connection's idle timer; report `idleTimeoutFired` when it expires.
        case scheduleIdleTimeout(ConnectionID)
        /// Arm the waiting request's deadline; report `requestTimedOut` when it expires.
        case scheduleRequestTimeout(RequestID)
        /// The request stopped waiting: disarm its deadline timer.
        case cancelRequestTimeout(RequestID)
    }

    private struct Waiter: Hashable, Sendable {
        var request: RequestID
        /// Set when retrying after a stale pooled connection: only a new connection may serve it.
        var requiresNewConnection: Bool
    }

    private struct KeyState: Sendable {
        /// Most recently released last, so reuse favours warm connections and the rest can idle out.
        var idle: [ConnectionID] = []
        var leased: Set<ConnectionID> = []
        var connecting: Set<ConnectionID> = []
        var waiting: [Waiter] = []
        var waitingStart = 0

        var total: Int { idle.count + leased.count + connecting.count }
        var waitingCount: Int { waiting.count - waitingStart }
        var isEmpty: Bool { total == 0 && waitingCount == 0 }

        mutating func enqueue(_ waiter: Waiter) {
            waiting.append(waiter)
        }

        /// Removes and returns the first waiter `accepts` lets through.
        mutating func dequeueFirst(where accepts: (Waiter) -> Bool) -> Waiter? {
            guard let index = waiting[waitingStart...].firstIndex(where: accepts) else { return nil }
            let waiter = waiting[index]
            if index == waitingStart {
                waitingStart += 1
                compact()
            } else {
                waiting.remove(at: index)
            }
            return waiter
        }

        mutating func removeWaiter(_ request: RequestID) -> Bool {
            dequeueFirst { $0.request == request } != nil
        }

        private mutating func compact() {
            if waitingStart == waiting.count {
                waiting.removeAll(keepingCapacity: waiting.count <= 1024)
                waitingStart = 0
            } else if waitingStart >= 64 && waitingStart * 2 >= waiting.count {
                waiting.removeFirst(waitingStart)
                waitingStart = 0
            }
        }

        var allWaiters: ArraySlice<Waiter> { waiting[waitingStart...] }
    }

    let maxConnectionsPerKey: Int
    private var keys: [Key: KeyState] = [:]
    private var connectionKeys: [ConnectionID: Key] = [:]
    private var waitingKeys: [RequestID: Key] = [:]
    private var nextConnectionID = 0
    private(set) var isShutdown = false

    init(maxConnectionsPerKey: Int) {
        precondition(maxConnectionsPerKey > 0, "a pool needs at least one connection per origin")
        self.maxConnectionsPerKey = maxConnectionsPerKey
    }

    /// No connection exists and no request waits (a shut-down pool is finished when this holds).
    var isEmpty: Bool { keys.isEmpty }

    /// Counts for one key, for tests and metrics.
    func counts(for key: Key) -> (idle: Int, leased: Int, connecting: Int, waiting: Int) {
        guard let state = keys[key] else { return (0, 0, 0, 0) }
        return (state.idle.count, state.leased.count, state.connecting.count, state.waitingCount)
    }

    // MARK: - Requests

    /// A request wants a connection to `key`. With `requiresNewConnection` no pooled connection is used.
    mutating func requestArrived(_ request: RequestID, key: Key, requiresNewConnection: Bool = false) -> [Action] {
        if isShutdown {
            return [.failRequest(request, Self.shutdownError)]
        }
        var state = keys[key] ?? KeyState()
        defer { keys[key] = state }
        if !requiresNewConnection, let connection = state.idle.popLast() {
            state.leased.insert(connection)
            return [.lease(connection, to: request)]
        }
        state.enqueue(Waiter(request: request, requiresNewConnection: requiresNewConnection))
        waitingKeys[request] = key
        var actions: [Action] = [.scheduleRequestTimeout(request)]
        connectIfNeeded(key, &state, &actions)
        return actions
    }

    /// The request's deadline passed. Fails it if it is still waiting; a leased request is the connection's business.
    mutating func requestTimedOut(_ request: RequestID) -> [Action] {
        guard removeWaiter(request) else { return [] }
        let error = HTTPClientError(
            code: .requestTimeout, message: "timed out waiting for a connection", requestMayHaveBeenProcessed: false)
        return [.failRequest(request, error)]
    }

    /// The caller gave up (task cancelled). Fails the request if it is still waiting.
    mutating func requestCancelled(_ request: RequestID, error: HTTPClientError) -> [Action] {
        guard removeWaiter(request) else { return [] }
        return [.cancelRequestTimeout(request), .failRequest(request, error)]
    }

    private mutating func removeWaiter(_ request: RequestID) -> Bool {
        guard let key = waitingKeys.removeValue(forKey: request), var state = keys[key] else { return false }
        let removed = state.removeWaiter(request)
        store(state, for: key)
        return removed
    }

    // MARK: - Connections

    mutating func connectionEstablished(_ connection: ConnectionID) -> [Action] {
        guard let key = connectionKeys[connection], var state = keys[key],
            state.connecting.remove(connection) != nil
        else { return [] }
        var actions: [Action] = []
        if isShutdown {
            forget(connection)
            actions.append(.closeConnection(connection))
        } else {
            serve(connection, isNew: true, key, &state, &actions)
        }
        store(state, for: key)
        return actions
    }

    /// A connection attempt failed: the oldest waiter gets the error; others get new attempts.
    mutating func connectionFailed(_ connection: ConnectionID, error: HTTPClientError) -> [Action] {
        guard let key = connectionKeys[connection], var state = keys[key],
            state.connecting.remove(connection) != nil
        else { return [] }
        forget(connection)
        var actions: [Action] = []
        if let waiter = state.dequeueFirst(where: { _ in true }) {
            waitingKeys[waiter.request] = nil
            actions.append(.cancelRequestTimeout(waiter.request))
            actions.append(.failRequest(waiter.request, error))
        }
        if !isShutdown { connectIfNeeded(key, &state, &actions) }
        store(state, for: key)
        return actions
    }

    /// A leased connection finished its exchange and may be reused.
    mutating func connectionReleased(_ connection: ConnectionID) -> [Action] {
        guard let key = connectionKeys[connection], var state = keys[key],
            state.leased.remove(connection) != nil
        else { return [] }
        var actions: [Action] = []
        if isShutdown {
            forget(connection)
            actions.append(.closeConnection(connection))
        } else {
            serve(connection, isNew: false, key, &state, &actions)
            connectIfNeeded(key, &state, &actions)
        }
        store(state, for: key)
        return actions
    }

    /// The connection closed by itself (peer closed, error, not reusable), leased or idle.
    mutating func connectionClosed(_ connection: ConnectionID) -> [Action] {
        guard let key = connectionKeys[connection], var state = keys[key] else { return [] }
        if let index = state.idle.firstIndex(of: connection) {
            state.idle.remove(at: index)
        } else if state.leased.remove(connection) == nil {
            // Still connecting: the owner must report `connectionFailed` instead.
            return []
        }
        forget(connection)
        var actions: [Action] = []
        if !isShutdown { connectIfNeeded(key, &state, &actions) }
        store(state, for: key)
        return actions
    }

    mutating func idleTimeoutFired(_ connection: ConnectionID) -> [Action] {
        guard let key = connectionKeys[connection], var state = keys[key],
            let index = state.idle.firstIndex(of: connection)
        else { return [] }
        state.idle.remove(at: index)
        forget(connection)
        store(state, for: key)
        return [.closeConnection(connection)]
    }

    /// Fails every waiting request and closes idle and connecting connections; leased ones close when released.
    mutating func shutdown() -> [Action] {
        guard !isShutdown else { return [] }
        isShutdown = true
        var actions: [Action] = []
        for key in Array(keys.keys) {
            guard var state = keys[key] else { continue }
            for waiter in state.allWaiters {
                waitingKeys[waiter.request] = nil
                actions.append(.cancelRequestTimeout(waiter.request))
                actions.append(.failRequest(waiter.request, Self.shutdownError))
            }
            state.waiting.removeAll()
            state.waitingStart = 0
            for connection in state.idle.sorted() + state.connecting.sorted() {
                forget(connection)
                actions.append(.closeConnection(connection))
            }
            state.idle.removeAll()
            state.connecting.removeAll()
            store(state, for: key)
        }
        return actions
    }

    // MARK: - Helpers

    static var shutdownError: HTTPClientError {
        HTTPClientError(code: .shutdown, message: "the HTTP client was shut down", requestMayHaveBeenProcessed: false)
    }

    /// Hands a usable connection to the first waiter that may take it, or parks it as idle.
    private mutating func serve(
        _ connection: ConnectionID, isNew: Bool, _ key: Key, _ state: inout KeyState, _ actions: inout [Action]
    ) {
        if let waiter = state.dequeueFirst(where: { isNew || !$0.requiresNewConnection }) {
            waitingKeys[waiter.request] = nil
            state.leased.insert(connection)
            actions.append(.cancelRequestTimeout(waiter.request))
            actions.append(.lease(connection, to: waiter.request))
        } else {
            state.idle.append(connection)
            actions.append(.scheduleIdleTimeout(connection))
        }
    }

    /// Starts attempts until every waiter has one, within the limit; idle connections that no
    /// waiter may use are closed to make room.
    private mutating func connectIfNeeded(_ key: Key, _ state: inout KeyState, _ actions: inout [Action]) {
        while state.waitingCount > state.connecting.count {
            if state.total >= maxConnectionsPerKey {
                guard !state.idle.isEmpty else { return }
                let oldest = state.idle.removeFirst()
                forget(oldest)
                actions.append(.closeConnection(oldest))
            }
            let connection = ConnectionID(rawValue: nextConnectionID)
            nextConnectionID += 1
            connectionKeys[connection] = key
            state.connecting.insert(connection)
            actions.append(.startConnecting(connection, key))
        }
    }

    private mutating func forget(_ connection: ConnectionID) {
        connectionKeys[connection] = nil
    }

    private mutating func store(_ state: KeyState, for key: Key) {
        keys[key] = state.isEmpty ? nil : state
    }
}
