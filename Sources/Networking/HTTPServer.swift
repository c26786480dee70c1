import CLinuxShim
import Dispatch
import Glibc
import HTTP
public import Observability
import Synchronization

/// An HTTP/1.1 server: one epoll loop per core, each accepting on its own `SO_REUSEPORT` listener and
/// owning its connections.
///
/// ```swift
/// let router = Router()
/// router.add(.get, "/v1/requests/{id}") { request in ... }
/// let server = HTTPServer(configuration: config, responder: router.freeze(), errorRenderer: renderProblem)
/// try server.start()
/// await server.runUntilTerminationSignal()
/// ```
public final class HTTPServer: Sendable {
    private enum Lifecycle {
        case created
        case running(ServerCore, EventLoopGroup)
        case stopped
    }

    public let configuration: HTTPServerConfiguration
    private let responder: any HTTPResponder
    private let errorRenderer: HTTPErrorRenderer
    private let logger: Logger?
    private let lifecycle = Mutex<Lifecycle>(.created)
    private let boundPort = Atomic<Int>(0)

    public init(
        configuration: HTTPServerConfiguration = HTTPServerConfiguration(), responder: some HTTPResponder,
        errorRenderer: @escaping HTTPErrorRenderer = plainTextErrorRenderer, logger: Logger? = nil
    ) {
        // `logger` receives unexpected handler errors (as 500s) and socket failures worth an operator's look.
        self.configuration = configuration
        self.responder = responder
        self.errorRenderer = errorRenderer
        self.logger = logger
    }

    /// The port being listened on (the chosen one when configured with 0); 0 before `start()`.
    public var port: Int { boundPort.load(ordering: .acquiring) }

    /// Binds the listeners and starts the loops. Throws if the address cannot be bound.
    public func start() throws {
        // A client that goes away while its response is written must cost one connection, not the
        // process: SIGPIPE's default action is to terminate.
        signal(SIGPIPE, SIG_IGN)
        guard let address = SocketAddress(host: configuration.host, port: configuration.port) else {
            throw IOError(errnoCode: EINVAL, call: "address \(configuration.host):\(configuration.port)")
        }
        try lifecycle.withLock { state throws in
            guard case .created = state else { preconditionFailure("HTTPServer.start() called twice") }
            let group = try EventLoopGroup(loopCount: max(1, configuration.loopCount))
            // Bind every listener before any loop accepts: the first picks the port when it is 0.
            var listeners: [Int32] = []
            do {
                if address.port != 0 { try Listener.checkAvailable(address) }
                var boundAddress = address
                for _ in group.loops {
                    let fd = try Listener.makeSocket(boundTo: boundAddress, backlog: configuration.backlog)
                    listeners.append(fd)
                    if boundAddress.port == 0 {
                        boundAddress = try Syscall.localAddress(fd)
                    }
                }
                boundPort.store(boundAddress.port, ordering: .releasing)
            } catch {
                for fd in listeners { Syscall.close(fd) }
                group.shutdown()
                throw error
            }
            let core = ServerCore(
                configuration: configuration, responder: responder, errorRenderer: errorRenderer, logger: logger,
                group: group)
            for (loop, fd) in zip(group.loops, listeners) {
                let context = core.contexts[loop.index]
                loop.execute { context.startListening(fd) }
            }
            state = .running(core, group)
        }
    }

    /// Stops gracefully: stop accepting, close idle connections, let in-flight requests finish (their
    /// connections close after the response), and force-close whatever is left at `deadline`
    /// (the configured `shutdownDeadline` when nil). Returns when every connection is closed and the
    /// loops have stopped. Safe to call more than once.
    public func shutdown(deadline: Duration? = nil) async {
        let running = lifecycle.withLock { state -> (ServerCore, EventLoopGroup)? in
            guard case .running(let core, let group) = state else { return nil }
            state = .stopped
            return (core, group)
        }
        guard let (core, group) = running else { return }
        core.beginShutdown()
        let deadline = deadline ?? configuration.timeouts.shutdownDeadline
        let forceTimer = Task {
            try? await Task.sleep(for: deadline)
            if !Task.isCancelled { core.forceCloseAll() }
        }
        await core.waitUntilDrained()
        forceTimer.cancel()
        group.shutdown()
    }

    /// Waits for SIGTERM or SIGINT, then shuts down with the configured deadline.
    public func runUntilTerminationSignal() async {
        let signals = [SIGTERM, SIGINT]
        // Dispatch delivers the signals; the default action (exit) must not run first.
        for signalNumber in signals { signal(signalNumber, SIG_IGN) }
        let waiter = Mutex<(fired: Bool, continuation: CheckedContinuation<Void, Never>?)>((false, nil))
        let sources = signals.map { signalNumber -> any DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                let continuation = waiter.withLock { state -> CheckedContinuation<Void, Never>? in
                    state.fired = true
                    defer { state.continuation = nil }
                    return state.continuation
                }
                continuation?.resume()
            }
            source.resume()
            return source
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let fired = waiter.withLock { state -> Bool in
                if !state.fired { state.continuation = continuation }
                return state.fired
            }
            if fired { continuation.resume() }
        }
        for source in sources { source.cancel() }
        await shutdown()
    }
}

