// The GatewayStorage module; see docs/ARCHITECTURE.md.
