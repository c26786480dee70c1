// The Networking module; see docs/ARCHITECTURE.md.
