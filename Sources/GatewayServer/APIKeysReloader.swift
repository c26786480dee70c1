import FoundationEssentials
import Glibc
public import Observability
import Synchronization

/// Reloads the keys file without a restart: on demand (SIGHUP) and when the file changes on disk.
///
/// A change is a different device, inode, size or modification time of the file the path leads to (symlinks
/// followed, as Kubernetes swaps a Secret volume's symlink). A file that does not parse is refused with an
/// error line and the keys in force stay; the next change is tried again.
public final class APIKeysReloader: Sendable {
    struct FileIdentity: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modifiedSeconds: Int
        var modifiedNanoseconds: Int
    }

    let path: String
    let api: GatewayAPI
    let logger: Logger
    private let seen: Mutex<FileIdentity?>

    /// `path` is the file the gateway loaded at start.
    public init(path: String, api: GatewayAPI, logger: Logger) {
        self.path = path
        self.api = api
        self.logger = logger
        seen = Mutex(Self.identity(of: path))
    }

    /// Reads the file now; returns whether new keys are in force.
    @discardableResult
    public func reload(reason: String) -> Bool {
        let identity = Self.identity(of: path)
        seen.withLock { $0 = identity }
        let outcome: String
        defer {
            api.metrics.counter(
                "gateway_api_keys_reloads_total", help: "Keys file reloads by result", labels: ["result": outcome]
            ).increment()
        }
        do {
            let clients = try APIClients.load(path: path)
            api.replaceClients(clients)
            outcome = "ok"
            logger.notice(
                "API keys reloaded",
                metadata: ["reason": .string(reason), "path": .string(path), "clients": .int(clients.clients.count)])
            return true
        } catch {
            outcome = "refused"
            logger.error(
                "API keys file refused; the previous keys stay in force",
                metadata: ["reason": .string(reason), "path": .string(path), "error": .string(error.description)])
            return false
        }
    }

    /// Reloads if the file changed since it was last read; returns whether it changed.
    @discardableResult
    public func reloadIfChanged() -> Bool {
        let identity = Self.identity(of: path)
        let changed = seen.withLock { $0 != identity }
        // A file missing for a moment (being replaced) is not a change worth a refusal.
        guard changed, identity != nil else { return false }
        reload(reason: "file changed")
        return true
    }

    /// Checks every `interval` until cancelled.
    public func watch(every interval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            reloadIfChanged()
        }
    }

    static func identity(of path: String) -> FileIdentity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileIdentity(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            modifiedSeconds: Int(info.st_mtim.tv_sec), modifiedNanoseconds: Int(info.st_mtim.tv_nsec))
    }
}
