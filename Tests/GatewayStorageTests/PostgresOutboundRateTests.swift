import Foundation
import GatewayCore
import Observability
import PurviewWorkflow
import Synchronization
import Testing

@testable import GatewayStorage

/// The outbound budget shared through PostgreSQL: several replicas (stores with pools of their own) on one
/// database together get no more than the budget, and a 429 seen by one cuts the rate for all.
@Suite struct PostgresOutboundRateTests {
    final class GrantCounter: Sendable {
        let count = Atomic<Int>(0)
    }

    func configuration() -> OutboundBudgetConfiguration {
        var configuration = OutboundBudgetConfiguration(requestsPerSecond: 50, maxInFlight: 8)
        configuration.burstSeconds = 0.1
        configuration.recoveryPerSecond = 5
        return configuration
    }

    /// Permits the budgets grant together in `seconds`, 8 callers each asking as fast as they can.
    func grants(_ budgets: [OutboundBudget], seconds: Double) async -> Int {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        let total = GrantCounter()
        await withTaskGroup(of: Void.self) { group in
            for budget in budgets {
                for _ in 0..<8 {
                    group.addTask {
                        for _ in 0..<10_000 {
                            guard let permit = try? await budget.acquire() else { return }
                            permit.release()
                            if ContinuousClock.now >= deadline { return }
                            total.count.add(1, ordering: .relaxed)
                        }
                    }
                }
            }
        }
        return total.count.load(ordering: .relaxed)
    }

    func withReplicas(_ count: Int, _ body: ([PostgresRequestStore], [PostgresOutboundRate]) async throws -> Void)
        async throws
    {
        try await withPostgresStore { first, schema in
            var stores = [first]
            for _ in 1..<count { stores.append(try await PostgresRequestStore.open(url: schema.url, poolSize: 2)) }
            let rates = stores.map {
                PostgresOutboundRate(pool: $0.pool, configuration: configuration(), logger: .disabled())
            }
            do {
                try await body(stores, rates)
            } catch {
                for store in stores.dropFirst() { await store.close() }
                throw error
            }
            for store in stores.dropFirst() { await store.close() }
        }
    }

    @Test func threeReplicasTogetherStayWithinTheBudget() async throws {
        try await withReplicas(3) { _, rates in
            let budgets = rates.map { OutboundBudget(configuration: configuration(), rate: $0) }
            let granted = await grants(budgets, seconds: 2)
            // 50/s for 2 s, the bucket's depth (5), and a token each replica may hold from its last batch.
            #expect(granted <= 100 + 5 + 3, "the three replicas got \(granted) permits in 2 s at 50/s")
            #expect(granted > 0, "the shared budget granted nothing")
        }
    }

    @Test func a429OnOneReplicaCutsTheRateForAll() async throws {
        try await withReplicas(2) { stores, rates in
            #expect(await rates[0].take() == nil)
            await rates[0].throttled()
            let row = try await stores[1].read { connection in
                try connection.query("SELECT rate_at_cut, cut_at FROM outbound_budget WHERE id = 1").rows
            }
            #expect(row.first?[0].flatMap { Double($0) } == 25, "halved from 50: \(row)")
            #expect(row.first?[1] != nil)
            // The other replica now gets about half: 25/s, regaining 5/s, plus the bucket's depth.
            let granted = await grants([OutboundBudget(configuration: configuration(), rate: rates[1])], seconds: 1)
            #expect(granted <= 25 + 5 + 5 + 1, "after the cut the other replica got \(granted) permits in 1 s")
        }
    }

    @Test func aDatabaseThatIsGoneFallsBackToTheReplicasOwnBudget() async throws {
        try await withReplicas(2) { stores, rates in
            await stores[1].close()
            // The first call finds the replica's own bucket (one token) rather than waiting or failing.
            #expect(await rates[1].take() == nil)
            let budget = OutboundBudget(configuration: configuration(), rate: rates[1])
            let granted = await grants([budget], seconds: 0.5)
            #expect(granted <= 25 + 5, "alone, the replica got \(granted) permits in 0.5 s at 50/s")
        }
    }
}
