import Observability
import Synchronization

/// Owns the pool state machine behind a lock and carries out its actions outside it (STYLE.md §c6).
///
/// Connections and request tasks report events here from any thread; resulting I/O is handed to the
/// connection's event loop with `execute`, so nothing here blocks or runs socket code under the lock.
final class HTTPClientPool: Sendable {
    typealias ConnectionID = ClientPoolStateMachine.ConnectionID
    typealias RequestID = ClientPoolStateMachine.RequestID

    let configuration: HTTPClientConfiguration
    let logger: Logger?
    private let loops: [EventLoop]
    private let nextLoopIndex = Atomic<Int>(0)
    private let nextRequestID = Atomic<Int>(0)
    private let state: Mutex<State>
    private let tlsContextState = Mutex<Result<TLSContext, TLSError>?>(nil)

    private struct State: ~Copyable {
        var machine: ClientPoolStateMachine
        var connections: [ConnectionID: HTTPClientConnection] = [:]
        /// Tasks the machine knows as waiting (or about to be leased).
        var waitingTasks: [RequestID: HTTPClientRequestTask] = [:]
        var shutdownWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// An action with the objects it concerns, looked up under the lock.
    private enum Work {
        case start(HTTPClientConnection)
        case lease(HTTPClientConnection, HTTPClientRequestTask)
        case fail(HTTPClientRequestTask, HTTPClientError)
        case close(HTTPClientConnection)
        case scheduleIdleTimeout(HTTPClientConnection)
        case scheduleRequestTimeout(HTTPClientRequestTask)
        case cancelRequestTimeout(HTTPClientRequestTask)
        case resumeShutdown([CheckedContinuation<Void, Never>])
    }

    init(configuration: HTTPClientConfiguration, loops: [EventLoop], logger: Logger?) {
        precondition(!loops.isEmpty, "an HTTP client needs at least one event loop")
        self.configuration = configuration
        self.logger = logger
        self.loops = loops
        state = Mutex(
            State(machine: ClientPoolStateMachine(maxConnectionsPerKey: configuration.maxConnectionsPerOrigin)))
    }

    func nextLoop() -> EventLoop {
        loops[nextLoopIndex.wrappingAdd(1, ordering: .relaxed).oldValue % loops.count]
    }

    func makeRequestID() -> RequestID {
        RequestID(rawValue: nextRequestID.wrappingAdd(1, ordering: .relaxed).oldValue)
    }

    // MARK: - TLS

    /// The shared client context, built on first use. Loading the trust store reads files, so callers
    /// are request tasks (never event loops); connections use `existingTLSContext`.
    func prepareTLSContext() {
        tlsContextState.withLock { state in
            guard state == nil else { return }
            do throws(TLSError) {
                state = .success(try TLSContext(client: configuration.tls))
            } catch {
                state = .failure(error)
            }
        }
    }

    var existingTLSContext: Result<TLSContext, TLSError>? {
        tlsContextState.withLock { $0 }
    }

    // MARK: - Events from requests

    func submit(_ task: HTTPClientRequestTask, requiresNewConnection: Bool = false) {
        if requiresNewConnection {
            logger?.debug(
                "http client retrying on a new connection after a stale one",
                metadata: ["origin": "\(task.prepared.key)", "method": "\(task.prepared.method)"])
        }
        run { state in
            state.waitingTasks[task.id] = task
            return state.machine.requestArrived(
                task.id, key: task.prepared.key, requiresNewConnection: requiresNewConnection)
        }
        // A cancellation that raced with a retry's resubmission found nothing to cancel: do it now.
        if task.isCancelled { cancelWaiting(task) }
    }

    func requestTimedOut(_ task: HTTPClientRequestTask) {
        run { state in state.machine.requestTimedOut(task.id) }
    }

    /// The caller's task was cancelled: fail it wherever it is.
    func cancel(_ task: HTTPClientRequestTask) {
        if let connection = task.markCancelled() {
            connection.loop.execute { connection.cancel(task) }
            return
        }
        cancelWaiting(task)
    }

    private func cancelWaiting(_ task: HTTPClientRequestTask) {
        run { state in
            state.machine.requestCancelled(task.id, error: HTTPClientRequestTask.cancellationError(processed: false))
        }
    }

