// The SQLite module; see docs/ARCHITECTURE.md.
import CSQLite
