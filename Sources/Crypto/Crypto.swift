// The Crypto module; see docs/ARCHITECTURE.md.
import COpenSSL
