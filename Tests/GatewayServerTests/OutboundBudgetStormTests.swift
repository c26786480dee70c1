import Foundation
import GatewayCore
import HTTP
import Networking
import PurviewEmulator
import PurviewWorkflow
import Synchronization
import Testing

@testable import GatewayStorage

/// The outbound budget end to end: two gateway processes on one PostgreSQL share one budget to one emulator,
/// which answers 429 to the first 60 submissions. Nothing reaches the emulator faster than the budget,
/// the budget is cut during the storm, and every request is forwarded once in the end.
@Suite(.serialized) struct OutboundBudgetStormTests {
    static let rate = 20.0

    @Test func budgetHoldsThroughA429StormAndNothingIsLost() async throws {
        let system = try await ReplicaSystem.start(
            replicaCount: 2,
            environment: [
                "GATEWAY_PURVIEW_REQUESTS_PER_SECOND": String(Int(Self.rate)),
                "GATEWAY_POLL_INTERVAL_SECONDS": "60",
                // Intake is not what this test measures: one client submits all 200 at once.
                "GATEWAY_RATE_LIMIT_PER_SECOND": "0",
            ])
        do {
            try await stormAndCheck(system)
        } catch {
            await system.stop()
            throw error
        }
        await system.stop()
    }

    /// Every call the emulator counted (all operations, the token endpoint included).
    func callsSoFar(_ system: ReplicaSystem) async throws -> Int {
        let stats = try await system.emulatorStats()
        guard case .object(let calls)? = stats["calls"] else { throw HarnessFailure("no calls in \(stats)") }
        return calls.reduce(0) { $0 + ($1.value.intValue ?? 0) }
    }

    func stormAndCheck(_ system: ReplicaSystem) async throws {
        let total = 200
        let storm = try await system.call(
            .post, system.emulatorURL + "/_emulator/faults",
            headers: ["Authorization": "Bearer \(EmulatorConfig.Demo.adminToken)"],
            body: (["match": "POST /userrequests", "status": 429, "retryAfter": 1, "count": 60] as JSONValue)
                .serialized())
        #expect(storm.status == 200)
        let started = ContinuousClock.now
        let baseline = try await callsSoFar(system)

        // Sample the emulator's call count while the gateways work through the backlog. A count was taken at some
        // moment between the asking and the answer, which a loaded machine can spread apart: both are kept.
        let samples = Mutex<[(asked: ContinuousClock.Instant, at: ContinuousClock.Instant, calls: Int)]>([
            (started, started, baseline)
        ])
        let sampling = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(200))
                let asked = ContinuousClock.now
                if let calls = try? await callsSoFar(system) {
                    samples.withLock { $0.append((asked, ContinuousClock.now, calls)) }
                }
            }
        }
        defer { sampling.cancel() }

        var ids: [String] = []
        for index in 0..<total {
            let reply = try await system.call(
                .post, system.replicaURLs[index % 2] + "/v1/requests/data-access",
                headers: [
                    "X-API-Key": ReplicaSystem.portalKey, "Prefer": "wait=0", "Idempotency-Key": "storm-\(index)",
                ],
                body: Array(
                    #"{"qualifiedName":"mssql://db.contoso.com/sales/s\#(index)","purpose":"storm","requestedBy":"ada@contoso.com"}"#
                        .utf8))
            guard (200..<300).contains(reply.status), let id = reply.json["id"]?.stringValue else {
                throw HarnessFailure("submission \(index) answered \(reply.status): \(reply.json)")
            }
            ids.append(id)
        }

        // The storm cut the shared budget (read from the database both replicas use).
        try await Task.sleep(for: .seconds(2))
        let pool = PostgresPool(
            settings: try PostgresConnectionSettings(system.database.url), size: 1, waitTimeout: .seconds(30))
        let row = try await pool.run(.always) { connection in
            try connection.query("SELECT rate_at_cut, cut_at FROM outbound_budget WHERE id = 1").rows
        }
        await pool.close()
        let cutTo = row.first?[0].flatMap { Double($0) }
        #expect(cutTo != nil && cutTo! < Self.rate, "the 429 storm did not cut the shared budget: \(row)")

        // Everything is forwarded once the storm is over (bounded wait).
        let deadline = ContinuousClock.now + .seconds(120)
        var statuses: [String: Int] = [:]
        while ContinuousClock.now < deadline {
            let items = try await system.listAll("", on: 0)
            statuses = Dictionary(grouping: items, by: { $0["status"]?.stringValue ?? "?" }).mapValues(\.count)
            if (statuses["queued"] ?? 0) + (statuses["submitting"] ?? 0) == 0 && items.count == total { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        let settled = ContinuousClock.now
        sampling.cancel()
        let forwarded = ["submitted", "in_progress", "completed", "no_workflow"].reduce(0) { $0 + (statuses[$1] ?? 0) }
        #expect(forwarded == total, "not every request was forwarded after the storm: \(statuses)")

        let stats = try await system.emulatorStats()
        #expect(stats["duplicateUserRequests"] == [], "sent twice: \(stats["duplicateUserRequests"] ?? .null)")
        let submissions = stats["calls"]?["POST /userrequests"]?.intValue ?? 0
        #expect(submissions >= total + 60, "the storm refused fewer than 60 (\(submissions) submissions)")

        // No more than the budget reached the emulator, over any second: the rate over the longest time the two
        // counts can be apart (first asked to last answered), the bucket's depth (0.1 s of the rate, at least 1), a
        // token per replica from its last batch, and 0.25 s for calls the event loops delivered late and together.
        let taken = samples.withLock { $0 }
        var worst = (calls: 0, seconds: 0.0, allowed: 0.0)
        for (index, from) in taken.enumerated() {
            guard let to = taken[(index + 1)...].first(where: { from.at.duration(to: $0.at) >= .seconds(1) }) else {
                break
            }
            let seconds = from.asked.duration(to: to.at).seconds
            let calls = to.calls - from.calls
            let allowed = Self.rate * (seconds + 0.25) + max(1, Self.rate * 0.1) + 2
            if worst.allowed == 0 || Double(calls) / allowed > Double(worst.calls) / worst.allowed {
                worst = (calls, seconds, allowed)
            }
            #expect(
                Double(calls) <= allowed, "\(calls) calls reached Purview in \(seconds) s; the budget allows \(allowed)"
            )
        }
        if worst.allowed > 0, Double(worst.calls) > worst.allowed {
            for (index, replica) in system.replicas.enumerated() {
                print("replica \(index) stderr (end):\n\(replica.standardError.suffix(3000))")
            }
        }
        let overall = (taken.last?.calls ?? baseline) - baseline
        let elapsed = started.duration(to: taken.last?.at ?? started).seconds
        #expect(Double(overall) <= Self.rate * elapsed + 6, "\(overall) calls in \(elapsed) s at \(Self.rate)/s")
        print(
            "outbound budget storm: \(total) requests, \(submissions) POST /userrequests (429s included), \(overall) calls"
                + " in \(String(format: "%.1f", elapsed)) s (budget \(Self.rate)/s), worst second \(worst.calls) calls in"
                + " \(String(format: "%.2f", worst.seconds)) s (allowed \(String(format: "%.1f", worst.allowed))), cut to"
                + " \(cutTo ?? -1)/s, settled after \(String(format: "%.1f", started.duration(to: settled).seconds)) s")
    }
}