    // MARK: - Events from connections

    func connectionEstablished(_ connection: HTTPClientConnection) {
        logger?.debug("http client connection opened", metadata: connection.logMetadata)
        run { state in state.machine.connectionEstablished(connection.id) }
    }

    func connectionFailed(_ connection: HTTPClientConnection, error: HTTPClientError) {
        logger?.debug(
            "http client connection failed",
            metadata: connection.logMetadata.merging(["error": "\(error.code)", "reason": "\(error.message)"]) { $1 })
        run { state in
            state.connections[connection.id] = nil
            return state.machine.connectionFailed(connection.id, error: error)
        }
    }

    func connectionReleased(_ connection: HTTPClientConnection) {
        run { state in state.machine.connectionReleased(connection.id) }
    }

    func connectionClosed(_ connection: HTTPClientConnection) {
        run { state in
            state.connections[connection.id] = nil
            return state.machine.connectionClosed(connection.id)
        }
    }

    func idleTimeoutFired(_ connection: HTTPClientConnection) {
        run { state in state.machine.idleTimeoutFired(connection.id) }
    }

    // MARK: - Shutdown

    /// Fails waiting requests, closes idle connections, and returns once requests in flight have
    /// finished and every connection is closed.
    func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            run { state in
                state.shutdownWaiters.append(continuation)
                return state.machine.shutdown()
            }
        }
    }

    /// Starts the shutdown without waiting (from `deinit`).
    func beginShutdown() {
        run { state in state.machine.shutdown() }
    }

    // MARK: - Running actions

    private func run(_ event: (inout State) -> [ClientPoolStateMachine.Action]) {
        let work = state.withLock { state -> [Work] in
            let actions = event(&state)
            var work: [Work] = []
            work.reserveCapacity(actions.count + 1)
            for action in actions {
                if let item = resolve(action, &state) { work.append(item) }
            }
            if state.machine.isShutdown, state.machine.isEmpty, state.connections.isEmpty,
                !state.shutdownWaiters.isEmpty
            {
                work.append(.resumeShutdown(state.shutdownWaiters))
                state.shutdownWaiters = []
            }
            return work
        }
        for item in work { perform(item) }
    }

    private func resolve(_ action: ClientPoolStateMachine.Action, _ state: inout State) -> Work? {
        switch action {
        case .startConnecting(let id, let key):
            let connection = HTTPClientConnection(id: id, key: key, loop: nextLoop(), pool: self)
            state.connections[id] = connection
            return .start(connection)
        case .lease(let id, let requestID):
            guard let connection = state.connections[id], let task = state.waitingTasks.removeValue(forKey: requestID)
            else { preconditionFailure("pool leased unknown \(id) or \(requestID)") }
            return .lease(connection, task)
        case .failRequest(let requestID, let error):
            guard let task = state.waitingTasks.removeValue(forKey: requestID) else { return nil }
            return .fail(task, error)
        case .closeConnection(let id):
            guard let connection = state.connections.removeValue(forKey: id) else { return nil }
            return .close(connection)
        case .scheduleIdleTimeout(let id):
            return state.connections[id].map(Work.scheduleIdleTimeout)
        case .scheduleRequestTimeout(let requestID):
            return state.waitingTasks[requestID].map(Work.scheduleRequestTimeout)
        case .cancelRequestTimeout(let requestID):
            return state.waitingTasks[requestID].map(Work.cancelRequestTimeout)
        }
    }

    private func perform(_ work: Work) {
        switch work {
        case .start(let connection):
            connection.loop.execute { connection.start() }
        case .lease(let connection, let task):
            connection.loop.execute { connection.execute(task) }
        case .fail(let task, let error):
            task.finish(.failure(error))
        case .close(let connection):
            connection.loop.execute { connection.closeForPool() }
        case .scheduleIdleTimeout(let connection):
            connection.loop.execute { connection.armIdleTimer() }
        case .scheduleRequestTimeout(let task):
            let loop = task.timerLoop
            loop.execute { loop.scheduleTimer(task, at: task.deadline) }
        case .cancelRequestTimeout(let task):
            let loop = task.timerLoop
            loop.execute { loop.cancelTimer(task) }
        case .resumeShutdown(let waiters):
            for waiter in waiters { waiter.resume() }
        }
    }
}
