public import Networking
import Synchronization

/// Where the rate tokens of the outbound budget come from: this process alone (`LocalOutboundRate`), or the
/// whole deployment through the database (GatewayStorage's PostgreSQL source).
public protocol OutboundRateSource: Sendable {
    /// Takes one token; nil when taken, else how long to wait before asking again.
    func take() async -> Duration?
    /// Purview answered 429: cut the rate.
    func throttled() async
}

/// The rate state of one process, on a monotonic clock (injected in tests).
public final class LocalOutboundRate: OutboundRateSource {
    let configuration: OutboundBudgetConfiguration
    let clock: @Sendable () -> Double
    private let state: Mutex<OutboundRateState>

    public init(
        configuration: OutboundBudgetConfiguration,
        clock: @escaping @Sendable () -> Double = LocalOutboundRate.monotonicSeconds
    ) {
        self.configuration = configuration
        self.clock = clock
        state = Mutex(OutboundRateState(tokens: 1, updatedAt: clock()))
    }

    /// Seconds on the monotonic clock since an arbitrary fixed instant.
    public static let monotonicSeconds: @Sendable () -> Double = {
        let elapsed = monotonicOrigin.duration(to: .now).components
        return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    }

    public func take() async -> Duration? { takeNow() }

    func takeNow() -> Duration? {
        let now = clock()
        let decision = state.withLock { $0.take(now: now, configuration) }
        switch decision {
        case .granted: return nil
        case .retry(let seconds): return .milliseconds(Int64((seconds * 1000).rounded(.up)))
        }
    }

    public func throttled() async {
        let now = clock()
        state.withLock { $0.throttled(now: now, configuration) }
    }

    /// Calls per second allowed now.
    public var currentRate: Double {
        let now = clock()
        return state.withLock { $0.rate(at: now, configuration) }
    }
}

private let monotonicOrigin = ContinuousClock.now

/// One outbound budget for every call to Purview: at most `maxInFlight` calls at once and the rate its
/// source allows. `BudgetedTransport` draws on it for each HTTP attempt; the forwarder draws before it marks a
/// request `submitting` (so a request is only ever `submitting` while its send really can go out) and hands
/// the permit to the send through `OutboundBudget.$prepaid`.
public final class OutboundBudget: Sendable {
    public let configuration: OutboundBudgetConfiguration
    let rate: any OutboundRateSource
    private let slots: FIFOGate
    /// One waiter at a time asks the rate source, in arrival order; the others wait their turn instead of all
    /// waking for the same token.
    private let tokenTurn = FIFOGate(capacity: 1)
    /// Token fetches waiting for a rate token: calls in `acquire()` leave the tokens to them.
    private let fetchesWaiting = Atomic<Int>(0)
    private let throttledCount = Atomic<Int>(0)
    private let grantedCount = Atomic<Int>(0)

    /// A permit taken ahead of a call (by the forwarder): the call's first attempt uses it instead of drawing.
    @TaskLocal public static var prepaid: OutboundPermit?

    public init(configuration: OutboundBudgetConfiguration, rate: (any OutboundRateSource)? = nil) {
        precondition(
            configuration.maxInFlight > 0 && configuration.requestsPerSecond > 0, "an outbound budget needs room")
        self.configuration = configuration
        self.rate = rate ?? LocalOutboundRate(configuration: configuration)
        slots = FIFOGate(capacity: configuration.maxInFlight)
    }

    /// Calls holding a slot now.
    public var inFlight: Int { slots.inside }
    /// 429 answers seen since start.
    public var throttledAnswers: Int { throttledCount.load(ordering: .relaxed) }
    /// Permits given out since start.
    public var permitsGranted: Int { grantedCount.load(ordering: .relaxed) }

    /// Waits for a free slot and a rate token. Throws only when the task is cancelled (nothing was taken then).
    public func acquire() async throws(CancellationError) -> OutboundPermit {
        try await slots.enter()
        do {
            try await tokenTurn.enter()
            defer { tokenTurn.leave() }
            try await takeFromRate(yieldingToFetches: true)
        } catch {
            slots.leave()
            throw error
        }
        grantedCount.add(1, ordering: .relaxed)
        return OutboundPermit(budget: self)
    }

