public import FoundationEssentials
public import GatewayCore

/// A `RequestStore` the process owns: it can be closed at shutdown and its old Idempotency-Keys purged.
public protocol DurableRequestStore: RequestStore, WebhookOutbox {
    /// Finishes submitted work, then closes the database. Later calls throw `StoreError`.
    func close() async

    /// Deletes Idempotency-Keys created before `cutoff`; returns how many.
    @discardableResult
    func purgeExpiredIdempotencyKeys(before cutoff: Date) async throws -> Int
}

extension SQLiteRequestStore: DurableRequestStore {}
extension PostgresRequestStore: DurableRequestStore {}

/// Opens the store `GATEWAY_DATABASE_URL` names.
public enum RequestStores {
    /// SQLite for `sqlite:` URLs, PostgreSQL (pool of `postgresPoolSize` connections) for `postgres://` ones.
    ///
    /// Throws `StoreError` (never showing a password) when the database cannot be opened or migrated.
    public static func open(_ url: DatabaseURL, postgresPoolSize: Int = 8) async throws -> any DurableRequestStore {
        switch url {
        case .sqlite(let path): try await SQLiteRequestStore.open(path: path)
        case .postgres(let text): try await PostgresRequestStore.open(url: text, poolSize: postgresPoolSize)
        }
    }
}
