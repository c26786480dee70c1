import GatewayCore

/// The PostgreSQL schema's history, versioned like SQLite's (`Migrations`): script N brings the database to
/// version N, recorded in `schema_migrations`. Version N means the same tables and columns in both stores.
///
/// The scripts differ from SQLite's only where PostgreSQL needs it: ids compare byte-wise (`COLLATE "C"`, as
/// SQLite compares them) whatever the database's locale, and the claim indexes sort NULLs first as SQLite
/// does. Append new scripts; never edit one that has shipped.
enum PostgresMigrations {
    static let scripts: [String] = [
        // 1: requests, with the columns listings and claims filter on beside the full document.
        """
        CREATE TABLE requests (
            id TEXT COLLATE "C" PRIMARY KEY,
            client TEXT COLLATE "C" NOT NULL,
            kind TEXT COLLATE "C" NOT NULL,
            status TEXT COLLATE "C" NOT NULL,
            requested_by TEXT COLLATE "C" NOT NULL,
            idempotency_key TEXT COLLATE "C",
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            next_attempt_at BIGINT,
            polled_at BIGINT,
            version BIGINT NOT NULL,
            lease_owner TEXT COLLATE "C",
            lease_until BIGINT,
            doc TEXT NOT NULL
        ) WITH (fillfactor = 85);
        CREATE INDEX requests_newest ON requests (created_at DESC, id DESC);
        CREATE INDEX requests_client_newest ON requests (client, created_at DESC, id DESC);
        CREATE INDEX requests_requested_by_newest ON requests (requested_by, created_at DESC, id DESC);
        CREATE INDEX requests_forwardable ON requests (status, next_attempt_at NULLS FIRST, id);
        CREATE INDEX requests_pollable ON requests (status, polled_at NULLS FIRST, id);
        CREATE TABLE idempotency_keys (
            client TEXT COLLATE "C" NOT NULL,
            idempotency_key TEXT COLLATE "C" NOT NULL,
            request_id TEXT COLLATE "C" NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (client, idempotency_key)
        );
        CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
        """,
        // 2: the webhook outbox (events written with the transitions they describe), attempts, 410-stopped URLs.
        WebhookOutboxSchema.script(collate: #" COLLATE "C""#),
        // 3: retention finds old finished requests without scanning the table.
        """
        CREATE INDEX requests_retention ON requests (status, updated_at);
        """,
        // 4: the outbound budget to Purview shared by every replica (docs/OUTBOUND-BUDGET.md): one row, a token
        // bucket whose rate is cut on 429. Times are the database server's Unix milliseconds.
        """
        CREATE TABLE outbound_budget (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            tokens DOUBLE PRECISION NOT NULL,
            updated_at BIGINT NOT NULL,
            rate_at_cut DOUBLE PRECISION,
            cut_at BIGINT
        );
        """,
        // 5: batch imports (see Migrations.swift, script 5).
        """
        ALTER TABLE requests ADD COLUMN import_id TEXT COLLATE "C";
        CREATE INDEX requests_import ON requests (import_id, status) WHERE import_id IS NOT NULL;
        CREATE INDEX requests_forwardable_interactive ON requests (status, next_attempt_at NULLS FIRST, id)
            WHERE import_id IS NULL;
        CREATE INDEX requests_forwardable_imported ON requests (status, next_attempt_at NULLS FIRST, id)
            WHERE import_id IS NOT NULL;
        CREATE TABLE imports (
            id TEXT COLLATE "C" PRIMARY KEY,
            client TEXT COLLATE "C" NOT NULL,
            idempotency_key TEXT COLLATE "C",
            kind TEXT COLLATE "C",
            format TEXT COLLATE "C" NOT NULL,
            status TEXT COLLATE "C" NOT NULL,
            row_count BIGINT NOT NULL,
            accepted_count BIGINT NOT NULL,
            rejected_count BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        );
        CREATE UNIQUE INDEX imports_client_key ON imports (client, idempotency_key) WHERE idempotency_key IS NOT NULL;
        CREATE INDEX imports_newest ON imports (created_at DESC, id DESC);
        CREATE TABLE import_rejections (
            import_id TEXT COLLATE "C" NOT NULL,
            row_number BIGINT NOT NULL,
            errors TEXT NOT NULL,
            raw TEXT NOT NULL,
            PRIMARY KEY (import_id, row_number)
        );
        """,
    ]

    static var latestVersion: Int { scripts.count }

    /// Serializes migrations across every gateway sharing the database (a transaction-scoped advisory lock,
    /// released at COMMIT or ROLLBACK). The number spells "purview" in ASCII.
    static let advisoryLockKey: Int64 = 0x0070_7572_7669_6577

    /// Brings the database up to ``latestVersion`` in one transaction, under the advisory lock, so replicas
    /// starting together apply each script once. Refuses a database from a newer build.
    ///
    /// - Returns: the versions applied now (empty when the database was current).
    @discardableResult
    static func apply(on connection: PostgresConnection, scripts: [String] = scripts, now: Int64) throws -> [Int] {
        try connection.execute(unpreparedSQL: "BEGIN")
        try connection.query("SELECT pg_advisory_xact_lock($1::bigint)", [String(advisoryLockKey)])
        try connection.execute(
            unpreparedSQL: """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version BIGINT PRIMARY KEY,
                    applied_at BIGINT NOT NULL
                )
                """)
        let found = try connection.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        let current = (found.rows.first?.first ?? nil).flatMap { Int($0) } ?? 0
        guard current <= scripts.count else {
            throw StoreError(
                "the database schema is at version \(current), newer than this gateway knows (\(scripts.count)); "
                    + "run a newer gateway or restore a backup")
        }
        var applied: [Int] = []
        for version in (current + 1)..<(scripts.count + 1) {
            try connection.execute(unpreparedSQL: scripts[version - 1])
            try connection.query(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", [String(version), String(now)])
            applied.append(version)
        }
        try connection.execute(unpreparedSQL: "COMMIT")
        return applied
    }
}
