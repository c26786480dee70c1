// The PurviewEmulator module; see docs/ARCHITECTURE.md.
