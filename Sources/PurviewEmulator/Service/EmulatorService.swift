import Crypto
import FoundationEssentials
public import Networking
public import Observability
public import PurviewWorkflow
import Synchronization

/// The Purview Workflow emulator as a service: the engine behind the real API's routes (under
/// `/workflow`), an Azure AD token endpoint on the same listener, fault injection, call statistics,
/// a periodic tick, and optional persistence of the state in a SQLite file.
///
/// ```swift
/// let service = EmulatorService(config: .demo())
/// let port = try service.start(listen: "127.0.0.1", port: 0, tls: tlsContext)
/// ...
/// await service.shutdown()
/// ```
///
/// For tests that need no sockets, ``EmulatorPurviewAPI`` calls the same engine in process.
public final class EmulatorService: Sendable {
    public let config: EmulatorConfig
    let logger: Logger
    let identity: EmulatorIdentity
    private let clock: any EmulatorClock
    private let ids: any EmulatorIDGenerator
    private let engine: Mutex<EmulatorEngine>
    let faults = Mutex(FaultTable())
    let stats = Mutex(CallStats())
    private let store: EmulatorStateStore?
    private let persistence = Mutex(PersistenceState())
    private let runtime = Mutex(Runtime())

    private struct PersistenceState {
        var dirty = false
        var signal: AsyncStream<Void>.Continuation?
        var writer: Task<Void, Never>?
    }

    private struct Runtime {
        var server: HTTPServer?
        var ticker: Task<Void, Never>?
        var scheme = "http"
        var host = "127.0.0.1"
        var port = 0
        var stopped = false
    }

    /// An emulator whose state lives in memory only.
    ///
    /// `clock` is the emulator's time source (the API's timestamps, reminders, expiry); `ids` makes
    /// the ids of new workflows, runs, tasks and requests.
    public convenience init(
        config: EmulatorConfig, logger: Logger = .disabled(label: "purview-emulator"),
        clock: any EmulatorClock = SystemClock(), ids: any EmulatorIDGenerator = RandomIDGenerator()
    ) {
        self.init(config: config, store: nil, logger: logger, clock: clock, ids: ids)
    }

    /// An emulator whose state is kept in the SQLite file at `statePath`: restored from it now (the
    /// config's workflows are loaded only when the file holds no state yet), written to it at most every
    /// 100 ms while it changes, and at ``shutdown()``.
    public convenience init(
        config: EmulatorConfig, statePath: String, logger: Logger = .disabled(label: "purview-emulator"),
        clock: any EmulatorClock = SystemClock(), ids: any EmulatorIDGenerator = RandomIDGenerator()
    ) throws(EmulatorStateError) {
        let store = try EmulatorStateStore(path: statePath)
        self.init(config: config, store: store, logger: logger, clock: clock, ids: ids)
        if let snapshot = store.restoredSnapshot {
            do throws(EmulatorError) {
                try engine.withLock { engine throws(EmulatorError) in try engine.restore(from: snapshot) }
            } catch {
                store.shutdownInBackground()
                throw EmulatorStateError(message: "cannot restore the state in \(statePath): \(error.message)")
            }
            logger.info("state restored", metadata: ["state.path": .string(statePath)])
        } else {
            // Keep the seeded workflows even if nothing else happens before shutdown.
            markDirty()
        }
    }

    private init(
        config: EmulatorConfig, store: EmulatorStateStore?, logger: Logger, clock: any EmulatorClock,
        ids: any EmulatorIDGenerator
    ) {
        self.config = config
        self.logger = logger
        self.clock = clock
        self.ids = ids
        self.store = store
        identity = EmulatorIdentity(
            config: config, signingKey: EmulatorIdentity.signingKey(for: config, persistent: store != nil))
        engine = Mutex(Self.makeEngine(config: config, clock: clock, ids: ids, logger: logger))
        resetFaults()
        if let store { startWriter(store) }
    }

    /// Reads and checks a config file; errors name the offending key.
    public static func loadConfig(path: String) throws(EmulatorConfigError) -> EmulatorConfig {
        try EmulatorConfig.load(path: path)
    }