/// State shared by the loops of one running server. Immutable apart from atomics and locked state.
final class ServerCore: Sendable {
    let configuration: HTTPServerConfiguration
    let responder: any HTTPResponder
    let errorRenderer: HTTPErrorRenderer
    let logger: Logger?
    let serverLine: [UInt8]?
    let timeouts: TimeoutNanoseconds
    let contexts: [ServerLoopContext]
    let requestIDPrefix: String

    let connectionCount = Atomic<Int>(0)
    private let shuttingDown = Atomic<Bool>(false)
    private let drainWaiters = Mutex<[CheckedContinuation<Void, Never>]>([])

    struct TimeoutNanoseconds: Sendable {
        var head: UInt64
        var bodyIdle: UInt64
        var keepAliveIdle: UInt64
        var writeStall: UInt64
        var linger: UInt64

        init(_ timeouts: HTTPServerConfiguration.Timeouts) {
            head = Self.nanoseconds(timeouts.head)
            bodyIdle = Self.nanoseconds(timeouts.bodyIdle)
            keepAliveIdle = Self.nanoseconds(timeouts.keepAliveIdle)
            writeStall = Self.nanoseconds(timeouts.writeStall)
            linger = Self.nanoseconds(timeouts.linger)
        }

        static func nanoseconds(_ duration: Duration) -> UInt64 {
            let (seconds, attoseconds) = duration.components
            return UInt64(max(0, seconds)) &* 1_000_000_000 &+ UInt64(max(0, attoseconds / 1_000_000_000))
        }

        func value(_ timeout: HTTPConnectionStateMachine.Timeout) -> UInt64 {
            switch timeout {
            case .head: return head
            case .bodyIdle: return bodyIdle
            case .keepAliveIdle: return keepAliveIdle
            case .writeStall: return writeStall
            }
        }
    }

    init(
        configuration: HTTPServerConfiguration, responder: any HTTPResponder,
        errorRenderer: @escaping HTTPErrorRenderer,
        logger: Logger?, group: EventLoopGroup
    ) {
        self.configuration = configuration
        self.responder = responder
        self.errorRenderer = errorRenderer
        self.logger = logger
        serverLine = ResponseHeadEncoder.serverLine(configuration.serverName)
        timeouts = TimeoutNanoseconds(configuration.timeouts)
        let hex = String(UInt32.random(in: .min ... .max), radix: 16)
        requestIDPrefix = String(repeating: "0", count: 8 - hex.count) + hex
        contexts = group.loops.map { ServerLoopContext(loop: $0) }
        for context in contexts { context.core = self }
    }

    var isShuttingDown: Bool { shuttingDown.load(ordering: .acquiring) }

