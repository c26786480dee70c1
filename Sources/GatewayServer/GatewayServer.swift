// The GatewayServer module; see docs/ARCHITECTURE.md.
