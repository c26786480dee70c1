import Foundation
import GatewayStorage

/// `purview-gateway backup FILE`: a consistent copy of the SQLite store, taken while the gateway serves.
enum BackupCommand {
    static let help = """
        purview-gateway backup FILE: copy the gateway's SQLite store to FILE while the gateway keeps serving.

        The copy is one consistent snapshot (SQLite's online backup API inside one read transaction), made a
        few pages at a time; the gateway's writes go on meanwhile. FILE appears only when complete (an
        older FILE is replaced then) and is checked with PRAGMA integrity_check.

        Restore: stop the gateway, remove the database's -wal and -shm files, put FILE in place of the
        database, start the gateway. See docs/OPERATIONS.md.

        The database is found as `serve` finds it: --database-url, else GATEWAY_DATABASE_URL, else
        sqlite://./.purview-gateway/gateway.db. A PostgreSQL store is refused: use pg_dump or the server's
        base backups and WAL archiving (docs/OPERATIONS.md).

        Options:
          --database-url URL    GATEWAY_DATABASE_URL
          --pages-per-step N    pages copied per step (default 64)
        """

    static func run(arguments: [String]) -> Int32 {
        let flags: ParsedFlags
        do {
            flags = try ParsedFlags.parse(arguments, valued: ["database-url", "pages-per-step"], boolean: ["help"])
        } catch {
            printError("purview-gateway backup: \(error)\n\n\(help)")
            return 2
        }
        if flags.switches.contains("help") {
            printOut(help)
            return 0
        }
        guard flags.positional.count == 1, let destination = flags.positional.first, !destination.isEmpty else {
            printError("purview-gateway backup: name one FILE to write the copy to\n\n\(help)")
            return 2
        }
        var pagesPerStep: Int32 = 64
        if let text = flags.values["pages-per-step"] {
            guard let pages = Int32(text), pages > 0 else {
                printError("purview-gateway backup: --pages-per-step must be a positive whole number")
                return 2
            }
            pagesPerStep = pages
        }
        let url: DatabaseURL
        do {
            if let text = flags.values["database-url"] {
                url = try DatabaseURL.parse(text)
            } else {
                url = try DatabaseURL.fromEnvironment(ProcessInfo.processInfo.environment)
            }
        } catch {
            printError("purview-gateway backup: \(error)")
            return 2
        }
        let source: String
        switch url {
        case .postgres:
            printError(
                "purview-gateway backup: the store is PostgreSQL (\(url)); this command copies SQLite stores only. "
                    + "Use pg_dump, or the server's base backups and WAL archiving (see docs/OPERATIONS.md).")
            return 2
        case .sqlite(let path):
            source = path
        }
        guard FileManager.default.fileExists(atPath: source) else {
            printError("purview-gateway backup: there is no database at \(source)")
            return 1
        }
        if URL(fileURLWithPath: source).resolvingSymlinksInPath().path
            == URL(fileURLWithPath: destination).resolvingSymlinksInPath().path
        {
            printError("purview-gateway backup: FILE is the database itself")
            return 2
        }
        do {
            let started = Date()
            let summary = try StoreBackup.copySQLite(databasePath: source, to: destination, pagesPerStep: pagesPerStep)
            let seconds = Date().timeIntervalSince(started)
            printOut(
                "purview-gateway backup: copied \(url) to \(destination): \(summary.requests) requests, integrity ok, "
                    + "\(String(format: "%.2f", seconds)) s")
            return 0
        } catch {
            printError("purview-gateway backup: \(error)")
            return 1
        }
    }
}
