import FoundationEssentials
import GatewayCore
import Observability
import PurviewWorkflow
import Synchronization

/// The outbound budget's rate shared by every replica on one PostgreSQL database: a single row holds the token
/// bucket (`OutboundRateState`), updated under its row lock on the database server's clock, so the replicas
/// together send no more than the budget and a 429 seen by one cuts the rate for all.
///
/// A replica takes a few tokens per round trip (about 20 ms of the rate) and drops what it has not used after
/// 100 ms, so the row is touched a few dozen times a second at most and no replica hoards tokens. When the
/// database cannot be reached the replica falls back to a budget of its own (logged) rather than stopping.
final class PostgresOutboundRate: OutboundRateSource {
    let pool: PostgresPool
    let configuration: OutboundBudgetConfiguration
    let logger: Logger
    let fallback: LocalOutboundRate
    let batch: Int
    let clock: @Sendable () -> Double
    private struct Cached {
        var tokens = 0
        var expiresAt = 0.0
        var fetching = false
        var lastWarning = -Double.infinity
    }
    private let cached = Mutex(Cached())
    /// Unused tokens are dropped after this long: taken for calls about to go out, not saved up.
    static let tokenLifetime = 0.1

    init(pool: PostgresPool, configuration: OutboundBudgetConfiguration, logger: Logger) {
        self.pool = pool
        self.configuration = configuration
        self.logger = logger
        fallback = LocalOutboundRate(configuration: configuration)
        batch = max(1, Int(configuration.requestsPerSecond * 0.02))
        clock = LocalOutboundRate.monotonicSeconds
    }

    func take() async -> Duration? {
        enum Step {
            case granted
            case wait
            case fetch
        }
        let now = clock()
        let step = cached.withLock { cached -> Step in
            if cached.tokens > 0 && now < cached.expiresAt {
                cached.tokens -= 1
                return .granted
            }
            if cached.fetching { return .wait }
            cached.tokens = 0
            cached.fetching = true
            return .fetch
        }
        switch step {
        case .granted: return nil
        // Another task of this replica is at the database already.
        case .wait: return .milliseconds(2)
        case .fetch: break
        }
        let count = batch
        let configuration = configuration
        let taken: (granted: Int, retryAfterSeconds: Double)
        do {
            taken = try await pool.run(.ifNothingSent) { connection in
                try Self.update(on: connection) { state, now in state.take(upTo: count, now: now, configuration) }
            }
        } catch {
            cached.withLock { $0.fetching = false }
            warn(error)
            return await fallback.take()
        }
        return cached.withLock { cached -> Duration? in
            cached.fetching = false
            guard taken.granted > 0 else {
                return .milliseconds(Int64((taken.retryAfterSeconds * 1000).rounded(.up)))
            }
            cached.tokens = taken.granted - 1
            cached.expiresAt = clock() + Self.tokenLifetime
            return nil
        }
    }

    func throttled() async {
        // Tokens taken before the 429 were taken at the old rate.
        cached.withLock { $0.tokens = 0 }
        let configuration = configuration
        do {
            try await pool.run(.ifNothingSent) { connection in
                try Self.update(on: connection) { state, now in state.throttled(now: now, configuration) }
            }
        } catch {
            warn(error)
        }
        await fallback.throttled()
    }

    private func warn(_ error: any Error) {
        let now = clock()
        let due = cached.withLock { cached -> Bool in
            guard now - cached.lastWarning >= 60 else { return false }
            cached.lastWarning = now
            return true
        }
        if due {
            logger.warning(
                "cannot use the shared outbound budget in the database; this replica budgets alone meanwhile",
                metadata: ["error": .string("\(error)")])
        }
    }

    /// Reads the row under its lock, applies `change` at the server's time, writes it back; one transaction.
    static func update<Value>(
        on connection: PostgresConnection, _ change: (inout OutboundRateState, Double) -> Value
    ) throws -> Value {
        try connection.execute(unpreparedSQL: "BEGIN")
        do {
            let select = """
                SELECT tokens, updated_at, rate_at_cut, cut_at, (extract(epoch FROM clock_timestamp()) * 1000)::bigint
                FROM outbound_budget WHERE id = 1 FOR UPDATE
                """
            var rows = try connection.query(select).rows
            if rows.isEmpty {
                try connection.query(
                    """
                    INSERT INTO outbound_budget (id, tokens, updated_at)
                    VALUES (1, 1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint) ON CONFLICT (id) DO NOTHING
                    """)
                rows = try connection.query(select).rows
            }
            guard let row = rows.first, row.count == 5, let nowMs = row[4].flatMap({ Int64($0) }) else {
                throw StoreError("the outbound_budget row is missing")
            }
            let now = Double(nowMs) / 1000
            var state = OutboundRateState(
                tokens: row[0].flatMap { Double($0) } ?? 0,
                updatedAt: row[1].flatMap { Double($0) }.map { $0 / 1000 } ?? now,
                rateAtCut: row[2].flatMap { Double($0) },
                cutAt: row[3].flatMap { Double($0) }.map { $0 / 1000 })
            let value = change(&state, now)
            try connection.query(
                """
                UPDATE outbound_budget SET tokens = $1::double precision, updated_at = $2::bigint,
                    rate_at_cut = $3::double precision, cut_at = $4::bigint
                WHERE id = 1
                """,
                [
                    String(state.tokens), String(Int64((state.updatedAt * 1000).rounded())),
                    state.rateAtCut.map { String($0) }, state.cutAt.map { String(Int64(($0 * 1000).rounded())) },
                ])
            try connection.execute(unpreparedSQL: "COMMIT")
            return value
        } catch {
            try? connection.execute(unpreparedSQL: "ROLLBACK")
            throw error
        }
    }
}
