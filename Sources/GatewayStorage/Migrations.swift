import GatewayCore
import SQLite

/// The schema's history: an ordered list of SQL scripts; script N brings the database to version N.
///
/// Append new scripts; never edit one that has shipped. The SQL sticks to what PostgreSQL also accepts
/// (BIGINT times in Unix milliseconds, TEXT ids, plain indexes) so the same tables serve both stores.
enum Migrations {
    static let scripts: [String] = [
        // 1: requests, with the columns listings and claims filter on beside the full document.
        """
        CREATE TABLE requests (
            id TEXT PRIMARY KEY,
            client TEXT NOT NULL,
            kind TEXT NOT NULL,
            status TEXT NOT NULL,
            requested_by TEXT NOT NULL,
            idempotency_key TEXT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            next_attempt_at BIGINT,
            polled_at BIGINT,
            version BIGINT NOT NULL,
            lease_owner TEXT,
            lease_until BIGINT,
            doc TEXT NOT NULL
        );
        CREATE INDEX requests_newest ON requests (created_at DESC, id DESC);
        CREATE INDEX requests_client_newest ON requests (client, created_at DESC, id DESC);
        CREATE INDEX requests_requested_by_newest ON requests (requested_by, created_at DESC, id DESC);
        CREATE INDEX requests_forwardable ON requests (status, next_attempt_at, id);
        CREATE INDEX requests_pollable ON requests (status, polled_at, id);
        CREATE TABLE idempotency_keys (
            client TEXT NOT NULL,
            idempotency_key TEXT NOT NULL,
            request_id TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (client, idempotency_key)
        );
        CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
        """,
        // 2: the webhook outbox (events written with the transitions they describe), attempts, 410-stopped URLs.
        WebhookOutboxSchema.script(collate: ""),
        // 3: retention finds old finished requests without scanning the table.
        """
        CREATE INDEX requests_retention ON requests (status, updated_at);
        """,
        // 4: the outbound budget table, used only by PostgreSQL (several replicas); kept here so version 4 means
        // the same tables in both stores.
        """
        CREATE TABLE outbound_budget (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            tokens DOUBLE PRECISION NOT NULL,
            updated_at BIGINT NOT NULL,
            rate_at_cut DOUBLE PRECISION,
            cut_at BIGINT
        );
        """,
        // 5: batch imports; imported requests carry their import, and interactive and imported requests are
        // claimed through separate partial indexes (a large import must not slow the interactive claim).
        """
        ALTER TABLE requests ADD COLUMN import_id TEXT;
        CREATE INDEX requests_import ON requests (import_id, status) WHERE import_id IS NOT NULL;
        CREATE INDEX requests_forwardable_interactive ON requests (status, next_attempt_at, id) WHERE import_id IS NULL;
        CREATE INDEX requests_forwardable_imported ON requests (status, next_attempt_at, id) WHERE import_id IS NOT NULL;
        CREATE TABLE imports (
            id TEXT PRIMARY KEY,
            client TEXT NOT NULL,
            idempotency_key TEXT,
            kind TEXT,
            format TEXT NOT NULL,
            status TEXT NOT NULL,
            row_count BIGINT NOT NULL,
            accepted_count BIGINT NOT NULL,
            rejected_count BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        );
        CREATE UNIQUE INDEX imports_client_key ON imports (client, idempotency_key) WHERE idempotency_key IS NOT NULL;
        CREATE INDEX imports_newest ON imports (created_at DESC, id DESC);
        CREATE TABLE import_rejections (
            import_id TEXT NOT NULL,
            row_number BIGINT NOT NULL,
            errors TEXT NOT NULL,
            raw TEXT NOT NULL,
            PRIMARY KEY (import_id, row_number)
        );
        """,
    ]

    /// The version a database has once every script here is applied.
    static var latestVersion: Int { scripts.count }

    /// Brings the database up to ``latestVersion`` in one transaction; refuses a database from a newer build.
    ///
    /// - Returns: the versions applied now (empty when the database was current).
    @discardableResult
    static func apply(on connection: SQLiteConnection, scripts: [String] = scripts, now: Int64) throws -> [Int] {
        try connection.transaction(.immediate) { connection in
            try connection.execute(
                unsafeSQL: """
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version BIGINT PRIMARY KEY,
                        applied_at BIGINT NOT NULL
                    )
                    """)
            let current = try connection.query("SELECT MAX(version) FROM schema_migrations").first?[0].int ?? 0
            guard current <= scripts.count else {
                throw StoreError(
                    "the database schema is at version \(current), newer than this gateway knows (\(scripts.count)); "
                        + "run a newer gateway or restore a backup")
            }
            var applied: [Int] = []
            for version in (current + 1)..<(scripts.count + 1) {
                try connection.execute(unsafeSQL: scripts[version - 1])
                try connection.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", [.int(version), .integer(now)])
                applied.append(version)
            }
            return applied
        }
    }
}