    private static func makeEngine(
        config: EmulatorConfig, clock: any EmulatorClock, ids: any EmulatorIDGenerator, logger: Logger
    ) -> EmulatorEngine {
        var engine = EmulatorEngine(configuration: config.engineConfiguration, clock: clock, ids: ids)
        for workflow in config.workflows {
            let id = workflow["id"]?.stringValue ?? ""
            do {
                _ = try engine.createOrReplaceWorkflow(id: id, body: workflow, caller: config.workflowAuthor)
            } catch {
                logger.warning(
                    "configured workflow refused", metadata: ["workflow.id": .string(id), "error": "\(error)"])
            }
        }
        return engine
    }

    // MARK: - Engine access

    /// Runs `body` on the engine under its lock; a change of state schedules a write of the state file.
    func engineCall<R>(_ body: (inout EmulatorEngine) throws(EmulatorError) -> R) throws(EmulatorError) -> R {
        let persistent = store != nil
        let (result, changed) = engine.withLock { engine -> (Result<R, EmulatorError>, Bool) in
            // Only with a state file: holding the old state makes every change copy what it touches.
            let before = persistent ? engine.state : nil
            let result: Result<R, EmulatorError>
            do throws(EmulatorError) {
                result = .success(try body(&engine))
            } catch {
                result = .failure(error)
            }
            return (result, before.map { $0 != engine.state } ?? false)
        }
        if changed { markDirty() }
        return try result.get()
    }

    /// Direct access to the engine, for tests and tools; state changes are persisted like API calls'.
    public func withEngine<R>(_ body: (inout EmulatorEngine) -> R) -> R {
        do throws(EmulatorError) {
            return try engineCall { engine throws(EmulatorError) in body(&engine) }
        } catch {
            preconditionFailure("a non-throwing body threw \(error)")
        }
    }

    /// The emulator's current time (the clock plus every advance).
    public var now: PurviewTimestamp { withEngine { $0.now } }

    /// Moves the emulator's time forward, firing due reminders and expiries; returns the new time.
    @discardableResult
    public func advanceClock(seconds: Double) -> PurviewTimestamp {
        withEngine { engine in
            engine.advance(seconds: seconds)
            return engine.now
        }
    }

    /// Effects applied so far (`{"value":[...]}`).
    public var effectsJSON: JSONValue { withEngine { $0.effectsJSON } }

    /// Emails sent so far (`{"value":[...]}`).
    public var emailsJSON: JSONValue { withEngine { $0.emailsJSON } }

    /// `{"calls":{"POST /userrequests":N,...},"duplicateUserRequests":[...],"identicalUserRequests":[...]}`.
    public var statsJSON: JSONValue { stats.withLock { $0.json } }

    /// The faults in force, with what is left of their count and window.
    public var faultsJSON: JSONValue { faults.withLock { $0.json(now: .now) } }

    public func addFaults(_ list: [EmulatorFault]) {
        let now = ContinuousClock.now
        faults.withLock { table in
            for fault in list { table.add(fault, now: now) }
        }
    }

    public func clearFaults() { faults.withLock { $0.removeAll() } }

    private func resetFaults() {
        let now = ContinuousClock.now
        faults.withLock { table in
            table.removeAll()
            for fault in config.faults { table.add(fault, now: now) }
        }
    }

    /// Back to the start: a fresh engine with the config's workflows, no statistics, the config's faults.
    public func reset() {
        let fresh = Self.makeEngine(config: config, clock: clock, ids: ids, logger: logger)
        engine.withLock { $0 = fresh }
        stats.withLock { $0 = CallStats() }
        resetFaults()
        markDirty()
    }

    // MARK: - Running

