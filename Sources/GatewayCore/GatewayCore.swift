// The GatewayCore module; see docs/ARCHITECTURE.md.
