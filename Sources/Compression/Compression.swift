// The Compression module; see docs/ARCHITECTURE.md.
import CZlib
