import CLinuxShim
import Glibc

/// A failed system call: the call's name and the errno it set.
public struct IOError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The errno value.
    public var errnoCode: Int32
    /// The failing call, e.g. "bind".
    public var call: String

    public init(errnoCode: Int32, call: String) {
        self.errnoCode = errnoCode
        self.call = call
    }

    public var description: String {
        let reason = strerror(errnoCode).map { String(cString: $0) } ?? "errno \(errnoCode)"
        return "\(call) failed: \(reason) (errno \(errnoCode))"
    }
}

/// The outcome of a non-blocking call: done with a value, or nothing to do right now.
enum IOResult<Value> {
    case processed(Value)
    case wouldBlock
}

/// Thin wrappers over the syscalls the event loops use.
///
/// Each retries on EINTR, reports EAGAIN as `.wouldBlock` where the call can block, and throws
/// `IOError` for every other errno. Errnos that can only mean a bug in this module (EBADF, EFAULT)
/// trap instead of being thrown, so they are found rather than handled.
enum Syscall {
    @inline(__always)
    private static func retrying(_ call: StaticString, _ body: () -> Int) throws(IOError) -> IOResult<Int> {
        while true {
            let result = body()
            if result >= 0 { return .processed(result) }
            let code = cshim_errno()
            switch code {
            case EINTR:
                continue
            case EAGAIN, EWOULDBLOCK:
                return .wouldBlock
            case EBADF, EFAULT:
                preconditionFailure("\(call) failed with errno \(code): a programming error in Networking")
            default:
                throw IOError(errnoCode: code, call: "\(call)")
            }
        }
    }

    /// For calls that never block (socket, bind, epoll_ctl...): `.wouldBlock` is not expected.
    @inline(__always)
    private static func plain(_ call: StaticString, _ body: () -> Int) throws(IOError) -> Int {
        switch try retrying(call, body) {
        case .processed(let value): return value
        case .wouldBlock: throw IOError(errnoCode: EAGAIN, call: "\(call)")
        }
    }

    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> IOResult<Int> {
        try retrying("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// `recv(2)`: on a socket it reads like `read`, without the file layer's per-call checks.
    static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> IOResult<Int> {
        try retrying("recv") { Glibc.recv(fd, buffer.baseAddress, buffer.count, 0) }
    }

    /// `send(2)` with MSG_NOSIGNAL: a peer that went away is an EPIPE error, never a process-killing SIGPIPE.
    static func send(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws(IOError) -> IOResult<Int> {
        try retrying("send") { Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL)) }
    }

    /// `sendmsg(2)` with MSG_NOSIGNAL: a gathered write like `writev`, cheaper on sockets, and EPIPE, not SIGPIPE.
    static func send(_ fd: Int32, _ vectors: UnsafeBufferPointer<iovec>) throws(IOError) -> IOResult<Int> {
        var message = msghdr()
        message.msg_iov = UnsafeMutablePointer(mutating: vectors.baseAddress)
        message.msg_iovlen = vectors.count
        return try retrying("sendmsg") { Glibc.sendmsg(fd, &message, Int32(MSG_NOSIGNAL)) }
    }

    static func accept(_ fd: Int32, address: inout SocketAddress) throws(IOError) -> IOResult<Int32> {
        let flags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let result = try address.withMutableSockaddr { pointer, length throws(IOError) in
            try retrying("accept4") { Int(cshim_accept4(fd, pointer, length, flags)) }
        }
        switch result {
        case .processed(let newFD): return .processed(Int32(newFD))
        case .wouldBlock: return .wouldBlock
        }
    }

    static func close(_ fd: Int32) {
        // Linux releases the descriptor even when close reports EINTR, so it is never retried.
        _ = Glibc.close(fd)
    }

    static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    static func socket(domain: Int32) throws(IOError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        return Int32(try plain("socket") { Int(Glibc.socket(domain, type, 0)) })
    }

    static func setOption(_ fd: Int32, level: Int32, name: Int32, value: Int32) throws(IOError) {
        var value = value
        _ = try plain("setsockopt") {
            Int(Glibc.setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)))
        }
    }

    static func bind(_ fd: Int32, to address: SocketAddress) throws(IOError) {
        _ = try address.withSockaddr { pointer, length throws(IOError) in
            try plain("bind") { Int(Glibc.bind(fd, pointer, length)) }
        }
    }

    static func listen(_ fd: Int32, backlog: Int32) throws(IOError) {
        _ = try plain("listen") { Int(Glibc.listen(fd, backlog)) }
    }

    static func connect(_ fd: Int32, to address: SocketAddress) throws(IOError) -> IOResult<Void> {
        let result = try address.withSockaddr { pointer, length throws(IOError) in
            try retrying("connect") {
                let rc = Glibc.connect(fd, pointer, length)
                // A non-blocking connect in progress reports EINPROGRESS: treat it like "would block".
                if rc < 0, cshim_errno() == EINPROGRESS { return -2 }
                return Int(rc)
            }
        }
        switch result {
        case .processed(-2), .wouldBlock: return .wouldBlock
        case .processed: return .processed(())
        }
    }

    static func localAddress(_ fd: Int32) throws(IOError) -> SocketAddress {
        var address = SocketAddress()
        _ = try address.withMutableSockaddr { pointer, length throws(IOError) in
            try plain("getsockname") { Int(getsockname(fd, pointer, length)) }
        }
        return address
    }

    static func epollCreate() throws(IOError) -> Int32 {
        Int32(try plain("epoll_create1") { Int(epoll_create1(Int32(EPOLL_CLOEXEC))) })
    }

    static func epollControl(_ epollFD: Int32, _ operation: Int32, _ fd: Int32, events: UInt32, data: UInt64)
        throws(IOError)
    {
        var event = epoll_event()
        event.events = events
        event.data.u64 = data
        _ = try plain("epoll_ctl") { Int(epoll_ctl(epollFD, operation, fd, &event)) }
    }

    static func epollWait(
        _ epollFD: Int32, _ events: UnsafeMutableBufferPointer<epoll_event>, timeoutMilliseconds: Int32
    )
        throws(IOError) -> Int
    {
        switch try retrying(
            "epoll_wait", { Int(epoll_wait(epollFD, events.baseAddress, Int32(events.count), timeoutMilliseconds)) })
        {
        case .processed(let count): return count
        case .wouldBlock: return 0
        }
    }

    static func eventFD() throws(IOError) -> Int32 {
        Int32(try plain("eventfd") { Int(eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))) })
    }

    /// Monotonic time in nanoseconds (vDSO, no syscall).
    @inline(__always)
    static func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }
}
