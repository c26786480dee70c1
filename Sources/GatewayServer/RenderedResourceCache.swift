import GatewayCore
import Synchronization

/// The response bodies of recent `GET /v1/requests/{id}` answers, keyed by request id and tagged with the
/// stored version they were rendered from.
///
/// Reading the full answer decodes the stored document, renders the resource and serialises it; a cached
/// body skips all three. Two ways keep it from going stale:
/// - When the store reports every change to a request (`RequestStore.observeChanges`: one process owns the
///   SQLite file), a change drops the request's entry, so an entry present is current and is served without
///   asking the store (`currentEntry`), on the event loop.
/// - Otherwise (PostgreSQL, where other replicas write) the caller reads the stored version, a one-column
///   lookup, and serves the entry only when it matches (`entry`): every change increments the version.
final class RenderedResourceCache: Sendable {
    struct Entry: Sendable {
        var version: Int
        /// The owning client, for the visibility check.
        var clientName: String
        var body: [UInt8]
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Changes reported so far; `recentChanges[n % recentChanges.count]` holds the id of change n.
        var changeCount = 0
        var recentChanges: [String]
    }

    private let state: Mutex<State>
    private let reportsEveryChange = Atomic<Bool>(false)
    /// Bounds memory: a resource body is a few KiB.
    let capacity: Int

    /// `changeWindow`: how many recent changes are remembered to refuse a body rendered before one of them.
    init(capacity: Int = 4096, changeWindow: Int = 1024) {
        precondition(
            capacity > 0 && changeWindow > 0, "RenderedResourceCache: capacity and changeWindow must be positive")
        self.capacity = capacity
        state = Mutex(State(recentChanges: Array(repeating: "", count: changeWindow)))
    }

    /// Subscribes to the store's change reports; from then on entries are served without a version check.
    func follow(_ store: any RequestStore) {
        let subscribed = store.observeChanges { [weak self] id in self?.changed(id) }
        reportsEveryChange.store(subscribed, ordering: .releasing)
    }

    /// The entry for `id`, known current without asking the store; nil when there is none or when the store
    /// does not report changes.
    func currentEntry(id: String) -> Entry? {
        guard reportsEveryChange.load(ordering: .acquiring) else { return nil }
        return state.withLock { $0.entries[id] }
    }

    /// The entry for `id`, to be served only if its version is the stored one.
    func entry(id: String) -> Entry? { state.withLock { $0.entries[id] } }

    /// Where the change reports stand: take it before reading the request that will be rendered.
    func changeMark() -> Int { state.withLock { $0.changeCount } }

    /// Remembers `body` as the rendering of `request` at its version, unless the request changed after
    /// `mark` (the body may then be older than the change that dropped its predecessor). When full, an
    /// arbitrary entry makes room.
    func store(_ body: [UInt8], for request: GatewayRequest, readAfter mark: Int) {
        let entry = Entry(version: request.version, clientName: request.clientName, body: body)
        state.withLock { state in
            let missed = state.changeCount - mark
            if missed > 0 {
                // Too many changes since to tell whether one was this request's: do not cache.
                guard missed <= state.recentChanges.count else { return }
                for change in mark..<state.changeCount
                where state.recentChanges[change % state.recentChanges.count] == request.id {
                    return
                }
            }
            if let cached = state.entries[request.id], cached.version > request.version { return }
            if state.entries[request.id] == nil, state.entries.count >= capacity, let victim = state.entries.keys.first
            {
                state.entries[victim] = nil
            }
            state.entries[request.id] = entry
        }
    }

    /// The store reports that request `id` changed (or was deleted).
    func changed(_ id: String) {
        state.withLock { state in
            state.entries[id] = nil
            state.recentChanges[state.changeCount % state.recentChanges.count] = id
            state.changeCount += 1
        }
    }

    var count: Int { state.withLock { $0.entries.count } }
}
