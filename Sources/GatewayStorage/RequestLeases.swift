import Synchronization

/// Leases on requests, kept in memory by a store that is its file's only writer (the SQLite store holds a
/// process lock on it).
///
/// No other process needs to see them, so taking or releasing one costs no write (a claim is a read, and a
/// forwarder's send waits for two group commits instead of three), and a crash frees them at once rather than
/// after their duration. What keeps a request from being sent twice is not the lease but the versioned update
/// that marks it `submitting`; a lease only keeps this process's workers out of each other's way.
final class RequestLeases: Sendable {
    private struct Lease {
        var owner: String
        var untilMs: Int64
    }

    private let held = Mutex<[String: Lease]>([:])

    /// How many leases are in force at `nowMs` (lapsed ones are dropped).
    func count(at nowMs: Int64) -> Int {
        held.withLock { held in
            if held.values.contains(where: { $0.untilMs <= nowMs }) { held = held.filter { $0.value.untilMs > nowMs } }
            return held.count
        }
    }

    /// Leases to `owner`, until `untilMs`, the first `limit` of `candidates` that nobody holds at `nowMs`;
    /// returns them in `candidates`' order.
    func take(_ candidates: [String], limit: Int, owner: String, nowMs: Int64, untilMs: Int64) -> [String] {
        held.withLock { held in
            var taken: [String] = []
            for id in candidates where taken.count < limit {
                if let lease = held[id], lease.untilMs > nowMs { continue }
                held[id] = Lease(owner: owner, untilMs: untilMs)
                taken.append(id)
            }
            return taken
        }
    }

    /// Ends `owner`'s lease on `id`; a lease someone else took meanwhile is left alone.
    func release(_ id: String, owner: String) {
        held.withLock { held in
            if held[id]?.owner == owner { held[id] = nil }
        }
    }
}