    /// Listens on `host:port` (0 picks a free port) with TLS when `tls` is given, and starts the
    /// once-a-second tick that fires reminders and expiries. Returns the port.
    @discardableResult
    public func start(listen host: String = "127.0.0.1", port: Int = 0, tls: TLSContext? = nil) throws -> Int {
        let scheme = tls == nil ? "http" : "https"
        var configuration = HTTPServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.tls = tls
        configuration.loopCount = min(2, EventLoopGroup.coreCount)
        configuration.serverName = "MicrosoftPurview"
        configuration.limits.maxBodyBytes = config.maxRequestBodyBytes
        configuration.timeouts.shutdownDeadline = .seconds(5)
        let server = HTTPServer(
            configuration: configuration, responder: makeResponder(scheme: scheme),
            errorRenderer: Self.errorRenderer, logger: logger)
        try server.start()
        let ticker = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                guard let self, !Task.isCancelled else { return }
                self.withEngine { $0.tick() }
            }
        }
        runtime.withLock { runtime in
            runtime.server = server
            runtime.ticker = ticker
            runtime.scheme = scheme
            runtime.host = host
            runtime.port = server.port
        }
        logger.info(
            "listening",
            metadata: ["url": .string(baseURL?.origin ?? ""), "tenant": .string(config.tenantId)])
        return server.port
    }

    /// The port listened on; 0 before ``start(listen:port:tls:)``.
    public var port: Int { runtime.withLock { $0.port } }

    /// `https://127.0.0.1:PORT` (or http): the Purview endpoint and the authority host. Nil before start.
    public var baseURL: HTTPURL? {
        let (scheme, host, port) = runtime.withLock { ($0.scheme, $0.host, $0.port) }
        guard port != 0 else { return nil }
        let literal = host.contains(":") ? "[\(host)]" : (host == "0.0.0.0" ? "127.0.0.1" : host)
        return HTTPURL("\(scheme)://\(literal == "[::]" ? "[::1]" : literal):\(port)")
    }

    /// Waits for SIGTERM or SIGINT, then shuts down.
    public func runUntilTerminationSignal() async {
        guard let server = runtime.withLock({ $0.server }) else { return }
        await server.runUntilTerminationSignal()
        await shutdown()
    }

    /// Stops listening (letting calls in flight finish), stops the tick, and writes the state file a
    /// last time. Safe to call more than once.
    public func shutdown() async {
        let (server, ticker, first) = runtime.withLock { runtime in
            // Dropping the server also breaks the cycle through its routes, which hold the service.
            defer {
                runtime.stopped = true
                runtime.ticker = nil
                runtime.server = nil
            }
            return (runtime.server, runtime.ticker, !runtime.stopped)
        }
        ticker?.cancel()
        await server?.shutdown()
        guard first else { return }
        let (signal, writer) = persistence.withLock { state in
            defer { state.signal = nil }
            return (state.signal, state.writer)
        }
        signal?.finish()
        await writer?.value
        await store?.shutdown()
        logger.info("stopped")
    }

    // MARK: - Persistence

    private func markDirty() {
        guard store != nil else { return }
        let signal = persistence.withLock { state -> AsyncStream<Void>.Continuation? in
            state.dirty = true
            return state.signal
        }
        signal?.yield()
    }

    /// One writer, so snapshots reach the file in the order they were taken; signals arriving while it
    /// waits or writes coalesce into one more write.
    private func startWriter(_ store: EmulatorStateStore) {
        let (signals, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let writer = Task { [self] in
            for await _ in signals {
                try? await Task.sleep(for: .milliseconds(100))
                await saveIfDirty(store)
            }
            await saveIfDirty(store)
        }
        persistence.withLock { state in
            state.signal = continuation
            state.writer = writer
        }
    }

    private func saveIfDirty(_ store: EmulatorStateStore) async {
        let wasDirty = persistence.withLock { state in
            defer { state.dirty = false }
            return state.dirty
        }
        guard wasDirty else { return }
        let (snapshot, time) = engine.withLock { ($0.snapshot(), $0.now) }
        do {
            try await store.save(snapshot.serialized(), savedAt: time.description)
        } catch {
            logger.error("cannot write the state file", metadata: ["error": "\(error)"])
            persistence.withLock { $0.dirty = true }
        }
    }
}

extension EmulatorStateStore {
    /// Closes the file without waiting (for a failed start).
    func shutdownInBackground() {
        Task { await self.shutdown() }
    }
}