    /// Waits for a rate token only, ahead of the calls waiting in `acquire()`: for token fetches, which the
    /// calls holding slots (and prepaid permits) wait for. Queued behind them, a fetch would come last and the
    /// calls whose tokens were taken meanwhile would all go out at once when it returned.
    public func takeToken() async throws(CancellationError) {
        fetchesWaiting.add(1, ordering: .relaxed)
        defer { fetchesWaiting.subtract(1, ordering: .relaxed) }
        try await takeFromRate(yieldingToFetches: false)
    }

    private func takeFromRate(yieldingToFetches: Bool) async throws(CancellationError) {
        // Bounded: a token is due within 1/minimumRequestsPerSecond, so this ends long before the count does.
        for _ in 0..<1_000_000 {
            if Task.isCancelled { throw CancellationError() }
            let wait: Duration?
            if yieldingToFetches && fetchesWaiting.load(ordering: .relaxed) > 0 {
                wait = .milliseconds(1)
            } else {
                wait = await rate.take()
            }
            guard let wait else { return }
            do {
                try await Task.sleep(for: wait)
            } catch {
                throw CancellationError()
            }
        }
        throw CancellationError()
    }

    /// Purview answered 429.
    public func reportThrottled() async {
        throttledCount.add(1, ordering: .relaxed)
        await rate.throttled()
    }

    func freeSlot() { slots.leave() }
}

/// At most `capacity` tasks inside at once; the others wait in arrival order. A waiter that is cancelled leaves
/// the queue without entering.
final class FIFOGate: Sendable {
    private struct State {
        var inside = 0
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextWaiter: UInt64 = 0
    }
    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = capacity }

    var inside: Int { state.withLock { $0.inside } }

    func enter() async throws(CancellationError) {
        let waiter: UInt64? = state.withLock { state in
            if state.inside < capacity && state.waiters.isEmpty {
                state.inside += 1
                return nil
            }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let waiter else { return }
        let entered = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let cancelled = state.withLock { state -> Bool in
                    if Task.isCancelled { return true }
                    // Room may have been made between the first look and now.
                    if state.inside < capacity && state.waiters.isEmpty {
                        state.inside += 1
                        continuation.resume(returning: true)
                        return false
                    }
                    state.waiters.append((waiter, continuation))
                    return false
                }
                if cancelled { continuation.resume(returning: false) }
            }
        } onCancel: {
            let removed = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == waiter }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            removed?.resume(returning: false)
        }
        if !entered { throw CancellationError() }
    }

    /// Leaves, handing the place straight to the longest waiter if there is one.
    func leave() {
        let next = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            if state.waiters.isEmpty {
                state.inside -= 1
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        next?.resume(returning: true)
    }
}

/// One call's share of the budget: a slot until released (once; later releases do nothing).
public final class OutboundPermit: Sendable {
    private let budget: OutboundBudget
    /// 0 taken, 1 used by an attempt, 2 released.
    private let state = Atomic<Int>(0)

    init(budget: OutboundBudget) { self.budget = budget }

    /// True for the first attempt that uses a prepaid permit.
    func use() -> Bool { state.compareExchange(expected: 0, desired: 1, ordering: .relaxed).exchanged }

    /// Frees the slot (idempotent).
    public func release() {
        if state.exchange(2, ordering: .relaxed) != 2 { budget.freeSlot() }
    }
}

/// Sends every HTTP attempt through the outbound budget: a permit per attempt (so the client's own retries
/// draw too), a cut of the rate on each 429. With `holdsSlot` false (token fetches, which run while the
/// caller may hold a slot) an attempt takes a rate token only.
public struct BudgetedTransport: HTTPClientTransport {
    let base: any HTTPClientTransport
    let budget: OutboundBudget
    let holdsSlot: Bool

    public init(_ base: any HTTPClientTransport, budget: OutboundBudget, holdsSlot: Bool = true) {
        self.base = base
        self.budget = budget
        self.holdsSlot = holdsSlot
    }

    public func execute(_ request: HTTPClientRequest) async throws(HTTPClientError) -> HTTPClientResponse {
        var permit: OutboundPermit?
        do throws(CancellationError) {
            if holdsSlot, let prepaid = OutboundBudget.prepaid, prepaid.use() {
                permit = prepaid
            } else if holdsSlot {
                permit = try await budget.acquire()
            } else {
                try await budget.takeToken()
            }
        } catch {
            throw HTTPClientError(
                code: .shutdown, message: "cancelled while waiting for the outbound budget",
                requestMayHaveBeenProcessed: false)
        }
        defer { permit?.release() }
        let response = try await base.execute(request)
        if response.status.code == 429 { await budget.reportThrottled() }
        return response
    }
}
