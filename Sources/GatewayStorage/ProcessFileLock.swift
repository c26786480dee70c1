import GatewayCore
import Glibc

/// An exclusive lock, across processes, on a file beside the database: the proof that this process is the
/// only one writing it, which lets the store report every change (`RequestStore.observeChanges`).
///
/// POSIX record locks belong to the process: another process is refused while this one lives (and is
/// released when it dies, even by SIGKILL), while a second store in the same process shares the lock.
final class ProcessFileLock: Sendable {
    let path: String
    private let descriptor: Int32

    /// Takes the lock on `path` (created if missing) or throws `StoreError` naming the process holding it.
    init(path: String) throws {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StoreError("cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        if fcntl(descriptor, F_SETLK, &lock) != 0 {
            let reason = errno
            var holder = flock()
            holder.l_type = Int16(F_WRLCK)
            holder.l_whence = Int16(SEEK_SET)
            let pid =
                fcntl(descriptor, F_GETLK, &holder) == 0 && holder.l_type != Int16(F_UNLCK)
                ? " (pid \(holder.l_pid))" : ""
            close(descriptor)
            if reason == EACCES || reason == EAGAIN {
                throw StoreError(
                    "the database is in use by another purview-gateway process\(pid), which holds \(path); one gateway "
                        + "serves a SQLite file (run several replicas on PostgreSQL)")
            }
            throw StoreError("cannot lock \(path): \(String(cString: strerror(reason)))")
        }
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}
