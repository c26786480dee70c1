// The Observability module; see docs/ARCHITECTURE.md.