    /// Takes a connection slot, or returns false at the limit.
    func reserveConnection() -> Bool {
        let limit = configuration.maxConnections
        var current = connectionCount.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = connectionCount.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func connectionClosed() {
        let (old, new) = connectionCount.wrappingSubtract(1, ordering: .acquiringAndReleasing)
        if old == configuration.maxConnections, !isShuttingDown {
            // A slot opened: every loop that paused its listener at the limit may accept again.
            for context in contexts { context.loop.execute { context.resumeAccepting() } }
        }
        if new == 0, isShuttingDown {
            let waiters = drainWaiters.withLock { waiters -> [CheckedContinuation<Void, Never>] in
                defer { waiters.removeAll() }
                return waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    func beginShutdown() {
        shuttingDown.store(true, ordering: .releasing)
        for context in contexts { context.loop.execute { context.shutdown() } }
    }

    func forceCloseAll() {
        for context in contexts { context.loop.execute { context.forceCloseAll() } }
    }

    func waitUntilDrained() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let drained = drainWaiters.withLock { waiters -> Bool in
                if connectionCount.load(ordering: .acquiring) == 0 { return true }
                waiters.append(continuation)
                return false
            }
            if drained { continuation.resume() }
        }
    }

    func log(_ level: LogLevel, _ message: String, _ metadata: [String: LogValue] = [:]) {
        logger?.log(level, message, metadata: metadata)
    }
}

/// One loop's share of a server: its listener and its connections. Touched only on that loop's thread.
final class ServerLoopContext: @unchecked Sendable {
    let loop: EventLoop
    /// Set once right after init, before any use.
    unowned(unsafe) var core: ServerCore! = nil
    private var listener: Listener?
    private var acceptPaused = false
    private var shuttingDown = false
    private(set) var connections: [ServerConnection] = []
    private var requestCounter: UInt64 = 0

    init(loop: EventLoop) {
        self.loop = loop
    }

    func startListening(_ fd: Int32) {
        let listener = Listener(fd: fd, context: self)
        self.listener = listener
        do {
            try loop.register(fd, events: EPOLLIN.rawValue, handler: listener)
        } catch {
            core.log(.warning, "cannot watch the listening socket", ["error": "\(error)"])
        }
    }

    func acceptConnections() {
        guard let listener else { return }
        // Bounded per wake-up so one loop's accepts cannot starve its connections.
        for _ in 0..<64 {
            guard core.reserveConnection() else {
                pauseAccepting()
                return
            }
            var address = SocketAddress()
            let result: IOResult<Int32>
            do {
                result = try Syscall.accept(listener.fd, address: &address)
            } catch {
                core.connectionClosed()
                switch error.errnoCode {
                case ECONNABORTED, EPROTO:
                    continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors or memory: stop for a moment rather than spin on a ready listener.
                    core.log(.warning, "accept failed; pausing for 100 ms", ["error": "\(error)"])
                    pauseAccepting()
                    loop.scheduleTimer(after: .milliseconds(100)) { [self] in resumeAccepting() }
                    return
                default:
                    core.log(.warning, "accept failed", ["error": "\(error)"])
                    return
                }
            }
            guard case .processed(let fd) = result else {
                core.connectionClosed()
                return
            }
            var tls: TLSConnection? = nil
            if let tlsContext = core.configuration.tls {
                do {
                    tls = try TLSConnection(serverContext: tlsContext)
                } catch {
                    core.log(.warning, "cannot start a TLS session", ["error": "\(error)"])
                    Syscall.close(fd)
                    core.connectionClosed()
                    continue
                }
            }
            let connection = ServerConnection(fd: fd, remoteAddress: address, context: self, tls: tls)
            do {
                try? Syscall.setOption(fd, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1)
                try loop.register(
                    fd, events: EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue,
                    handler: connection)
            } catch {
                Syscall.close(fd)
                core.connectionClosed()
                continue
            }
            connection.registryIndex = connections.count
            connections.append(connection)
            connection.opened()
        }
    }

    private func pauseAccepting() {
        guard !acceptPaused, let listener else { return }
        acceptPaused = true
        loop.deregister(listener.fd)
    }

    func resumeAccepting() {
        guard acceptPaused, !shuttingDown, let listener else { return }
        acceptPaused = false
        do {
            try loop.register(listener.fd, events: EPOLLIN.rawValue, handler: listener)
        } catch {
            core.log(.warning, "cannot watch the listening socket again", ["error": "\(error)"])
        }
    }

    func removed(_ connection: ServerConnection) {
        let index = connection.registryIndex
        guard index >= 0, index < connections.count, connections[index] === connection else { return }
        let last = connections.removeLast()
        if index < connections.count {
            connections[index] = last
            last.registryIndex = index
        }
        connection.registryIndex = -1
    }

    func nextRequestID() -> String {
        requestCounter &+= 1
        return "\(core.requestIDPrefix)\(loop.index)-\(String(requestCounter, radix: 16))"
    }

    func shutdown() {
        shuttingDown = true
        if let listener {
            if !acceptPaused { loop.deregister(listener.fd) }
            Syscall.close(listener.fd)
            self.listener = nil
        }
        for connection in connections { connection.shutdownRequested() }
    }

    func forceCloseAll() {
        for connection in connections { connection.forceClose() }
    }
}

/// A listening socket registered with one loop.
final class Listener: EventLoopSelectable {
    let fd: Int32
    unowned(unsafe) let context: ServerLoopContext

    init(fd: Int32, context: ServerLoopContext) {
        self.fd = fd
        self.context = context
    }

    func handleEvents(_ events: UInt32) {
        context.acceptConnections()
    }

    /// Fails with EADDRINUSE when anything listens on `address` already. `SO_REUSEPORT` alone would
    /// let a second server (an old instance still running) silently share the port with this one.
    static func checkAvailable(_ address: SocketAddress) throws(IOError) {
        let probe = try Syscall.socket(domain: address.family)
        defer { Syscall.close(probe) }
        try Syscall.setOption(probe, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1)
        try Syscall.bind(probe, to: address)
    }

    static func makeSocket(boundTo address: SocketAddress, backlog: Int32) throws(IOError) -> Int32 {
        let fd = try Syscall.socket(domain: address.family)
        do {
            try Syscall.setOption(fd, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1)
            try Syscall.setOption(fd, level: SOL_SOCKET, name: SO_REUSEPORT, value: 1)
            try Syscall.bind(fd, to: address)
            try Syscall.listen(fd, backlog: backlog)
            return fd
        } catch {
            Syscall.close(fd)
            throw error
        }
    }
}
