import GatewayCore
import Synchronization

/// The response bodies of recent `GET /v1/requests/{id}` answers, keyed by request id and tagged with the
/// stored version they were rendered from.
///
/// A GET whose request has not changed since (same version in the store) is answered with these bytes:
/// reading the version is a one-column lookup, where the full answer decodes the stored document,
/// renders the resource and serialises it. Every change to a request's document increments its version,
/// so a stale body is never served; the store is still asked on every GET, so a request deleted or
/// changed by another replica is seen at once.
final class RenderedResourceCache: Sendable {
    struct Entry: Sendable {
        var version: Int
        /// The owning client, for the visibility check.
        var clientName: String
        var body: [UInt8]
    }

    private let entries = Mutex<[String: Entry]>([:])
    /// Bounds memory: a resource body is a few KiB.
    let capacity: Int

    init(capacity: Int = 4096) {
        precondition(capacity > 0, "RenderedResourceCache: capacity must be positive")
        self.capacity = capacity
    }

    func entry(id: String) -> Entry? { entries.withLock { $0[id] } }

    /// Remembers `body` as the rendering of `request` at its version; when full, an arbitrary entry makes room.
    func store(_ body: [UInt8], for request: GatewayRequest) {
        let entry = Entry(version: request.version, clientName: request.clientName, body: body)
        entries.withLock { entries in
            if entries[request.id] == nil, entries.count >= capacity, let victim = entries.keys.first {
                entries[victim] = nil
            }
            entries[request.id] = entry
        }
    }

    var count: Int { entries.withLock { $0.count } }
}
